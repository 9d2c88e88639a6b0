/*
 * options.c - the --vm-* options, their XENVM_* environment defaults, and handing the request on.
 *
 * Slurm may call an option's callback more than once (e.g. srun re-parses options for a job
 * it creates); the same value again is fine, a different value is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "xspank.h"

static int remember(bool *have, const char *opt, bool same)
{
	if (*have && !same) {
		xerror("%s was given twice with different values", opt);
		return -1;
	}
	*have = true;
	return 0;
}

static int opt_image(int val, const char *arg, int remote)
{
	struct xerr err;
	char name[XENVM_IMAGE_NAME_MAX + 1];

	if (xenvm_parse_image_name("--vm-image", arg, name, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	if (remember(&xspank.opts.have_image, "--vm-image",
	             strcmp(name, xspank.opts.req.image) == 0) < 0)
		return -1;
	memcpy(xspank.opts.req.image, name, sizeof(name));
	return 0;
}

static int opt_require(int val, const char *arg, int remote)
{
	struct xerr err;
	char canon[XENVM_REQUIRE_MAX_LEN + 1];

	if (xenvm_parse_require("--vm-require", arg, canon, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	if (remember(&xspank.opts.have_require, "--vm-require",
	             strcmp(canon, xspank.opts.req.require) == 0) < 0)
		return -1;
	memcpy(xspank.opts.req.require, canon, sizeof(canon));
	return 0;
}

static int opt_mem(int val, const char *arg, int remote)
{
	struct xerr err;
	uint64_t bytes;

	if (xenvm_parse_mem("--vm-mem", arg, &bytes, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	if (remember(&xspank.opts.have_mem, "--vm-mem", bytes == xspank.opts.req.mem_bytes) < 0)
		return -1;
	xspank.opts.req.mem_bytes = bytes;
	return 0;
}

static int opt_vcpus(int val, const char *arg, int remote)
{
	struct xerr err;
	uint32_t n;

	if (xenvm_parse_vcpus("--vm-vcpus", arg, &n, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	if (remember(&xspank.opts.have_vcpus, "--vm-vcpus", n == xspank.opts.req.vcpus) < 0)
		return -1;
	xspank.opts.req.vcpus = n;
	return 0;
}

static int opt_root(int val, const char *arg, int remote)
{
	xspank.opts.have_root = true;
	xspank.opts.req.root = true;
	return 0;
}

static int opt_verbose(int val, const char *arg, int remote)
{
	xspank.opts.have_verbose = true;
	xspank.opts.req.verbose = true;
	return 0;
}

static int opt_mounts(int val, const char *arg, int remote)
{
	struct xenvm_mount m[XENVM_MOUNTS_MAX];
	char buf[XENVM_MOUNTS_LEN];
	struct xerr err;
	size_t n;

	if (xenvm_parse_mounts("--vm-mounts", arg, buf, m, &n, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	if (remember(&xspank.opts.have_mounts, "--vm-mounts",
	             strcmp(arg, xspank.opts.req.mounts) == 0) < 0)
		return -1;
	snprintf(xspank.opts.req.mounts, sizeof(xspank.opts.req.mounts), "%s", arg);
	return 0;
}

static struct spank_option options[] = {
    {"vm-image", "NAME", "Run the job's tasks inside VMs booted from image NAME (one VM per node).",
     1, 0, opt_image},
    {"vm-require", "TERMS",
     "Choose the image by attributes, e.g. 'os=debian,os_version>=12,mpi=mpich,ib' (see "
     "xenvm-require(7)); with --vm-image, among that image family.",
     1, 0, opt_require},
    {"vm-mem", "SIZE", "Memory of each VM, e.g. 2G (default: the image's default).", 1, 0, opt_mem},
    {"vm-vcpus", "N", "vCPUs of each VM (default: the job's CPUs on the node).", 1, 0, opt_vcpus},
    {"vm-root", NULL, "Ask for root inside the VM (granted only where the image allows it).", 0, 0,
     opt_root},
    {"vm-mounts", "SRC[:DST[:ro]],...",
     "Share host directories with the VMs (within the site's policy: xenvm.yaml(5)).", 1, 0,
     opt_mounts},
    {"vm-verbose", NULL, "Report what happened on each node: cache, boot and readiness times.", 0,
     0, opt_verbose},
};

int xspank_options_register(spank_t sp)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		spank_err_t rc = spank_option_register(sp, &options[i]);

		if (rc != ESPANK_SUCCESS) {
			xerror("cannot register --%s: %s", options[i].name, spank_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* Fill what the command line left unset from XENVM_* in the environment. */
