/*
 * bench-job-submit - per-job cost of job_submit/vmimage against a 10,000-image catalog, by name
 * and by --vm-require; and what a catalog reload costs the submit path (lib/catalog_live.c):
 * the load, the time the swap holds the lock, and the slowest reference taken during a load.
 *
 * Loads the built plugin the way slurmctld does (dlopen, with libslurmfull's allocator and
 * logger already global), then calls its job_submit() in a loop with fresh job descriptors.
 * The cost of building and freeing a descriptor is measured in a separate loop and subtracted.
 * Prints figures; never judges them (the goal, <= 20 us per job, is for the reader).
 *
 * usage: bench-job-submit PLUGIN.so [ITERATIONS]
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <sys/time.h>

#include <slurm/slurm.h>

#include "lib/catalog_live.h"

#define N_IMAGES 10000

typedef int (*init_fn)(void);
typedef int (*submit_fn)(job_desc_msg_t *, uint32_t, char **);
typedef char *(*xstrdup_fn)(const char *);
typedef void (*xfree_ptr_fn)(void *);
typedef void *(*xcalloc_fn)(size_t, size_t, bool, bool, const char *, int, const char *);

static xstrdup_fn x_strdup;
static xfree_ptr_fn x_free;
static xcalloc_fn x_calloc;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const SHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int write_catalog(const char *dir, const char *user)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/images.yaml", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "images:\n");
	for (int i = 0; i < N_IMAGES; i++) {
		fprintf(f,
		        "  img-%04d:\n"
		        "    description: generated image %d\n"
		        "    files:\n"
		        "      kernel: {path: img-%04d/vmlinuz, sha256: %s, size: %d}\n"
		        "      initrd: {path: img-%04d/initrd, sha256: %s, size: %d}\n"
		        "    attributes: {os: debian, os_version: %d, kernel: 6.1.%d, mpi: mpich,\n"
		        "                 mpi_version: 4.0.%d, ib: %s}\n"
		        "    memory: {default: 512M, max: 8G}\n"
		        "    vcpus: {default: 1, max: 64}\n"
		        "    features: [xenvm, ib]\n",
		        i, i, i, SHA, 4000000 + i, i, SHA, 9000000 + i, 10 + i % 4, i % 50, i % 7,
		        i % 3 ? "true" : "false");
		/* every other image is restricted to the running user, so permits() does work */
		if (i % 2)
			fprintf(f, "    allow: {users: [%s, someone-else]}\n", user);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/xenvm.yaml", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "catalog: %s/images.yaml\n", dir);
	fclose(f);
	return 0;
}

static const char *require; /* XENVM_REQUIRE for the next jobs, or NULL */

static void make_job(job_desc_msg_t *job, const char *image)
{
	memset(job, 0, sizeof(*job));
	job->user_id = getuid();
	job->group_id = getgid();
	job->pn_min_memory = NO_VAL64;
	job->features = x_strdup("haswell");
	if (image || require) {
		char buf[128];

		job->spank_job_env =
		    x_calloc(2, sizeof(char *), true, false, __FILE__, __LINE__, __func__);
		/* the image (a family with a requirement), the requirement or --vm-verbose */
		if (image && *image)
			snprintf(buf, sizeof(buf), "XENVM_IMAGE=%s", image);
		else
			snprintf(buf, sizeof(buf), "XENVM_VERBOSE=1");
		job->spank_job_env[0] = x_strdup(buf);
		if (require)
			snprintf(buf, sizeof(buf), "XENVM_REQUIRE=%s", require);
		else
			snprintf(buf, sizeof(buf), "XENVM_VERBOSE=1");
		job->spank_job_env[1] = x_strdup(buf);
		job->spank_job_env_size = 2;
	}
}

static void free_job(job_desc_msg_t *job)
{
	for (uint32_t i = 0; i < job->spank_job_env_size; i++)
		x_free(job->spank_job_env[i]);
	if (job->spank_job_env)
		x_free(job->spank_job_env);
	if (job->features)
		x_free(job->features);
}

static double run(submit_fn submit, const char *image, long iters, int call)
{
	job_desc_msg_t job;
	char *err = NULL;
	double t0 = now();

	for (long i = 0; i < iters; i++) {
		make_job(&job, image);
		if (call && submit(&job, getuid(), &err) != 0) {
			fprintf(stderr, "bench: job_submit rejected image %s: %s\n", image,
			        err ? err : "?");
			exit(1);
		}
		if (err) {
			x_free(err);
			err = NULL;
		}
		free_job(&job);
	}
	return (now() - t0) / (double)iters * 1e6;
}

/*
 * A reload of the 10,000-image catalog as slurmctld's reload thread does it: how long the load
 * takes, how long the swap holds the lock, and the slowest reference a reader took meanwhile.
 */
