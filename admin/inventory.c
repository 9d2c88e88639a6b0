/*
 * inventory.c - the node's VMs: state directories joined with the drivers' process lists.
 *
 * A state directory says what was meant (status, vm.info); the driver's list says what runs.
 * Either can exist without the other after a crash, and `xenvm list` shows both cases: a
 * directory whose VM no longer runs is "stopped", a VM process with no directory is "orphan".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "lib/log.h"
#include "lib/units.h"
#include "node/drivers.h"

#define XA_MAX_PROCS 1024
static const char *const driver_names[] = {"qemu", "xen"};

const struct xvm_driver *xa_driver(const char *name, struct xerr *err)
{
	const struct xvm_driver *d = xvm_driver_find(name);

	if (d)
		return d;
	if (name && strcmp(name, "xen") == 0)
		xerr_set(err, "driver 'xen' is not available in this build of xenvm (built without "
		              "libxenlight: apt-get install libxen-dev); use --driver qemu");
	else
		xerr_set(err, "unknown driver '%s' (xen or qemu)", name ? name : "");
	errno = ENOENT;
	return NULL;
}

const char *xa_vm_id(const struct xa_vm *v, char *buf, size_t len)
{
	if (v->admin)
		snprintf(buf, len, "%s", v->vm);
	else
		snprintf(buf, len, "%u/%s", v->job_id, v->vm);
	return buf;
}

const char *xa_format_uptime(long s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s >= 86400)
		snprintf(buf, len, "%ldd%02ld:%02ld:%02ld", s / 86400, s / 3600 % 24, s / 60 % 60,
		         s % 60);
	else
		snprintf(buf, len, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	return buf;
}

/* Seconds since process pid started (from /proc), or -1. */
static long proc_uptime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	double up = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* the command name may hold spaces and ')': fields resume after the last ')' */
	p = p ? strrchr(buf, ')') : NULL;
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1 || hz <= 0)
		return -1;
	f = fopen("/proc/uptime", "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &up) != 1)
		up = -1;
	fclose(f);
	return up < 0 ? -1 : (long)(up - (double)start / (double)hz);
}

/* Memory, vcpus and accelerator from a QEMU command line (/proc/<pid>/cmdline). */
static void qemu_cmdline_facts(struct xa_vm *v)
{
	char path[64], cmd[16384];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)v->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return;
	cmd[n] = '\0';
	for (char *a = cmd; a < cmd + n; a += strlen(a) + 1) {
		char *next = a + strlen(a) + 1;
		uint64_t bytes;

		if (next >= cmd + n)
			break;
		if (strcmp(a, "-m") == 0 && !v->mem_bytes && xenvm_parse_size(next, &bytes) == 0)
			v->mem_bytes =
			    bytes; /* QEMU's bare numbers are MiB, but we always write "NM" */
		else if (strcmp(a, "-smp") == 0 && !v->vcpus)
			v->vcpus = (uint32_t)strtoul(next, NULL, 10);
		else if (strcmp(a, "-accel") == 0)
			snprintf(v->accel, sizeof(v->accel), "%.7s", next);
	}
}

/* Fill state and reason from <dir>/status. */
static void read_status(struct xa_vm *v)
{
	char path[4200], line[300] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", v->dir);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "failed: ", 8) == 0) {
		snprintf(v->state, sizeof(v->state), "failed");
		snprintf(v->reason, sizeof(v->reason), "%.*s", (int)sizeof(v->reason) - 1,
		         line + 8);
	} else if (strcmp(line, "ready") == 0 || strcmp(line, "booting") == 0) {
		snprintf(v->state, sizeof(v->state), "%s",
		         strcmp(line, "ready") == 0 ? "ready" : "booting");
	} else {
		snprintf(v->state, sizeof(v->state), "%s", line[0] ? "unknown" : "new");
	}
}

