/* tell.c - see tell.h. */
#include "prolog/tell.h"

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"

/* Comment is a free-form string in slurmctld; keep it to one readable line. */
#define TELL_MAX 1000

void prolog_tell_job(uint32_t jobid, const char *node, const char *why)
{
	job_desc_msg_t desc;
	char comment[TELL_MAX];

	snprintf(comment, sizeof(comment), "xenvm: node %s is drained: %s", node ? node : "?", why);
	for (char *p = comment; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	slurm_init(NULL);
	slurm_init_job_desc_msg(&desc);
	desc.job_id = jobid;
	desc.comment = comment;
	if (slurm_update_job(&desc) != SLURM_SUCCESS)
		xwarn("job %u: could not set the job's comment to the reason: %s", (unsigned)jobid,
		      slurm_strerror(slurm_get_errno()));
	slurm_fini();
}
