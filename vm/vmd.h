/*
 * vmd.h - the per-VM supervisor: owns the hypervisor process and the guest agent's one channel,
 * and multiplexes the control socket's clients (one xenvm-exec per connection) onto it.
 *
 * Why a supervisor: virtio-serial gives the host exactly one byte stream per VM, while a node
 * runs many tasks per VM at once; the supervisor is also what lets the VM outlive the Prolog
 * and die with it (the hypervisor process has PR_SET_PDEATHSIG).
 */
#ifndef XENVM_VM_VMD_H
#define XENVM_VM_VMD_H

#include <stdbool.h>
#include <sys/types.h>

struct vmd_config {
	int agent_fd;            /* connected to the guest agent's channel */
	int listen_fd;           /* the control socket, listening */
	uid_t owner_uid;         /* the only non-root uid admitted */
	gid_t owner_gid;         /* with owner_uid: who runs the guest's commands on the host */
	const char *host_agent;  /* xenvm-agent for commands from the guest; NULL: refused */
	bool allow_root;         /* EXEC with XVP_EXEC_ROOT is allowed */
	pid_t child;             /* the hypervisor process: its exit ends the VM */
	const char *status_path; /* written "ready" / "failed: ..." */
	const char *console_log; /* its tail goes into failure messages */
	/*
	 * A job's VM: unless claim_path exists claim_ms after the start (the Prolog writes it once
	 * it recorded the VM), the VM ends as unclaimed.  0: no deadline (xenvm boot, tests).
	 */
	unsigned claim_ms;
	const char *claim_path;
};

/*
 * Run until the VM ends (hypervisor exit, SIGTERM, agent link lost).  Returns 0 when the VM
 * ended after being ready, or -1 when it failed before (status file says why).
 */
int vmd_run(const struct vmd_config *cfg);

/* Write the status file atomically ("ready", "failed: ..."). 0, or -1 with errno. */
int vmd_write_status(const char *path, const char *text);

/* The last `max` bytes of the console log, printable, one line, into buf. */
void vmd_console_tail(const char *path, char *buf, size_t len);

#endif
