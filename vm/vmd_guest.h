/*
 * vmd_guest.h - commands the guest asks the host to run (srun, squeue ... inside the VM).
 *
 * The guest agent forwards a guest program's EXEC on the VM link with a channel id that has
 * XVP_CHAN_GUEST set.  The supervisor accepts only Slurm's client commands, rewrites the request
 * (argv[0] to its basename, found on the request's PATH on the host; no LD_*, PMI_*, XENVM_*
 * variables; the job's uid/gid, never root) and hands it to a host-side helper: xenvm-agent
 * --fd 3 --keep-creds, started as the job's user with the user's groups, which serves the
 * protocol on a socketpair exactly as the agent does in the guest.  Frames are then forwarded
 * unchanged both ways, so the credits between the guest program and the helper bound what the
 * supervisor buffers.  Why a helper and not fork/exec in vmd: the supervisor stays root and
 * single-purpose, the helper can never be more than the job's user, and the exec, stdio and
 * signal code is the agent's, tested once.
 */
#ifndef XENVM_VM_VMD_GUEST_H
#define XENVM_VM_VMD_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/proto.h"

/*
 * Check and rewrite a guest EXEC payload into out (appended) for the job's uid/gid.  Returns 0,
 * or -1 with errno EPERM (not an allowed command), EPROTO (malformed) or ENOMEM, and msg filled
 * with the text the guest program prints.
 */
int vmd_guest_request(const uint8_t *p, size_t len, uid_t uid, gid_t gid, struct xvp_buf *out,
                      char *msg, size_t msglen);

/*
 * Configure: commands run as uid/gid (with the user's supplementary groups) through the helper
 * program `helper` (NULL or "": commands from the guest are refused with a message).
 */
void vmd_guest_init(uid_t uid, gid_t gid, const char *helper);

/* A frame from the VM on a guest-opened channel (f->chan & XVP_CHAN_GUEST). */
void vmd_guest_from_vm(struct xvp_conn *vm, const struct xvp_frame *f);

/* The helper's socket to poll (-1 when none) and the events to poll it for. */
int vmd_guest_fd(short *events);

/* Poll events on the helper's socket: read its frames and send them to the VM. */
void vmd_guest_io(struct xvp_conn *vm, short revents);

/* SIGCHLD: reap the helper if it exited (its socket reports the loss). */
void vmd_guest_reap(void);

/* Kill the helper (its commands die with it: they are in its children's process groups). */
void vmd_guest_fini(void);

#endif
