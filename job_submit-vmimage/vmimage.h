/*
 * vmimage.h - job_submit/vmimage: validate a job's VM request against the image catalog and
 * turn it into scheduling facts (features, memory) and a pinned image digest.
 */
#ifndef VMIMAGE_H
#define VMIMAGE_H

#include <stdint.h>

#include <slurm/slurm.h>

#include "lib/catalog.h"
#include "lib/catalog_live.h"
#include "lib/config.h"

struct vmimage_plugin {
	struct xenvm_config *cfg;           /* xenvm.yaml (defaults if it could not be read) */
	struct xenvm_catalog_live *catalog; /* images.yaml, reloaded off the submit path */
	char *config_error;                 /* why xenvm.yaml could not be read, or NULL */
};

/*
 * Load the configuration and start the catalog's reload thread (waiting at most 2 s for its
 * first load); never fails slurmctld for a bad file (returns 0; faults are logged), only when
 * the thread cannot start.
 */
int vmimage_init(struct vmimage_plugin *p);
void vmimage_fini(struct vmimage_plugin *p);

/*
 * The job_submit() work.  Returns SLURM_SUCCESS (job accepted, possibly changed) or a Slurm
 * error code with *err_msg set (xmalloc'ed) to a message the user sees.
 */
int vmimage_submit(struct vmimage_plugin *p, job_desc_msg_t *job, uint32_t submit_uid,
                   char **err_msg);

#endif
