/*
 * jobib.h - InfiniBand for a job's VM: an SR-IOV VF from the node's pool (xenib), Soft-RoCE in
 * the guest, or nothing, as the image and xenvm.yaml's ib.fallback decide.
 *
 * The Prolog, per VM:   xvm_job_ib_reserve -> record the VM (job.state) -> xvm_job_ib_commit
 *                       -> xvm_job_ib_attach -> boot with spec.pci_bdf / xenvm.rxe=1
 * The Epilog and crash recovery: xvm_job_ib_release, after the job's VMs are gone.
 *
 * Policy (xenvm-prolog(8), FAILURE POLICY):
 *   - an image without attributes.ib gets nothing (it has no verbs stack to drive a VF);
 *   - no VF free (ENOSPC) or the node has none (ENODEV): ib.fallback rxe -> Soft-RoCE in the guest,
 *     tcp -> no verbs device, none -> the job fails with the reason.  That is the job's fault, not
 *     the node's: every VF being in use is a passing state of a healthy node, and draining it
 *     would take a working node out of service for what the next job may not even need;
 *   - a broken pool (damaged state file, a sysfs/netlink write refused, the passthrough driver
 *     missing) is the node's fault: a VF in an unknown state must not be handed out (drain).
 * All sysfs access is under xvm_job_ib_root(): "/" on a real node, a fixture tree in the tests.
 */
#ifndef XENVM_VM_JOBIB_H
#define XENVM_VM_JOBIB_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/error.h"
#include "node/fault.h"
#include "xenib/xenib.h"

/* What one VM gets. */
struct xvm_job_ib {
	bool vf;      /* a VF is passed through: bdf */
	bool rxe;     /* the guest brings up Soft-RoCE on its NIC (xenvm.rxe=1) */
	char bdf[16]; /* the VF's PCI address */
	char pf[64];  /* its PF (mlx5_0) and index there */
	unsigned vf_index;
	uint64_t node_guid, port_guid;
	char why[256]; /* why there is no VF ("no free VF on mlx5_0", "no SR-IOV IB device"), or ""
	                */
};

/* The sysfs root: $XENVM_SYSFS_ROOT when set (test clusters: a fixture tree), else "/". */
const char *xvm_job_ib_root(void);

/*
 * libxenib's parameters from xenvm.yaml (state_dir and ib.*) for node `node`, sysfs under `root`
 * (NULL: "/").  Pointers into cfg are borrowed: cfg must outlive the pool.
 */
void xvm_job_ib_params(struct xenib_params *p, const struct xenvm_config *cfg, const char *root,
                       const char *node);

/* xenib_recover's test (xenib.h): the job runs here while its state directory exists. */
bool xvm_job_ib_alive(uint32_t jobid, void *state_dir);

/*
 * Recover VFs of jobs that no longer run here, then lease one to (jobid, vm) as the policy above
 * says; `image_ib` is the image's attributes.ib.  Returns XVM_FAULT_NONE with *out filled,
 * XVM_FAULT_JOB (no VF and ib.fallback none) or XVM_FAULT_NODE (the pool is broken),
 * both with err and errno set (ENOSPC/ENODEV for the job's, the pool's errno for the node's).
 */
enum xvm_fault xvm_job_ib_reserve(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                                  const char *vm, bool image_ib, struct xvm_job_ib *out,
                                  struct xerr *err);

/*
 * Commit (jobid, vm)'s lease (call it once the VM is in job.state, before booting) and make the
 * subnet manager's partition match when ib.partitions_file and ib.pkey are set.  Nothing to do
 * when `ib` holds no VF.  Returns 0, or -1 with errno and err (a node fault).
 */
int xvm_job_ib_commit(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                      const char *vm, const struct xvm_job_ib *ib, struct xerr *err);

/*
 * Hand the VF to the node's driver: qemu binds it to vfio-pci here (the xen driver makes it
 * assignable through libxl itself, see xen/xl_pci.c).  Nothing to do without a VF.  Returns 0,
 * or -1 with errno and err (ENXIO: vfio-pci not loaded; ENODEV: no IOMMU group) - a node fault.
 */
int xvm_job_ib_attach(const struct xenvm_config *cfg, const struct xvm_job_ib *ib,
                      struct xerr *err);

/*
 * Give every VF of `jobid` back (driver back to the host's, policy Down, slot freed, partition
 * entry removed) and recover those of finished jobs.  Call it when the job's VMs are gone.
 * Nothing held is success, so the Epilog can run twice; a node without IB is success.  *released
 * (optional) counts VFs freed.  Returns 0, or -1 with errno and err naming what stays held.
 */
int xvm_job_ib_release(const struct xenvm_config *cfg, const char *node, uint32_t jobid,
                       unsigned *released, struct xerr *err);

#endif
