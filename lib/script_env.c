/* script_env.c - see script_env.h. */
#include "script_env.h"

#include <stdlib.h>
#include <string.h>

#include "jobstate.h"

int xenvm_script_env_read(struct xenvm_script_env *se, int need_nodes, struct xerr *err)
{
	const char *v;
	uint32_t id;

	if (!se)
		return xerr_set(err, "internal error: bad arguments to xenvm_script_env_read");
	memset(se, 0, sizeof(*se));
	se->uid = (uid_t)-1;
	se->gid = (gid_t)-1;
	if (xenvm_parse_jobid("SLURM_JOB_ID", getenv("SLURM_JOB_ID"), &se->jobid, err) < 0)
		return -1;
	if ((v = getenv("SLURM_JOB_UID"))) {
		if (xenvm_parse_id("SLURM_JOB_UID", v, &id, err) < 0)
			return -1;
		se->uid = id;
	}
	if ((v = getenv("SLURM_JOB_GID"))) {
		if (xenvm_parse_id("SLURM_JOB_GID", v, &id, err) < 0)
			return -1;
		se->gid = id;
	}
	se->user = getenv("SLURM_JOB_USER");
	se->node = getenv("SLURMD_NODENAME");
	se->nodelist = getenv("SLURM_NODELIST");
	if (!need_nodes)
		return 0;
	if (se->uid == (uid_t)-1)
		return xerr_set(err, "SLURM_JOB_UID is not set");
	if (se->gid == (gid_t)-1)
		return xerr_set(err, "SLURM_JOB_GID is not set");
	if (!se->node || !*se->node)
		return xerr_set(err, "SLURMD_NODENAME is not set");
	if (!se->nodelist || !*se->nodelist)
		return xerr_set(err, "SLURM_NODELIST is not set");
	return 0;
}
