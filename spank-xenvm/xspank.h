/*
 * xspank.h - spank_xenvm.so internals shared between its per-context files.
 *
 * plugin.c dispatches each SPANK callback to the file for the context Slurm runs it in:
 *   ctx_srun.c        srun (S_CTX_LOCAL)
 *   ctx_alloc.c       sbatch and salloc (S_CTX_ALLOCATOR)
 *   ctx_slurmstepd.c  slurmstepd, in the job's tasks (S_CTX_REMOTE)
 *   ctx_slurmd.c      slurmd (S_CTX_SLURMD)
 * Every message is prefixed "xenvm: " (see log_sink.c).
 */
#ifndef XSPANK_H
#define XSPANK_H

#include <stdbool.h>

#include <slurm/spank.h>

#include "lib/jobstate.h"
#include "lib/request.h"

/* plugstack.conf arguments (args.c). */
struct xspank_args {
	char *config; /* config=PATH: xenvm.yaml (default: see xenvm_config_path()) */
	char *exec;   /* exec=PATH: xenvm-exec, run in place of each task (default: built-in) */
	char *prolog; /* prolog=PATH: xenvm-prolog, run for a --vm-image step of a non-VM job */
};

/* What the user asked for on the command line (options.c). */
struct xspank_opts {
	struct xenvm_request req;
	bool have_image, have_mem, have_vcpus, have_root, have_verbose, have_require, have_mounts;
};

struct xspank_state {
	struct xspank_args args;
	struct xspank_opts opts;
	/* slurmstepd only: the job's node state as the Prolog left it. */
	struct xenvm_job_record job;
	bool have_job;
	bool report; /* --vm-verbose: this step is the first on the node to run in the VM */
};

extern struct xspank_state xspank;

/* args.c: parse plugstack.conf arguments; 0 or -1 (logged). */
int xspank_args_parse(int ac, char **av, struct xspank_args *out);
void xspank_args_free(struct xspank_args *a);

/* options.c: register --vm-* with Slurm; 0 or -1 (logged). */
int xspank_options_register(spank_t sp);
/*
 * Complete the request from XENVM_* environment defaults (options win), validate it, and hand it
 * on with spank_job_control_setenv().  Shared by srun, sbatch and salloc.  0 or -1 (logged).
 */
int xspank_request_submit(spank_t sp, bool inside_allocation);

/*
 * ctx_slurmstepd.c: remember an error for task_init to fail the task with (Slurm does not pass
 * errors of the earlier callbacks to srun); the first one wins.
 */
void xspank_set_pending(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_sink.c: route lib/log.h messages to Slurm's logger. */
void xspank_log_init(void);

/* Per-context entry points. */
int xspank_srun_post_opt(spank_t sp);
int xspank_alloc_post_opt(spank_t sp);
int xspank_slurmstepd_post_opt(spank_t sp);
int xspank_slurmstepd_user_init(spank_t sp);
int xspank_slurmstepd_task_init(spank_t sp);
int xspank_slurmd_init(spank_t sp);

#endif