/* Append a zeroed entry to the growing array.  The entry, or NULL (ENOMEM). */
static struct xa_vm *grow(struct xa_vm **vms, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct xa_vm *p = realloc(*vms, c * sizeof(*p));

		if (!p)
			return NULL;
		*vms = p;
		*cap = c;
	}
	memset(&(*vms)[*n], 0, sizeof(**vms));
	return &(*vms)[(*n)++];
}

/* One job directory's VM subdirectories.  0, or -1 (ENOMEM). */
static int scan_job(const char *jdir, uint32_t job, struct xa_vm **vms, size_t *n, size_t *cap)
{
	DIR *d = opendir(jdir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return 0; /* vanished meanwhile (an Epilog): nothing to show */
	while ((e = readdir(d))) {
		char probe[4400];
		struct xa_vm *v;
		struct xa_vm_info info;
		struct stat st;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(v->vm))
			continue;
		/* a VM's directory is one the driver wrote into */
		if (snprintf(probe, sizeof(probe), "%s/%s/status", jdir, e->d_name) >=
		        (int)sizeof(probe) ||
		    stat(probe, &st) < 0)
			continue;
		v = grow(vms, n, cap);
		if (!v) {
			rc = -1;
			break;
		}
		v->job_id = job;
		v->admin = XA_IS_ADMIN_JOB(job);
		v->uptime_s = -1;
		/* d_name fits (checked above): the precision only tells the compiler so */
		snprintf(v->vm, sizeof(v->vm), "%.31s", e->d_name);
		snprintf(v->name, sizeof(v->name), "xenvm-job%u-%.31s", job, e->d_name);
		if (snprintf(v->dir, sizeof(v->dir), "%s/%s", jdir, e->d_name) >=
		    (int)sizeof(v->dir))
			v->dir[0] =
			    '\0'; /* cannot happen below PATH_MAX: shown without a directory */
		snprintf(v->driver, sizeof(v->driver), "?");
		read_status(v);
		if (xa_vm_info_read(v->dir, &info) == 0) {
			snprintf(v->image, sizeof(v->image), "%s", info.image);
			snprintf(v->driver, sizeof(v->driver), "%s", info.driver);
			v->mem_bytes = info.mem_bytes;
			v->vcpus = info.vcpus;
		}
	}
	closedir(d);
	return rc;
}

/* qsort order of state directories: job id, then VM name. */
static int by_job_then_name(const void *a, const void *b)
{
	const struct xa_vm *x = a, *y = b;

	if (x->job_id != y->job_id)
		return x->job_id < y->job_id ? -1 : 1;
	return strcmp(x->vm, y->vm);
}

/* Join a driver's running VMs into the list (or add them as orphans).  0, or -1 (ENOMEM). */
static int join_driver(const char *dname, struct xa_vm **vms, size_t *n, size_t *cap)
{
	const struct xvm_driver *d = xvm_driver_find(dname);
	struct xvm_info *procs;
	struct xerr err = {""};
	int found, rc = 0;

	if (!d)
		return 0; /* not built in: it cannot have VMs running through us */
	procs = calloc(XA_MAX_PROCS, sizeof(*procs));
	if (!procs)
		return -1;
	found = d->list_job(0, procs, XA_MAX_PROCS, &err);
	if (found < 0)
		xwarn("driver %s: listing VMs: %s", dname, err.msg);
	for (int i = 0; i < found && i < XA_MAX_PROCS; i++) {
		struct xa_vm *v = NULL;
		const char *dash;

		for (size_t k = 0; k < *n && !v; k++)
			if (strcmp((*vms)[k].name, procs[i].name) == 0)
				v = &(*vms)[k];
		if (!v) {
			v = grow(vms, n, cap);
			if (!v) {
				rc = -1;
				break;
			}
			v->job_id = procs[i].job_id;
			v->admin = XA_IS_ADMIN_JOB(v->job_id);
			v->uptime_s = -1;
			snprintf(v->name, sizeof(v->name), "%s", procs[i].name);
			dash = strchr(procs[i].name + 9, '-'); /* after "xenvm-job<J>" */
			snprintf(v->vm, sizeof(v->vm), "%s", dash ? dash + 1 : "?");
			snprintf(v->state, sizeof(v->state), "orphan");
		}
		snprintf(v->driver, sizeof(v->driver), "%s", dname);
		v->pid = procs[i].pid;
		if (strcmp(dname, "qemu") == 0)
			qemu_cmdline_facts(v);
		v->uptime_s = proc_uptime(v->pid);
	}
	free(procs);
	return rc;
}

