/*
 * spawn.c - start one exec in the guest: fds (pipes or a pseudo-terminal), credentials, cwd,
 * environment, exec.
 *
 * The child reports a failure before exec through a close-on-exec pipe (errno, step and what it
 * failed on), so the host learns "No such file or directory" and the path instead of a bare
 * exit 127.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
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

/* What the child sends back when it cannot exec. */
struct spawn_report {
	int err, stage;
	char what[1024];
};

/* Copy src into dst (len bytes), truncated and NUL-terminated. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * XVP_EXEC_SLURM_PATH: the program slurmstepd 22.05 would execve for name (its _build_path):
 * absolute as it is, '.'-relative under the cwd, else the first PATH entry (of the task's
 * environment) naming an existing non-directory, else name unchanged.  Into buf (len bytes).
 */
static void slurm_path(const char *name, char *const *envp, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	const char *path = NULL, *p, *end;
	struct stat st;

	if (name[0] == '/') {
		copy_str(buf, len, name);
		return;
	}
	if (name[0] == '.') {
		if (!getcwd(cwd, sizeof(cwd)))
			cwd[0] = '\0';
		/* too long for PATH_MAX: execve says ENAMETOOLONG on the truncated name, close
		 * enough */
		if (snprintf(buf, len, "%s/%s", cwd, name) >= (int)len)
			buf[len - 1] = '\0';
		return;
	}
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (p = path; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue; /* strtok(3), which slurmstepd uses, skips empty entries */
		if (snprintf(buf, len, "%.*s/%s", (int)(end - p), p, name) >= (int)len)
			continue;
		if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode))
			return;
	}
	copy_str(buf, len, name);
}

/*
 * After execve(path) failed with ENOENT: when path exists and starts with "#!", the interpreter
 * is what is missing; slurmstepd then reports "bad interpreter(LINE)".  Fills what and returns
 * true in that case.
 */
static bool bad_interpreter(const char *path, char *what, size_t len)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(what, len, "bad interpreter(%s)", buf + 2);
	return true;
}

/* The pseudo-terminal's modes and size as the host's terminal has them. */
static void tty_apply(int fd, const struct xvp_tty *t)
{
	struct termios tio;
	struct winsize ws = {.ws_row = (unsigned short)t->rows,
	                     .ws_col = (unsigned short)t->cols,
	                     .ws_xpixel = (unsigned short)t->xpixel,
	                     .ws_ypixel = (unsigned short)t->ypixel};

	if (tcgetattr(fd, &tio) == 0) {
		tio.c_iflag = t->iflag;
		tio.c_oflag = t->oflag;
		tio.c_cflag = t->cflag;
		tio.c_lflag = t->lflag;
		for (size_t i = 0; i < NCCS && i < XVP_TTY_NCC; i++)
			tio.c_cc[i] = t->cc[i];
		cfsetispeed(&tio, (speed_t)t->ispeed);
		cfsetospeed(&tio, (speed_t)t->ospeed);
		tcsetattr(fd, TCSANOW, &tio);
	}
	if (t->rows || t->cols)
		ioctl(fd, TIOCSWINSZ, &ws);
}

/*
 * In the child: move the child ends to their target numbers and become the requested user.
 * Never returns; writes a struct spawn_report to errfd on failure and _exits 127.
 */
static void __attribute__((noreturn))
child(const struct xvp_exec *x, const int *src, const int *dst, size_t n, int errfd)
{
	static struct spawn_report report;
	int staged[XVP_MAX_STREAMS];
	int maxdst = 2, sig;
	char prog[PATH_MAX];
	size_t i;
	sigset_t all;
	gid_t *groups = NULL;
	char **envp = agent_container_env(x->envp);

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
			report.stage = STAGE_FDS;
			goto fail;
		}
	}
	for (i = 0; i < n; i++)
		if (dup2(staged[i], dst[i]) < 0) {
			report.stage = STAGE_FDS;
			goto fail;
		}
	/* On a pty: it becomes the controlling terminal of the new session (bash's job control). */
	if (x->pty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) {
		report.stage = STAGE_FDS;
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
				report.stage = STAGE_GROUPS;
				goto fail;
			}
			for (i = 0; i < x->ngroups; i++)
				groups[i] = (gid_t)x->groups[i];
		}
		if (setgroups(x->ngroups, groups) < 0) {
			report.stage = STAGE_GROUPS;
			goto fail;
		}
		if (setgid((gid_t)x->gid) < 0) {
			report.stage = STAGE_GID;
			goto fail;
		}
		if (setuid((uid_t)x->uid) < 0) {
			report.stage = STAGE_UID;
			goto fail;
		}
	}
	/*
	 * After setuid: the directory must be reachable by the user, as on the host.  In a
	 * container, its WORKDIR stands in for a directory the guest does not have.
	 */
	if (chdir(x->cwd) < 0 && (errno != ENOENT || !agent_container_workdir() ||
	                          chdir(agent_container_workdir()) < 0)) {
		copy_str(report.what, sizeof(report.what), x->cwd);
		report.stage = STAGE_CWD;
		goto fail;
	}
	if (x->flags & XVP_EXEC_SLURM_PATH) {
		slurm_path(x->argv[0], envp, prog, sizeof(prog));
		execve(prog, x->argv, envp);
		report.err = errno;
		if (report.err != ENOENT ||
		    !bad_interpreter(prog, report.what, sizeof(report.what)))
			copy_str(report.what, sizeof(report.what), prog);
	} else {
		environ = envp; /* execvp searches the task's PATH, not the agent's */
		execvp(x->argv[0], x->argv);
		report.err = errno;
		copy_str(report.what, sizeof(report.what), x->argv[0]);
	}
	report.stage = STAGE_EXEC;
	errno = report.err;
