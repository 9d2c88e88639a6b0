/*
 * xenib.h - the node's pool of InfiniBand SR-IOV virtual functions (libxenib).
 *
 * What the Prolog, the Epilog, the VM drivers and the `xenib` command call.  A node's pool is
 * the VFs of its IB physical functions (discovered from sysfs, see xenib_discover()); which VF
 * belongs to which job and VM is kept in <state_dir>/xenib/pool.state, changed only under an
 * exclusive lock on <state_dir>/xenib/pool.lock and replaced atomically, so concurrent Prologs
 * never hand one VF to two VMs.
 *
 * The life of a VF:
 *   xenib_alloc()   leases a free VF to (job, VM) in the name of the calling process, gives it
 *                   its node/port GUIDs and sets its policy to Follow.
 *   xenib_commit()  turns the lease into an assignment once the caller has recorded the VM
 *                   (before booting it).  A lease whose process died before commit is
 *                   reclaimed by the next pool operation: a killed Prolog never leaks a VF.
 *   xenib_release_job() / xenib_release_vm()  set policy Down, clear the GUIDs and free the VF.
 *                   Releasing what is not held is success, so the Epilog can run twice.
 *   xenib_recover() also frees assignments of jobs that no longer run on the node.
 *
 * All sysfs access goes through `root` (NULL or "/" on a real node; the tests pass a fixture
 * tree laid out like a ConnectX node's /sys).  Every function that can fail returns -1, sets
 * errno and fills a `struct xerr` with one line naming the file or object at fault; none of them
 * exits or prints.
 */
#ifndef XENIB_H
#define XENIB_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/error.h"

#define XENIB_NAME_MAX 64   /* IB device names, driver names, VM names (with the NUL) */
#define XENIB_BDF_MAX 16    /* "0000:3b:00.1" and its NUL */
#define XENIB_MAX_SLOTS 256 /* VFs per node: a slot is 8 bits of the GUID (see guid.h) */

/* An SR-IOV capable IB physical function, e.g. mlx5_0. */
struct xenib_pf {
	char name[XENIB_NAME_MAX]; /* IB device name: /sys/class/infiniband/<name> */
	char bdf[XENIB_BDF_MAX];   /* its PCI address */
	uint32_t totalvfs;         /* device/sriov_totalvfs */
	uint32_t numvfs;           /* device/sriov_numvfs */
	bool vendor_sriov;         /* device/sriov/ exists: the mlx5 vendor GUID/policy files */
	char netdev[IF_NAMESIZE];  /* its IPoIB netdev (device/net/<if>), "" if none */
	int ifindex;               /* that netdev's ifindex, 0 if none: the rtnetlink route */
};

/* One VF of a PF: a slot of the node's pool. */
struct xenib_vf {
	unsigned slot;               /* place in the node's pool; its GUIDs derive from it */
	unsigned pf;                 /* index into xenib_topology.pfs */
	unsigned vf;                 /* N of the PF's virtfnN */
	char bdf[XENIB_BDF_MAX];     /* the VF's PCI address, from the virtfnN symlink */
	char ibdev[XENIB_NAME_MAX];  /* its IB device while bound to mlx5_core on the host */
	char driver[XENIB_NAME_MAX]; /* the bound driver (mlx5_core, vfio-pci, ...) or "" */
};

struct xenib_topology {
	struct xenib_pf *pfs;
	size_t n_pfs;
	struct xenib_vf *vfs; /* in slot order: PFs in order, then virtfn number */
	size_t n_vfs;
};

/*
 * What the pool is told about the node; every pointer is borrowed and must outlive the pool.
 * Plain values: the Prolog and the Epilog fill them from xenvm.yaml (node/jobib.h), tests and
 * the `xenib` command as they like.
 */
struct xenib_params {
	const char *root;      /* sysfs root prefix: NULL or "/" on a real node */
	const char *state_dir; /* xenvm.yaml state_dir; pool files go to <state_dir>/xenib/ */
	char *const *devices;  /* ib.devices: PFs to use, NULL/0 = every SR-IOV IB device */
	size_t n_devices;
	uint32_t vfs_per_device; /* ib.vfs_per_device: VFs used per PF, 0 = as enabled */
	uint16_t guid_prefix;    /* ib.guid_prefix */
	const char *node;        /* this node's name (SLURMD_NODENAME): GUIDs derive from it */
};

/* ------------------------------------------------------------------ discovery (discover.c) */

/*
 * Discover the IB physical functions and their VFs.  With a device list, every listed device
 * must exist, be InfiniBand and have SR-IOV; without one, devices that are not SR-IOV IB PFs are
 * skipped.  At most `vfs_per_device` VFs (0 = all enabled) of each PF are taken.  Returns 0 and
 * fills *out (free with xenib_topology_free), or -1 with errno: ENOENT (device missing, or no
 * SR-IOV: the message names the file), EMEDIUMTYPE (link layer is not InfiniBand), EINVAL
 * (bad argument or unreadable content), E2BIG (more than XENIB_MAX_SLOTS VFs), ENOMEM, or the
 * error reading a file.
 */
