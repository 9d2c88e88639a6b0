/*
 * jobs.h - which image versions Slurm's jobs are pinned to.
 *
 * job_submit_vmimage(8) pins the digest into the job's SPANK environment (for the Prolog) and,
 * for the image manager, into the job's AdminComment as "xenvm:sha256:<hex>": slurmctld shows
 * AdminComment to `scontrol show job` (users cannot set it), while the SPANK environment is
 * not shown by any Slurm 22.05 command.  The program run is $XENVM_SCONTROL, else scontrol.
 */
#ifndef IMGS_JOBS_H
#define IMGS_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "store.h"

#define IMGS_PIN_PREFIX "xenvm:sha256:"

/*
 * The digests (hex) of every job not yet finished (pending, running, suspended, completing...).
 * Returns 0 with *hex (n strings, free with imgs_strv_free), or -1 with err when Slurm cannot be
 * asked: the collector then collects nothing.
 */
int imgs_live_pins(char ***hex, size_t *n, struct xerr *err);
/* The digest a job is pinned to into hex.  Returns 1, 0 (no pin), or -1 with err. */
int imgs_job_pin(uint32_t jobid, char hex[IMGS_HEX_LEN + 1], struct xerr *err);
void imgs_strv_free(char **v, size_t n);

#endif
