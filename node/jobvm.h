/*
 * jobvm.h - boot the job's VM on this node from the fetched image and wait for its agent.
 *
 * The VM is "vm0" in <state_dir>/job/<jobid>/vm0/, named xenvm-job<jobid>-vm0 (driver.h), on
 * network.bridge with the address guestnet.h gives it, hostname = the node's name, and
 * /etc/hosts entries for the job's other nodes' VMs under those nodes' names (so hydra and
 * users' scripts that use SLURM_NODELIST reach the VMs).  The user's home, the job's working
 * directory and xenvm.yaml's mounts are shared at the same paths.
 */
#ifndef XENVM_VM_JOBVM_H
#define XENVM_VM_JOBVM_H

#include <stdint.h>

#include "lib/catalog.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/jobstate.h"
#include "lib/nodelist.h"

/* Faults of vm_start, for the exit policy (the Prolog exits non-zero only for node faults). */
enum xvm_job_fault {
	XVM_JOB_FAULT_NONE = 0,
	XVM_JOB_FAULT_NODE, /* this node cannot run VMs (driver, bridge, state dir): drain it */
	XVM_JOB_FAULT_JOB,  /* the job's VM failed (image does not boot, never ready): fail it */
};

struct xvm_job_inputs {
	const struct xenvm_image *img; /* the catalog entry (cmdline, limits) */
	const char *image_dir;         /* fetched files: kernel, initrd, rootdisk */
	const struct xenvm_nodelist *nodes;
	const char *workdir; /* the job's working directory, or NULL */
	uint32_t cpus; /* the job's CPUs on this node (0: unknown): the VM's vCPUs by default */
};

/*
 * Boot and wait until ready (timeouts.ready); on success fill rec's VM fields (driver, vm_dir,
 * guest_ip, boot_ms).  Returns XVM_JOB_FAULT_NONE, or a fault with err filled (a VM that did not
 * come up has been destroyed; its console.log stays in vm_dir for the admin).
 */
enum xvm_job_fault xvm_job_start(const struct xenvm_config *cfg, const struct xvm_job_inputs *in,
                                 struct xenvm_job_record *rec, struct xerr *err);

/*
 * Stop every VM of job `jobid` on this node: the one in its state directory (agent shutdown
 * with timeouts.shutdown_grace, then destroy) and any the driver still finds by name (after a
 * crash).  Returns 0 when none is left, or -1 with err naming what survived.
 */
int xvm_job_stop(const struct xenvm_config *cfg, uint32_t jobid, struct xerr *err);

#endif
