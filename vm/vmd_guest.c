/*
 * vmd_guest.c - the supervisor's side of commands from the guest (see vmd_guest.h).
 */
#include "vm/vmd_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"

#define GUEST_MAX_ACTIVE 256 /* commands from the guest running at once */
#define HELPER_FD 3

/* Slurm's client commands: what a batch script runs to start steps and look at its job. */
static const char *const allowed[] = {"srun",  "sbatch",   "squeue", "scancel",
                                      "sacct", "scontrol", "sinfo"};

/* Variables that must not cross: the guest's loader, PMI and our settings are not the host's. */
static const char *const dropped_prefixes[] = {"LD_", "PMI_", "XENVM_"};

static struct {
	uid_t uid;
	gid_t gid;
	const char *helper;
	pid_t pid; /* the helper, 0 when none */
	bool up;   /* conn is connected to a live helper */
	struct xvp_conn conn;
	uint32_t active[GUEST_MAX_ACTIVE]; /* guest channels the helper is running */
	size_t nactive;
} g;

static bool env_dropped(const char *kv)
{
	for (size_t i = 0; i < sizeof(dropped_prefixes) / sizeof(dropped_prefixes[0]); i++)
		if (strncmp(kv, dropped_prefixes[i], strlen(dropped_prefixes[i])) == 0)
			return true;
	return false;
}

int vmd_guest_request(const uint8_t *p, size_t len, uid_t uid, gid_t gid, struct xvp_buf *out,
                      char *msg, size_t msglen)
{
	struct xvp_exec x, y;
	const char *base;
	bool ok = false;
	int rc = -1, saved;
	size_t i;

	memset(&y, 0, sizeof(y));
	if (xvp_exec_decode(p, len, &x) < 0) {
		saved = errno;
		snprintf(msg, msglen, "malformed request from the guest");
		errno = saved;
		return -1;
	}
	base = strrchr(x.argv[0], '/');
	base = base ? base + 1 : x.argv[0];
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		ok = ok || strcmp(base, allowed[i]) == 0;
	if (!ok) {
		snprintf(msg, msglen,
		         "'%.64s' refused: commands from the VM may only be srun, "
		         "sbatch, squeue, scancel, sacct, scontrol or sinfo",
		         base);
		errno = EPERM;
		goto out;
	}
	y.argv = calloc(x.argc + 1, sizeof(*y.argv));
	y.envp = calloc(x.envc + 1, sizeof(*y.envp));
	if (!y.argv || !y.envp) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		goto out;
	}
	/* A guest path means nothing on the host: the user's PATH (from the request) finds it. */
	y.argv[0] = (char *)base;
	for (i = 1; i < x.argc; i++)
		y.argv[i] = x.argv[i];
	y.argc = x.argc;
	for (i = 0; i < x.envc; i++)
		if (!env_dropped(x.envp[i]))
			y.envp[y.envc++] = x.envp[i];
	y.cwd = x.cwd;
	/* Whoever asked in the guest (root too), the command is the job user's own. */
	y.uid = (uint32_t)uid;
	y.gid = (uint32_t)gid;
	if (xvp_exec_encode(&y, out) < 0) {
		saved = errno;
		snprintf(msg, msglen, "request too large");
		errno = saved;
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	free(y.argv);
	free(y.envp);
	xvp_exec_free(&x);
	errno = saved;
	return rc;
}

void vmd_guest_init(uid_t uid, gid_t gid, const char *helper)
{
	memset(&g, 0, sizeof(g));
	xvp_conn_init(&g.conn, -1);
	g.uid = uid;
	g.gid = gid;
	g.helper = helper && *helper ? helper : NULL;
}

static ssize_t active_index(uint32_t chan)
{
	for (size_t i = 0; i < g.nactive; i++)
		if (g.active[i] == chan)
			return (ssize_t)i;
	return -1;
}

static void active_drop(uint32_t chan)
{
	ssize_t i = active_index(chan);

	if (i >= 0)
		g.active[i] = g.active[--g.nactive];
}

