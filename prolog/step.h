/*
 * step.h - the Prolog run for a step: `srun --vm-image=NAME` inside an allocation that has no VM.
 *
 * spank_xenvm.so runs xenvm-prolog from slurmstepd (as root, before the step's tasks) with
 * XENVM_PROLOG_STEP=1 and SLURM_NODELIST set to the step's nodes.  The first such step on a node
 * boots the node's VM for the job, exactly as the Prolog of a VM job would, and the job's
 * Epilog removes it; later steps (and concurrent ones, which wait on the job's lock) use it.
 * No job_submit plugin saw the request, so the digest and the access rules come from the
 * catalog here.
 */
#ifndef XENVM_PROLOG_STEP_H
#define XENVM_PROLOG_STEP_H

#include "lib/config.h"
#include "lib/error.h"
#include "lib/jobstate.h"

enum step_action {
	STEP_RUN,        /* fetch and boot: rec->req.digest is now pinned */
	STEP_UP,         /* the job's VM on this node exists already (or its failure is recorded) */
	STEP_JOB_FAULT,  /* the request is refused (unknown image, not allowed): err says why */
	STEP_NODE_FAULT, /* state directory or catalog unusable: err says why */
};

/*
 * Take the job's lock on this node (held in *lockfd until the caller closes it), then decide.
 */
enum step_action step_prepare(const struct xenvm_config *cfg, struct xenvm_job_record *rec,
                              int *lockfd, struct xerr *err);

#endif
