/* policy.c - see policy.h. */
#include "policy.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool in_list(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int imgs_client_init(const struct xenvm_config *cfg, uid_t uid, gid_t gid, struct imgs_client *c,
                     struct xerr *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	memset(c, 0, sizeof(*c));
	c->uid = uid;
	c->gid = gid;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		return xerr_errno(err, EACCES, "uid %u has no user name", (unsigned)uid);
	}
	snprintf(c->user, sizeof(c->user), "%s", pw.pw_name);
	c->admin =
	    uid == 0 || in_list(cfg->image_store.admins, cfg->image_store.n_admins, pw.pw_name);
	return 0;
}

/* Is the user in one of the groups (primary or supplementary)? */
static bool in_groups(const struct imgs_client *c, char *const *groups, size_t n)
{
	gid_t gids[256];
	int ng = 256;

	if (getgrouplist(c->user, c->gid, gids, &ng) < 0)
		ng = 0;
	for (size_t i = 0; i < n; i++) {
		struct group *g = getgrnam(groups[i]);

		for (int j = 0; g && j < ng; j++)
			if (gids[j] == g->gr_gid)
				return true;
	}
	return false;
}

int imgs_may_write(const struct xenvm_config *cfg, const struct imgs_client *c,
                   const struct imgs_ns *ns, bool push, struct xerr *err)
{
	errno = EACCES;
	if (!ns->user[0])
		return c->admin ? 0
		                : xerr_set(err,
		                           "only admins write site images (you are %s; "
		                           "push your own as %s/NAME)",
		                           c->user, c->user);
	if (strcmp(ns->user, c->user) != 0) {
		if (c->admin && !push)
			return 0; /* admins may remove and re-tag user images, not write into them
			           */
		return xerr_set(err, "images of %s belong to %s; you (%s) cannot change them",
		                ns->user, ns->user, c->user);
	}
	if (!push)
		return 0;
	if (!cfg->image_store.user_images)
		return xerr_set(err, "this site does not take user images (image_store.user_images "
		                     "is false)");
	if ((cfg->image_store.n_push_users || cfg->image_store.n_push_groups) &&
	    !in_list(cfg->image_store.push_users, cfg->image_store.n_push_users, c->user) &&
	    !in_groups(c, cfg->image_store.push_groups, cfg->image_store.n_push_groups))
		/* errno from the group lookups would stand otherwise */
		return xerr_errno(err, EACCES,
		                  "user %s may not push images (not in image_store.push_users or "
		                  "push_groups)",
		                  c->user);
	errno = 0;
	return 0;
}

bool imgs_may_see(const struct imgs_store *st, const struct imgs_client *c,
                  const struct imgs_ns *ns, const char *name)
{
	char **users = NULL;
	size_t n = 0;
	struct xerr ignored;
	bool ok;

	if (!ns->user[0] || c->admin || strcmp(ns->user, c->user) == 0)
		return true;
	if (imgs_shares_get(st, ns, name, &users, &n, &ignored) < 0)
		return false;
	ok = in_list(users, n, c->user);
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	return ok;
}

/* Is sha256 the kernel of a site version? */
static bool site_kernel(const struct imgs_store *st, const char *sha256)
{
	struct imgs_version_info *v = NULL;
	size_t n = 0;
	struct xerr ignored;
	bool found = false;

	if (imgs_versions(st, &v, &n, &ignored) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = !v[i].ns.user[0] && v[i].files[0].present &&
		        strcmp(v[i].files[0].sha256, sha256) == 0;
	free(v);
	return found;
}

int imgs_check_push(const struct xenvm_config *cfg, const struct imgs_store *st,
                    const struct imgs_ns *ns, const struct imgs_file *files,
                    const struct xenvm_image *img, const char *hex, struct xerr *err)
{
	struct imgs_version_info *v = NULL;
	uint64_t bytes = 0, used = 0, count = 0;
	size_t n = 0;
	bool exists = false;

	if (!ns->user[0])
		return 0;
	for (int r = 0; r < IMGS_ROLES; r++)
		bytes += files[r].present ? files[r].size : 0;
	if (bytes > cfg->image_store.max_image_bytes) {
		errno = EFBIG;
		return xerr_set(err,
		                "image too large: its files are %" PRIu64 " bytes, at most %" PRIu64
		                " are allowed (image_store.max_image_size)",
		                bytes, cfg->image_store.max_image_bytes);
	}
	if (img->allow_root && !cfg->image_store.user_root) {
		errno = EACCES;
		return xerr_set(err,
		                "root_allowed: user images may not grant root in the guest on this "
		                "site (image_store.user_root is false)");
	}
	if (!cfg->image_store.user_kernels && !site_kernel(st, files[0].sha256)) {
		errno = EACCES;
		return xerr_set(
		    err,
		    "own kernel forbidden: the kernel (sha256 %.12s...) is not one of "
		    "the site's kernels (image_store.user_kernels is false); build on a "
		    "site image's kernel",
		    files[0].sha256);
	}
	if (imgs_versions(st, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].ns.user, ns->user) != 0)
			continue;
		if (strcmp(v[i].hex, hex) == 0)
			exists = true;
		used += v[i].bytes;
		count++;
	}
	free(v);
	if (exists)
		return 0; /* re-pushing a version already counted */
	if (count + 1 > cfg->image_store.quota_images ||
	    used + bytes > cfg->image_store.quota_bytes) {
		errno = EDQUOT;
		return xerr_set(err,
		                "quota exceeded: %s has %" PRIu64 " versions in %" PRIu64
		                " bytes; this one (%" PRIu64 " bytes) would make %" PRIu64
		                " in %" PRIu64 " (image_store.quota_images %" PRIu64
		                ", quota_bytes %" PRIu64 "; `xenvm image rm` and `gc` free space)",
		                ns->user, count, used, bytes, count + 1, used + bytes,
		                cfg->image_store.quota_images, cfg->image_store.quota_bytes);
	}
	return 0;
}
