/*
 * xenvm_exec.h - xenvm-exec: run one command inside the job's VM through the guest agent.
 * See doc/man/xenvm-exec.1 for the command line; this header joins its two source files.
 */
#ifndef XENVM_EXEC_H
#define XENVM_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "vm/proto.h"

/* Exit statuses of xenvm-exec itself (the command's own status otherwise, 128+n for signal n). */
#define XEXEC_EXIT_INTERNAL 255 /* cannot reach the VM, protocol fault, VM not ready */
#define XEXEC_EXIT_NOEXEC 126   /* the command exists but could not start (EACCES, chdir ...) */
#define XEXEC_EXIT_NOTFOUND 127 /* the command was not found in the guest */

/*
 * Relay the started exec `chan` on c: our stdin/stdout/stderr and the `nrelay` extra fds (streams
 * 3+i, sockets or pipes) to and from the guest, and forward the signals a task receives.
 * Returns the exit status to exit with (0..255), or -1 with errno and a message printed when
 * the link failed (EPROTO: protocol fault; ECONNRESET: the VM went away).
 */
int xexec_relay(struct xvp_conn *c, uint32_t chan, const int *relay_fds, size_t nrelay);

/* The name messages start with: "xenvm-exec", or the Slurm command a guest shim stands for. */
extern const char *xexec_prog;

/*
 * Wait for STARTED or ERROR of channel chan (frames of other channels are skipped).  Returns 0
 * (started), an exit status > 0 with the agent's message printed (127 command not found, 126
 * could not start), or -1 when the link failed (message printed).
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
