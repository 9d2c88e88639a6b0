/*
 * tell.h - a node fault told to the job's user, not only to slurmd's log.
 *
 * When the Prolog exits 1, Slurm drains the node and requeues the job held with a generic
 * reason ("launch failed requeued held"); the user who asks `scontrol show job` learns nothing
 * of why.  The Prolog (root on the node) therefore puts the reason in the job's Comment first.
 */
#ifndef XENVM_PROLOG_TELL_H
#define XENVM_PROLOG_TELL_H

#include <stdint.h>

/*
 * Set job `jobid`'s Comment to "xenvm: node NODE is drained: WHY" through slurmctld.  Best
 * effort: a failure is logged (the node is drained either way).  Never blocks longer than
 * libslurm's MessageTimeout.
 */
void prolog_tell_job(uint32_t jobid, const char *node, const char *why);

#endif
