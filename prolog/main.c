/*
 * xenvm-prolog - slurmd's Prolog for VM jobs (PrologFlags=Alloc: all nodes of a job at once).
 *
 * Exit status is the failure policy (doc/ARCHITECTURE.md):
 *   0  the node is fine: the job's VM is ready, or the job itself is at fault and the reason is
 *      recorded in the job's state for task launch to report (the node stays in service);
 *   1  the node is at fault (configuration unreadable, state directory unwritable, ...): Slurm
 *      drains the node and requeues the job, which is what admins expect.
 * Jobs that asked for no VM return at once, before any file is read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/catalog.h"
#include "lib/config.h"
#include "lib/image_version.h"
#include "fetch.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "lib/nodelist.h"
#include "lib/request.h"
#include "lib/script_env.h"
#include "lib/script_main.h"
#include "orphan.h"
#include "step.h"
#include "tell.h"
#include "vm/accel.h"
#include "vm/cgroup.h"
#include "node/drivers.h"
#include "node/jobvm.h"
#include "node/sitecheck.h"

#define EXIT_NODE_FAULT 1

#ifndef XENVM_BINDIR
#define XENVM_BINDIR "/usr/local/bin"
#endif

/* imagecast: $XENVM_IMAGECAST (test clusters run from the build tree), else the installed one. */
static const char *imagecast_path(void)
{
	const char *p = getenv("XENVM_IMAGECAST");

	return p && p[0] == '/' ? p : XENVM_BINDIR "/imagecast";
}

/*
 * The accelerator choice is cached under state_dir (one probe per host boot); the VMs' cgroups
 * (vm.cgroup, their memory limit with vm.memory_overhead).  0 or -1.
 */
static int configure_accel(const struct xenvm_config *cfg, struct xerr *err)
{
	enum xvm_accel_mode mode;
	enum xvm_cgroup_mode cg;

	if (xvm_accel_parse(cfg->vm.accel, &mode) < 0)
		return xerr_errno(err, EINVAL, "%s: vm.accel '%s': expected auto, kvm or tcg",
		                  cfg->path, cfg->vm.accel ? cfg->vm.accel : "");
	if (xvm_accel_configure(mode, cfg->state_dir, err) < 0)
		return -1;
	if (xvm_cgroup_parse(cfg->vm.cgroup, &cg) < 0)
		return xerr_errno(err, EINVAL, "%s: vm.cgroup '%s': expected auto, required or off",
		                  cfg->path, cfg->vm.cgroup ? cfg->vm.cgroup : "");
	xvm_cgroup_configure(cg, cfg->vm.memory_overhead_bytes);
	return 0;
}

