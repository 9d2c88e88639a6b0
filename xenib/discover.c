/*
 * discover.c - IB physical functions and their VFs from sysfs (see xenib_discover in xenib.h).
 *
 * The layout read is the kernel's (Documentation/ABI/testing/sysfs-class-infiniband and
 * sysfs-bus-pci):
 *   /sys/class/infiniband/<dev>/ports/1/link_layer   "InfiniBand" or "Ethernet" (RoCE)
 *   /sys/class/infiniband/<dev>/device               -> the PCI function
 *   .../device/sriov_totalvfs, sriov_numvfs          present only on an SR-IOV capable PF
 *   .../device/virtfnN                               -> ../<VF's PCI address>, N < sriov_numvfs
 *   .../device/physfn                                present on a VF: VFs are not PFs
 *   .../device/sriov/<N>/{node,port,policy}          mlx5 vendor driver only
 *   .../device/net/<ifname>/ifindex                  the PF's IPoIB netdev (rtnetlink route)
 *   <VF>/infiniband/<dev>, <VF>/driver               the VF's own IB device and driver
 */
#include "xenib.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "sysfs.h"

#define CLASS "/sys/class/infiniband"

void xenib_topology_free(struct xenib_topology *t)
{
	if (!t)
		return;
	free(t->pfs);
	free(t->vfs);
	memset(t, 0, sizeof(*t));
}

/* True if `path` exists (any type, symlinks followed). */
static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The only entry of directory `dir` other than . and .. (the first in name order), or "". */
static void first_entry(const char *dir, char *buf, size_t len)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (!buf[0] && names[i]->d_name[0] != '.' && strlen(names[i]->d_name) < len)
			strcpy(buf, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/*
 * Read PF `name`.  `listed`: the site named it, so anything wrong is an error rather than a
 * reason to skip it.  Returns 1 (an SR-IOV IB PF, *pf filled), 0 (not one, skipped), or -1 with
 * errno and err.
 */
static int read_pf(const char *root, const char *name, bool listed, struct xenib_pf *pf,
                   struct xerr *err)
{
	char path[PATH_MAX], ll[32];
	uint32_t ifindex = 0;

	memset(pf, 0, sizeof(*pf));
	if (strlen(name) >= sizeof(pf->name) || strchr(name, '/')) {
		return xerr_errno(err, EINVAL, "'%s' is not an IB device name", name);
	}
	strcpy(pf->name, name);
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s", name) < 0)
		return -1;
	if (!exists(path)) {
		return xerr_errno(err, ENOENT, "%s: IB device missing", path);
	}
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/physfn", name) < 0)
		return -1;
	if (exists(path)) {
		if (!listed)
			return 0;
		return xerr_errno(err, EINVAL, "%s: %s is itself a virtual function, not a PF",
		                  path, name);
	}
	/* RoCE PFs are Ethernet: their VFs take MACs, not GUIDs; not ours */
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/ports/1/link_layer", name) < 0)
		return -1;
	if (xenib_sysfs_read(path, ll, sizeof(ll), NULL) == 0 && strcmp(ll, "InfiniBand") != 0) {
		if (!listed)
			return 0;
		return xerr_errno(err, EMEDIUMTYPE, "%s: link layer is '%s', not InfiniBand", path,
		                  ll);
	}
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/sriov_totalvfs", name) < 0)
		return -1;
	if (!exists(path)) {
		if (!listed)
			return 0;
		errno = ENOENT;
		return xerr_set(err,
		                "%s: missing: %s has no SR-IOV (not capable, or disabled in "
		                "firmware)",
		                path, name);
	}
	if (xenib_sysfs_read_u32(path, &pf->totalvfs, err) < 0)
		return -1;
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/sriov_numvfs", name) < 0 ||
	    xenib_sysfs_read_u32(path, &pf->numvfs, err) < 0)
		return -1;
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device", name) < 0 ||
	    xenib_link_basename(path, pf->bdf, sizeof(pf->bdf), err) < 0)
		return -1;
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/sriov", name) < 0)
		return -1;
	pf->vendor_sriov = exists(path);
	if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/net", name) < 0)
		return -1;
	first_entry(path, pf->netdev, sizeof(pf->netdev));
	if (pf->netdev[0]) {
		if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/net/%s/ifindex",
		               name, pf->netdev) < 0 ||
		    xenib_sysfs_read_u32(path, &ifindex, err) < 0)
			return -1;
		if (ifindex == 0 || ifindex > INT_MAX) {
			return xerr_errno(err, EINVAL, "%s: %u is not an ifindex", path, ifindex);
		}
		pf->ifindex = (int)ifindex;
	}
	return 1;
}

/*
 * Read virtfn0..count-1 of pf into vfs[0..count-1].  Returns 0, or -1 with errno and err (a
 * missing virtfnN below sriov_numvfs is ENOENT: the kernel always creates them all).
 */
