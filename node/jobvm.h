/*
 * jobvm.h - a job's VM on this node: start it (Prolog), stop it (Epilog), find what a crash left.
 *
 * The VM is "vm0" in <state_dir>/job/<jobid>/vm0/, named xenvm-job<jobid>-vm0 (driver.h), on
 * network.bridge with the address guestnet.h gives it, hostname = the node's name, and
 * /etc/hosts entries for the job's other nodes' VMs under those nodes' names (spec.h).  The
 * user's home, the job's working directory, --vm-mounts and xenvm.yaml's mounts are shared as the
 * site's policy allows (sharepolicy.h); the VM's tap is pinned with nftables (netpin.h).
 *
 * The driver is passed in (xvm_driver_for_config() in drivers.h on a node; the unit tests pass a
 * fake one), so every step can be made to fail.
 *
 *   start (job_start.c): node checks -> address -> spec -> IB lease -> pin -> boot -> ready ->
 *                        record
 *   stop  (job_stop.c):  orderly shutdown -> by name (job_recover.c) -> pin -> address -> VFs
 */
#ifndef XENVM_VM_JOBVM_H
#define XENVM_VM_JOBVM_H

#include <stdint.h>

#include "lib/catalog.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/jobstate.h"
#include "lib/nodelist.h"
#include "node/fault.h"
#include "vm/driver.h"

#define XVM_JOB_VM "vm0" /* the job's VM's name within the job (one VM per node) */

struct xvm_job_inputs {
	const struct xenvm_image *img; /* the catalog entry (cmdline, limits) */
	const char *image_dir;         /* fetched files: kernel, initrd, rootdisk */
	const struct xenvm_nodelist *nodes;
	const char *workdir; /* the job's working directory, or NULL */
	uint32_t cpus; /* the job's CPUs on this node (0: unknown): the VM's vCPUs by default */
};

/*
 * Boot rec's job's VM with `drv` and wait until ready (timeouts.ready); on success fill rec's VM
 * fields (driver, vm_dir, guest_ip, boot_ms, ib*, the VM's size in req).  rec->node is this
 * node's name.  Returns XVM_FAULT_NONE, or whose fault it is with err and errno set; a failure
 * leaves no VM, no VF lease, no address claim, and no vm_dir unless the driver booted the VM
 * (its console.log stays there for the admin until the Epilog removes the job's directory).
 */
enum xvm_fault xvm_job_start(const struct xvm_driver *drv, const struct xenvm_config *cfg,
                             const struct xvm_job_inputs *in, struct xenvm_job_record *rec,
                             struct xerr *err);

/*
 * Stop every VM of job `jobid` on node `node` (its name in the VF pool): the one in its state
 * directory (agent shutdown within timeouts.shutdown_grace, then destroy) and any `drv` still
 * finds by name (after a crash), then give back its guest address and, once no VM of the job is
 * left, its VFs.  Nothing to stop is success (the Epilog may run twice).  Every failure is the
 * node's (a VM or a VF left behind): returns 0, or -1 with errno and err naming what survived.
 */
int xvm_job_stop(const struct xvm_driver *drv, const struct xenvm_config *cfg, const char *node,
                 uint32_t jobid, struct xerr *err);

/*
 * Kill every VM of job `jobid` that `drv` finds by name, with or without its state directory
 * (a crash of slurmd, the Prolog or the supervisor).  *killed (optional) counts them.  Returns
 * 0 when none is left, or -1 with errno and err naming the first that survived.
 */
int xvm_job_recover(const struct xvm_driver *drv, uint32_t jobid, unsigned *killed,
                    struct xerr *err);

#endif
