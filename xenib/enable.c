/*
 * enable.c - set the number of VFs of the pool's PFs (see xenib_enable in xenib.h).
 *
 * The kernel's rules for device/sriov_numvfs (Documentation/ABI/testing/sysfs-bus-pci): the
 * value may not exceed sriov_totalvfs, and a non-zero count can only be changed by writing 0
 * first, which destroys every VF - so a PF whose VFs are assigned to VMs is never touched.
 */
#include "xenib.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/atomic_file.h"
#include "lock.h"
#include "lib/log.h"
#include "state.h"
#include "sysfs.h"

/* How many entries of `st` are VFs of PF index `pf` in `t`. */
static unsigned assigned_on(const struct xenib_topology *t, unsigned pf, struct xenib_state *st)
{
	unsigned n = 0;

	for (size_t i = 0; i < t->n_vfs; i++)
		if (t->vfs[i].pf == pf && xenib_state_find(st, t->vfs[i].bdf))
			n++;
	return n;
}

/* Bring one PF to `numvfs`.  Returns 1 if written, 0 if already there, -1 with errno and err. */
static int enable_pf(const struct xenib_params *p, const struct xenib_topology *t,
                     unsigned pf_index, uint32_t numvfs, struct xenib_state *st, struct xerr *err)
{
	const struct xenib_pf *pf = &t->pfs[pf_index];
	char path[PATH_MAX], value[16];
	unsigned busy;

	if (numvfs > pf->totalvfs) {
		if (xenib_path(path, sizeof(path), p->root, err,
		               "/sys/class/infiniband/%s/device/sriov_totalvfs", pf->name) == 0)
			xerr_set(err, "%s: %s supports at most %u VFs, %u asked", path, pf->name,
			         pf->totalvfs, numvfs);
		errno = ERANGE;
		return -1;
	}
	if (pf->numvfs == numvfs)
		return 0;
	if (xenib_path(path, sizeof(path), p->root, err,
	               "/sys/class/infiniband/%s/device/sriov_numvfs", pf->name) < 0)
		return -1;
	busy = assigned_on(t, pf_index, st);
	if (busy) {
		errno = EBUSY;
		return xerr_set(err,
		                "%s: not changed from %u to %u: %u of %s's VFs are leased or "
		                "assigned (release them first)",
		                path, pf->numvfs, numvfs, busy, pf->name);
	}
	if (pf->numvfs != 0 && xenib_sysfs_write(path, "0", err) < 0)
		return -1;
	snprintf(value, sizeof(value), "%u", numvfs);
	if (xenib_sysfs_write(path, value, err) < 0)
		return -1;
	xinfo("%s: %u VFs enabled (was %u)", pf->name, numvfs, pf->numvfs);
	return 1;
}

/* Returns 0, or -1 with errno and err (see xenib.h). */
int xenib_enable(const struct xenib_params *p, uint32_t numvfs, unsigned *changed, struct xerr *err)
{
	struct xenib_params all;
	struct xenib_topology t = {0};
	struct xenib_state st = {0};
	char dir[PATH_MAX], lock[PATH_MAX], state[PATH_MAX], path[PATH_MAX];
	unsigned count = 0;
	int fd = -1, rc = -1, saved;

	if (changed)
		*changed = 0;
	if (!p || !p->state_dir || numvfs == 0) {
		return xerr_errno(err, EINVAL,
		                  "xenib_enable: invalid argument (the VF count must be > 0)");
	}
	if (xenib_state_paths(p->state_dir, dir, lock, state, err) < 0)
		return -1;
	if (xenvm_mkdir_p(dir, 0755) < 0)
		return xerr_set(err, "%s: cannot create: %s", dir, strerror(errno));
	/* under the pool's lock: no allocation may pick a VF that is about to vanish */
	fd = xenib_lock(lock, err);
	if (fd < 0)
		return -1;
	if (xenib_state_load(state, &st, err) < 0)
		goto out;
	all = *p;
	all.vfs_per_device = 0; /* every VF that exists, assigned ones included */
	if (xenib_discover(&all, &t, err) < 0)
		goto out;
	if (t.n_pfs == 0) {
		errno = ENOENT;
		if (xenib_path(path, sizeof(path), p->root, err, "/sys/class/infiniband") == 0)
			xerr_set(err,
			         "%s: no InfiniBand device with SR-IOV (no device/sriov_totalvfs)",
			         path);
		goto out;
	}
	for (unsigned i = 0; i < t.n_pfs; i++) {
		int got = enable_pf(p, &t, i, numvfs, &st, err);

		if (got < 0)
			goto out;
		count += (unsigned)got;
	}
	rc = 0;
out:
	saved = errno;
	xenib_topology_free(&t);
	xenib_state_free(&st);
	xenib_unlock(fd);
	if (changed)
		*changed = count;
	errno = saved;
	return rc;
}
