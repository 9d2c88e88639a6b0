/*
 * xenvm-epilog - slurmd's Epilog for VM jobs: remove everything the job left on this node.
 *
 * Idempotent: a second run finds nothing and succeeds.  Exit 1 (Slurm drains the node) only
 * when the node cannot be cleaned, because a node with a stale VM must not take new jobs.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "config_path.h"
#include "jobstate.h"
#include "log.h"
#include "request.h"
#include "script_env.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xenvm-epilog [-c xenvm.yaml] [-v]\n"
	           "Run by slurmd as Epilog (see xenvm-epilog(8)); reads the job from its "
	           "environment.\n");
}

int main(int argc, char **argv)
{
	const char *config_arg = NULL;
	char path[PATH_MAX], dir[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xenvm_script_env se;
	struct xerr err;
	int c, rc = 1;

	xlog_init("xenvm-epilog", XLOG_INFO);
	while ((c = getopt(argc, argv, "c:vh")) != -1) {
		switch (c) {
		case 'c':
			config_arg = optarg;
			break;
		case 'v':
			xlog_set_level(XLOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!getenv("SPANK_" XENVM_REQ_IMAGE))
		return 0;
	xlog_open_syslog(LOG_DAEMON);

	if (!xenvm_config_path(config_arg, path, sizeof(path))) {
		xerror("configuration path: %s", strerror(errno));
		goto out;
	}
	if (xenvm_config_load(path, false, &cfg, &err) < 0) {
		xerror("%s", err.msg);
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
