/* image_version.c - see image_version.h. */
#include "image_version.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
