/*
 * xenvm-epilog - slurmd's Epilog for VM jobs: remove everything the job left on this node.
 *
 * Idempotent: a second run finds nothing and succeeds.  Exit 1 (Slurm drains the node) only
 * when the node cannot be cleaned, because a node with a stale VM must not take new jobs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "jobstate.h"
#include "log.h"
#include "script_env.h"
#include "script_main.h"

int main(int argc, char **argv)
{
	char dir[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xenvm_script_env se;
	struct xerr err;
	int rc = 1;

	switch (xenvm_script_start("xenvm-epilog", argc, argv, &cfg)) {
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
	if (xenvm_job_dir(cfg->state_dir, se.jobid, dir, sizeof(dir)) < 0 ||
	    xenvm_job_remove(cfg->state_dir, se.jobid) < 0) {
		xerror("job %u: cannot remove %s: %s", se.jobid, dir, strerror(errno));
		goto out;
	}
	xinfo("job %u: state removed", se.jobid);
	rc = 0;
out:
	xenvm_config_free(cfg);
	return rc;
}
