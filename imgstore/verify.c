/* verify.c - see verify.h. */
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunk.h"
#include "lib/atomic_file.h"
#include "lib/run.h"
#include "util.h"

#ifndef XENVM_BINDIR
#define XENVM_BINDIR "/usr/local/bin"
#endif

/* Time for QEMU to start and be torn down, beyond the wait for "ready". */
#define VERIFY_MARGIN_S 60

static const char *xenvm_program(void)
{
	const char *p = getenv("XENVM_ADMIN_PROGRAM");

	return p && p[0] == '/' ? p : XENVM_BINDIR "/xenvm";
}

/*
 * A private store under <store>/tmp/verify.XXXXXX/: the manifest and hard links to the
 * version's blobs (same file system), so what a boot writes beside its kernel (the derived
 * vmlinux, vm/kernel.h) goes with the directory and never into blobs/.  0, or -1 with err.
 */
static int make_verify_dir(const struct imgs_store *st, const char *manifest_text,
                           const struct imgs_file *files, char *dir, size_t len, char *manifest,
                           size_t mlen, struct xerr *err)
{
	char from[4096], to[4200];
	int fd;

	if (snprintf(dir, len, "%s/tmp/verify.XXXXXX", st->dir) >= (int)len)
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", st->dir);
	if (!mkdtemp(dir))
		return xerr_errno(err, errno, "%s: %s", dir, strerror(errno));
	snprintf(to, sizeof(to), "%s/blobs", dir);
	if (mkdir(to, 0755) < 0 || (strcat(to, "/sha256"), mkdir(to, 0755)) < 0)
		return xerr_errno(err, errno, "%s: %s", to, strerror(errno));
	for (int i = 0; i < IMGS_ROLES; i++) {
		if (!files[i].present)
			continue;
		snprintf(from, sizeof(from), "%s/blobs/sha256/%s", st->dir, files[i].sha256);
		snprintf(to, sizeof(to), "%s/blobs/sha256/%s", dir, files[i].sha256);
		if (access(to, F_OK) == 0)
			continue; /* the same file in two roles */
		/* a chunked file is put together (the VM needs one file): a copy, removed after */
		if (imgs_chunked_exists(st, files[i].sha256) && access(from, F_OK) < 0) {
			if (imgs_blob_copy(st, files[i].sha256, to, err) < 0)
				return -1;
			continue;
		}
		if (link(from, to) < 0)
			return xerr_errno(err, errno, "link %s: %s", from, strerror(errno));
	}
	if (snprintf(manifest, mlen, "%s/manifest.yaml", dir) >= (int)mlen)
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", dir);
	fd = open(manifest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return xerr_errno(err, errno, "%s: %s", manifest, strerror(errno));
	if (imgs_write_all(fd, manifest_text, strlen(manifest_text)) < 0) {
		xerr_errno(err, errno, "%s: %s", manifest, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int imgs_verify_boot(const struct xenvm_config *cfg, const struct imgs_store *st,
                     const char *manifest_text, const struct imgs_file *files, uid_t uid, gid_t gid,
                     struct xerr *err)
{
	char dir[4096] = "", manifest[4200], timeout[16], runas[32], msg[1024];
	uint32_t timeout_s = cfg->image_store.verify_timeout_s ? cfg->image_store.verify_timeout_s
	                                                       : cfg->timeouts.ready_s;
	struct xenvm_run_result *r = NULL;
	char *argv[20];
	int n = 0, rc = -1;

	if (make_verify_dir(st, manifest_text, files, dir, sizeof(dir), manifest, sizeof(manifest),
	                    err) < 0)
		goto out;
	r = malloc(sizeof(*r));
	if (!r) {
		xerr_errno(err, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(timeout, sizeof(timeout), "%u", timeout_s);
	snprintf(runas, sizeof(runas), "%u:%u", (unsigned)uid, (unsigned)gid);
	argv[n++] = (char *)xenvm_program();
	argv[n++] = "-c";
	argv[n++] = cfg->path;
	argv[n++] = "boot";
	argv[n++] = "--manifest";
	argv[n++] = manifest;
	argv[n++] = "--store";
	argv[n++] = dir;
	argv[n++] = "--driver";
	argv[n++] = "qemu";
	argv[n++] = "--check";
	argv[n++] = "--runas";
	argv[n++] = runas;
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n] = NULL;
	if (xenvm_run(argv, NULL, (timeout_s + VERIFY_MARGIN_S) * 1000u, r) < 0) {
		xerr_errno(err, errno, "cannot run %s: %s", argv[0], strerror(errno));
		goto out;
	}
	xenvm_last_line(r->err, msg, sizeof(msg));
	if (r->timed_out) {
		xerr_errno(err, EPROTO, "did not boot to ready: %s was killed after %u s%s%s",
		           argv[0], timeout_s + VERIFY_MARGIN_S, msg[0] ? ": " : "", msg);
		goto out;
	}
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		xerr_errno(err, EPROTO, "did not boot to ready: %s",
		           msg[0] ? msg : "xenvm boot failed without a message");
		goto out;
	}
	rc = 0;
out:
	free(r);
	if (dir[0] && xenvm_remove_tree(dir) < 0 && rc == 0)
		rc = xerr_errno(err, errno, "%s: cannot remove: %s", dir, strerror(errno));
	return rc;
}
