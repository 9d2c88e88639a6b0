/*
 * fixture.h - a sysfs tree laid out like a ConnectX-5 node's, in a temporary directory.
 *
 * Real HCAs and VFs are not available to the tests, so libxenib runs against this tree through
 * its root prefix.  The layout follows the kernel's documentation (Documentation/ABI/testing/
 * sysfs-class-infiniband, sysfs-bus-pci for sriov_totalvfs/sriov_numvfs/virtfnN/physfn) and the
 * MLNX_OFED mlx5 driver's device/sriov/<N>/{node,port,policy}:
 *
 *   sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/      the PF (15b3:1017, ConnectX-5)
 *       sriov_totalvfs (8)  sriov_numvfs  virtfnN -> ../0000:3b:00.<N+1>  driver -> mlx5_core
 *       infiniband/mlx5_0/{ports/1/link_layer, node_guid, device -> ../../../0000:3b:00.0}
 *       net/ib0/ifindex                                    the PF's IPoIB netdev
 *       sriov/<N>/{node,port,policy}                       FIXTURE_VENDOR only
 *   sys/devices/.../0000:3b:00.<N+1>/                      each VF (15b3:1018)
 *       physfn -> ../0000:3b:00.0  driver -> mlx5_core  infiniband/mlx5_<N+1>/
 *   sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/      mlx5_9: a RoCE (Ethernet) PF
 *   sys/class/infiniband/<dev> -> ../../devices/.../infiniband/<dev>
 *   sys/bus/pci/devices/<bdf> -> ../../../devices/.../<bdf>, sys/bus/pci/drivers/mlx5_core/
 *   every function: driver_override ("(null)"), iommu_group -> ../kernel/iommu_groups/<N>
 *   sys/bus/pci/drivers_probe, sys/bus/pci/drivers/{mlx5_core,vfio-pci}/{bind,unbind}, dev/vfio/
 *   (the IOMMU's /dev/vfio/<N> appears only when a test plays the kernel binding vfio-pci)
 *
 * Writing sriov_numvfs makes the kernel create or destroy the VFs; the fixture cannot react to
 * a write, so tests call fixture_set_numvfs() to play the kernel's part.
 */
#ifndef XENIB_FIXTURE_H
#define XENIB_FIXTURE_H

#include <limits.h>
#include <stddef.h>

enum fixture_kind {
	FIXTURE_VENDOR = 0, /* mlx5 with MLNX_OFED: device/sriov/<N>/ files */
	FIXTURE_NETLINK,    /* upstream mlx5: no vendor files, GUIDs through rtnetlink on ib0 */
	FIXTURE_NO_SRIOV,   /* an HCA without SR-IOV: no sriov_* files, no VFs */
};

struct fixture {
	/* sized so that "<root>/<anything short>" provably fits a PATH_MAX buffer */
	char root[256];      /* the fake "/" */
	char state_dir[320]; /* <root>/run/xenvm */
	char pf_dir[384];    /* the PF's PCI directory */
	enum fixture_kind kind;
};

#define FIXTURE_PF "mlx5_0"
#define FIXTURE_PF_BDF "0000:3b:00.0"
#define FIXTURE_TOTALVFS 8
#define FIXTURE_IFINDEX 7

/* Build a tree with `numvfs` VFs enabled.  Returns 0, or -1 with errno. */
int fixture_build(struct fixture *f, enum fixture_kind kind, unsigned numvfs);
/* Play the kernel after a write of sriov_numvfs: VFs 0..n-1 exist.  Returns 0, or -1. */
int fixture_set_numvfs(struct fixture *f, unsigned n);
/* The PCI address of VF n ("0000:3b:00.1" for 0; devfn = n + 1, as ConnectX's offset/stride). */
void fixture_vf_bdf(unsigned n, char *buf, size_t len);
/* The content of <root>/<rel> (malloc'ed, NUL-terminated), or NULL with errno. */
char *fixture_read(const struct fixture *f, const char *rel);
/* Write `value` to <root>/<rel> (created).  Returns 0, or -1 with errno. */
int fixture_write(const struct fixture *f, const char *rel, const char *value);
/* The IOMMU group number of PCI function `bdf` in the tree (a static buffer). */
const char *fixture_iommu_group(const char *bdf);
/* Remove the tree. */
void fixture_destroy(struct fixture *f);

#endif
