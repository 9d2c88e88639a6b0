/*
 * maintain.c - the store's repair at open (fsck) and its garbage collector (see store.h).
 *
 * Both rely on the write order: a blob before the manifest naming it, a manifest before a tag
 * naming it, the catalog last.  So after a crash a tag never names a missing manifest nor a
 * manifest a missing blob; what can be left is a temporary file, a blob no manifest names (a push
 * or a collection killed half-way: removed), a manifest no tag names (a complete version: kept,
 * the collector judges it) and a stale catalog (rewritten).  A tag or manifest found broken anyway
 * (a disk error, a hand edit) is removed and reported, never served.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "lib/atomic_file.h"
#include "store.h"
#include "util.h"

__attribute__((format(printf, 2, 3))) static void say(void (*report)(const char *), const char *fmt,
                                                      ...)
{
	char line[1024];
	va_list ap;

	if (!report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report(line);
}

/* Is blob `hex` named by one of the n versions? */
static bool blob_used(const struct imgs_version_info *v, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < IMGS_ROLES; r++)
			if (v[i].files[r].present && strcmp(v[i].files[r].sha256, hex) == 0)
				return true;
	return false;
}

/*
 * Remove blobs no version names: whole files (sub "blobs/sha256") or chunked indices (sub
 * "chunked/sha256"; their chunks go at the chunk sweep after).  Returns how many, or -1.
 */
static int sweep_dir(struct imgs_store *st, const char *sub, const struct imgs_version_info *v,
                     size_t n, void (*report)(const char *), struct xerr *err)
{
	char dir[IMGS_PATH_MAX];
	struct dirent *e;
	DIR *dh;
	int removed = 0;

	snprintf(dir, sizeof(dir), "%s/%s", st->dir, sub);
	dh = opendir(dir);
	if (!dh)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.' ||
		    (imgs_hex_valid(e->d_name) && blob_used(v, n, e->d_name)))
			continue;
		say(report, "removed %sblob %s (no version names it)",
		    strcmp(sub, XENVM_BLOB_DIR) == 0 ? "" : "chunked ", e->d_name);
		if ((strcmp(sub, XENVM_BLOB_DIR) == 0
		         ? imgs_blob_remove(st, imgs_hex_valid(e->d_name) ? e->d_name : "", err)
		         : imgs_chunked_remove(st, imgs_hex_valid(e->d_name) ? e->d_name : "",
		                               err)) < 0) {
			char path[IMGS_PATH_MAX];

			/* not a sha256 name: nothing the store wrote */
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
			    (int)sizeof(path))
				continue;
			if (unlink(path) < 0 && errno != ENOENT) {
				closedir(dh);
				return xerr_set(err, "%s: %s", path, strerror(errno));
			}
		}
		removed++;
	}
	closedir(dh);
	return removed;
}

/* sweep_dir for both kinds of blob, then the chunks no index names.  How many, or -1. */
static int sweep_blobs(struct imgs_store *st, const struct imgs_version_info *v, size_t n,
                       void (*report)(const char *), struct xerr *err)
{
	int a, b, c;

	if ((a = sweep_dir(st, XENVM_BLOB_DIR, v, n, report, err)) < 0 ||
	    (b = sweep_dir(st, XENVM_BLOB_CHUNKED_DIR, v, n, report, err)) < 0 ||
	    (c = imgs_chunks_sweep(st, report, err)) < 0)
		return -1;
	return a + b + c;
}

