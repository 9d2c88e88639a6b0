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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobstate.h"
#include "log.h"
#include "nodelist.h"
#include "request.h"
#include "script_env.h"
#include "script_main.h"

#define EXIT_NODE_FAULT 1

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
	struct xerr err;
	long idx;
	int rc = EXIT_NODE_FAULT;

	memset(&rec, 0, sizeof(rec));
	switch (xenvm_script_start("xenvm-prolog", argc, argv, &cfg)) {
	case XENVM_SCRIPT_RUN:
		break;
	case XENVM_SCRIPT_DONE:
		return 0;
	case XENVM_SCRIPT_USAGE:
		return 2;
	default:
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

	/* Everything below comes from the user's request: faults are the job's, not the node's. */
	if (xenvm_request_from_env(&rec.req, "SPANK_", xenvm_getenv_process, NULL,
	                           &xenvm_source_spank, &err) < 0) {
		rc = job_fault(cfg->state_dir, &rec, err.msg);
		goto out;
	}
	if (!rec.req.digest[0]) {
		rc = job_fault(cfg->state_dir, &rec,
		               "the job's image digest was not pinned at submit: slurmctld must "
		               "run JobSubmitPlugins=vmimage");
		goto out;
	}
	if (xenvm_job_record_write(cfg->state_dir, &rec, &err) < 0) {
		xerror("job %u: %s", rec.jobid, err.msg);
		goto out;
	}
	xinfo("job %u: node %s (%u of %u): image %s %s recorded", rec.jobid, rec.node,
	      rec.node_index + 1, rec.node_count, rec.req.image, rec.req.digest);
	rc = 0;
out:
	xenvm_nodelist_free(&nodes);
	xenvm_job_record_clear(&rec);
	xenvm_config_free(cfg);
	return rc;
}
