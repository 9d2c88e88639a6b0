/*
 * vmhost.h - the host side of one VM that every driver shares: its state directory and the
 * files in it (driver.h), the supervisor's start and daemonising, attach, wait_ready, and the
 * supervisor's end.
 *
 * `struct xvm` (opaque in driver.h) is this handle.  A driver embeds it as a member of its own
 * handle and gets back to that with XVM_CONTAINER():
 *
 *     struct qemu_vm { struct xvm host; char qsock[XVM_PATH_LEN]; ... };
 *     static struct qemu_vm *qvm(struct xvm *vm) { return XVM_CONTAINER(vm, struct qemu_vm, host);
 * }
 *
 * so code that only knows driver.h (xvm_control_socket()) reads the host part of any driver's
 * VM, and no driver's fields have to line up with another's.
 */
#ifndef XENVM_VM_VMHOST_H
#define XENVM_VM_VMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "lib/error.h"
#include "vm/driver.h"
#include "vm/vmd.h"

/* A path in the state directory; the control socket's must also fit a sockaddr_un (108). */
#define XVM_PATH_LEN 300
/* What a state directory may be long: its longest file name ("/.qemu-agent.sock") fits after. */
#define XVM_STATE_DIR_LEN 256

#define XVM_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct xvm {
	char state_dir[XVM_STATE_DIR_LEN];
	char sock[XVM_PATH_LEN];    /* agent.sock: the control socket */
	char status[XVM_PATH_LEN];  /* status: booting / ready / failed: <reason> */
	char pidfile[XVM_PATH_LEN]; /* vmd.pid: the supervisor's pid */
	char console[XVM_PATH_LEN]; /* console.log, or the spec's console_log */
	char claim[XVM_PATH_LEN];   /* claimed: the job took the VM (xvm_spec.claim_s) */
	pid_t vmd;                  /* the supervisor, or 0 when unknown */
};

/*
 * Fill h's paths for state_dir (console: NULL for <state_dir>/console.log); vmd = 0.
 * 0, or -1 with errno ENAMETOOLONG and err naming the path.
 */
int xvm_host_init(struct xvm *h, const char *state_dir, const char *console, struct xerr *err);

/* <state_dir>/<file> into buf.  0, or -1 with errno ENAMETOOLONG (buf then holds ""). */
int xvm_host_path(const struct xvm *h, const char *file, char *buf, size_t len);

/* xvm_host_init() and the supervisor's pid from vmd.pid (0 if none).  Returns as init. */
int xvm_host_attach(struct xvm *h, const char *state_dir, struct xerr *err);

/*
 * Create the control socket (owner uid:gid, 0600 from the start), write status "booting" and
 * remove a stale vmd.pid.  The listening fd, or -1 with errno and err (nothing left behind).
 */
int xvm_host_listen(const struct xvm *h, uid_t uid, gid_t gid, struct xerr *err);

/*
 * The supervisor: a function that never returns, run in a daemon (see xvm_host_spawn).
 * lfd: the control socket's listener, the only descriptor it inherits.
 */
typedef void (*xvm_supervisor_fn)(struct xvm *h, int lfd, void *arg);

/*
 * Double-fork the supervisor so that it is init's child and outlives the caller, daemonised:
 * its own session, named xenvm-vmd, cwd /, stdin/stdout /dev/null, stderr <state_dir>/vmd.log,
 * every descriptor but lfd closed, its pid in vmd.pid.  Then fn(h, lfd, arg) (a copy of h).
 * Closes lfd in the caller in every case; waits up to 5 s for vmd.pid and sets h->vmd.
 * 0, or -1 with errno and err (fork failed).
 */
int xvm_host_spawn(struct xvm *h, int lfd, xvm_supervisor_fn fn, void *arg, struct xerr *err);

/* In the supervisor: vmd's configuration for h and spec (the default host agent if unset). */
void xvm_host_vmd_config(const struct xvm *h, const struct xvm_spec *s, int agent_fd, int lfd,
                         pid_t child, struct vmd_config *cfg);

/* Write status "failed: <printf>" (best effort: the reader then times out instead). */
void xvm_host_fail(const struct xvm *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Remove the control socket and vmd.pid (what a supervisor leaves when it ends). */
void xvm_host_unlink(const struct xvm *h);

/*
 * Poll the status file until "ready" (0).  Otherwise -1 with err: EHOSTDOWN for "failed: ..."
 * (the reason) or a dead supervisor, ETIMEDOUT after timeout_ms (with the console's tail).
 * name: how messages call the VM (NULL: "in <state_dir>").
 */
int xvm_host_wait_ready(const struct xvm *h, const char *name, unsigned timeout_ms,
                        struct xerr *err);

/* Ask the guest agent through the control socket to power off; wait up to grace_ms for the
 * supervisor to end.  Best effort: never fails (destroy follows). */
void xvm_host_request_shutdown(const struct xvm *h, unsigned grace_ms);

/*
 * End the supervisor: SIGTERM, SIGKILL after term_ms, give up 2 s later.  0 (also when there
 * is none), or -1 with errno EBUSY and err.  name: as for xvm_host_wait_ready.
 */
int xvm_host_stop(const struct xvm *h, unsigned term_ms, const char *name, struct xerr *err);

/* Is pid a live process (not a zombie)? */
bool xvm_pid_alive(pid_t pid);

/* Wait up to ms for pid to end.  0 when it has, -1 when it still lives. */
int xvm_wait_gone(pid_t pid, unsigned ms);

/* Milliseconds since t0 (CLOCK_MONOTONIC). */
long xvm_ms_since(const struct timespec *t0);

#endif
