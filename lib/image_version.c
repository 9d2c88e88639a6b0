/* image_version.c - see image_version.h. */
#include "image_version.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imageref.h"

static bool hex_ok(const char *s)
{
	if (strlen(s) != XENVM_SHA256_HEX_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Load path as a version with digest `digest`.  1, 0 (absent), -1. */
static int try_load(const char *path, const char *digest, struct xenvm_catalog **out,
                    struct xerr *err)
{
	if (access(path, F_OK) < 0)
		return 0;
	if (xenvm_catalog_load(path, out, err) < 0)
		return -1;
	if ((*out)->n_images != 1 || strcmp((*out)->images[0].digest, digest) != 0) {
		xenvm_catalog_free(*out);
		*out = NULL;
		return xerr_errno(err, EINVAL, "%s: its files do not give %s", path, digest);
	}
	return 1;
}

int xenvm_image_version_load(const char *store, const char *digest, struct xenvm_catalog **out,
                             struct xerr *err)
{
	char path[4096], dir[4096];
	const char *hex;
	struct dirent *e;
	DIR *dh;
	int rc;

	*out = NULL;
	if (!store || !digest || strncmp(digest, "sha256:", 7) != 0 || !hex_ok(digest + 7))
		return xerr_errno(err, EINVAL, "invalid digest '%.80s'", digest ? digest : "");
	hex = digest + 7;
	snprintf(path, sizeof(path), "%s/versions/site/%s.yaml", store, hex);
	rc = try_load(path, digest, out, err);
	if (rc != 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/versions/user", store);
	dh = opendir(dir);
	if (!dh)
		return 0;
	while (rc == 0 && (e = readdir(dh))) {
		if (e->d_name[0] == '.' || snprintf(path, sizeof(path), "%s/%s/%s.yaml", dir,
		                                    e->d_name, hex) >= (int)sizeof(path))
			continue;
		rc = try_load(path, digest, out, err);
	}
	closedir(dh);
	return rc;
}

/*
 * The version `digest` in the namespace `name` belongs to (the site's, or USER's for
 * "USER/NAME[:TAG]"): the same files pushed by a user are another manifest, whose attributes a
 * site image's pin must not get.  1, 0 (absent), -1.
 */
static int load_in_ns(const char *store, const char *name, const char *digest,
                      struct xenvm_catalog **out, struct xerr *err)
{
	const char *slash = strchr(name, '/');
	char path[4096];
	int n;

	if (strncmp(digest, "sha256:", 7) != 0 || !hex_ok(digest + 7))
		return xerr_errno(err, EINVAL, "invalid digest '%.80s'", digest);
	if (!xenvm_image_ref_valid(name))
		return xerr_errno(err, EINVAL, "invalid image reference '%.80s'", name);
	if (!slash)
		n = snprintf(path, sizeof(path), "%s/versions/site/%s.yaml", store, digest + 7);
	else
		n = snprintf(path, sizeof(path), "%s/versions/user/%.*s/%s.yaml", store,
		             (int)(slash - name), name, digest + 7);
	if (n < 0 || (size_t)n >= sizeof(path))
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", store);
	return try_load(path, digest, out, err);
}

/* Is `store` the image manager's (it keeps every version's manifest under versions/)? */
static bool manager_store(const char *store)
{
	char path[4096];
	struct stat st;

	if (!store || snprintf(path, sizeof(path), "%s/versions", store) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int xenvm_image_for_pin(const struct xenvm_catalog *cat, const char *store, const char *name,
                        const char *digest, struct xenvm_catalog **ver,
                        const struct xenvm_image **img, struct xerr *err)
{
	const struct xenvm_image *cur = cat ? xenvm_catalog_find(cat, name) : NULL;
	char *renamed;
	int k;

	*ver = NULL;
	*img = NULL;
	if (cur && strcmp(cur->digest, digest) == 0) {
		*img = cur;
		return 0;
	}
	k = store ? load_in_ns(store, name, digest, ver, err) : 0;
	if (k < 0)
		return -1;
	if (k == 0 && cur && !manager_store(store)) {
		/* images.yaml alone keeps no old version's attributes: the current entry's, with
		 * the pinned files (imagecast fetches those by digest, or says no node has them).
		 */
		*img = cur;
		return 1;
	}
	if (k == 0) {
		if (cur)
			return xerr_errno(err, ENOENT,
			                  "image %s is now %s; its version %s pinned at submit is "
			                  "in neither the catalog nor the image store",
			                  name, cur->digest, digest);
		return xerr_errno(err, ENOENT,
		                  "image %s is no longer in the site's catalog, nor its version %s "
		                  "in the image store",
		                  name, digest);
	}
	renamed = strdup(name);
	if (!renamed) {
		xenvm_catalog_free(*ver);
		*ver = NULL;
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	free((*ver)->images[0].name);
	(*ver)->images[0].name = renamed;
	*img = &(*ver)->images[0];
	return 0;
}
