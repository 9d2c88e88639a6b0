/*
 * spawn.c - start one exec in the guest: fds, credentials, cwd, environment, execvp.
 *
 * The child reports a failure before exec through a close-on-exec pipe (errno + step), so the
 * host learns "No such file or directory" instead of a bare exit 127.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

enum { STAGE_FDS = 1, STAGE_GROUPS, STAGE_GID, STAGE_UID, STAGE_CWD, STAGE_EXEC };

static const char *stage_name(int s)
{
	switch (s) {
	case STAGE_FDS:
		return "fds";
	case STAGE_GROUPS:
		return "setgroups";
	case STAGE_GID:
		return "setgid";
	case STAGE_UID:
		return "setuid";
	case STAGE_CWD:
		return "chdir";
	default:
		return "exec";
	}
}

extern char **environ;

bool agent_keep_creds;

/*
 * In the child: move the child ends to their target numbers and become the requested user.
 * Never returns; writes {errno, stage} to errfd on failure and _exits 127.
 */
static void __attribute__((noreturn))
child(const struct xvp_exec *x, const int *src, const int *dst, size_t n, int errfd)
{
	int staged[XVP_MAX_STREAMS];
	int report[2], maxdst = 2, sig;
	size_t i;
	sigset_t all;
	gid_t *groups = NULL;

	/* Back to a pristine signal state: the agent blocks SIGCHLD and ignores SIGPIPE. */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Own session: signals from the host go to the whole process group, as a terminal's do. */
	setsid();

	/* Stage above every target first so that no dup2 clobbers a source still needed. */
	for (i = 0; i < n; i++)
		if (dst[i] > maxdst)
			maxdst = dst[i];
	for (i = 0; i < n; i++) {
		staged[i] = fcntl(src[i], F_DUPFD_CLOEXEC, maxdst + 1);
		if (staged[i] < 0) {
			report[1] = STAGE_FDS;
			goto fail;
		}
	}
	for (i = 0; i < n; i++)
		if (dup2(staged[i], dst[i]) < 0) {
			report[1] = STAGE_FDS;
			goto fail;
		}

	/*
	 * Verbs register (pin) memory: without this, UCX over rxe or a VF fails with "set max
	 * locked memory to unlimited", as on any RDMA node.  The VM belongs to the job, so its
	 * memory is the job's to pin.  Only inside a VM: the host-side helper keeps host limits.
	 */
	if (!agent_keep_creds) {
		struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};

		setrlimit(RLIMIT_MEMLOCK, &unlimited);
	}
	if (!(x->flags & XVP_EXEC_ROOT) && !agent_keep_creds) {
		if (x->ngroups) {
			groups = calloc(x->ngroups, sizeof(*groups));
			if (!groups) {
				report[1] = STAGE_GROUPS;
				goto fail;
			}
			for (i = 0; i < x->ngroups; i++)
				groups[i] = (gid_t)x->groups[i];
		}
		if (setgroups(x->ngroups, groups) < 0) {
			report[1] = STAGE_GROUPS;
			goto fail;
		}
		if (setgid((gid_t)x->gid) < 0) {
			report[1] = STAGE_GID;
			goto fail;
		}
		if (setuid((uid_t)x->uid) < 0) {
			report[1] = STAGE_UID;
			goto fail;
		}
	}
	/* After setuid: the directory must be reachable by the user, as on the host. */
	if (chdir(x->cwd) < 0) {
		report[1] = STAGE_CWD;
		goto fail;
	}
	environ = x->envp; /* execvp searches the task's PATH, not the agent's */
	execvp(x->argv[0], x->argv);
	report[1] = STAGE_EXEC;
fail:
	report[0] = errno;
	(void)!write(errfd, report, sizeof(report));
	_exit(127);
}

/* Close fd if open and mark it closed. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void agent_chan_free(struct agent_chan *ch)
{
	size_t i;

	if (!ch)
		return;
	for (i = 0; i < XVP_MAX_STREAMS; i++) {
		/* a relay uses one socket in both directions */
		if (ch->in[i].fd >= 0 && ch->in[i].fd == ch->out[i].fd)
			ch->out[i].fd = -1;
		close_fd(&ch->in[i].fd);
		close_fd(&ch->out[i].fd);
		xvp_buf_free(&ch->in[i].buf);
	}
	free(ch);
}

struct agent_chan *agent_spawn(struct agent_link *l, uint32_t id, const struct xvp_exec *x,
                               const char **stage)
{
	struct agent_chan *ch = NULL;
	int src[XVP_MAX_STREAMS], dst[XVP_MAX_STREAMS], child_end[XVP_MAX_STREAMS];
	int errpipe[2] = {-1, -1}, report[2] = {0, 0};
	size_t i, n = 0;
	ssize_t r;
	pid_t pid;
	int saved;

	*stage = "setup";
	for (i = 0; i < XVP_MAX_STREAMS; i++)
		child_end[i] = -1;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		goto fail;
	ch->link = l;
	ch->id = id;
	ch->nstreams = XVP_STREAM_RELAY0 + x->nrelay;
	for (i = 0; i < XVP_MAX_STREAMS; i++) {
		ch->in[i].fd = -1;
		ch->out[i].fd = -1;
		ch->out[i].credit = XVP_WINDOW;
	}
	for (i = 0; i < 3; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		/* stdin: the agent writes p[1]; stdout/stderr: the agent reads p[0] */
		if (i == XVP_STREAM_STDIN) {
			ch->in[i].fd = p[1];
			child_end[i] = p[0];
		} else {
			ch->out[i].fd = p[0];
			child_end[i] = p[1];
		}
		fcntl(i == XVP_STREAM_STDIN ? p[1] : p[0], F_SETFL, O_NONBLOCK);
		src[n] = child_end[i];
		dst[n++] = (int)i;
	}
	for (i = 0; i < x->nrelay; i++) {
		size_t s = XVP_STREAM_RELAY0 + i;
		int sp[2];

		/* An inherited socketpair at the same fd number: what slurmstepd gives a task. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			goto fail;
		fcntl(sp[0], F_SETFL, O_NONBLOCK);
		ch->in[s].fd = ch->out[s].fd = sp[0];
		child_end[s] = sp[1];
		src[n] = sp[1];
		dst[n++] = x->relay_fds[i];
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0)
		child(x, src, dst, n, errpipe[1]);
	ch->pid = pid;
	close(errpipe[1]);
	errpipe[1] = -1;
	for (i = 0; i < XVP_MAX_STREAMS; i++)
		close_fd(&child_end[i]);
	do {
		r = read(errpipe[0], report, sizeof(report));
	} while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	if (r == (ssize_t)sizeof(report)) {
		/* The child failed before exec and exits 127; the caller reaps it later. */
		*stage = stage_name(report[1]);
		errno = report[0] ? report[0] : EIO;
		ch->reaped = false;
		saved = errno;
		/* keep the pid so the main loop reaps it; the channel itself is not used */
		kill(pid, SIGKILL);
		agent_chan_free(ch);
		errno = saved;
		return NULL;
	}
	return ch;
fail:
	saved = errno;
	for (i = 0; i < XVP_MAX_STREAMS; i++)
		close_fd(&child_end[i]);
	close_fd(&errpipe[0]);
	close_fd(&errpipe[1]);
	agent_chan_free(ch);
	errno = saved;
	return NULL;
}
