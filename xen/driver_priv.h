/*
 * xen_vm.h - what the files of the `xen` driver share (xen.c: the driver's entry points,
 * xen_supervise.c: the per-VM supervisor).  Not for users of driver.h.
 */
#ifndef XENVM_VM_XEN_VM_H
#define XENVM_VM_XEN_VM_H

#include <stdint.h>
#include <sys/types.h>

#include "vm/driver.h"

/*
 * The handle: where the VM's files are, its domain, its supervisor.  state_dir and sock come
 * first with qemu.c's sizes: xvm_control_socket() (defined in qemu.c for every driver) reads
 * sock at that offset.
 */
struct xvm {
	char state_dir[256];
	char sock[300], status[300], pidfile[300], console[300], domfile[300];
	char name[64];  /* the domain's name, xenvm-job<jobid>-<vm> */
	uint32_t domid; /* 0 when unknown (Domain-0 is never ours) */
	pid_t vmd;      /* the supervisor, or 0 */
};

/*
 * Become the VM's supervisor (called in the grandchild boot() double-forked; never returns):
 * runs the agent channel's backend in a child of its own (xl_chan_serve) and vmd_run() between
 * that child's link and the control socket lfd, until the domain ends or SIGTERM; then destroys
 * the domain, removes its channel's xenstore nodes, the socket and the pid file.
 * Exit status 0 when the VM had been ready, 1 otherwise.
 */
void xen_supervise(const struct xvm *vm, const struct xvm_spec *spec, int lfd)
    __attribute__((noreturn));

/* Destroy the domain named vm->name (or vm->domid), wait until it is gone, remove the
 * channel's nodes.  A domain already gone is success.  0, or -1 with errno and err. */
int xen_domain_remove(const char *name, uint32_t domid, struct xerr *err);

#endif
