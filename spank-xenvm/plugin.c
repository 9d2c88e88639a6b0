/*
 * plugin.c - spank_xenvm.so: the SPANK entry points, each dispatched to its context's file.
 */
#include <stdlib.h>
#include <string.h>

#include <slurm/spank.h>

#include "lib/log.h"
#include "xspank.h"

SPANK_PLUGIN(xenvm, 1);

struct xspank_state xspank;

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();

	xspank_log_init();
	if (xspank_args_parse(ac, av, &xspank.args) < 0)
		return -1;
	switch (ctx) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
	case S_CTX_REMOTE:
		return xspank_options_register(sp);
	case S_CTX_SLURMD:
		return xspank_slurmd_init(sp);
	default:
		return 0;
	}
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	switch (spank_context()) {
	case S_CTX_LOCAL:
		return xspank_srun_post_opt(sp);
	case S_CTX_ALLOCATOR:
		return xspank_alloc_post_opt(sp);
	case S_CTX_REMOTE:
		return xspank_slurmstepd_post_opt(sp);
	default:
		return 0;
	}
}

int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return xspank_slurmstepd_user_init(sp);
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	if (spank_context() != S_CTX_REMOTE)
		return 0;
	return xspank_slurmstepd_task_init(sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	xenvm_job_record_clear(&xspank.job);
	xspank_args_free(&xspank.args);
	memset(&xspank, 0, sizeof(xspank));
	xlog_set_sink(NULL);
	return 0;
}
