/*
 * script_env.h - what slurmd tells a Prolog or Epilog about the job, from its environment.
 *
 * slurmd runs them with a minimal environment (no PATH); the node list is SLURM_NODELIST (there
 * is no SLURM_JOB_NODELIST there) and this node's name is SLURMD_NODENAME.
 */
#ifndef XENVM_SCRIPT_ENV_H
#define XENVM_SCRIPT_ENV_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct xenvm_script_env {
	uint32_t jobid;       /* SLURM_JOB_ID */
	uid_t uid;            /* SLURM_JOB_UID */
	gid_t gid;            /* SLURM_JOB_GID */
	const char *user;     /* SLURM_JOB_USER (may be NULL) */
	const char *node;     /* SLURMD_NODENAME */
	const char *nodelist; /* SLURM_NODELIST */
};

/*
 * Read and check the variables.  `need_nodes`: the Prolog needs SLURM_NODELIST and
 * SLURMD_NODENAME; the Epilog only the job id.  Returns 0, or -1 with err naming the variable.
 * The strings point into the environment.
 */
int xenvm_script_env_read(struct xenvm_script_env *se, int need_nodes, struct xerr *err);

/*
 * The job's CPUs on the node at `index` of its node list, from Slurm's compressed per-node list
 * (SLURM_JOB_CPUS_PER_NODE: "2(x3),1" means 2, 2, 2, 1).  Returns 0 with *out, or -1 with
 * errno EINVAL (malformed) or ERANGE (index past the list).
 */
int xenvm_cpus_on_node(const char *list, size_t index, uint32_t *out);

#endif
