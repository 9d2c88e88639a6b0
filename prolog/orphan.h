/*
 * orphan.h - a Prolog whose slurmd is gone ends what it started.
 *
 * slurmd killed while its Prolog waits for the guest leaves the Prolog running with nobody to
 * report to and no Epilog to come until slurmctld gives up on the node: the job's VM would sit
 * there.  The Prolog watches its parent and, once it is gone, becomes the Epilog (exec, same
 * environment), which removes everything of the job on this node and is idempotent.
 */
#ifndef XENVM_PROLOG_ORPHAN_H
#define XENVM_PROLOG_ORPHAN_H

#include <stdint.h>

/*
 * Start watching the parent (slurmd, or slurmstepd for a step's Prolog) from a thread: once a
 * second, getppid().  When it changed, log it and exec the Epilog: $XENVM_EPILOG if absolute,
 * else xenvm-epilog beside this program.  0, or -1 with errno (the Prolog runs on unwatched).
 */
int prolog_watch_parent(uint32_t jobid);

#endif
