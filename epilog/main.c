/*
 * xenvm-epilog - slurmd's Epilog for VM jobs: remove everything the job left on this node.
 *
 * Stops the job's VM (agent shutdown within timeouts.shutdown_grace, then destroy), kills any
 * VM of the job the driver still finds by name (after a crash of slurmd, the Prolog or the
 * supervisor), releases the job's guest address, its InfiniBand VFs and image lease, and removes
 * its state.
 * Idempotent: a second run finds nothing and succeeds.  Exit 1 (Slurm drains the node) only
 * when the node cannot be cleaned, because a node with a stale VM must not take new jobs.
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
