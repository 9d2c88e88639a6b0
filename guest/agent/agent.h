/*
 * agent.h - the guest agent's internal interfaces (xenvm-agent, see guest/README.md).
 *
 * The agent serves links (one virtio-serial/hvc device in a VM; any number of Unix-socket
 * connections in tests).  Each link carries channels; each channel is one child process with
 * its stdin/stdout/stderr pipes and relay sockets, driven by one poll(2) loop in agent_main.c.
 */
#ifndef XENVM_AGENT_H
#define XENVM_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/proto.h"

/* Host -> child direction of one stream: bytes wait in buf until the child's fd takes them. */
struct agent_in {
	int fd; /* pipe write end / relay socket; -1 when closed or not used */
	struct xvp_buf buf;
	bool eof;      /* the host sent EOF: close (or shut down) fd once buf is empty */
	uint32_t done; /* bytes written to fd and not yet credited back to the host */
};

/* Child -> host direction: read from fd while the host granted credit. */
struct agent_out {
	int fd;          /* pipe read end / relay socket; -1 when closed or not used */
	uint32_t credit; /* bytes we may still send */
	bool eof;        /* EOF sent to the host */
};

struct agent_link;

struct agent_chan {
	struct agent_chan *next;
	struct agent_link *link; /* NULL once the host gave it up (CLOSE or link lost) */
	uint32_t id;
	pid_t pid; /* the child, leader of its own session/process group */
	bool reaped;
	int wstatus;
	size_t nstreams; /* 3 + relays */
	int pty;         /* the pseudo-terminal's master (WINSIZE, foreground group), or -1 */
	struct agent_in in[XVP_MAX_STREAMS];
	struct agent_out out[XVP_MAX_STREAMS];
};

struct agent_link {
	struct agent_link *next;
	struct xvp_conn conn;
	bool dead;
	bool is_device; /* a VM channel: never closed, re-opened on hang-up */
};

/*
 * Start the exec decoded in *x on link l as channel id: pipes (or a pseudo-terminal, x->pty),
 * socketpairs for relays, fork, credentials, cwd, exec.  Returns the channel, or NULL with errno
 * set (the exec's errno when the child could not exec: ENOENT, EACCES ...; EPERM for
 * setuid/setgid; ENOMEM), *stage set to a short word naming the step that failed and what
 * (what_len bytes) to what it failed on: the program as it was executed (with
 * XVP_EXEC_SLURM_PATH the path slurmstepd would have built, or "bad interpreter(PATH)"), the
 * directory for chdir, else empty.
 */
struct agent_chan *agent_spawn(struct agent_link *l, uint32_t id, const struct xvp_exec *x,
                               const char **stage, char *what, size_t what_len);

/* Close every fd of the channel and free it (the child must already be reaped or abandoned). */
void agent_chan_free(struct agent_chan *ch);

/*
 * --keep-creds (the host-side helper vmd starts for commands from the guest): run every exec
 * with this process's own uid, gid and groups and ignore the request's.  The helper was started
 * as the job's user, so it could not switch anyway; this only skips setgroups/setuid.
 */
extern bool agent_keep_creds;

/*
 * A container image's ENV and WORKDIR (container_env.c): loaded once from path (absent: no
 * container, nothing changes); the task's environment merged with them (envp itself when there
 * is nothing to merge; the result is only ever exec'd, never freed); WORKDIR or NULL.
 */
#define AGENT_CONTAINER_CONFIG "/.xenvm/config"
void agent_container_load(const char *path);
char **agent_container_env(char *const *envp);
const char *agent_container_workdir(void);

/*
 * relay.c - programs in the guest (the srun shim) asking the host to run a command.  One shim
 * connection carries one exec; it is forwarded on the uplink with a channel id >= XVP_CHAN_GUEST.
 */
struct pollfd;
/* Listen for shims at path (mode 0666, parent directory made 0755).  0, or -1 with errno. */
int relay_listen(const char *path);
/* The link to the host that requests go to (NULL: none, shims get an error). */
void relay_set_uplink(struct agent_link *l);
/* Is l the uplink?  (Frames on it with XVP_CHAN_GUEST ids belong to relay_from_host.) */
bool relay_is_uplink(const struct agent_link *l);
/* The uplink failed: every shim with a running exec gets an ERROR. */
void relay_uplink_lost(void);
/* A frame from the host for a guest-opened channel: routed to its shim. */
void relay_from_host(const struct xvp_frame *f);
/* Fill up to max poll entries (listen socket, shims); owner[i] identifies the entry.  Count. */
size_t relay_poll(struct pollfd *pfd, void **owner, size_t max);
/* Handle poll events of an entry that relay_poll() returned. */
void relay_event(void *owner, short revents);
/* After a loop pass: flush shims' output and free the closed ones. */
void relay_after_pass(void);
/* poll(2)'s timeout for the relay's timers: 1000 while a shim may go idle or accept is paused. */
int relay_timeout_ms(void);
/* Close everything and remove the socket. */
void relay_fini(void);

#endif
