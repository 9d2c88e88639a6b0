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

#endif