static void swap_figures(const char *dir)
{
	struct xenvm_catalog_live_opts o = {
	    .limits = XENVM_CATALOG_LIMITS_DEFAULT, .poll_ms = 60000, .start_wait_ms = 60000};
	struct xenvm_catalog_live *lv = NULL;
	struct xenvm_catalog_live_stats st;
	struct xerr err;
	char path[4200];
	double worst = 0;
	long gets = 0;
	bool loading = true;

	snprintf(path, sizeof(path), "%s/images.yaml", dir);
	o.path = path;
	if (xenvm_catalog_live_start(&o, &lv, &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	utimes(path, NULL); /* a new mtime: the thread reloads */
	xenvm_catalog_live_poke(lv);
	do {
		double t0 = now(), dt;
		struct xenvm_catalog *c = xenvm_catalog_live_get(lv, &loading);

		dt = now() - t0;
		xenvm_catalog_put(c);
		if (dt > worst)
			worst = dt;
		gets++;
		st = xenvm_catalog_live_stats(lv);
	} while (st.attempts < 2 || st.loading);
	printf("catalog reload (%d images): load %.1f ms off the submit path; swap held the lock "
	       "%.2f us; slowest of %ld references taken during the reload %.2f us\n",
	       N_IMAGES, st.last_load_us / 1e3, st.max_swap_ns / 1e3, gets, worst * 1e6);
	printf("bench-catalog-swap: load=%.1fms swap=%.2fus worst_get=%.2fus\n",
	       st.last_load_us / 1e3, st.max_swap_ns / 1e3, worst * 1e6);
	xenvm_catalog_live_stop(lv);
}

int main(int argc, char **argv)
{
	const char *full[] = {"/usr/lib/x86_64-linux-gnu/slurm-wlm/libslurmfull.so",
	                      "/usr/lib64/slurm/libslurmfull.so", "/usr/lib/slurm/libslurmfull.so"};
	char dir[] = "/tmp/bench-job-submit.XXXXXX";
	char cfg[4200], cmd[4300];
	void *libfull = NULL, *plugin;
	struct passwd *pw = getpwuid(getuid());
	long iters = argc > 2 ? atol(argv[2]) : 200000;
	init_fn init;
	submit_fn submit;
	double base, unrestricted, restricted, novm_base, novm, req_first, req, req_family;

	if (argc < 2 || iters <= 0) {
		fprintf(stderr, "usage: bench-job-submit PLUGIN.so [ITERATIONS]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]) && !libfull; i++)
		libfull = dlopen(full[i], RTLD_NOW | RTLD_GLOBAL);
	if (!libfull) {
		fprintf(stderr, "bench: cannot load libslurmfull.so (slurmctld's library)\n");
		return 1;
	}
	x_strdup = (xstrdup_fn)dlsym(libfull, "slurm_xstrdup");
	x_free = (xfree_ptr_fn)dlsym(libfull, "slurm_xfree_ptr");
	x_calloc = (xcalloc_fn)dlsym(libfull, "slurm_xcalloc");
	if (!x_strdup || !x_free || !x_calloc) {
		fprintf(stderr, "bench: libslurmfull lacks slurm_xstrdup/xfree_ptr/xcalloc\n");
		return 1;
	}
	if (!mkdtemp(dir) || !pw || write_catalog(dir, pw->pw_name) < 0) {
		fprintf(stderr, "bench: cannot write the catalog: %s\n", strerror(errno));
		return 1;
	}
	snprintf(cfg, sizeof(cfg), "%s/xenvm.yaml", dir);
	setenv("XENVM_CONFIG", cfg, 1);
	plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!plugin) {
		fprintf(stderr, "bench: %s\n", dlerror());
		return 1;
	}
	init = (init_fn)dlsym(plugin, "init");
	submit = (submit_fn)dlsym(plugin, "job_submit");
	if (!init || !submit || init() != 0) {
		fprintf(stderr, "bench: plugin init failed\n");
		return 1;
	}
	run(submit, "img-0500", iters / 10, 1); /* warm up */
	base = run(submit, "img-0500", iters, 0);
	unrestricted = run(submit, "img-0500", iters, 1) - base;
	restricted = run(submit, "img-0501", iters, 1) - base;
	novm_base = run(submit, NULL, iters, 0);
	novm = run(submit, NULL, iters, 1) - novm_base;

	/* --vm-require: the first job computes the matches (the memo), the others look them up */
	require = "os=debian,os_version>=12,mpi=mpich,ib";
	{
		double t0 = now();

		run(submit, "", 1, 1);
		req_first = (now() - t0) * 1e6;
	}
	require = "os=debian,os_version>=12,mpi=mpich,ib";
	req = run(submit, "", iters, 1) - base;
	require = "os=debian,mpi=mpich";
	run(submit, "img-0500", 1, 1);
	req_family = run(submit, "img-0500", iters, 1) - base;
	require = NULL;

	printf("job_submit/vmimage, %d-image catalog, %ld jobs each:\n", N_IMAGES, iters);
	printf("  %-44s %8.2f us/job\n", "VM job, image open to everyone", unrestricted);
	printf("  %-44s %8.2f us/job\n", "VM job, image restricted to a user list", restricted);
	printf("  %-44s %8.3f us/job\n", "job without a VM request", novm);
	printf("  %-44s %8.2f us (first job of a requirement)\n", "--vm-require, 10,000 candidates",
	       req_first);
	printf("  %-44s %8.2f us/job\n", "--vm-require, repeated", req);
	printf("  %-44s %8.2f us/job\n", "--vm-require with --vm-image (family)", req_family);
	swap_figures(dir);
	printf("bench-job-submit: vm_open=%.2fus vm_restricted=%.2fus no_vm=%.3fus "
	       "require=%.2fus require_first=%.0fus (goal <= 20us)\n",
	       unrestricted, restricted, novm, req, req_first);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
