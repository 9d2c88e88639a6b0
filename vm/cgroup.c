/*
 * cgroup.c - see cgroup.h.
 */
#include "vm/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define V2_ROOT "/sys/fs/cgroup"
#define V1_ROOT "/sys/fs/cgroup/memory"
#define SLICE "xenvm.slice"

static enum xvm_cgroup_mode cg_mode = XVM_CGROUP_AUTO;
static uint64_t cg_overhead = 64ull << 20;

int xvm_cgroup_parse(const char *name, enum xvm_cgroup_mode *mode)
{
	static const char *const names[] = {"auto", "required", "off"};

	for (int i = 0; name && i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*mode = (enum xvm_cgroup_mode)i;
			return 0;
		}
	errno = EINVAL;
	return -1;
}

void xvm_cgroup_configure(enum xvm_cgroup_mode mode, uint64_t overhead_bytes)
{
	cg_mode = mode;
	cg_overhead = overhead_bytes;
}

/* Write s to dir/file.  0, or -1 with errno. */
static int put(const char *dir, const char *file, const char *s)
{
	char path[600];
	ssize_t n;
	int fd, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Does file hold the word w (space-separated)? */
static bool has_word(const char *file, const char *w)
{
	char line[512], *save = NULL;
	FILE *f = fopen(file, "re");
	bool found = false;

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		for (char *t = strtok_r(line, " \n", &save); t && !found;
		     t = strtok_r(NULL, " \n", &save))
			found = strcmp(t, w) == 0;
	fclose(f);
	return found;
}

/* mkdir that is content with a directory already there.  0, or -1 with errno. */
static int mkdir_once(const char *p)
{
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* The root in use: 2 (v2), 1 (v1 memory), 0 (none). */
static int which_root(void)
{
	if (has_word(V2_ROOT "/cgroup.controllers", "memory"))
		return 2;
	if (access(V1_ROOT "/memory.limit_in_bytes", F_OK) == 0)
		return 1;
	return 0;
}

/* Remove job_dir when it has no VM left (EBUSY/ENOTEMPTY otherwise: left). */
static void remove_job_dir(const char *leaf)
{
	char job[sizeof(((struct xvm_cgroup *)0)->dir)];
	char *slash;

	snprintf(job, sizeof(job), "%s", leaf);
	slash = strrchr(job, '/');
	if (slash) {
		*slash = '\0';
		rmdir(job);
	}
}

int xvm_cgroup_create(const struct xvm_spec *s, pid_t tag, struct xvm_cgroup *cg, struct xerr *err)
{
	char slice[128], job[192], limit[32];
	const char *root, *what = NULL;
	int v, saved;

	cg->dir[0] = '\0';
	if (cg_mode == XVM_CGROUP_OFF)
		return 0;
	v = which_root();
	if (!v) {
		errno = ENOENT;
		xerr_set(err,
		         "no cgroup with a memory controller (cgroup v2 at " V2_ROOT
		         " or v1 at " V1_ROOT "): the VM's memory is not the job's (xenvm.yaml "
		         "vm.cgroup: %s)",
		         cg_mode == XVM_CGROUP_REQUIRED ? "required" : "auto");
		return cg_mode == XVM_CGROUP_REQUIRED ? -1 : 0;
	}
	root = v == 2 ? V2_ROOT : V1_ROOT;
	snprintf(slice, sizeof(slice), "%s/" SLICE, root);
	snprintf(job, sizeof(job), "%s/job%" PRIu32, slice, s->job_id);
	snprintf(cg->dir, sizeof(cg->dir), "%s/%s.%d", job, s->name, (int)tag);
	snprintf(limit, sizeof(limit), "%" PRIu64 "\n", s->mem_bytes + cg_overhead);
	/* v2: a controller reaches a child only through its parent's subtree_control */
	if (v == 2 && put(root, "cgroup.subtree_control", "+memory") < 0)
		what = root;
	else if (mkdir_once(slice) < 0)
		what = slice;
	else if (v == 2 && put(slice, "cgroup.subtree_control", "+memory") < 0)
		what = slice;
	else if (mkdir_once(job) < 0)
		what = job;
	else if (v == 2 && put(job, "cgroup.subtree_control", "+memory") < 0)
		what = job;
	else if (mkdir_once(cg->dir) < 0)
		what = cg->dir;
	else if (put(cg->dir, v == 2 ? "memory.max" : "memory.limit_in_bytes", limit) < 0)
		what = cg->dir;
	if (!what)
		return 0;
	saved = errno;
	xerr_set(err, "cgroup %s: %s: the VM's memory is not the job's (xenvm.yaml vm.cgroup: %s)",
	         what, strerror(saved), cg_mode == XVM_CGROUP_REQUIRED ? "required" : "auto");
	rmdir(cg->dir);
	remove_job_dir(cg->dir);
	cg->dir[0] = '\0';
	errno = saved;
	return cg_mode == XVM_CGROUP_REQUIRED ? -1 : 0;
}

int xvm_cgroup_join(const struct xvm_cgroup *cg)
{
	return cg->dir[0] ? put(cg->dir, "cgroup.procs", "0") : 0;
}

void xvm_cgroup_remove(const struct xvm_cgroup *cg)
{
	if (!cg->dir[0])
		return;
	/* QEMU was just reaped; its cgroup can stay populated a moment longer */
	for (int i = 0; i < 50 && rmdir(cg->dir) < 0 && errno == EBUSY; i++)
		usleep(20000);
	remove_job_dir(cg->dir);
}

void xvm_cgroup_remove_job(uint32_t job_id)
{
	static const char *const roots[] = {V2_ROOT, V1_ROOT};
	struct xvm_cgroup cg;

	for (int r = 0; r < 2; r++) {
		char job[192];
		struct dirent *e;
		DIR *d;

		snprintf(job, sizeof(job), "%s/" SLICE "/job%" PRIu32, roots[r], job_id);
		d = opendir(job);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			const char *dot = strrchr(e->d_name, '.');
			long pid = dot ? strtol(dot + 1, NULL, 10) : 0;

			/* a live supervisor's VM is its own to remove (maybe another node's) */
			if (e->d_name[0] == '.' || pid <= 0 ||
			    (kill((pid_t)pid, 0) == 0 || errno == EPERM))
				continue;
			snprintf(cg.dir, sizeof(cg.dir), "%s/%s", job, e->d_name);
			rmdir(cg.dir);
		}
		closedir(d);
		rmdir(job);
	}
}
