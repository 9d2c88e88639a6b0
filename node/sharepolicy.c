/* sharepolicy.c - see sharepolicy.h. */
#include "node/sharepolicy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The system's directories: never shared, nor anything below them. */
static const char *const system_dirs[] = {"/etc",  "/proc", "/sys", "/dev", "/run",
                                          "/boot", "/usr",  "/var", NULL};

/* Is p equal to dir or below it?  (Both real paths, dir not "/".) */
static bool under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* dir's real path into buf, or dir itself when it does not resolve. */
static const char *resolve(const char *dir, char *buf)
{
	return realpath(dir, buf) ? buf : dir;
}

/* The never-share rule.  0, or -1 with why. */
static int never_ok(const struct xvm_share_policy *pol, const char *real, struct xerr *why)
{
	char buf[PATH_MAX];

	if (strcmp(real, "/") == 0) {
		return xerr_errno(why, EPERM, "it is the root directory");
	}
	for (size_t i = 0; system_dirs[i]; i++)
		if (under(real, system_dirs[i]) || under(real, resolve(system_dirs[i], buf))) {
			return xerr_errno(why, EPERM, "it is a system directory (%s)",
			                  system_dirs[i]);
		}
	for (size_t i = 0; i < pol->n_never; i++) {
		const char *d = pol->never[i] ? resolve(pol->never[i], buf) : NULL;

		if (d && (under(real, d) || under(d, real))) {
			return xerr_errno(why, EPERM, "it holds or is below the node's %s",
			                  pol->never[i]);
		}
	}
	return 0;
}

static bool in_groups(const struct xvm_share_who *who, gid_t g)
{
	if (g == who->gid)
		return true;
	for (size_t i = 0; i < who->n_groups; i++)
		if (who->groups[i] == g)
			return true;
	return false;
}

/* Owned by the user, or writable by them by its mode bits (see sharepolicy.h). */
static bool owned_or_writable(const struct stat *st, const struct xvm_share_who *who)
{
	if (st->st_uid == who->uid)
		return true;
	if (in_groups(who, st->st_gid))
		return (st->st_mode & S_IWGRP) && (st->st_mode & S_IXGRP);
	return (st->st_mode & S_IWOTH) && (st->st_mode & S_IXOTH);
}

int xvm_share_check(const struct xvm_share_policy *pol, const struct xvm_share_who *who,
                    enum xvm_share_kind kind, const char *path, char *real, struct xerr *why)
{
	char roots[512] = "", buf[PATH_MAX];
	struct stat st;
	size_t off = 0;
	bool ok = false;

	if (!path || path[0] != '/') {
		return xerr_errno(why, EINVAL, "it is not an absolute path");
	}
	if (!realpath(path, real) || stat(real, &st) < 0)
		return xerr_set(why, "%s", strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		return xerr_errno(why, ENOTDIR, "it is not a directory");
	}
	if (never_ok(pol, real, why) < 0)
		return -1;
	if (kind == XVM_SHARE_SITE)
		return 0;
	for (size_t i = 0; i < pol->n_allowed && !ok; i++) {
		if (!pol->allowed[i] || pol->allowed[i][0] != '/')
			continue;
		ok = under(real, resolve(pol->allowed[i], buf));
		if (off < sizeof(roots))
			off += (size_t)snprintf(roots + off, sizeof(roots) - off, "%s%s",
			                        off ? ", " : "", pol->allowed[i]);
	}
	if (!ok) {
		return xerr_errno(why, EPERM,
		                  "it is not under a directory the site allows to share (%s)",
		                  roots[0] ? roots : "none");
	}
	if (!owned_or_writable(&st, who)) {
		return xerr_errno(why, EACCES, "it belongs to uid %u and is not writable by uid %u",
		                  (unsigned)st.st_uid, (unsigned)who->uid);
	}
	return 0;
}
