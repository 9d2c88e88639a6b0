/*
 * spec.h - the driver's description (vm/driver.h's struct xvm_spec) of a job's VM on this node.
 *
 * Kernel, initrd and root disk from the fetched image, the size (vmsize.h), the address and
 * bridge, the hostname (the node's name), the shared directories (the user's home, the job's
 * working directory, xenvm.yaml's mounts) and the kernel command line: the image's, then
 * "xenvm.hosts=" (every node of the job under its own name at its VM's address),
 * "xenvm.user=" (the job's user by name), and the IB choice (xenvm.rxe=1 / xenvm.ib=vf).
 */
#ifndef XENVM_NODE_SPEC_H
#define XENVM_NODE_SPEC_H

#include <limits.h>
#include <netinet/in.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/jobstate.h"
#include "node/guestnet.h"
#include "node/jobvm.h"
#include "vm/driver.h"

/* x86 Linux keeps 2048 bytes of command line; leave room for what the driver adds. */
#define XVM_SPEC_HOSTS_MAX 1200
/*
 * How long after timeouts.ready a job's VM may stay unclaimed (xvm_spec.claim_s): the Prolog
 * records it within seconds of "ready"; the margin covers a loaded node.
 */
#define XVM_CLAIM_MARGIN_S 60

/* The spec and the strings it points to (one object, nothing to free). */
struct xvm_job_spec {
	struct xvm_spec spec;
	char kernel[4200], initrd[4200], rootdisk[4200];
	char ip[INET_ADDRSTRLEN], cidr[40];
	char shares[XVM_MAX_SHARES][PATH_MAX];
	char guest_paths[XVM_MAX_SHARES][PATH_MAX];
	char cmdline[2048 + XVM_SPEC_HOSTS_MAX + 512];
	/* Shares the site's policy refused (sharepolicy.h), for the user at task launch:
	 * "working directory /etc is not shared with the VM: ...; ..." ("" none). */
	char warnings[2048];
	char cwd_refused[PATH_MAX]; /* the working directory, when it was refused ("" not) */
};

/*
 * Fill `js` for rec's job, its VM in rec->vm_dir at guest address `guest` of `sn`.  A share
 * the site's policy refuses (sharepolicy.h: the home, the working directory, --vm-mounts,
 * xenvm.yaml mounts) is left out, and why goes to the log and to js->warnings; a node whose address
 * cannot be resolved is left out of xenvm.hosts (MPI over PMI needs no names, only hydra and
 * scripts do). Returns 0, or -1 with errno and err: EINVAL for a size the image does not allow (the
 * job's fault), E2BIG for a command line too long (the image's).
 */
int xvm_job_spec_build(const struct xenvm_config *cfg, const struct xvm_job_inputs *in,
                       const struct xenvm_job_record *rec, const struct xenvm_subnet *sn,
                       uint32_t guest, struct xvm_job_spec *js, struct xerr *err);

/*
 * Give the VM its IB choice: the VF (`bdf`, or NULL) and the guest's flag.  Returns 0, or -1
 * with errno E2BIG and err when the flag does not fit the command line.
 */
int xvm_job_spec_set_ib(struct xvm_job_spec *js, const char *bdf, bool rxe, struct xerr *err);

#endif