/* Record a fault of the job's own making, for task launch to report; the node stays up. */
static int job_fault(const char *state_dir, struct xenvm_job_record *rec, const char *why)
{
	struct xerr err;

	xwarn("job %u: %s", rec->jobid, why);
	free(rec->error);
	rec->error = strdup(why);
	if (xenvm_job_record_write(state_dir, rec, &err) < 0) {
		xerror("job %u: %s", rec->jobid, err.msg);
		return EXIT_NODE_FAULT;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xenvm_config *cfg = NULL;
	struct xenvm_script_env se;
	struct xenvm_job_record rec;
	struct xenvm_nodelist nodes = {NULL, 0};
	struct xenvm_catalog *cat = NULL, *pinned = NULL;
	const struct xenvm_image *img;
	struct fetch_result fetched;
	struct xvm_job_inputs in;
	const struct xvm_driver *drv;
	struct xerr err = {""};
	bool step = getenv("XENVM_PROLOG_STEP") && strcmp(getenv("XENVM_PROLOG_STEP"), "1") == 0;
	int lockfd = -1;
	long idx;
	int k;
	int rc = EXIT_NODE_FAULT;

	memset(&rec, 0, sizeof(rec));
	switch (xenvm_script_start("xenvm-prolog", argc, argv, false, &cfg)) {
	case XENVM_SCRIPT_RUN:
		break;
	case XENVM_SCRIPT_DONE:
		return 0;
	case XENVM_SCRIPT_USAGE:
		return 2;
	default:
		/* xenvm.yaml unreadable (logged with file:line): the user is told in words too. */
		if (xenvm_script_env_read(&se, 1, &err) == 0)
			prolog_tell_job(
			    se.jobid, se.node,
			    "its xenvm.yaml cannot be read (the node's log has the file "
			    "and line)");
		goto out;
	}
	if (xenvm_script_env_read(&se, 1, &err) < 0) {
		xerror("environment from slurmd: %s", err.msg);
		goto out;
	}
	rec.jobid = se.jobid;
	rec.uid = se.uid;
	rec.gid = se.gid;
	snprintf(rec.user, sizeof(rec.user), "%s", se.user ? se.user : "");
	snprintf(rec.node, sizeof(rec.node), "%s", se.node);
	rec.nodelist = strdup(se.nodelist);
	if (!rec.nodelist) {
		xerror("out of memory");
		goto out;
	}
	if (xenvm_nodelist_expand("SLURM_NODELIST", se.nodelist, &nodes, &err) < 0) {
		xerror("job %u: %s", se.jobid, err.msg);
		goto out;
	}
	idx = xenvm_nodelist_index(&nodes, se.node);
	if (idx < 0) {
		xerror("job %u: this node (%s) is not in SLURM_NODELIST=%s", se.jobid, se.node,
		       se.nodelist);
		goto out;
	}
	rec.node_index = (uint32_t)idx;
	rec.node_count = (uint32_t)nodes.n;
	/* The site's rules for xenvm.yaml, as `xenvm check` applies them: a fault of the node. */
	if (xvm_site_config_check(cfg, &err) < 0) {
		xerror("job %u: %s", se.jobid, err.msg);
		goto out;
	}

	/* Everything below comes from the user's request: faults are the job's, not the node's. */
	if (xenvm_request_from_env(&rec.req, "SPANK_", xenvm_getenv_process, NULL,
	                           &xenvm_source_spank, &err) < 0) {
		rc = job_fault(cfg->state_dir, &rec, err.msg);
		goto out;
	}
	if (step) {
		/* A --vm-image step of a job without a VM: slurmstepd boots it (spank_xenvm.so). */
		switch (step_prepare(cfg, &rec, &lockfd, &err)) {
		case STEP_RUN:
			break;
		case STEP_UP:
			rc = 0;
			goto out;
		case STEP_JOB_FAULT:
			rc = job_fault(cfg->state_dir, &rec, err.msg);
			goto out;
		default:
			xerror("job %u: %s", rec.jobid, err.msg);
			goto out;
		}
	}
	if (!rec.req.digest[0]) {
		rc = job_fault(cfg->state_dir, &rec,
		               "the job's image digest was not pinned at submit: slurmctld must "
		               "run JobSubmitPlugins=vmimage");
		goto out;
	}
	/* Record the request first: a Prolog killed below leaves the Epilog something to find. */
	if (xenvm_job_record_write(cfg->state_dir, &rec, &err) < 0) {
		xerror("job %u: %s", rec.jobid, err.msg);
		goto out;
	}
	/* From here on we start things: if slurmd dies meanwhile, the Epilog removes them. */
	if (prolog_watch_parent(rec.jobid) < 0)
		xwarn(
		    "job %u: cannot watch slurmd (%s): a slurmd killed during the boot leaves the "
		    "VM to its supervisor's claim deadline",
		    rec.jobid, strerror(errno));
	if (configure_accel(cfg, &err) < 0 || fetch_daemon_check(cfg, &err) < 0) {
		xerror("job %u: %s", rec.jobid, err.msg);
		goto out;
	}
	if (xenvm_catalog_load(cfg->catalog, &cat, &err) < 0) {
		/*
		 * The site's catalog is shared by every node: draining them all for a typo would
		 * stop the cluster, while slurmctld keeps accepting jobs from its last good copy.
		 * The job fails with the file and line, for the user to pass on.
		 */
		char why[sizeof(err.msg) + 64];

		snprintf(why, sizeof(why), "the site's image catalog cannot be read: %s", err.msg);
		rc = job_fault(cfg->state_dir, &rec, why);
		goto out;
	}
	/*
	 * The version pinned at submit, whatever its tag says now: its own attributes (cmdline,
	 * memory, vCPUs, ib, root_allowed) from the store's manifest when the tag moved.
	 */
	k = xenvm_image_for_pin(cat, cfg->imagecast.store, rec.req.image, rec.req.digest, &pinned,
	                        &img, &err);
	if (k < 0) {
		rc = job_fault(cfg->state_dir, &rec, err.msg);
		goto out;
	}
	if (k == 1)
		xwarn(
		    "job %u: image %s is now %s; the version pinned at submit (%s) boots with the "
		    "current entry's attributes (no image manager keeps its own)",
		    rec.jobid, rec.req.image, img->digest, rec.req.digest);
	if (pinned)
		xinfo("job %u: image %s: the version pinned at submit (%s), its tag has moved",
		      rec.jobid, rec.req.image, rec.req.digest);
	if (fetch_image(cfg, imagecast_path(), rec.req.image, rec.req.digest, rec.nodelist,
	                rec.jobid, &fetched, &err) < 0) {
		if (errno == ENOSPC) {
			xerror("job %u: %s", rec.jobid, err.msg);
			goto out;
		}
		rc = job_fault(cfg->state_dir, &rec, err.msg);
		goto out;
	}
	rec.fetch_ms = fetched.ms;
	rec.fetch_bytes = fetched.bytes;
	xinfo("job %u: image %s in %s after %.1f s (%lld bytes fetched)", rec.jobid, rec.req.image,
	      fetched.dir, fetched.ms / 1000.0, (long long)fetched.bytes);
	in.img = img;
	in.image_dir = fetched.dir;
	in.nodes = &nodes;
	/* slurmd says (SLURM_JOB_WORK_DIR, 21.08+); the plugin's copy covers older slurmd. */
	in.workdir = getenv("SLURM_JOB_WORK_DIR") ? getenv("SLURM_JOB_WORK_DIR")
	                                          : getenv("SPANK_XENVM_WORKDIR");
	in.cpus = 0;
	if (getenv("SLURM_JOB_CPUS_PER_NODE") &&
	    xenvm_cpus_on_node(getenv("SLURM_JOB_CPUS_PER_NODE"), rec.node_index, &in.cpus) < 0)
		xwarn("job %u: SLURM_JOB_CPUS_PER_NODE='%s': %s (the VM gets the image's vCPUs)",
		      rec.jobid, getenv("SLURM_JOB_CPUS_PER_NODE"), strerror(errno));
	drv = xvm_driver_for_config(cfg, &err);
	switch (drv ? xvm_job_start(drv, cfg, &in, &rec, &err) : XVM_FAULT_NODE) {
	case XVM_FAULT_NONE:
		break;
	case XVM_FAULT_JOB:
		rc = job_fault(cfg->state_dir, &rec, err.msg);
		goto out;
	default:
		xerror("job %u: %s", rec.jobid, err.msg);
		goto out;
	}
	if (xenvm_job_record_write(cfg->state_dir, &rec, &err) < 0) {
		xerror("job %u: %s", rec.jobid, err.msg);
		goto out;
	}
	xinfo("job %u: node %s (%u of %u): VM %s at %s ready (fetch %.1f s, boot %.1f s)",
	      rec.jobid, rec.node, rec.node_index + 1, rec.node_count, rec.vm_dir, rec.guest_ip,
	      rec.fetch_ms / 1000.0, rec.boot_ms / 1000.0);
	rc = 0;
out:
	/* Slurm drains the node and holds the job with a generic reason: say why in its Comment. */
	if (rc == EXIT_NODE_FAULT && rec.jobid && err.msg[0])
		prolog_tell_job(rec.jobid, rec.node, err.msg);
	if (lockfd >= 0)
		close(lockfd);
	xenvm_catalog_free(pinned);
	xenvm_catalog_free(cat);
	xenvm_nodelist_free(&nodes);
	xenvm_job_record_clear(&rec);
	xenvm_config_free(cfg);
	return rc;
}
