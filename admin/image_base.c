/* image_base.c - the container import's base image: its files from the store, its modules. */
#include "image_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/blob.h"
#include "lib/run.h"

#define BASE_RUN_MS (10u * 60u * 1000u)

int xa_store_file_open(const char *store, const struct xenvm_image_file *f, const char *tmpdir,
                       struct xerr *err)
{
	struct xenvm_blob *b = NULL;
	char path[4096], *buf = NULL;
	uint64_t off = 0;
	int fd = -1, out = -1;

	if (f->path[0] == '/')
		snprintf(path, sizeof(path), "%s", f->path);
	else
		snprintf(path, sizeof(path), "%s/%s", store, f->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT) {
		xerr_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* not a file: a chunked blob (lib/blob.h), copied whole for the reader that needs one */
	if (xenvm_blob_open(store, f->path, &b, err) < 0)
		return -1;
	if (xenvm_blob_size(b) != f->size) {
		xerr_set(err, "%s: %llu bytes, the catalog says %llu", path,
		         (unsigned long long)xenvm_blob_size(b), (unsigned long long)f->size);
		goto out;
	}
	buf = malloc(1u << 20);
	out = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (!buf || out < 0) {
		xerr_set(err, "%s: a copy of %s: %s", tmpdir, path, strerror(buf ? errno : ENOMEM));
		goto out;
	}
	while (off < f->size) {
		ssize_t n = xenvm_blob_pread(b, buf, 1u << 20, off), w = 0;

		if (n <= 0) {
			xerr_set(err, "%s: %s", path,
			         n < 0 ? strerror(errno) : "shorter than its index");
			goto out;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				xerr_set(err, "%s: a copy of %s: %s", tmpdir, path,
				         strerror(errno));
				goto out;
			}
			w += k;
		}
		off += (uint64_t)n;
	}
	if (lseek(out, 0, SEEK_SET) < 0) {
		xerr_set(err, "%s: %s", tmpdir, strerror(errno));
		goto out;
	}
	fd = out;
	out = -1;
out:
	if (out >= 0)
		close(out);
	free(buf);
	xenvm_blob_close(b);
	return fd;
}

int xa_base_modules(const char *store, const struct xenvm_image *base, const char *workdir,
                    const char *dest, struct xerr *err)
{
	char sqfs[4200], from[4200], modules[4300], fdpath[64], last[600];
	struct xenvm_run_result *r = NULL;
	struct stat st;
	int fd = -1, rc = -1;

	if (!base->rootdisk.path)
		return 1;
	if (base->rootdisk.path[0] == '/')
		snprintf(sqfs, sizeof(sqfs), "%s", base->rootdisk.path);
	else
		snprintf(sqfs, sizeof(sqfs), "%s/%s", store, base->rootdisk.path);
	if (stat(sqfs, &st) < 0) {
		/* a chunked blob: unsquashfs reads a file, so a named copy in workdir */
		fd = xa_store_file_open(store, &base->rootdisk, workdir, err);
		if (fd < 0)
			return -1;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		snprintf(sqfs, sizeof(sqfs), "%s/base-rootdisk.sqfs", workdir);
		unlink(sqfs);
		if (linkat(AT_FDCWD, fdpath, AT_FDCWD, sqfs, AT_SYMLINK_FOLLOW) < 0) {
			xerr_set(err, "%s: %s", sqfs, strerror(errno));
			goto out;
		}
	}
	snprintf(from, sizeof(from), "%s/base-modules", workdir);
	r = calloc(1, sizeof(*r));
	if (!r) {
		xerr_set(err, "out of memory");
		goto out;
	}
	{
		char *argv[] = {"/usr/bin/unsquashfs", "-no-xattrs", "-q", "-n", "-d", from, sqfs,
		                "lib/modules",         NULL};

		if (xenvm_run(argv, NULL, BASE_RUN_MS, r) < 0) {
			xerr_set(err, "base image %s: cannot run unsquashfs: %s", base->name,
			         strerror(errno));
			goto out;
		}
	}
	if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		xenvm_last_line(r->err[0] ? r->err : r->out, last, sizeof(last));
		xerr_set(err, "base image %s: unsquashfs of its root disk failed: %s", base->name,
		         last[0] ? last : "(no message)");
		goto out;
	}
	snprintf(modules, sizeof(modules), "%s/lib/modules", from);
	if (stat(modules, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = 1;
		goto out;
	}
	if (rename(modules, dest) < 0) {
		xerr_set(err, "%s: %s", dest, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(r);
	if (fd >= 0) {
		close(fd);
		unlink(sqfs);
	}
	return rc;
}