int xenib_discover(const struct xenib_params *p, struct xenib_topology *out, struct xerr *err);
void xenib_topology_free(struct xenib_topology *t);

/* ------------------------------------------------------------------ enabling VFs (enable.c) */

/*
 * Make each PF of the pool (the listed devices, or every SR-IOV IB device) have `numvfs` VFs
 * enabled by writing device/sriov_numvfs, through 0 first when it holds another non-zero value
 * (the kernel refuses to change a non-zero count directly).  `numvfs` 0 is refused (use the
 * PF's own tools to disable SR-IOV).  Refuses to change a PF whose VFs the pool has assigned.
 * *changed (optional) counts PFs written.  Returns 0, or -1 with errno: ENOENT (no SR-IOV or
 * device missing), ERANGE (more than sriov_totalvfs), EBUSY (VFs in use), EACCES/EROFS/... (the
 * write), each with a message naming the file.
 */
int xenib_enable(const struct xenib_params *p, uint32_t numvfs, unsigned *changed,
                 struct xerr *err);

/* ------------------------------------------------------------------ the pool (pool.c) */

enum xenib_vf_state {
	XENIB_FREE = 0,
	XENIB_LEASED,   /* taken by a live allocator that has not committed yet */
	XENIB_ASSIGNED, /* committed to (job, VM) */
};

/* What xenib_alloc() hands to the Prolog and the VM drivers. */
struct xenib_assignment {
	char bdf[XENIB_BDF_MAX];       /* the VF's PCI address: xen pci=[...] / vfio-pci host= */
	char pf[XENIB_NAME_MAX];       /* its PF, e.g. mlx5_0 */
	unsigned vf;                   /* its index on the PF */
	unsigned slot;                 /* its place in the node's pool */
	uint64_t node_guid, port_guid; /* as programmed */
	bool committed;                /* already committed (a repeated alloc of the same VM) */
};

/* One slot as xenib_pool_status() reports it. */
struct xenib_slot_status {
	struct xenib_vf vf;
	enum xenib_vf_state state;
	uint32_t jobid; /* LEASED/ASSIGNED */
	char vm[XENIB_NAME_MAX];
	pid_t pid;    /* LEASED: the allocator */
	time_t since; /* when leased or committed */
};

struct xenib_pool;

/*
 * Open the pool: discover the topology (see xenib_discover) and create <state_dir>/xenib/ (0755)
 * if needed.  Nothing is locked until an operation runs.  Returns 0 and *out (free with
 * xenib_pool_close), or -1 with errno and err as xenib_discover, or from creating the directory.
 */
int xenib_pool_open(const struct xenib_params *p, struct xenib_pool **out, struct xerr *err);
void xenib_pool_close(struct xenib_pool *pool);
/* The parameters the pool was opened with (pointers as the caller gave them). */
const struct xenib_params *xenib_pool_params(const struct xenib_pool *pool);
/* The discovered topology (owned by the pool). */
const struct xenib_topology *xenib_pool_topology(const struct xenib_pool *pool);

/*
 * Lease a free VF to (jobid, vm) for the calling process, program its GUIDs and set policy
 * Follow.  If (jobid, vm) already holds a VF it is returned again (reprogrammed), so a retried
 * Prolog step is harmless.  `vm` is 1..63 characters of [A-Za-z0-9._-].  Returns 0 and *out,
 * or -1 with errno: EINVAL (arguments), ENOSPC ("no free VF" - every slot leased or assigned),
 * ENODEV (the node has no SR-IOV IB VFs, or the VF held for this VM vanished), EBUSY (another
 * live process is allocating this same VM), EBADMSG (damaged state file), or the error of a
 * sysfs/netlink write (the lease is then dropped and the message names the file).
 */
int xenib_alloc(struct xenib_pool *pool, uint32_t jobid, const char *vm,
                struct xenib_assignment *out, struct xerr *err);

/*
 * Commit (jobid, vm)'s lease: from now on only a release (or xenib_recover, once the job is gone)
 * frees the VF, whatever happens to the allocating process.  Committing twice is success.
 * Returns 0, or -1 with errno ENOENT (no lease: never allocated, released, or reclaimed because
 * its allocator died), EINVAL, EBADMSG, or the error writing the state file.
 */
int xenib_commit(struct xenib_pool *pool, uint32_t jobid, const char *vm, struct xerr *err);

