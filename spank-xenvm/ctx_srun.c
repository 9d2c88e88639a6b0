/* ctx_srun.c - srun (S_CTX_LOCAL): validate --vm-* and hand the request to the new job. */
#include <stdlib.h>

#include "xspank.h"

int xspank_srun_post_opt(spank_t sp)
{
	/*
	 * srun inside an allocation only creates a step: the job's Prolog already ran, so there is
	 * no job control environment to set (the step's options still reach slurmstepd).
	 */
	return xspank_request_submit(sp, getenv("SLURM_JOB_ID") != NULL);
}