static int apply_env_defaults(struct xenvm_request *r)
{
	const struct xspank_opts *o = &xspank.opts;
	struct xerr err;
	const char *v;

	if (!o->have_image && (v = getenv(XENVM_REQ_IMAGE)) && *v &&
	    xenvm_parse_image_name(XENVM_REQ_IMAGE, v, r->image, &err) < 0)
		goto bad;
	if (!o->have_require && (v = getenv(XENVM_REQ_REQUIRE)) && *v &&
	    xenvm_parse_require(XENVM_REQ_REQUIRE, v, r->require, &err) < 0)
		goto bad;
	if (!o->have_mem && (v = getenv(XENVM_REQ_MEM)) && *v &&
	    xenvm_parse_mem(XENVM_REQ_MEM, v, &r->mem_bytes, &err) < 0)
		goto bad;
	if (!o->have_vcpus && (v = getenv(XENVM_REQ_VCPUS)) && *v &&
	    xenvm_parse_vcpus(XENVM_REQ_VCPUS, v, &r->vcpus, &err) < 0)
		goto bad;
	if (!o->have_root && (v = getenv(XENVM_REQ_ROOT)) &&
	    xenvm_parse_flag(XENVM_REQ_ROOT, v, &r->root, &err) < 0)
		goto bad;
	if (!o->have_verbose && (v = getenv(XENVM_REQ_VERBOSE)) &&
	    xenvm_parse_flag(XENVM_REQ_VERBOSE, v, &r->verbose, &err) < 0)
		goto bad;
	if (!o->have_mounts && (v = getenv(XENVM_REQ_MOUNTS)) && *v) {
		struct xenvm_mount m[XENVM_MOUNTS_MAX];
		char buf[XENVM_MOUNTS_LEN];
		size_t n;

		if (xenvm_parse_mounts(XENVM_REQ_MOUNTS, v, buf, m, &n, &err) < 0)
			goto bad;
		snprintf(r->mounts, sizeof(r->mounts), "%s", v);
	}
	return 0;
bad:
	xerror("%s", err.msg);
	return -1;
}

static int control_setenv(spank_t sp, const char *name, const char *value, bool tolerant)
{
	spank_err_t rc = spank_job_control_setenv(sp, name, value, 1);

	if (rc == ESPANK_SUCCESS)
		return 0;
	if (tolerant) {
		/* A step inside an existing allocation has no job control environment. */
		xdebug("spank_job_control_setenv(%s): %s", name, spank_strerror(rc));
		return 0;
	}
	xerror("cannot pass %s to the job: %s", name, spank_strerror(rc));
	return -1;
}

int xspank_request_submit(spank_t sp, bool inside_allocation)
{
	struct xenvm_request r = xspank.opts.req;
	const struct xspank_opts *o = &xspank.opts;
	char num[32];

	if (o->have_require && inside_allocation) {
		/* Only job_submit can choose: a step runs in the VMs its job already has. */
		xerror("--vm-require chooses the image when a job is submitted; a step inside an "
		       "allocation runs in the job's VMs (name one with --vm-image=NAME)");
		return -1;
	}
	if (apply_env_defaults(&r) < 0)
		return -1;
	if (inside_allocation)
		r.require[0] = '\0'; /* XENVM_REQUIRE inherited by a job's steps: the job chose */
	if (!*r.image && !*r.require) {
		const char *orphan = o->have_mem      ? "--vm-mem"
		                     : o->have_vcpus  ? "--vm-vcpus"
		                     : o->have_root   ? "--vm-root"
		                     : o->have_mounts ? "--vm-mounts"
		                                      : NULL;
		if (orphan) {
			xerror("%s needs --vm-image=NAME or --vm-require=TERMS (or XENVM_IMAGE or "
			       "XENVM_REQUIRE in the environment)",
			       orphan);
			return -1;
		}
		return 0;
	}
	xspank.opts.req = r;
	if (*r.image && control_setenv(sp, XENVM_REQ_IMAGE, r.image, inside_allocation) < 0)
		return -1;
	if (*r.require && control_setenv(sp, XENVM_REQ_REQUIRE, r.require, inside_allocation) < 0)
		return -1;
	if (r.mem_bytes) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r.mem_bytes);
		if (control_setenv(sp, XENVM_REQ_MEM, num, inside_allocation) < 0)
			return -1;
	}
	if (r.vcpus) {
		snprintf(num, sizeof(num), "%u", (unsigned)r.vcpus);
		if (control_setenv(sp, XENVM_REQ_VCPUS, num, inside_allocation) < 0)
			return -1;
	}
	if (r.root && control_setenv(sp, XENVM_REQ_ROOT, "1", inside_allocation) < 0)
		return -1;
	if (r.verbose && control_setenv(sp, XENVM_REQ_VERBOSE, "1", inside_allocation) < 0)
		return -1;
	if (r.mounts[0] && control_setenv(sp, XENVM_REQ_MOUNTS, r.mounts, inside_allocation) < 0)
		return -1;
	/* The Prolog shares the working directory with the VM (the home directory it knows). */
	if (!inside_allocation) {
		char cwd[4096];

		if (getcwd(cwd, sizeof(cwd)) && control_setenv(sp, "XENVM_WORKDIR", cwd, false) < 0)
			return -1;
	}
	return 0;
}
