/*
 * bench-job-submit - per-job cost of job_submit/vmimage against a 1,000-image catalog.
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

#include <slurm/slurm.h>

#define N_IMAGES 1000

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
		fprintf(
		    f,
		    "  img-%04d:\n"
		    "    description: generated image %d\n"
		    "    files:\n"
		    "      kernel: {path: img-%04d/vmlinuz, sha256: %s, size: %d}\n"
		    "      initrd: {path: img-%04d/initrd, sha256: %s, size: %d}\n"
		    "    attributes: {os: debian-12, kernel: 6.1.0, mpi: mpich-4.0.2, ib: true}\n"
		    "    memory: {default: 512M, max: 8G}\n"
		    "    vcpus: {default: 1, max: 64}\n"
		    "    features: [xenvm, ib]\n",
		    i, i, i, SHA, 4000000 + i, i, SHA, 9000000 + i);
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

static void make_job(job_desc_msg_t *job, const char *image)
{
	memset(job, 0, sizeof(*job));
	job->user_id = getuid();
	job->group_id = getgid();
	job->pn_min_memory = NO_VAL64;
	job->features = x_strdup("haswell");
	if (image) {
		char buf[128];

		job->spank_job_env =
		    x_calloc(2, sizeof(char *), true, false, __FILE__, __LINE__, __func__);
		snprintf(buf, sizeof(buf), "XENVM_IMAGE=%s", image);
		job->spank_job_env[0] = x_strdup(buf);
		job->spank_job_env[1] = x_strdup("XENVM_VERBOSE=1");
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
		free_job(&job);
	}
	return (now() - t0) / (double)iters * 1e6;
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
	double base, unrestricted, restricted, novm_base, novm;

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

	printf("job_submit/vmimage, %d-image catalog, %ld jobs each:\n", N_IMAGES, iters);
	printf("  %-44s %8.2f us/job\n", "VM job, image open to everyone", unrestricted);
	printf("  %-44s %8.2f us/job\n", "VM job, image restricted to a user list", restricted);
	printf("  %-44s %8.3f us/job\n", "job without a VM request", novm);
	printf(
	    "bench-job-submit: vm_open=%.2fus vm_restricted=%.2fus no_vm=%.3fus (goal <= 20us)\n",
	    unrestricted, restricted, novm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