fail:
	report.err = errno;
	(void)!write(errfd, &report, sizeof(report));
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
	close_fd(&ch->pty);
	free(ch);
}

/*
 * A pseudo-terminal for x: *master (non-blocking, close-on-exec) and *slave (close-on-exec: the
 * child gets it by dup2), set up with the host terminal's modes and size.  0, or -1 with errno.
 */
static int open_pty(const struct xvp_exec *x, int *master, int *slave)
{
	char name[64];
	int m, sl, saved;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
		goto fail;
	sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sl < 0)
		goto fail;
	/* the terminal's owner is the user, as login(1) or sshd leave it */
	if (!(x->flags & XVP_EXEC_ROOT) && !agent_keep_creds &&
	    fchown(sl, (uid_t)x->uid, (gid_t)-1) < 0) {
		saved = errno;
		close(sl);
		errno = saved;
		goto fail;
	}
	fchmod(sl, 0620);
	tty_apply(sl, &x->tty);
	fcntl(m, F_SETFL, O_NONBLOCK);
	*master = m;
	*slave = sl;
	return 0;
fail:
	saved = errno;
	close(m);
	errno = saved;
	return -1;
}

struct agent_chan *agent_spawn(struct agent_link *l, uint32_t id, const struct xvp_exec *x,
                               const char **stage, char *what, size_t what_len)
{
	static struct spawn_report report;
	struct agent_chan *ch = NULL;
	int src[XVP_MAX_STREAMS], dst[XVP_MAX_STREAMS], child_end[XVP_MAX_STREAMS];
	int errpipe[2] = {-1, -1};
	size_t i, n = 0, got = 0;
	ssize_t r;
	pid_t pid;
	int saved;

	*stage = "setup";
	if (what_len)
		what[0] = '\0';
	for (i = 0; i < XVP_MAX_STREAMS; i++)
		child_end[i] = -1;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		goto fail;
	ch->link = l;
	ch->id = id;
	ch->pty = -1;
	ch->nstreams = XVP_STREAM_RELAY0 + x->nrelay;
	for (i = 0; i < XVP_MAX_STREAMS; i++) {
		ch->in[i].fd = -1;
		ch->out[i].fd = -1;
		ch->out[i].credit = XVP_WINDOW;
	}
	if (x->pty) {
		int m, sl;

		*stage = "pty";
		if (open_pty(x, &m, &sl) < 0)
			goto fail;
		/* one terminal for the three: its output is stream 1, stream 2 stays silent */
		ch->pty = m;
		child_end[0] = sl;
		ch->in[XVP_STREAM_STDIN].fd = fcntl(m, F_DUPFD_CLOEXEC, 0);
		ch->out[XVP_STREAM_STDOUT].fd = fcntl(m, F_DUPFD_CLOEXEC, 0);
		ch->out[XVP_STREAM_STDERR].eof = true;
		if (ch->in[XVP_STREAM_STDIN].fd < 0 || ch->out[XVP_STREAM_STDOUT].fd < 0)
			goto fail;
		for (i = 0; i < 3; i++) {
			src[n] = sl;
			dst[n++] = (int)i;
		}
		*stage = "setup";
	} else {
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
	memset(&report, 0, sizeof(report));
	do {
		r = read(errpipe[0], (char *)&report + got, sizeof(report) - got);
		if (r > 0)
			got += (size_t)r;
	} while ((r < 0 && errno == EINTR) || (r > 0 && got < sizeof(report)));
	close(errpipe[0]);
	if (got == sizeof(report)) {
		/* The child failed before exec and exits 127; the caller reaps it later. */
		*stage = stage_name(report.stage);
		report.what[sizeof(report.what) - 1] = '\0';
		if (what_len)
			copy_str(what, what_len, report.what);
		errno = report.err ? report.err : EIO;
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