int xa_inventory(const struct xenvm_config *cfg, struct xa_vm **out, size_t *n, struct xerr *err)
{
	char jobs[4096];
	struct xa_vm *vms = NULL;
	size_t cap = 0, sorted;
	DIR *d;
	struct dirent *e;
	int saved;

	*out = NULL;
	*n = 0;
	if (snprintf(jobs, sizeof(jobs), "%s/job", cfg->state_dir) >= (int)sizeof(jobs)) {
		return xerr_errno(err, ENAMETOOLONG, "state_dir too long: %s", cfg->state_dir);
	}
	d = opendir(jobs);
	if (!d && errno != ENOENT)
		return xerr_set(err, "%s: %s", jobs, strerror(errno));
	while (d && (e = readdir(d))) {
		char *end, jdir[4400];
		unsigned long j = strtoul(e->d_name, &end, 10);

		if (*end || e->d_name[0] < '1' || e->d_name[0] > '9' || j > UINT32_MAX)
			continue;
		snprintf(jdir, sizeof(jdir), "%s/%s", jobs, e->d_name);
		if (scan_job(jdir, (uint32_t)j, &vms, n, &cap) < 0)
			goto nomem;
	}
	if (d)
		closedir(d);
	d = NULL;
	sorted = *n;
	if (sorted) /* qsort(NULL, 0, ...) is undefined */
		qsort(vms, sorted, sizeof(*vms), by_job_then_name);
	for (size_t i = 0; i < sizeof(driver_names) / sizeof(driver_names[0]); i++)
		if (join_driver(driver_names[i], &vms, n, &cap) < 0)
			goto nomem;
	/* a directory whose VM no longer runs: its status is history */
	for (size_t i = 0; i < sorted; i++) {
		struct xa_vm *v = &vms[i];

		if (v->pid == 0 && strcmp(v->state, "failed") != 0)
			snprintf(v->state, sizeof(v->state), "stopped");
		if (v->pid == 0)
			v->uptime_s = -1;
	}
	*out = vms;
	return 0;
nomem:
	saved = errno ? errno : ENOMEM;
	if (d)
		closedir(d);
	free(vms);
	*n = 0;
	errno = saved;
	return xerr_set(err, "listing VMs: %s", strerror(saved));
}

int xa_find(const struct xenvm_config *cfg, const char *id, struct xa_vm *out, struct xerr *err)
{
	struct xa_vm *vms = NULL;
	size_t n = 0, hits = 0, at = 0;
	char *end, names[600] = "";
	unsigned long job = strtoul(id, &end, 10);
	bool numeric = *id >= '1' && *id <= '9' && *end == '\0' && job <= UINT32_MAX;
	int rc = -1;

	if (xa_inventory(cfg, &vms, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char own[128], slash[128];
		bool match;

		snprintf(slash, sizeof(slash), "%u/%s", vms[i].job_id, vms[i].vm);
		match = strcmp(id, vms[i].name) == 0 || strcmp(id, slash) == 0 ||
		        strcmp(id, xa_vm_id(&vms[i], own, sizeof(own))) == 0 ||
		        (numeric && vms[i].job_id == job);
		if (!match)
			continue;
		if (hits++)
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, vms[i].name, sizeof(names) - strlen(names) - 1);
		at = i;
	}
	if (hits == 1) {
		*out = vms[at];
		rc = 0;
	} else if (hits == 0) {
		errno = ENOENT;
		xerr_set(err, "no VM '%s' on this node (see xenvm list)", id);
	} else {
		errno = EEXIST;
		xerr_set(err, "'%s' names %zu VMs (%s): give JOB/VM", id, hits, names);
	}
	free(vms);
	return rc;
}
