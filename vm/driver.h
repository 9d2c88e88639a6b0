/*
 * driver.h - the VM driver interface: one struct of function pointers per hypervisor.
 *
 * A VM belongs to a job and lives in a state directory the caller owns (the Prolog uses
 * /run/xenvm/job/<jobid>/vm<N>/).  The driver puts there:
 *   agent.sock   the control socket xenvm-exec connects to: owner spec.uid, mode 0600.  Its
 *                permissions plus an SO_PEERCRED check (uid == spec.uid or 0) are the access
 *                control; requests are checked against the peer's uid/gid/groups.
 *   vmd.pid      the supervisor's pid (the process that owns the VM and its control channel)
 *   status       one line: "booting", "ready", or "failed: <reason>" (written atomically)
 *   console.log  the guest console (unless spec.console_log names another file)
 * Processes carry the job id in their names ("xenvm-job<jobid>-<name>") so list_job() finds a
 * job's VMs after a crash, even when the state directory is gone.
 *
 * Every function returns 0 on success, or -1 with errno set and err (may be NULL) filled with a
 * message fit for the user ("VM xenvm-job12-vm0 did not become ready in 60 s: <console tail>").
 */
#ifndef XENVM_VM_DRIVER_H
#define XENVM_VM_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define XVM_MAX_SHARES 8

struct xvm_share {
	const char *host_path;  /* exported directory (absolute) */
	const char *guest_path; /* mount point in the guest (usually the same path) */
	bool readonly;          /* exported read-only (--vm-mounts SRC:DST:ro) */
};

struct xvm_spec {
	const char *name; /* short VM name within the job, e.g. "vm0" ([A-Za-z0-9_-]{1,16}) */
	uint32_t job_id;
	uid_t uid; /* job user: owns the control socket */
	gid_t gid;
	bool allow_root;    /* the job may run commands as root in the guest */
	const char *kernel; /* bzImage (or an uncompressed vmlinux) */
	const char *initrd;
	const char *rootdisk; /* read-only root disk (the image's /usr), or NULL */
	const char *cmdline;  /* extra kernel command line (the image's), may be NULL */
	uint64_t mem_bytes;
	uint32_t vcpus;
	const char *state_dir;   /* exists, owned by root; the driver creates files inside */
	const char *console_log; /* NULL: <state_dir>/console.log */
	/* network: a tap on `bridge` (NULL: no network); guest address for xenvm.ip= */
	const char *bridge;
	const char *ip_cidr;  /* "10.83.0.10/24" or NULL */
	const char *gateway;  /* or NULL */
	const char *hostname; /* or NULL */
	struct xvm_share shares[XVM_MAX_SHARES];
	size_t n_shares;
	/*
	 * Commands from the guest (srun in a batch script) run on the host as uid/gid through this
	 * xenvm-agent binary (see vm/vmd_guest.h).  NULL: <libexecdir>/xenvm-agent; "": refused.
	 */
	const char *host_agent;
	/* xen driver only (qemu ignores it): a PVH domain instead of PV (catalog xen.guest_type) */
	bool xen_pvh;
	/*
	 * An IB VF passed through ("0000:3b:00.1"), or NULL.  qemu: already bound to vfio-pci
	 * (node/jobib.h), added as -device vfio-pci,host=<bdf>; xen: made assignable through
	 * libxl and listed in the domain's PCI devices (xen/xl_pci.c).
	 */
	const char *pci_bdf;
	/*
	 * qemu driver only (xen ignores it): the QEMU binary, xenvm.yaml vm.qemu_binary; a path,
	 * or a name looked up in PATH.  NULL: qemu-system-x86_64.
	 */
	const char *qemu_binary;
	/*
	 * A job's VM: the supervisor ends it unless <state_dir>/claimed exists claim_s seconds
	 * after it started (the Prolog writes it once the VM is recorded for the job; a Prolog
	 * killed before that leaves a VM nobody would stop).  0: no deadline.
	 */
	unsigned claim_s;
};

struct xvm;

struct xvm_info {
	uint32_t job_id;
	char name[64]; /* "xenvm-job<jobid>-<name>" */
	pid_t pid;     /* qemu: the QEMU process; xen: the supervisor (xenvm-vmd), or 0 */
	int domid;     /* xen: the domain (its name is the key; ids are reused) */
	char state_dir[256];
};

struct xvm_driver {
	const char *name;
	/* The first 3 bytes of its VMs' MACs (vm/mac.h), which node/netpin.h pins; NULL: none. */
	const char *mac_oui;
	/* Can this node run VMs with this driver?  Fills err with why not.  (qemu: always yes;
	 * its boot() looks for the spec's QEMU binary first.) */
	int (*probe)(struct xerr *err);
	/* Start the VM; returns at once (the guest boots in the background). */
	int (*boot)(const struct xvm_spec *spec, struct xvm **out, struct xerr *err);
	/* Wait until the agent said hello with status "ok"; ETIMEDOUT, or EHOSTDOWN if it died. */
	int (*wait_ready)(struct xvm *vm, unsigned timeout_ms, struct xerr *err);
	/* Ask the guest to power off; destroy it when it has not within grace_ms. */
	int (*shutdown)(struct xvm *vm, unsigned grace_ms, struct xerr *err);
	/* Kill the VM now and remove every trace (processes, sockets, tap). Idempotent. */
	int (*destroy)(struct xvm *vm, struct xerr *err);
	/* Re-attach to a running VM from its state directory (another process booted it). */
	int (*attach)(const char *state_dir, struct xvm **out, struct xerr *err);
	/*
	 * The VMs of job_id (all jobs when job_id is 0) that are alive on this node, found by
	 * process name: up to max into out[]; returns how many exist (may exceed max), or -1.
	 */
	int (*list_job)(uint32_t job_id, struct xvm_info *out, size_t max, struct xerr *err);
	/* Kill a VM found by list_job (no state directory needed). */
	int (*kill_info)(const struct xvm_info *info, struct xerr *err);
	/* Free the handle (the VM keeps running). */
	void (*release)(struct xvm *vm);
};

/* The path of the VM's control socket (for xenvm-exec --socket); valid while vm lives.
 * Defined in vmhost.c: the host part (struct xvm, vm/vmhost.h) every driver's VM embeds. */
const char *xvm_control_socket(const struct xvm *vm);

extern const struct xvm_driver xvm_driver_qemu;

#endif