static int read_vfs(const char *root, const struct xenib_pf *pf, unsigned pf_index,
                    unsigned first_slot, unsigned count, struct xenib_vf *vfs, struct xerr *err)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < count; i++) {
		struct xenib_vf *vf = &vfs[i];
		memset(vf, 0, sizeof(*vf));
		vf->slot = first_slot + i;
		vf->pf = pf_index;
		vf->vf = i;
		if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/virtfn%u", pf->name,
		               i) < 0)
			return -1;
		if (xenib_link_basename(path, vf->bdf, sizeof(vf->bdf), NULL) < 0) {
			int e = errno;

			xerr_set(err, "%s: %s (sriov_numvfs is %u)", path, strerror(e), pf->numvfs);
			errno = e;
			return -1;
		}
		/* both only while the VF is bound on the host; absent once given to vfio/pciback */
		if (xenib_path(path, sizeof(path), root, err,
		               CLASS "/%s/device/virtfn%u/infiniband", pf->name, i) < 0)
			return -1;
		first_entry(path, vf->ibdev, sizeof(vf->ibdev));
		if (xenib_path(path, sizeof(path), root, err, CLASS "/%s/device/virtfn%u/driver",
		               pf->name, i) < 0)
			return -1;
		if (xenib_link_basename(path, vf->driver, sizeof(vf->driver), NULL) < 0)
			vf->driver[0] = '\0';
	}
	return 0;
}

/* The devices to look at: the list given, or every entry of the class in name order. */
static int device_names(const struct xenib_params *p, char ***names, size_t *n, struct xerr *err)
{
	char path[PATH_MAX];
	struct dirent **ents = NULL;
	char **out = NULL;
	size_t used = 0;
	int count, rc = -1;

	*names = NULL;
	*n = 0;
	if (p->n_devices > 0) {
		*names = (char **)p->devices;
		*n = p->n_devices;
		return 0;
	}
	if (xenib_path(path, sizeof(path), p->root, err, CLASS) < 0)
		return -1;
	count = scandir(path, &ents, NULL, alphasort);
	if (count < 0) {
		if (errno != ENOENT)
			return xerr_set(err, "%s: %s", path, strerror(errno));
		return 0; /* no IB stack loaded: no devices */
	}
	out = calloc((size_t)count + 1, sizeof(*out));
	if (!out) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	for (int i = 0; i < count; i++) {
		if (ents[i]->d_name[0] == '.')
			continue;
		out[used] = strdup(ents[i]->d_name);
		if (!out[used]) {
			errno = ENOMEM;
			xerr_set(err, "out of memory");
			goto out;
		}
		used++;
	}
	*names = out;
	*n = used;
	out = NULL;
	rc = 0;
out:
	for (int i = 0; i < count; i++)
		free(ents[i]);
	free(ents);
	for (size_t i = 0; out && out[i]; i++)
		free(out[i]);
	free(out);
	return rc;
}

/* Returns 0 and *out, or -1 with errno and err (see xenib.h). */
int xenib_discover(const struct xenib_params *p, struct xenib_topology *out, struct xerr *err)
{
	struct xenib_topology t = {0};
	char **names = NULL;
	size_t n_names = 0;
	int rc = -1, saved;

	if (!p || !out || (p->n_devices && !p->devices)) {
		return xerr_errno(err, EINVAL, "xenib_discover: invalid argument");
	}
	if (device_names(p, &names, &n_names, err) < 0)
		goto out;
	t.pfs = calloc(n_names ? n_names : 1, sizeof(*t.pfs));
	if (!t.pfs) {
		errno = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_names; i++) {
		struct xenib_pf *pf = &t.pfs[t.n_pfs];
		unsigned count, first = (unsigned)t.n_vfs;
		struct xenib_vf *grown;
		int got = read_pf(p->root, names[i], p->n_devices > 0, pf, err);

		if (got < 0)
			goto out;
		if (got == 0) {
			xverbose("%s: not an SR-IOV InfiniBand PF, skipped", names[i]);
			continue;
		}
		count = pf->numvfs;
		if (p->vfs_per_device && p->vfs_per_device < count)
			count = p->vfs_per_device;
		if (t.n_vfs + count > XENIB_MAX_SLOTS) {
			errno = E2BIG;
			xerr_set(err, "%s: more than %d VFs on this node; lower ib.vfs_per_device",
			         pf->name, XENIB_MAX_SLOTS);
			goto out;
		}
		grown = realloc(t.vfs, (t.n_vfs + count + 1) * sizeof(*t.vfs));
		if (!grown) {
			errno = ENOMEM;
			xerr_set(err, "out of memory");
			goto out;
		}
		t.vfs = grown;
		if (read_vfs(p->root, pf, (unsigned)t.n_pfs, first, count, t.vfs + t.n_vfs, err) <
		    0)
			goto out;
		t.n_vfs += count;
		t.n_pfs++;
	}
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	saved = errno;
	xenib_topology_free(&t);
	if (names && names != (char **)p->devices) {
		for (size_t i = 0; i < n_names; i++)
			free(names[i]);
		free(names);
	}
	errno = saved;
	return rc;
}
