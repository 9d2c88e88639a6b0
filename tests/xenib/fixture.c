/* fixture.c - see fixture.h. */
#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomic_file.h"

#define ROOTPORT "/sys/devices/pci0000:3a/0000:3a:00.0"

/* Write value to root/rel, creating parent directories.  Returns 0, or -1 with errno. */
static int put(const char *root, const char *rel, const char *value)
{
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (xenvm_mkdir_p(dir, 0755) < 0)
		return -1;
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(value, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* Symlink root/rel -> target, creating parent directories.  Returns 0, or -1 with errno. */
static int link_to(const char *root, const char *rel, const char *target)
{
	char path[PATH_MAX], dir[PATH_MAX], *slash;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (xenvm_mkdir_p(dir, 0755) < 0)
		return -1;
	unlink(path);
	return symlink(target, path);
}

static int mkdir_in(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	return xenvm_mkdir_p(path, 0755);
}

void fixture_vf_bdf(unsigned n, char *buf, size_t len)
{
	unsigned devfn = n + 1;

	snprintf(buf, len, "0000:3b:%02x.%x", devfn >> 3, devfn & 7);
}

/* The IOMMU group of a function: its devfn + 40 (any stable, distinct number will do). */
const char *fixture_iommu_group(const char *bdf)
{
	static char buf[16];
	unsigned bus = 0, dev = 0, fn = 0;

	sscanf(bdf, "%*x:%x:%x.%x", &bus, &dev, &fn);
	snprintf(buf, sizeof(buf), "%u", bus * 8 + dev * 8 + fn + 40);
	return buf;
}

/* An IB device <name> under PCI directory `pci` (relative to root) of PCI function `bdf`. */
static int ib_device(const char *root, const char *pci, const char *name, const char *ll)
{
	char rel[PATH_MAX], target[PATH_MAX];
	const char *bdf = strrchr(pci, '/') + 1;

	snprintf(rel, sizeof(rel), "%s/infiniband/%s/ports/1/link_layer", pci, name);
	if (put(root, rel, ll) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/infiniband/%s/ports/1/state", pci, name);
	if (put(root, rel, "4: ACTIVE\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/infiniband/%s/device", pci, name);
	snprintf(target, sizeof(target), "../../../%s", bdf);
	if (link_to(root, rel, target) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "/sys/class/infiniband/%s", name);
	snprintf(target, sizeof(target), "../../%s/infiniband/%s", pci + strlen("/sys/"), name);
	return link_to(root, rel, target);
}

/* A PCI function at `pci` (relative to root): ids, driver, bus/pci/devices link. */
static int pci_function(const char *root, const char *pci, const char *device)
{
	char rel[PATH_MAX], target[PATH_MAX];
	const char *bdf = strrchr(pci, '/') + 1;
	int up = 0;

	for (const char *p = pci; *p; p++)
		up += *p == '/';
	snprintf(rel, sizeof(rel), "%s/vendor", pci);
	if (put(root, rel, "0x15b3\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/device", pci);
	if (put(root, rel, device) < 0)
		return -1;
	/* driver -> ../../../bus/pci/drivers/mlx5_core, as many ../ as the directory is deep */
	snprintf(target, sizeof(target), "%s", "");
	for (int i = 0; i < up - 1; i++)
		strcat(target, "../");
	strcat(target, "bus/pci/drivers/mlx5_core");
	snprintf(rel, sizeof(rel), "%s/driver", pci);
	if (link_to(root, rel, target) < 0)
		return -1;
	/* sysfs-bus-pci: driver_override reads "(null)" until set */
	snprintf(rel, sizeof(rel), "%s/driver_override", pci);
	if (put(root, rel, "(null)\n") < 0)
		return -1;
	/* iommu_group -> ../../../kernel/iommu_groups/<N>; one group per function, as with ACS */
	snprintf(target, sizeof(target), "%s", "");
	for (int i = 0; i < up - 1; i++)
		strcat(target, "../");
	snprintf(target + strlen(target), sizeof(target) - strlen(target), "kernel/iommu_groups/%s",
	         fixture_iommu_group(bdf));
	snprintf(rel, sizeof(rel), "%s/iommu_group", pci);
	if (link_to(root, rel, target) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "/sys/kernel/iommu_groups/%s/type", fixture_iommu_group(bdf));
	if (put(root, rel, "DMA\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../%s", pci + strlen("/sys/"));
	return link_to(root, rel, target);
}

/* Returns 0, or -1 with errno. */
int fixture_set_numvfs(struct fixture *f, unsigned n)
{
	char rel[PATH_MAX], bdf[16], val[16], target[64];
	const char *pf = ROOTPORT "/" FIXTURE_PF_BDF;

	/* the kernel removes every VF before it creates the new ones */
	for (unsigned i = 0; i < FIXTURE_TOTALVFS; i++) {
		char path[PATH_MAX];

		fixture_vf_bdf(i, bdf, sizeof(bdf));
		snprintf(path, sizeof(path), "%s%s/virtfn%u", f->root, pf, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s" ROOTPORT "/%s", f->root, bdf);
		if (xenvm_remove_tree(path) < 0)
			return -1;
		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", f->root, bdf);
		unlink(path);
		snprintf(path, sizeof(path), "%s/sys/class/infiniband/mlx5_%u", f->root, i + 1);
		unlink(path);
		snprintf(path, sizeof(path), "%s%s/sriov/%u", f->root, pf, i);
		if (xenvm_remove_tree(path) < 0)
			return -1;
	}
	snprintf(rel, sizeof(rel), "%s/sriov_numvfs", pf);
	snprintf(val, sizeof(val), "%u\n", n);
	if (put(f->root, rel, val) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		char vf[128], name[16];

		fixture_vf_bdf(i, bdf, sizeof(bdf));
		snprintf(vf, sizeof(vf), ROOTPORT "/%s", bdf);
		snprintf(name, sizeof(name), "mlx5_%u", i + 1);
		snprintf(rel, sizeof(rel), "%s/virtfn%u", pf, i);
		snprintf(target, sizeof(target), "../%s", bdf);
		if (pci_function(f->root, vf, "0x1018\n") < 0 || link_to(f->root, rel, target) < 0)
			return -1;
		snprintf(rel, sizeof(rel), "%s/physfn", vf);
		if (link_to(f->root, rel, "../" FIXTURE_PF_BDF) < 0 ||
		    ib_device(f->root, vf, name, "InfiniBand\n") < 0)
			return -1;
		if (f->kind != FIXTURE_VENDOR)
			continue;
		/* MLNX_OFED's defaults: no GUID yet, policy Down */
		snprintf(rel, sizeof(rel), "%s/sriov/%u/node", pf, i);
		if (put(f->root, rel, "00:00:00:00:00:00:00:00\n") < 0)
			return -1;
		snprintf(rel, sizeof(rel), "%s/sriov/%u/port", pf, i);
		if (put(f->root, rel, "00:00:00:00:00:00:00:00\n") < 0)
			return -1;
		snprintf(rel, sizeof(rel), "%s/sriov/%u/policy", pf, i);
		if (put(f->root, rel, "Down\n") < 0)
			return -1;
	}
	return 0;
}

/* Returns 0, or -1 with errno. */
int fixture_build(struct fixture *f, enum fixture_kind kind, unsigned numvfs)
{
	const char *pf = ROOTPORT "/" FIXTURE_PF_BDF;
	const char *roce = "/sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0";
	char rel[PATH_MAX], val[16];
	const char *tmp = getenv("TMPDIR");

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	snprintf(f->root, sizeof(f->root), "%s/xenib-fixture.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	/* other uids (the EACCES tests) must be able to walk the tree */
	if (chmod(f->root, 0755) < 0)
		return -1;
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/run/xenvm", f->root);
	snprintf(f->pf_dir, sizeof(f->pf_dir), "%s%s", f->root, pf);
	if (mkdir_in(f->root, "/run/xenvm") < 0 ||
	    mkdir_in(f->root, "/sys/bus/pci/drivers/mlx5_core") < 0 ||
	    mkdir_in(f->root, "/sys/bus/pci/drivers/vfio-pci") < 0 ||
	    mkdir_in(f->root, "/dev/vfio") < 0)
		return -1;
	/* write-only attributes of the PCI bus and its drivers (sysfs-bus-pci) */
	if (put(f->root, "/sys/bus/pci/drivers_probe", "") < 0 ||
	    put(f->root, "/sys/bus/pci/drivers/mlx5_core/unbind", "") < 0 ||
	    put(f->root, "/sys/bus/pci/drivers/mlx5_core/bind", "") < 0 ||
	    put(f->root, "/sys/bus/pci/drivers/vfio-pci/unbind", "") < 0 ||
	    put(f->root, "/sys/bus/pci/drivers/vfio-pci/bind", "") < 0 ||
	    put(f->root, "/dev/vfio/vfio", "") < 0)
		return -1;
	if (pci_function(f->root, pf, "0x1017\n") < 0 ||
	    ib_device(f->root, pf, FIXTURE_PF, "InfiniBand\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/infiniband/" FIXTURE_PF "/node_guid", pf);
	if (put(f->root, rel, "ec0d:9a03:0078:64a0\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/net/ib0/ifindex", pf);
	snprintf(val, sizeof(val), "%d\n", FIXTURE_IFINDEX);
	if (put(f->root, rel, val) < 0)
		return -1;
	/* a RoCE port: SR-IOV capable, but Ethernet - never part of the IB pool */
	if (pci_function(f->root, roce, "0x1017\n") < 0 ||
	    ib_device(f->root, roce, "mlx5_9", "Ethernet\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/sriov_totalvfs", roce);
	if (put(f->root, rel, "4\n") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%s/sriov_numvfs", roce);
	if (put(f->root, rel, "0\n") < 0)
		return -1;
	if (kind == FIXTURE_NO_SRIOV)
		return 0;
	snprintf(rel, sizeof(rel), "%s/sriov_totalvfs", pf);
	snprintf(val, sizeof(val), "%d\n", FIXTURE_TOTALVFS);
	if (put(f->root, rel, val) < 0)
		return -1;
	if (kind == FIXTURE_VENDOR &&
	    mkdir_in(f->root, "/sys/devices/pci0000:3a/0000:3a:00.0/" FIXTURE_PF_BDF "/sriov") < 0)
		return -1;
	return fixture_set_numvfs(f, numvfs);
}

/* Returns the content or NULL with errno. */
char *fixture_read(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0;
	FILE *in;
	ssize_t n;

	snprintf(path, sizeof(path), "%s%s", f->root, rel);
	in = fopen(path, "r");
	if (!in)
		return NULL;
	n = getdelim(&buf, &cap, '\0', in);
	fclose(in);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* Returns 0, or -1 with errno. */
int fixture_write(const struct fixture *f, const char *rel, const char *value)
{
	return put(f->root, rel, value);
}

void fixture_destroy(struct fixture *f)
{
	if (f && f->root[0])
		xenvm_remove_tree(f->root);
}
