/*
 * xenvm-epilog - slurmd's Epilog for VM jobs: remove everything the job left on this node.
 *
 * Stops the job's VM (agent shutdown within timeouts.shutdown_grace, then destroy), kills any
 * VM of the job the driver still finds by name (after a crash of slurmd, the Prolog or the
 * supervisor), releases the job's guest address, its InfiniBand VFs and image lease, and removes
 * its state.
 * Idempotent: a second run finds nothing and succeeds.  Exit 1 (Slurm drains the node) only
 * when the node cannot be cleaned, because a node with a stale VM must not take new jobs.
 * A job that asked for no VM never depends on xenvm.yaml: when the file cannot be read, the
 * Epilog looks for what such a job could have left (a --vm-image step's VM or state) where a
 * default configuration puts it, and succeeds when there is nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "lib/script_env.h"
#include "lib/request.h"
#include "lib/run.h"
#include "lib/script_main.h"
#include "node/drivers.h"
#include "node/jobvm.h"

#ifndef XENVM_BINDIR
#define XENVM_BINDIR "/usr/local/bin"
#endif

/*
 * Drop the job's lease on its image so the cache may evict it.  A failure is logged only: the
 * lease does not hold the node, and imagecastd drops leases of jobs that no longer exist.
 */
static void unpin_image(const struct xenvm_config *cfg, uint32_t jobid, const char *digest)
{
	const char *ic = getenv("XENVM_IMAGECAST");
	char pin[32], line[512];
	char *argv[8];
	struct xenvm_run_result *r = malloc(sizeof(*r));

	if (!r)
		return;
	snprintf(pin, sizeof(pin), "job.%u", (unsigned)jobid);
	argv[0] = (char *)(ic && ic[0] == '/' ? ic : XENVM_BINDIR "/imagecast");
	argv[1] = "-f";
	argv[2] = cfg->path;
	argv[3] = "unpin";
	argv[4] = (char *)digest;
	argv[5] = pin;
	argv[6] = NULL;
	if (xenvm_run(argv, NULL, 30000, r) < 0)
		xwarn("job %u: cannot run %s: %s", (unsigned)jobid, argv[0], strerror(errno));
	else if (r->timed_out || !WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		xenvm_last_line(r->err, line, sizeof(line));
		xwarn("job %u: unpinning image %s: %s", (unsigned)jobid, digest,
		      r->timed_out ? "imagecast did not answer in 30 s" : line);
	}
	free(r);
}

/*
 * Whether job `jobid` left anything on this node that only a readable xenvm.yaml could clean:
 * its state directory under the default state_dir, or a VM the drivers find by name.  Returns
 * true (and logs what) when it did or when that cannot be told, false when the node is clean.
 */
static bool left_something(uint32_t jobid)
{
	static const char *const drivers[] = {"qemu", "xen"};
	char dir[PATH_MAX];
	struct xvm_info info;
	struct xerr err;

	if (xenvm_job_dir(XENVM_DEFAULT_STATE_DIR, jobid, dir, sizeof(dir)) < 0) {
		xerror("job %u: state directory name: %s", (unsigned)jobid, strerror(errno));
		return true;
	}
	if (access(dir, F_OK) == 0 || errno != ENOENT) {
		xerror("job %u: %s is left on this node", (unsigned)jobid, dir);
		return true;
	}
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		const struct xvm_driver *d = xvm_driver_find(drivers[i]);
		int n;

		/* A Xen driver needs a hypervisor to ask; without one no Xen VM exists. */
		if (!d ||
		    (strcmp(drivers[i], "xen") == 0 && access("/proc/xen/capabilities", F_OK) < 0))
			continue;
		n = d->list_job(jobid, &info, 1, &err);
		if (n != 0) {
			xerror("job %u: %s", (unsigned)jobid,
			       n < 0 ? err.msg : "a VM of the job is still running on this node");
			return true;
		}
	}
	return false;
}

/* SLURMD_NODENAME, else the host name: the node's name in its VF pool. */
static const char *node_name(const struct xenvm_script_env *se, char *buf, size_t len)
{
	if (se->node && *se->node)
		return se->node;
	if (gethostname(buf, len - 1) < 0)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xenvm_script_env se;
	struct xenvm_job_record rec;
	bool have_rec = false;
	const struct xvm_driver *drv;
	struct xerr err;
	char host[256];
	int rc = 1;

	switch (xenvm_script_start("xenvm-epilog", argc, argv, true, &cfg)) {
	case XENVM_SCRIPT_RUN:
		break;
	case XENVM_SCRIPT_DONE:
		return 0;
	case XENVM_SCRIPT_USAGE:
		return 2;
	default:
		/* xenvm.yaml unreadable (logged): fatal only for a job that may have left a VM. */
		if (!getenv("SPANK_" XENVM_REQ_IMAGE) && xenvm_script_env_read(&se, 0, &err) == 0 &&
		    !left_something(se.jobid)) {
			xwarn("job %u asked for no VM and left nothing on this node: nothing to "
			      "clean",
			      se.jobid);
			rc = 0;
		}
		goto out;
	}
	if (xenvm_script_env_read(&se, 0, &err) < 0) {
		xerror("environment from slurmd: %s", err.msg);
		goto out;
	}
	/* A job without a VM request: only --vm-image steps leave anything (prolog/step.h). */
	if (!getenv("SPANK_" XENVM_REQ_IMAGE) &&
	    (xenvm_job_dir(cfg->state_dir, se.jobid, dir, sizeof(dir)) < 0 ||
	     access(dir, F_OK) < 0)) {
		rc = 0;
		goto out;
	}
	have_rec = xenvm_job_record_read(cfg->state_dir, se.jobid, &rec, &err) == 0;
	if (!have_rec && errno != ENOENT)
		xwarn("job %u: %s (cleaning up anyway)", se.jobid, err.msg);
	/* VMs first: a node with a stale VM must not take new jobs (exit 1 drains it). */
	drv = xvm_driver_for_config(cfg, &err);
	if (!drv ||
	    xvm_job_stop(drv, cfg, node_name(&se, host, sizeof(host)), se.jobid, &err) < 0) {
		xerror("job %u: %s", se.jobid, err.msg);
		goto out;
	}
	if (have_rec && rec.req.digest[0])
		unpin_image(cfg, se.jobid, rec.req.digest);
	if (xenvm_job_dir(cfg->state_dir, se.jobid, dir, sizeof(dir)) < 0 ||
	    xenvm_job_remove(cfg->state_dir, se.jobid) < 0) {
		xerror("job %u: cannot remove %s: %s", se.jobid, dir, strerror(errno));
		goto out;
	}
	xinfo("job %u: VM stopped, state removed", se.jobid);
	rc = 0;
out:
	if (have_rec)
		xenvm_job_record_clear(&rec);
	xenvm_config_free(cfg);
	return rc;
}
