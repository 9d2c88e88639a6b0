/* jobstate.c - see jobstate.h. */
#include "jobstate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"

int xenvm_job_dir(const char *state_dir, uint32_t jobid, char *buf, size_t len)
{
	if (!state_dir || !buf || !len || jobid == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(buf, len, "%s/job/%" PRIu32, state_dir, jobid) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int xenvm_parse_jobid(const char *what, const char *s, uint32_t *out, struct xerr *err)
{
	/* 0xfffffffe and up are Slurm's NO_VAL markers, never a job's id. */
	if (parse_u32(s, 1, out) < 0 || *out >= 0xfffffffeU)
		return xerr_errno(err, EINVAL, "%s: '%.40s' is not a job id", what,
		                  s ? s : "(unset)");
	return 0;
}

int xenvm_parse_id(const char *what, const char *s, uint32_t *out, struct xerr *err)
{
	if (parse_u32(s, 0, out) < 0 || *out == UINT32_MAX)
		return xerr_errno(err, EINVAL, "%s: '%.40s' is not a numeric user or group id",
		                  what, s ? s : "(unset)");
	return 0;
}

static int has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

int xenvm_job_record_write(const char *state_dir, const struct xenvm_job_record *rec,
                           struct xerr *err)
{
	char dir[4096], path[4200];
	char *text = NULL;
	size_t textlen = 0;
	FILE *f = NULL;
	int rc = -1;

	if (!state_dir || !rec)
		return xerr_errno(err, EINVAL,
		                  "internal error: bad arguments to xenvm_job_record_write");
	if (has_newline(rec->user) || has_newline(rec->node) || has_newline(rec->nodelist) ||
	    has_newline(rec->error) || has_newline(rec->warning) || has_newline(rec->cwd_refused) ||
	    has_newline(rec->req.mounts) || has_newline(rec->driver) || has_newline(rec->vm_dir) ||
	    has_newline(rec->guest_ip) || has_newline(rec->ib) || has_newline(rec->ib_bdf) ||
	    has_newline(rec->ib_info)) {
		return xerr_errno(err, EINVAL, "job %" PRIu32 ": a value contains a newline",
		                  rec->jobid);
	}
	if (xenvm_job_dir(state_dir, rec->jobid, dir, sizeof(dir)) < 0)
		return xerr_set(err, "job %" PRIu32 ": state path: %s", rec->jobid,
		                strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, XENVM_JOB_RECORD);
	if (xenvm_mkdir_p(dir, 0755) < 0) {
		xerr_set(err, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	f = open_memstream(&text, &textlen);
	if (!f) {
		xerr_set(err, "out of memory");
		goto out;
	}
	fprintf(f, "version=1\njobid=%" PRIu32 "\nuid=%u\ngid=%u\nuser=%s\nnode=%s\n", rec->jobid,
	        (unsigned)rec->uid, (unsigned)rec->gid, rec->user, rec->node);
	fprintf(f, "nodelist=%s\nnode_index=%" PRIu32 "\nnode_count=%" PRIu32 "\n",
	        rec->nodelist ? rec->nodelist : "", rec->node_index, rec->node_count);
	fprintf(f, "image=%s\ndigest=%s\nmem=%" PRIu64 "\nvcpus=%" PRIu32 "\nroot=%d\nverbose=%d\n",
	        rec->req.image, rec->req.digest, rec->req.mem_bytes, rec->req.vcpus,
	        rec->req.root ? 1 : 0, rec->req.verbose ? 1 : 0);
	if (rec->req.require[0])
		fprintf(f, "require=%s\n", rec->req.require);
	if (rec->error)
		fprintf(f, "error=%s\n", rec->error);
	if (rec->req.mounts[0])
		fprintf(f, "mounts=%s\n", rec->req.mounts);
	if (rec->warning)
		fprintf(f, "warning=%s\n", rec->warning);
	if (rec->cwd_refused)
		fprintf(f, "cwd_refused=%s\n", rec->cwd_refused);
	if (rec->vm_dir[0])
		fprintf(f,
		        "driver=%s\nvm_dir=%s\nguest_ip=%s\nfetch_ms=%" PRIu32
		        "\nfetch_bytes=%" PRId64 "\nboot_ms=%" PRIu32 "\n",
		        rec->driver, rec->vm_dir, rec->guest_ip, rec->fetch_ms, rec->fetch_bytes,
		        rec->boot_ms);
	if (rec->step_only)
		fprintf(f, "step_only=1\n");
	if (rec->ib[0])
		fprintf(f, "ib=%s\nib_bdf=%s\nib_info=%s\n", rec->ib, rec->ib_bdf, rec->ib_info);
	if (fclose(f) != 0) {
		f = NULL;
		xerr_set(err, "out of memory");
		goto out;
	}
	f = NULL;
	/* root writes it, root trusts it (the Epilog): the user may only read it */
	if (xenvm_write_file_atomic_reader(path, text, textlen, rec->uid, rec->gid) < 0) {
		xerr_set(err, "%s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	free(text);
	return rc;
}

static int set_field(struct xenvm_job_record *rec, const char *key, const char *val)
{
	uint32_t u;

	if (!strcmp(key, "version"))
		return strcmp(val, "1") == 0 ? 0 : -1;
	if (!strcmp(key, "jobid"))
		return parse_u32(val, 1, &rec->jobid);
	if (!strcmp(key, "uid"))
		return parse_u32(val, 0, &u) < 0 ? -1 : (rec->uid = u, 0);
	if (!strcmp(key, "gid"))
		return parse_u32(val, 0, &u) < 0 ? -1 : (rec->gid = u, 0);
	if (!strcmp(key, "user"))
		return snprintf(rec->user, sizeof(rec->user), "%s", val) >= (int)sizeof(rec->user);
	if (!strcmp(key, "node"))
		return snprintf(rec->node, sizeof(rec->node), "%s", val) >= (int)sizeof(rec->node);
	if (!strcmp(key, "nodelist"))
		return free(rec->nodelist), (rec->nodelist = strdup(val)) ? 0 : -1;
	if (!strcmp(key, "node_index"))
		return parse_u32(val, 0, &rec->node_index);
	if (!strcmp(key, "node_count"))
		return parse_u32(val, 0, &rec->node_count);
	if (!strcmp(key, "image"))
		return !*val ? 0 : xenvm_parse_image_name(key, val, rec->req.image, NULL);
	if (!strcmp(key, "digest"))
		return !*val ? 0 : xenvm_parse_digest(key, val, rec->req.digest, NULL);
	if (!strcmp(key, "require"))
		return !*val ? 0 : xenvm_parse_require(key, val, rec->req.require, NULL);
	if (!strcmp(key, "mem")) {
		char *end = NULL;

		errno = 0;
		rec->req.mem_bytes = strtoull(val, &end, 10);
		return errno || !*val || *end ? -1 : 0;
	}
	if (!strcmp(key, "vcpus"))
		return parse_u32(val, 0, &rec->req.vcpus);
	if (!strcmp(key, "root"))
		return rec->req.root = !strcmp(val, "1"), 0;
	if (!strcmp(key, "verbose"))
		return rec->req.verbose = !strcmp(val, "1"), 0;
	if (!strcmp(key, "error"))
		return free(rec->error), (rec->error = strdup(val)) ? 0 : -1;
	if (!strcmp(key, "warning"))
		return free(rec->warning), (rec->warning = strdup(val)) ? 0 : -1;
	if (!strcmp(key, "cwd_refused"))
		return free(rec->cwd_refused), (rec->cwd_refused = strdup(val)) ? 0 : -1;
	if (!strcmp(key, "mounts"))
		return snprintf(rec->req.mounts, sizeof(rec->req.mounts), "%s", val) >=
		       (int)sizeof(rec->req.mounts);
	if (!strcmp(key, "driver"))
		return snprintf(rec->driver, sizeof(rec->driver), "%s", val) >=
		       (int)sizeof(rec->driver);
	if (!strcmp(key, "vm_dir"))
		return snprintf(rec->vm_dir, sizeof(rec->vm_dir), "%s", val) >=
		       (int)sizeof(rec->vm_dir);
	if (!strcmp(key, "guest_ip"))
		return snprintf(rec->guest_ip, sizeof(rec->guest_ip), "%s", val) >=
		       (int)sizeof(rec->guest_ip);
	if (!strcmp(key, "step_only"))
		return rec->step_only = !strcmp(val, "1"), 0;
	if (!strcmp(key, "ib"))
		return snprintf(rec->ib, sizeof(rec->ib), "%s", val) >= (int)sizeof(rec->ib);
	if (!strcmp(key, "ib_bdf"))
		return snprintf(rec->ib_bdf, sizeof(rec->ib_bdf), "%s", val) >=
		       (int)sizeof(rec->ib_bdf);
	if (!strcmp(key, "ib_info"))
		return snprintf(rec->ib_info, sizeof(rec->ib_info), "%s", val) >=
		       (int)sizeof(rec->ib_info);
	if (!strcmp(key, "fetch_ms"))
		return parse_u32(val, 0, &rec->fetch_ms);
	if (!strcmp(key, "boot_ms"))
		return parse_u32(val, 0, &rec->boot_ms);
	if (!strcmp(key, "fetch_bytes")) {
		char *end = NULL;

		errno = 0;
		rec->fetch_bytes = strtoll(val, &end, 10);
		return errno || !*val || *end ? -1 : 0;
	}
	return 0; /* keys from newer writers are ignored, so a rolling upgrade can read old state */
}

int xenvm_job_record_read(const char *state_dir, uint32_t jobid, struct xenvm_job_record *rec,
                          struct xerr *err)
{
	char dir[4096], path[4200];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	FILE *f = NULL;
	int rc = -1;

	if (!state_dir || !rec)
		return xerr_errno(err, EINVAL,
		                  "internal error: bad arguments to xenvm_job_record_read");
	memset(rec, 0, sizeof(*rec));
	if (xenvm_job_dir(state_dir, jobid, dir, sizeof(dir)) < 0)
		return xerr_set(err, "job %" PRIu32 ": state path: %s", jobid, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, XENVM_JOB_RECORD);
	f = fopen(path, "re");
	if (!f) {
		xerr_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *eq;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		eq = strchr(line, '=');
		if (!eq || set_field(rec, (*eq = '\0', line), eq + 1) != 0) {
			errno = EINVAL;
			xerr_set(err, "%s:%u: damaged record", path, lineno);
			goto out;
		}
	}
	if (rec->jobid != jobid) {
		errno = EINVAL;
		xerr_set(err, "%s: record is for job %" PRIu32, path, rec->jobid);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	if (rc < 0) {
		int saved = errno;

		xenvm_job_record_clear(rec);
		errno = saved;
	}
	return rc;
}

void xenvm_job_record_clear(struct xenvm_job_record *rec)
{
	if (!rec)
		return;
	free(rec->nodelist);
	free(rec->error);
	free(rec->warning);
	free(rec->cwd_refused);
	memset(rec, 0, sizeof(*rec));
}

bool xenvm_job_present(const char *state_dir, uint32_t jobid)
{
	char dir[4096];
	struct stat st;

	if (xenvm_job_dir(state_dir, jobid, dir, sizeof(dir)) < 0)
		return true;
	return stat(dir, &st) == 0 || errno != ENOENT;
}

int xenvm_job_remove(const char *state_dir, uint32_t jobid)
{
	char dir[4096];

	if (xenvm_job_dir(state_dir, jobid, dir, sizeof(dir)) < 0)
		return -1;
	return xenvm_remove_tree(dir);
}
