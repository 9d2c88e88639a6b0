/* step.c - see step.h. */
#include "step.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "lib/catalog.h"
#include "lib/log.h"

enum step_action step_prepare(const struct xenvm_config *cfg, struct xenvm_job_record *rec,
                              int *lockfd, struct xerr *err)
{
	char dir[4096], lock[4200];
	struct xenvm_job_record old;
	struct xenvm_catalog *cat = NULL;
	const struct xenvm_image *img;
	struct xenvm_requester who = {0};
	enum step_action act = STEP_NODE_FAULT;
	struct xerr e;

	if (xenvm_job_dir(cfg->state_dir, rec->jobid, dir, sizeof(dir)) < 0 ||
	    xenvm_mkdir_p(dir, 0755) < 0) {
		xerr_set(err, "%s: cannot create: %s", dir, strerror(errno));
		return STEP_NODE_FAULT;
	}
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	*lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*lockfd < 0 || flock(*lockfd, LOCK_EX) < 0) {
		xerr_set(err, "%s: %s", lock, strerror(errno));
		return STEP_NODE_FAULT;
	}
	/* Another step got here first: its VM (or its recorded failure) is the job's. */
	if (xenvm_job_record_read(cfg->state_dir, rec->jobid, &old, &e) == 0) {
		bool same = strcmp(old.req.image, rec->req.image) == 0;

		xenvm_job_record_clear(&old);
		if (same)
			return STEP_UP;
		errno = EEXIST;
		xerr_set(err, "this job's VM on %s runs another image; steps of one job share it",
		         rec->node);
		return STEP_UP; /* the record stands; user_init reports the mismatch */
	}
	if (xenvm_catalog_load(cfg->catalog, &cat, err) < 0) {
		act = STEP_JOB_FAULT; /* as for a job: the site's typo must not drain nodes */
		goto out;
	}
	img = xenvm_catalog_find(cat, rec->req.image);
	if (!img) {
		errno = ENOENT;
		xerr_set(err, "unknown VM image '%s' in %s", rec->req.image, cat->path);
		act = STEP_JOB_FAULT;
		goto out;
	}
	who.uid = rec->uid;
	who.gid = rec->gid;
	who.user = rec->user[0] ? rec->user : NULL;
	who.account = getenv("SLURM_JOB_ACCOUNT");
	who.partition = getenv("SLURM_JOB_PARTITION");
	if (xenvm_image_permits(img, &who, err) < 0) {
		act = STEP_JOB_FAULT;
		goto out;
	}
	if (rec->req.root && !img->allow_root) {
		errno = EACCES;
		xerr_set(err, "--vm-root: image '%s' does not allow root in the guest", img->name);
		act = STEP_JOB_FAULT;
		goto out;
	}
	snprintf(rec->req.digest, sizeof(rec->req.digest), "%s", img->digest);
	rec->step_only = true;
	act = STEP_RUN;
out:
	xenvm_catalog_free(cat);
	return act;
}
