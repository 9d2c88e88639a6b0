/*
 * adminid.c - job ids for admin VMs (the range in admin.h), taken under a lock.
 *
 * The lock (<state_dir>/job/.xenvm-admin.lock, flock) covers the name check and the mkdir, so
 * two concurrent `xenvm boot`s never take one id or one name; the directory, once made, is what
 * holds the id (the lock is not needed to keep it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "lib/atomic_file.h"

/* Does an admin job already have a VM called vm?  true/false; errors count as "no". */
static bool name_taken(const char *jobs, const char *vm)
{
	DIR *d = opendir(jobs);
	struct dirent *e;
	bool taken = false;

	if (!d)
		return false;
	while (!taken && (e = readdir(d))) {
		char *end, path[4200];
		unsigned long j = strtoul(e->d_name, &end, 10);
		struct stat st;

		if (*end || e->d_name[0] < '1' || e->d_name[0] > '9' || !XA_IS_ADMIN_JOB(j))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%s", jobs, e->d_name, vm) <
		        (int)sizeof(path) &&
		    stat(path, &st) == 0)
			taken = true;
	}
	closedir(d);
	return taken;
}

int xa_admin_id_take(const char *state_dir, char *vm, size_t vmlen, uint32_t *job_id, char *dir,
                     size_t len, struct xerr *err)
{
	bool derive = !vm[0];

	char jobs[4096], lock[4200], jdir[4200];
	int lfd = -1, rc = -1, saved;

	if (snprintf(jobs, sizeof(jobs), "%s/job", state_dir) >= (int)sizeof(jobs) ||
	    snprintf(lock, sizeof(lock), "%s/.xenvm-admin.lock", jobs) >= (int)sizeof(lock)) {
		return xerr_errno(err, ENAMETOOLONG, "state_dir too long: %s", state_dir);
	}
	if (xenvm_mkdir_p(jobs, 0755) < 0)
		return xerr_set(err, "%s: %s", jobs, strerror(errno));
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		xerr_set(err, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (derive && vmlen < 12) {
		errno = EINVAL;
		xerr_set(err, "admin VM name buffer too small");
		goto out;
	}
	if (!derive && name_taken(jobs, vm)) {
		errno = EEXIST;
		xerr_set(err, "an admin VM called '%s' already exists (xenvm list)", vm);
		goto out;
	}
	for (uint32_t j = XA_JOBID_FIRST; j <= XA_JOBID_LAST; j++) {
		if (derive) {
			snprintf(vm, vmlen, "admin%u", j - XA_JOBID_FIRST + 1);
			if (name_taken(jobs, vm))
				continue;
		}
		snprintf(jdir, sizeof(jdir), "%s/%u", jobs, j);
		if (mkdir(jdir, 0755) < 0) {
			if (errno == EEXIST)
				continue;
			xerr_set(err, "%s: %s", jdir, strerror(errno));
			goto out;
		}
		if (snprintf(dir, len, "%s/%s", jdir, vm) >= (int)len) {
			errno = ENAMETOOLONG;
			xerr_set(err, "%s/%s: path too long", jdir, vm);
			goto undo;
		}
		if (mkdir(dir, 0755) < 0) {
			xerr_set(err, "%s: %s", dir, strerror(errno));
			goto undo;
		}
		*job_id = j;
		rc = 0;
		goto out;
	undo:
		saved = errno;
		rmdir(jdir);
		errno = saved;
		goto out;
	}
	errno = ENOSPC;
	xerr_set(err, "no free admin job id in %s (%u..%u all used)", jobs, XA_JOBID_FIRST,
	         XA_JOBID_LAST);
out:
	saved = errno;
	if (lfd >= 0)
		close(lfd);
	errno = saved;
	return rc;
}
