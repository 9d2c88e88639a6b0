/*
 * pkey_opensm.c - job partitions in OpenSM's partitions file (partitions.conf(5) syntax).
 *
 * Each (job, node) owns exactly one line, "xenvm_job_<jobid>_<node>=0x<pkey>, ipoib :
 * <guid>=full, ... ;", so the site's own partitions are never parsed or rewritten: every other
 * byte of the file is kept as it was.  The nodes of one job write one line each with the same
 * pkey; OpenSM merges definitions that share a pkey into one partition.  Edits run under an
 * exclusive lock on "<file>.lock" (fcntl, so it holds across NFS when the file is shared with the
 * subnet manager's host) and replace the file atomically, keeping its mode and owner; OpenSM never
 * reads half a file.  Then, if configured, OpenSM gets SIGHUP, which makes it reread the file.
 */
#include "pkey.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/atomic_file.h"
#include "guid.h"
#include "lock.h"
#include "lib/log.h"
#include "sysfs.h"

/* A node name that can be part of a partition name: 1..63 of [A-Za-z0-9._-]. */
static bool valid_node(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	return len > 0 && len < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	           len;
}

/* Returns the line, or NULL with errno EINVAL/ENOMEM. */
char *xenib_opensm_line(uint32_t jobid, const char *node, uint16_t pkey, const uint64_t *guids,
                        size_t n)
{
	char *buf = NULL, g[24];
	size_t len = 0;
	FILE *m;

	if (jobid == 0 || !valid_node(node) || pkey == 0 || pkey > 0x7fff || !guids || n == 0) {
		errno = EINVAL;
		return NULL;
	}
	m = open_memstream(&buf, &len);
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	fprintf(m, "xenvm_job_%" PRIu32 "_%s=0x%04x, ipoib :", jobid, node, (unsigned)pkey);
	for (size_t i = 0; i < n; i++) {
		xenib_guid_hex(guids[i], g, sizeof(g));
		fprintf(m, "%s %s=full", i ? "," : "", g);
	}
	fputs(" ;\n", m);
	if (fclose(m) != 0) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	return buf;
}

/* Does `line` (of length len) belong to (jobid, node)? */
static bool is_job_line(const char *line, size_t len, uint32_t jobid, const char *node)
{
	char prefix[96];
	int n = snprintf(prefix, sizeof(prefix), "xenvm_job_%" PRIu32 "_%s=", jobid, node);

	return len >= (size_t)n && memcmp(line, prefix, (size_t)n) == 0;
}

/*
 * Rewrite the file without (jobid, node)'s line, plus `line` at the end when not NULL.  Returns
 * 1 (changed), 0 (nothing to change), or -1 with errno and err naming the file.
 */
static int edit(const struct xenib_opensm *o, uint32_t jobid, const char *node, const char *line,
                struct xerr *err)
{
	char lock[PATH_MAX];
	char *old = NULL, *new = NULL;
	size_t old_len = 0, new_len = 0;
	struct stat st = {.st_mode = 0644, .st_uid = (uid_t)-1, .st_gid = (gid_t)-1};
	FILE *f = NULL, *m = NULL;
	int fd = -1, rc = -1, saved;

	if (!o || !o->partitions || o->partitions[0] != '/') {
		return xerr_errno(err, EINVAL, "OpenSM partitions file: not an absolute path");
	}
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", o->partitions) >= sizeof(lock)) {
		return xerr_errno(err, ENAMETOOLONG, "%s: path too long", o->partitions);
	}
	fd = xenib_lock(lock, err);
	if (fd < 0)
		return -1;
	f = fopen(o->partitions, "re");
	if (f) {
		char chunk[4096];
		size_t got;

		m = open_memstream(&old, &old_len);
		if (!m || fstat(fileno(f), &st) < 0)
			goto io;
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, got, m);
		if (ferror(f))
			goto io;
		if (fclose(m) != 0) {
			m = NULL;
			goto io;
		}
		m = NULL;
	} else if (errno != ENOENT) {
		goto io;
	}
	m = open_memstream(&new, &new_len);
	if (!m)
		goto io;
	for (size_t at = 0; at < old_len;) {
		const char *nl = memchr(old + at, '\n', old_len - at);
		size_t len = nl ? (size_t)(nl - (old + at)) + 1 : old_len - at;

		if (!is_job_line(old + at, len, jobid, node)) {
			fwrite(old + at, 1, len, m);
			/* a last line without newline must not run into ours */
			if (!nl && line)
				fputc('\n', m);
		}
		at += len;
	}
	if (line)
		fputs(line, m);
	if (fclose(m) != 0) {
		m = NULL;
		goto io;
	}
	m = NULL;
	if (new_len == old_len && (new_len == 0 || memcmp(new, old, new_len) == 0)) {
		rc = 0; /* nothing to change: do not make OpenSM reread */
		goto out;
	}
	if (xenvm_write_file_atomic(o->partitions, new, new_len, st.st_mode & 07777, st.st_uid,
	                            st.st_gid) < 0)
		goto io;
	rc = 1;
	goto out;
io:
	saved = errno;
	xerr_set(err, "%s: %s", o->partitions, strerror(saved));
	errno = saved;
out:
	saved = errno;
	if (m)
		fclose(m);
	if (f)
		fclose(f);
	free(old);
	free(new);
	xenib_unlock(fd);
	errno = saved;
	return rc;
}

/*
 * SIGHUP to the pid in o->pid_file, so OpenSM rereads the partitions.  Returns 0, or -1 with
 * errno and err naming the pid file (the edit itself stands either way).
 */
static int reread(const struct xenib_opensm *o, struct xerr *err)
{
	uint32_t pid = 0;

	if (!o->pid_file)
		return 0;
	if (xenib_sysfs_read_u32(o->pid_file, &pid, err) < 0)
		return -1;
	if (pid <= 1 || pid > INT32_MAX) {
		return xerr_errno(err, EINVAL, "%s: %u is not a process id", o->pid_file, pid);
	}
	if (kill((pid_t)pid, SIGHUP) < 0)
		return xerr_set(err, "%s: cannot signal OpenSM (pid %u): %s", o->pid_file, pid,
		                strerror(errno));
	return 0;
}

/* Returns 0, or -1 with errno and err. */
static int opensm_add(void *ctx, uint32_t jobid, const char *node, uint16_t pkey,
                      const uint64_t *guids, size_t n, struct xerr *err)
{
	char *line = xenib_opensm_line(jobid, node, pkey, guids, n);
	int rc;

	if (!line)
		return xerr_set(
		    err, "job %" PRIu32 " node %s: invalid partition (pkey 0x%04x, %zu GUIDs)",
		    jobid, node ? node : "(null)", (unsigned)pkey, n);
	rc = edit(ctx, jobid, node, line, err);
	free(line);
	if (rc > 0)
		return reread(ctx, err);
	return rc;
}

/* Returns 0, or -1 with errno and err. */
static int opensm_remove(void *ctx, uint32_t jobid, const char *node, struct xerr *err)
{
	int rc;

	if (jobid == 0 || !valid_node(node)) {
		return xerr_errno(err, EINVAL, "invalid job id %" PRIu32 " or node name", jobid);
	}
	rc = edit(ctx, jobid, node, NULL, err);
	if (rc > 0)
		return reread(ctx, err);
	return rc;
}

const struct xenib_pkey_ops xenib_pkey_opensm = {.add = opensm_add, .remove = opensm_remove};