/*
 * Release every VF of `jobid` (leased or assigned): policy Down, GUIDs cleared where the driver
 * allows it, slot freed.  Nothing to release is success (*released 0).  A VF whose policy cannot
 * be set Down stays assigned (a VF in an unknown state is never handed out again) and the call
 * fails naming the file.  *released (optional) counts the VFs freed.  Returns 0, or -1 with errno.
 */
int xenib_release_job(struct xenib_pool *pool, uint32_t jobid, unsigned *released,
                      struct xerr *err);
/* The same for the VF(s) of one VM (the xen/qemu drivers' teardown, `xenib release --vm`). */
int xenib_release_vm(struct xenib_pool *pool, const char *vm, unsigned *released, struct xerr *err);

/*
 * Is job `jobid` still running on this node?  The caller knows where jobs live (node/jobib.c:
 * the job's state directory); when it cannot tell it must say true, so a VF is never pulled
 * from a running VM.
 */
typedef bool (*xenib_job_alive_fn)(uint32_t jobid, void *arg);

/*
 * Reclaim leases whose allocator died (every pool operation does this) and release assignments
 * of jobs `alive(jobid, arg)` says are gone.  *released (optional) counts the VFs freed.
 * Returns 0, or -1 with errno as release (EINVAL when `alive` is NULL).
 */
int xenib_recover(struct xenib_pool *pool, xenib_job_alive_fn alive, void *arg, unsigned *released,
                  struct xerr *err);

/*
 * A snapshot of every slot, under the lock (dead leases shown reclaimed).  Returns 0 with *out
 * (free()) and *n, or -1 with errno EBADMSG/ENOMEM/... and err.
 */
int xenib_pool_status(struct xenib_pool *pool, struct xenib_slot_status **out, size_t *n,
                      struct xerr *err);

/* ------------------------------------------------------------------ passthrough (passthrough.c) */

/*
 * The driver bound to PCI function `bdf` ("dddd:bb:dd.f") under root into buf ("" if none).
 * Returns 0, or -1 with errno EINVAL (malformed address), ENOENT (no such function), or the
 * error reading the driver link; err names the path.
 */
int xenib_pci_driver(const char *root, const char *bdf, char *buf, size_t len, struct xerr *err);

/*
 * Bind `bdf` to `driver` (e.g. "vfio-pci") for a guest: driver_override, unbind from the current
 * driver, drivers_probe.  Already bound to it is success.  Returns 0, or -1 with errno EINVAL,
 * ENOENT (no such function), ENXIO (the driver is not loaded: /sys/bus/pci/drivers/<driver>
 * missing) or the error of a sysfs write; err names the file.
 */
int xenib_pci_bind(const char *root, const char *bdf, const char *driver, struct xerr *err);

/*
 * After xenib_pci_bind: is `bdf` bound to `driver` now, and for vfio-pci does its IOMMU group's
 * /dev/vfio/<N> exist?  Returns 0, or -1 with errno EBUSY (another or no driver took it), ENODEV
 * (no IOMMU group, or its /dev/vfio node missing), EINVAL/ENOENT as xenib_pci_driver.
 */
int xenib_pci_check_bound(const char *root, const char *bdf, const char *driver, struct xerr *err);

/*
 * Give `bdf` back to the host after its VM ended: clear driver_override and, when a passthrough
 * driver (vfio-pci, pciback) holds it or none does, unbind and re-probe so the VF's own driver
 * takes it.  A function that no longer exists is success (SR-IOV was disabled).  Idempotent.
 * Returns 0, or -1 with errno of a sysfs write (err names the file) or EINVAL.
 */
int xenib_pci_return(const char *root, const char *bdf, struct xerr *err);

struct xenib_pkey_ops;
/*
 * Make the subnet manager's partition `pkey` for job `jobid` hold exactly the port GUIDs of the
 * VFs this node has leased or assigned to the job (none: this node's entry is removed).  Call it
 * after xenib_alloc/xenib_commit and after a release; it is idempotent.  `ops`/`ctx` are the
 * site's partition backend (pkey.h).  Returns 0, or -1 with errno and err from the pool or the
 * backend.
 */
int xenib_partition_sync(struct xenib_pool *pool, const struct xenib_pkey_ops *ops, void *ctx,
                         uint32_t jobid, uint16_t pkey, struct xerr *err);

/* The name of a state ("free", "leased", "assigned"). */
const char *xenib_state_name(enum xenib_vf_state s);

/*
 * Tests only: called with the lock held, after a lease is on disk and before the VF is
 * programmed, so a test can kill the allocator at the worst moment.  NULL removes it.
 */
void xenib_pool_set_lease_hook(struct xenib_pool *pool, void (*hook)(void *arg), void *arg);

struct xenib_nl_ops;
/* Replace the rtnetlink transport (tests capture messages); NULL restores the kernel's. */
void xenib_pool_set_netlink(struct xenib_pool *pool, const struct xenib_nl_ops *ops);

#endif