/* Remove manifests that do not parse or whose blobs are missing.  Returns how many, or -1. */
static int check_versions(struct imgs_store *st, void (*report)(const char *), struct xerr *err)
{
	struct imgs_version_info *v = NULL;
	size_t n = 0;
	int removed = 0;

	/* A manifest that does not parse is not listed (nor served, nor tagged: check_tags). */
	if (imgs_versions(st, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (int r = 0; r < IMGS_ROLES; r++) {
			if (!v[i].files[r].present || imgs_blob_exists(st, v[i].files[r].sha256))
				continue;
			say(report, "removed version sha256:%s: its blob %s is missing", v[i].hex,
			    v[i].files[r].sha256);
			if (imgs_version_remove(st, &v[i].ns, v[i].hex, err) < 0) {
				free(v);
				return -1;
			}
			removed++;
			break;
		}
	}
	free(v);
	return removed;
}

/* Remove tags that name a version not in the store.  Returns how many, or -1. */
static int check_tags(struct imgs_store *st, void (*report)(const char *), struct xerr *err)
{
	struct imgs_tag *t = NULL;
	size_t n = 0;
	int removed = 0;

	if (imgs_tags(st, &t, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct imgs_version_info vi;
		struct xerr verr;

		if (imgs_version_info(st, &t[i].ns, t[i].hex, &vi, &verr) == 0)
			continue;
		say(report, "removed tag %s:%s: its version is not readable", t[i].name, t[i].tag);
		if (imgs_tag_remove(st, &t[i].ns, t[i].name, t[i].tag, "fsck", err) < 0) {
			free(t);
			return -1;
		}
		removed++;
	}
	free(t);
	return removed;
}

/* A temporary file of xenvm_write_file_atomic(): "<name>.tmp.XXXXXX". */
static bool atomic_tmp_name(const char *name)
{
	size_t n = strlen(name);

	return n > 11 && strncmp(name + n - 11, ".tmp.", 5) == 0;
}

/* Remove atomic-write temporaries under dir (depth levels down).  Returns how many. */
static int clean_atomic_tmp(const char *dir, int depth, void (*report)(const char *))
{
	struct dirent *e;
	DIR *dh = opendir(dir);
	int removed = 0;

	if (!dh)
		return 0;
	while ((e = readdir(dh))) {
		char path[IMGS_PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (e->d_type == DT_DIR && depth > 0)
			removed += clean_atomic_tmp(path, depth - 1, report);
		else if (e->d_type == DT_REG && atomic_tmp_name(e->d_name) && unlink(path) == 0) {
			say(report, "removed temporary file %s", path);
			removed++;
		}
	}
	closedir(dh);
	return removed;
}

/* Empty tmp/, and the temporaries of atomic writes beside manifests, tags, shares, catalog. */
static int clean_tmp(struct imgs_store *st, void (*report)(const char *), struct xerr *err)
{
	char dir[IMGS_PATH_MAX];
	struct dirent *e;
	DIR *dh;
	int removed = 0;

	snprintf(dir, sizeof(dir), "%s/tmp", st->dir);
	dh = opendir(dir);
	if (!dh)
		return xerr_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(dh))) {
		char path[IMGS_PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		/* directories: a boot check's private store (verify.h) */
		if (unlink(path) == 0 || (errno == EISDIR && xenvm_remove_tree(path) == 0)) {
			say(report, "removed temporary file tmp/%s", e->d_name);
			removed++;
		}
	}
	closedir(dh);
	removed += clean_atomic_tmp(st->dir, 0, report);
	for (size_t i = 0; i < 3; i++) {
		static const char *const sub[] = {"versions", "tags", "shares"};

		snprintf(dir, sizeof(dir), "%s/%s", st->dir, sub[i]);
		removed += clean_atomic_tmp(dir, 4, report);
	}
	return removed;
}

int imgs_fsck(struct imgs_store *st, void (*report)(const char *line), struct xerr *err)
{
	return imgs_fsck_deep(st, false, report, err);
}

int imgs_fsck_deep(struct imgs_store *st, bool deep, void (*report)(const char *line),
                   struct xerr *err)
{
	struct imgs_version_info *v = NULL;
	size_t n = 0;
	int total = 0, k;

	if ((k = clean_tmp(st, report, err)) < 0)
		return -1;
	total += k;
	/* a broken chunked blob is missing for check_versions, which removes what names it */
	if ((k = imgs_chunks_check_all(st, deep, report, err)) < 0)
		return -1;
	total += k;
	if ((k = check_versions(st, report, err)) < 0)
		return -1;
	total += k;
	if ((k = check_tags(st, report, err)) < 0)
		return -1;
	total += k;
	if (imgs_versions(st, &v, &n, err) < 0)
		return -1;
	k = sweep_blobs(st, v, n, report, err);
	free(v);
	if (k < 0)
		return -1;
	total += k;
	if (imgs_catalog_write(st, err) < 0)
		return -1;
	return total;
}

int imgs_gc(struct imgs_store *st, const char *const *live, size_t n_live, uint32_t retention_s,
            time_t now, void (*report)(const char *line), struct xerr *err)
{
	struct imgs_version_info *v = NULL;
	struct imgs_tag *t = NULL;
	size_t nv = 0, nt = 0;
	int removed = 0, rc = -1;

	if (imgs_tags(st, &t, &nt, err) < 0 || imgs_versions(st, &v, &nv, err) < 0)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		bool held = false;
		char why[128];

		for (size_t j = 0; j < nt && !held; j++)
			held = strcmp(t[j].ns.user, v[i].ns.user) == 0 &&
			       strcmp(t[j].hex, v[i].hex) == 0;
		for (size_t j = 0; j < n_live && !held; j++)
			if (strcmp(live[j], v[i].hex) == 0) {
				held = true;
				say(report, "kept version sha256:%s: a job is pinned to it",
				    v[i].hex);
			}
		if (held)
			continue;
		if ((long long)now < v[i].mtime + (long long)retention_s) {
			snprintf(why, sizeof(why), "%lld s of retention left",
			         v[i].mtime + (long long)retention_s - (long long)now);
			say(report, "kept version sha256:%s: %s", v[i].hex, why);
			continue;
		}
		if (imgs_version_remove(st, &v[i].ns, v[i].hex, err) < 0)
			goto out;
		say(report, "removed version sha256:%s (%s)", v[i].hex,
		    v[i].pushed_as[0] ? v[i].pushed_as : "untagged");
		removed++;
	}
	free(v);
	v = NULL;
	if (imgs_versions(st, &v, &nv, err) < 0 || sweep_blobs(st, v, nv, report, err) < 0)
		goto out;
	rc = removed;
out:
	free(v);
	free(t);
	return rc;
}