/* In the child: become the job's user and exec the helper.  Never returns. */
static void __attribute__((noreturn)) helper_child(int sock, const gid_t *groups, int ngroups)
{
	char *const envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	sigset_t none;
	int sig;

	/* vmd blocks SIGCHLD/SIGTERM for its signalfd and ignores SIGPIPE: not for the helper. */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setgroups((size_t)ngroups, groups) < 0 || setgid(g.gid) < 0 || setuid(g.uid) < 0 ||
	    getuid() == 0 || geteuid() == 0) {
		fprintf(stderr, "xenvm-vmd: helper: cannot become uid %u gid %u: %s\n",
		        (unsigned)g.uid, (unsigned)g.gid, strerror(errno));
		_exit(126);
	}
	/* After setuid (which clears it): if vmd dies, the helper ends and kills its commands. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (sock == HELPER_FD)
		fcntl(sock, F_SETFD, 0);
	else if (dup2(sock, HELPER_FD) < 0)
		_exit(126);
	execle(g.helper, "xenvm-agent", "--fd", "3", "--keep-creds", (char *)NULL, envp);
	fprintf(stderr, "xenvm-vmd: helper %s: %s\n", g.helper, strerror(errno));
	_exit(127);
}

/* Start the helper as the job's user.  0, or -1 with msg filled (errno set). */
static int helper_start(char *msg, size_t msglen)
{
	static gid_t groups[NGROUPS_MAX];
	int ngroups = NGROUPS_MAX, sp[2];
	struct passwd *pw;
	pid_t pid;

	if (!g.helper) {
		snprintf(msg, msglen, "commands from the VM are not enabled on this node");
		errno = ENOSYS;
		return -1;
	}
	if (g.uid == 0) {
		snprintf(msg, msglen, "commands from the VM are refused: the VM belongs to root");
		errno = EPERM;
		return -1;
	}
	if (access(g.helper, X_OK) < 0) {
		int e = errno;

		snprintf(msg, msglen, "host-side helper %s: %s", g.helper, strerror(e));
		errno = e;
		return -1;
	}
	/* The user's supplementary groups, as a login would give them (none known: gid alone). */
	pw = getpwuid(g.uid);
	if (!pw || getgrouplist(pw->pw_name, g.gid, groups, &ngroups) < 0) {
		groups[0] = g.gid;
		ngroups = 1;
	}
	if (g.pid > 0) { /* a helper that was lost and not yet reaped */
		kill(g.pid, SIGKILL);
		waitpid(g.pid, NULL, 0);
		g.pid = 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(msg, msglen, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		snprintf(msg, msglen, "fork: %s", strerror(e));
		close(sp[0]);
		close(sp[1]);
		errno = e;
		return -1;
	}
	if (pid == 0)
		helper_child(sp[1], groups, ngroups);
	close(sp[1]);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	xvp_conn_init(&g.conn, sp[0]);
	g.pid = pid;
	g.up = true;
	xinfo("commands from the guest: helper pid %d as uid %u", (int)pid, (unsigned)g.uid);
	return 0;
}

/* The helper is gone or unusable: every running command ends with an error to the guest. */
static void helper_lost(struct xvp_conn *vm, const char *why)
{
	xwarn("host-side helper: %s; %zu command(s) from the guest ended", why, g.nactive);
	for (size_t i = 0; i < g.nactive; i++)
		xvp_send_error(vm, g.active[i], ECONNRESET, "the host-side helper exited");
	g.nactive = 0;
	if (g.conn.fd >= 0)
		close(g.conn.fd);
	xvp_conn_fini(&g.conn);
	xvp_conn_init(&g.conn, -1);
	g.up = false;
	if (g.pid > 0)
		kill(g.pid, SIGTERM);
}

static void refuse(struct xvp_conn *vm, uint32_t chan, int err, const char *msg)
{
	xwarn("command from the guest refused: %s", msg);
	xvp_send_error(vm, chan, err, msg);
}

void vmd_guest_from_vm(struct xvp_conn *vm, const struct xvp_frame *f)
{
	struct xvp_buf req = {0};
	char msg[400];

	if (f->type != XVP_EXEC) {
		/* Only the exec's own frames, and only for a channel the helper runs. */
		if (!g.up || active_index(f->chan) < 0)
			return;
		if (f->type != XVP_DATA && f->type != XVP_EOF && f->type != XVP_CREDIT &&
		    f->type != XVP_SIGNAL && f->type != XVP_CLOSE)
			return;
		if (xvp_send(&g.conn, f->type, f->chan, f->stream, f->payload, f->len) < 0)
			return helper_lost(vm, "cannot queue output");
		if (f->type == XVP_CLOSE)
			active_drop(f->chan);
		return;
	}
	if (active_index(f->chan) >= 0)
		return refuse(vm, f->chan, EEXIST, "channel in use");
	if (g.nactive >= GUEST_MAX_ACTIVE)
		return refuse(vm, f->chan, EAGAIN, "too many commands from the VM at once");
	if (vmd_guest_request(f->payload, f->len, g.uid, g.gid, &req, msg, sizeof(msg)) < 0) {
		refuse(vm, f->chan, errno, msg);
		goto out;
	}
	if (!g.up && helper_start(msg, sizeof(msg)) < 0) {
		refuse(vm, f->chan, errno, msg);
		goto out;
	}
	if (xvp_send(&g.conn, XVP_EXEC, f->chan, 0, req.buf + req.off, req.len) < 0) {
		refuse(vm, f->chan, ENOMEM, "out of memory");
		goto out;
	}
	g.active[g.nactive++] = f->chan;
out:
	xvp_buf_free(&req);
}

int vmd_guest_fd(short *events)
{
	if (!g.up)
		return -1;
	*events = POLLIN | (xvp_conn_pending(&g.conn) ? POLLOUT : 0);
	return g.conn.fd;
}

void vmd_guest_io(struct xvp_conn *vm, short revents)
{
	struct xvp_frame f;
	ssize_t n;
	int more;

	if (!g.up)
		return;
	if ((revents & POLLOUT) && xvp_conn_flush(&g.conn) < 0)
		return helper_lost(vm, strerror(errno));
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = xvp_conn_fill(&g.conn);
	if (n == 0)
		return helper_lost(vm, "it exited");
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			helper_lost(vm, strerror(errno));
		return;
	}
	while ((more = xvp_conn_next(&g.conn, &f)) > 0) {
		/* Its HELLO, and anything not for a running command, stays here. */
		if (!(f.chan & XVP_CHAN_GUEST) || active_index(f.chan) < 0)
			continue;
		xvp_send(vm, f.type, f.chan, f.stream, f.payload, f.len);
		if (f.type == XVP_EXIT || f.type == XVP_ERROR)
			active_drop(f.chan);
	}
	if (more < 0)
		helper_lost(vm, "malformed frame");
	else if (xvp_conn_flush(&g.conn) < 0)
		helper_lost(vm, strerror(errno));
}

void vmd_guest_reap(void)
{
	if (g.pid > 0 && waitpid(g.pid, NULL, WNOHANG) == g.pid)
		g.pid = 0;
}

void vmd_guest_fini(void)
{
	/* the helper sees its link end: it kills its commands and exits */
	if (g.conn.fd >= 0)
		close(g.conn.fd);
	xvp_conn_fini(&g.conn);
	xvp_conn_init(&g.conn, -1);
	g.up = false;
	for (int i = 0; g.pid > 0 && i < 100; i++) {
		if (waitpid(g.pid, NULL, WNOHANG) == g.pid)
			g.pid = 0;
		else
			usleep(20000);
	}
	if (g.pid > 0) {
		kill(g.pid, SIGKILL);
		waitpid(g.pid, NULL, 0);
		g.pid = 0;
	}
}
