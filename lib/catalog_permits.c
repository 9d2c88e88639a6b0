/*
 * catalog_permits.c - xenvm_image_permits(): may this user (account, partition) use the image?
 *
 * An image's allow lists are alternatives: a match in any non-empty list admits the job, and an
 * image whose lists are all empty is open to everyone.  Users and groups match by name or by
 * numeric id; groups are the user's supplementary groups (getgrouplist) plus the job's gid.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"

#define NSS_BUF_MAX (1u << 20) /* give up growing a getpw*_r/getgr*_r buffer past 1 MiB */

/* Errors that getpwuid_r/getgrnam_r use to mean "no such entry". */
static bool nss_not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* The first size to try for a getpw*_r/getgr*_r buffer. */
static size_t nss_buf_start(int which)
{
	long n = sysconf(which);

	return n > 0 && n < (long)NSS_BUF_MAX ? (size_t)n : 1024;
}

/* "1234" -> 1234; false for anything else (including values that do not fit an id). */
static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *out < UINT_MAX;
}

/*
 * The user name of uid into *name (pointing into *buf, which the caller frees), NULL when the
 * uid has no passwd entry.  Returns 0, or -1 with errno (ENOMEM, ERANGE, or an NSS error).
 */
static int user_name(uid_t uid, char **buf, const char **name)
{
	size_t len = nss_buf_start(_SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *res = NULL;

	*name = NULL;
	for (;;) {
		char *nb = realloc(*buf, len);
		int e;

		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		*buf = nb;
		e = getpwuid_r(uid, &pw, *buf, len, &res);
		if (e == 0 && res) {
			*name = res->pw_name;
			return 0;
		}
		if (nss_not_found(e))
			return 0;
		if (e != ERANGE || len >= NSS_BUF_MAX) {
			errno = e;
			return -1;
		}
		len *= 2;
	}
}

/*
 * The gid of group `name` (or the number itself) into *gid; *found false when there is no such
 * group.  Returns 0, or -1 with errno.
 */
static int group_id(const char *name, char **buf, gid_t *gid, bool *found)
{
	size_t len = nss_buf_start(_SC_GETGR_R_SIZE_MAX);
	struct group gr, *res = NULL;
	unsigned long n;

	*found = false;
	for (;;) {
		char *nb = realloc(*buf, len);
		int e;

		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		*buf = nb;
		e = getgrnam_r(name, &gr, *buf, len, &res);
		if (e == 0 && res) {
			*gid = res->gr_gid;
			*found = true;
			return 0;
		}
		if (nss_not_found(e))
			break;
		if (e != ERANGE || len >= NSS_BUF_MAX) {
			errno = e;
			return -1;
		}
		len *= 2;
	}
	if (parse_id(name, &n)) {
		*gid = (gid_t)n;
		*found = true;
	}
	return 0;
}

/*
 * The user's groups (supplementary groups of `user`, if known, plus gid) into *groups and *n (free
 * *groups).  Returns 0, or -1 with errno ENOMEM.
 */
static int user_groups(const char *user, gid_t gid, gid_t **groups, int *n)
{
	int want = 32;

	for (;;) {
		gid_t *g = realloc(*groups, (size_t)want * sizeof(*g));
		int got = want;

		if (!g) {
			errno = ENOMEM;
			return -1;
		}
		*groups = g;
		if (!user) {
			g[0] = gid;
			*n = 1;
			return 0;
		}
		if (getgrouplist(user, gid, g, &got) >= 0) {
			*n = got;
			return 0;
		}
		if (got <= want) /* no progress: should not happen */
			got = want * 2;
		if (got > 65536) {
			errno = ENOMEM;
			return -1;
		}
		want = got;
	}
}

static bool in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* True if the comma list `parts` ("debug,gpu") names `want`. */
static bool comma_list_has(const char *parts, const char *want)
{
	size_t wlen = strlen(want);

	for (const char *p = parts; *p;) {
		size_t n = strcspn(p, ",");

		if (n == wlen && strncmp(p, want, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void put_rule(FILE *f, const char *what, char *const *list, size_t n, size_t *left)
{
	if (!n)
		return;
	(*left)--;
	fprintf(f, "%s %s", what, list[0]);
	for (size_t i = 1; i < n; i++)
		fprintf(f, ",%s", list[i]);
	if (*left > 1)
		fputs(", ", f);
	else if (*left == 1)
		fputs(" and ", f);
}

/* The refusal: which rules the image has and who the requester is. */
static int refuse(const struct xenvm_image *img, const struct xenvm_requester *who,
                  const char *user, struct xerr *err)
{
	size_t left = (img->allow.n_users > 0) + (img->allow.n_groups > 0) +
	              (img->allow.n_accounts > 0) + (img->allow.n_partitions > 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		return xerr_errno(err, EACCES,
		                  "image '%s' is restricted; user uid %u may not use it", img->name,
		                  (unsigned)who->uid);
	}
	fprintf(f, "image '%s' is restricted to ", img->name);
	put_rule(f, "users", img->allow.users, img->allow.n_users, &left);
	put_rule(f, "groups", img->allow.groups, img->allow.n_groups, &left);
	put_rule(f, "accounts", img->allow.accounts, img->allow.n_accounts, &left);
	put_rule(f, "partitions", img->allow.partitions, img->allow.n_partitions, &left);
	if (user)
		fprintf(f, "; user %s (uid %u", user, (unsigned)who->uid);
	else
		fprintf(f, "; uid %u (no user name", (unsigned)who->uid);
	if (img->allow.n_accounts)
		fprintf(f, ", account %s", who->account ? who->account : "(none)");
	if (img->allow.n_partitions)
		fprintf(f, ", partition %s", who->partition ? who->partition : "(none)");
	fputs(") is in none of them", f);
	if (fclose(f) != 0 || !text) {
		free(text);
		return xerr_errno(err, EACCES, "image '%s' is restricted; uid %u may not use it",
		                  img->name, (unsigned)who->uid);
	}
	xerr_set(err, "%s", text);
	free(text);
	errno = EACCES;
	return -1;
}

/*
 * Returns 0 if `who` may use `img`; -1 with err filled and errno EACCES (not allowed), EINVAL (a
 * NULL argument), ENOMEM or an NSS error (the user or group database could not be read).
 */
int xenvm_image_permits(const struct xenvm_image *img, const struct xenvm_requester *who,
                        struct xerr *err)
{
	char *pwbuf = NULL, *grbuf = NULL;
	gid_t *groups = NULL;
	const char *user;
	unsigned long id;
	int ngroups = 0, rc = -1, saved;

	if (!img || !who || !img->name)
		return xerr_errno(err, EINVAL, "xenvm_image_permits: invalid argument");
	if (!img->allow.n_users && !img->allow.n_groups && !img->allow.n_accounts &&
	    !img->allow.n_partitions)
		return 0;
	user = who->user;
	if (!user && (img->allow.n_users || img->allow.n_groups) &&
	    user_name(who->uid, &pwbuf, &user) < 0) {
		saved = errno;
		xerr_set(err, "image '%s': cannot look up uid %u: %s", img->name,
		         (unsigned)who->uid, strerror(saved));
		errno = saved;
		goto out;
	}
	for (size_t i = 0; i < img->allow.n_users; i++) {
		const char *u = img->allow.users[i];

		if ((user && strcmp(u, user) == 0) || (parse_id(u, &id) && id == who->uid))
			goto permit;
	}
	if (in_list(img->allow.accounts, img->allow.n_accounts, who->account))
		goto permit;
	for (size_t i = 0; who->partition && i < img->allow.n_partitions; i++)
		if (comma_list_has(who->partition, img->allow.partitions[i]))
			goto permit;
	if (img->allow.n_groups) {
		if (user_groups(user, who->gid, &groups, &ngroups) < 0) {
			xerr_set(err, "image '%s': cannot list the groups of uid %u: %s", img->name,
			         (unsigned)who->uid, strerror(errno));
			errno = ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < img->allow.n_groups; i++) {
			bool found = false;
			gid_t g = 0;

			if (group_id(img->allow.groups[i], &grbuf, &g, &found) < 0) {
				saved = errno;
				xerr_set(err, "image '%s': cannot look up group %s: %s", img->name,
				         img->allow.groups[i], strerror(saved));
				errno = saved;
				goto out;
			}
			for (int j = 0; found && j < ngroups; j++)
				if (groups[j] == g)
					goto permit;
		}
	}
	/* the refusal names the user, looked up now if the rules did not need the name */
	if (!user && !pwbuf && user_name(who->uid, &pwbuf, &user) < 0)
		user = NULL;
	refuse(img, who, user, err);
	goto out;
permit:
	rc = 0;
out:
	saved = errno;
	free(pwbuf);
	free(grbuf);
	free(groups);
	errno = saved;
	return rc;
}
