/*
 * driver_priv.h - what the files of the `xen` driver share (driver.c: the driver's entry
 * points, driver_supervise.c: the per-VM supervisor).  Not for users of driver.h.
 */
#ifndef XENVM_VM_XEN_VM_H
#define XENVM_VM_XEN_VM_H

#include <stdint.h>
#include <sys/types.h>

#include "vm/driver.h"
#include "vm/vmhost.h"

/*
 * The xen driver's VM: the host part every driver has (state directory, control socket,
 * status, supervisor: vm/vmhost.h), and its domain.
 */
struct xen_vm {
	struct xvm host;
	char domfile[XVM_PATH_LEN]; /* xen.domain: "<name> <domid>", for attach */
	char name[64];              /* the domain's name, xenvm-job<jobid>-<vm> */
	uint32_t domid;             /* 0 when unknown (Domain-0 is never ours) */
};

/* The xen_vm that embeds vm. */
static inline struct xen_vm *xen_vm_of(struct xvm *vm)
{
	return XVM_CONTAINER(vm, struct xen_vm, host);
}

/*
 * Become the VM's supervisor (an xvm_supervisor_fn: xvm_host_spawn daemonised us; arg is the
 * spec; never returns): runs the agent channel's backend in a child of its own (xl_chan_serve)
 * and vmd_run() between that child's link and the control socket lfd, until the domain ends or
 * SIGTERM; then destroys the domain, removes its channel's xenstore nodes, the socket and the
 * pid file.  Exit status 0 when the VM had been ready, 1 otherwise.
 */
void xen_supervise(struct xvm *h, int lfd, void *spec) __attribute__((noreturn));

/* Destroy the domain named vm->name (or vm->domid), wait until it is gone, remove the
 * channel's nodes.  A domain already gone is success.  0, or -1 with errno and err. */
int xen_domain_remove(const char *name, uint32_t domid, struct xerr *err);

#endif
