/*
 * xenvm_exec.h - xenvm-exec: run one command inside the job's VM through the guest agent.
 * See doc/man/xenvm-exec.1 for the command line; this header joins its two source files.
 */
#ifndef XENVM_EXEC_H
#define XENVM_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/proto.h"

/*
 * Exit statuses of xenvm-exec itself (the command's own status otherwise; a command killed by
 * signal n kills xenvm-exec with n, see xexec_end_like).
 */
#define XEXEC_EXIT_INTERNAL 255 /* cannot reach the VM, protocol fault, VM not ready */
#define XEXEC_EXIT_NOEXEC 126   /* the command exists but could not start (EACCES, chdir ...) */
#define XEXEC_EXIT_NOTFOUND 127 /* the command was not found in the guest */

/*
 * Relay the started exec `chan` on c: our stdin/stdout/stderr and the `nrelay` extra fds (streams
 * 3+i, sockets or pipes) to and from the guest, and forward the signals a task receives.  With
 * pty (the command runs on a pseudo-terminal in the guest, our stdin is a terminal) window size
 * changes (SIGWINCH) are sent as WINSIZE instead of a signal.  Returns the command's wait
 * status (>= 0), or -1 with errno and a message printed when the link failed (EPROTO: protocol
 * fault; ECONNRESET: the VM went away).
 */
int xexec_relay(struct xvp_conn *c, uint32_t chan, const int *relay_fds, size_t nrelay, bool pty);

/*
 * End this process as the command ended (wait status ws): exit with its code, or die by its
 * signal (default action, unblocked, no core dump of our own: RLIMIT_CORE 0), so that whoever
 * waits for us (slurmstepd, a shell) sees what it would have seen of the command.  The terminal
 * modes are restored first (xexec_tty_restore).  Never returns.
 */
void xexec_end_like(int ws) __attribute__((noreturn));

/*
 * The terminal on our stdin (pty mode): xexec_tty_save saves its modes and size (also into *t,
 * for the guest's pseudo-terminal); xexec_tty_raw then puts it in raw mode (the guest's
 * pseudo-terminal does the line editing, echo and signal keys); xexec_tty_restore puts the
 * saved modes back (a no-op unless raw mode was set).  Both return 0, or -1 with errno from
 * tcgetattr/tcsetattr.
 */
int xexec_tty_save(struct xvp_tty *t);
int xexec_tty_raw(void);
void xexec_tty_restore(void);
/* Input xexec_tty_raw took from the terminal before raw mode, to send first.  Its length. */
size_t xexec_tty_early(const uint8_t **p);
/* The size of the terminal on fd into *t.  0, or -1 with errno (ENOTTY). */
int xexec_tty_size(int fd, struct xvp_tty *t);

/* The name messages start with: "xenvm-exec", or the Slurm command a guest shim stands for. */
extern const char *xexec_prog;

/*
 * The task-launch form (slurmstepd runs us as the task): exec errors are reported as slurmstepd
 * reports them ("slurmstepd-NODE: error: execve(): PATH: TEXT", exit status errno).
 */
extern bool xexec_slurm_task;

/*
 * Wait for STARTED or ERROR of channel chan (frames of other channels are skipped).  Returns 0
 * (started), an exit status > 0 with the agent's message printed (127 command not found, 126
 * could not start; as a Slurm task, errno of the failed execve, see xexec_slurm_task), or -1 when
 * the link failed (message printed).
 */
int xexec_wait_started(struct xvp_conn *c, uint32_t chan);

/*
 * Batch step (XENVM_EXEC_BATCH=1), first half: read the script `path` on the host (slurmd's
 * spool; readable by the job's user), before connecting so that a missing script is reported as
 * such.  Returns 0 with *buf (malloc'd, free it) and *len, or an exit status for xenvm-exec with a
 * message printed: 127 the script does not exist, 126 it cannot be read or is not a regular file.
 */
int xexec_batch_read(const char *path, uint8_t **buf, size_t *len);

/*
 * Second half: copy the script into the guest as a fresh /tmp/xenvm-batch-<jobid>.XXXXXX/
 * slurm_script (directory made by mktemp -d, mode 0700; file 0700), owned by the user of
 * `ident` (its uid, gid, groups and root flag are used), over the link c on channel chan.
 * Why mktemp: /tmp in the guest is writable by the job's user, who may have planted a name there
 * (a symlink, a directory); only a directory that did not exist before is trusted.  The guest
 * path goes into guest_path.  Returns 0, or 255 with a message printed (link fault, the copy
 * failed in the guest).
 */
int xexec_batch_copy(struct xvp_conn *c, uint32_t chan, const uint8_t *script, size_t len,
                     const char *jobid, const struct xvp_exec *ident, char *guest_path,
                     size_t plen);

#endif
