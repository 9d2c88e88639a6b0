/*
 * vmhost.c - the host side of one VM that every driver shares (see vmhost.h).
 */
#include "vm/vmhost.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/proto.h"

#ifndef XENVM_LIBEXECDIR
#define XENVM_LIBEXECDIR "/usr/local/libexec/xenvm" /* the Makefile's $(LIBEXECDIR) */
#endif

/* How long boot waits for the supervisor's vmd.pid: 250 x 20 ms. */
#define PIDFILE_TRIES 250

const char *xvm_control_socket(const struct xvm *vm)
{
	return vm->sock;
}

/* snprintf that says whether it fit: 0, or -1 with errno ENAMETOOLONG and buf "". */
static int fmt_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int xvm_host_path(const struct xvm *h, const char *file, char *buf, size_t len)
{
	char rel[XVM_PATH_LEN];

	if (fmt_path(rel, sizeof(rel), "/", file) < 0)
		return -1;
	return fmt_path(buf, len, h->state_dir, rel);
}

int xvm_host_init(struct xvm *h, const char *state_dir, const char *console, struct xerr *err)
{
	memset(h, 0, sizeof(*h));
	if (fmt_path(h->state_dir, sizeof(h->state_dir), state_dir, "") < 0 ||
	    xvm_host_path(h, "agent.sock", h->sock, sizeof(h->sock)) < 0 ||
	    xvm_host_path(h, "status", h->status, sizeof(h->status)) < 0 ||
	    xvm_host_path(h, "vmd.pid", h->pidfile, sizeof(h->pidfile)) < 0 ||
	    xvm_host_path(h, "claimed", h->claim, sizeof(h->claim)) < 0 ||
	    (console ? fmt_path(h->console, sizeof(h->console), console, "")
	             : xvm_host_path(h, "console.log", h->console, sizeof(h->console))) < 0)
		return xerr_set(err, "state directory %.200s%s%.200s: path too long", state_dir,
		                console ? " or console log " : "", console ? console : "");
	return 0;
}

int xvm_host_attach(struct xvm *h, const char *state_dir, struct xerr *err)
{
	FILE *f;
	int pid = 0;

	if (xvm_host_init(h, state_dir, NULL, err) < 0)
		return -1;
	f = fopen(h->pidfile, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) == 1 && pid > 0)
			h->vmd = pid;
		fclose(f);
	}
	return 0;
}

int xvm_host_listen(const struct xvm *h, uid_t uid, gid_t gid, struct xerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(h->sock);
	mode_t old;
	int fd, r, saved;

	if (n >= sizeof(sa.sun_path))
		return xerr_errno(err, ENAMETOOLONG, "control socket path too long (max %zu): %s",
		                  sizeof(sa.sun_path) - 1, h->sock);
	memcpy(sa.sun_path, h->sock, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xerr_set(err, "socket: %s", strerror(errno));
	unlink(h->sock);
	/* 0600 from the start (umask), then handed to the job's user. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chown(h->sock, uid, gid) < 0 || chmod(h->sock, 0600) < 0 ||
	    listen(fd, 128) < 0) {
		saved = errno;
		xerr_set(err, "control socket %s: %s", h->sock, strerror(saved));
		goto fail;
	}
	if (vmd_write_status(h->status, "booting") < 0) {
		saved = errno;
		xerr_set(err, "%s: %s", h->status, strerror(saved));
		goto fail;
	}
	unlink(h->pidfile);
	return fd;
fail:
	close(fd);
	unlink(h->sock);
	errno = saved;
	return -1;
}

/* The supervisor's start: everything but fn.  Never fails (what cannot be done is skipped). */
static void daemonise(const struct xvm *h, int lfd)
{
	char log[XVM_PATH_LEN];
	int null, logfd;
	FILE *f;

	setsid();
	prctl(PR_SET_NAME, "xenvm-vmd");
	/*
	 * Nothing of the booting process may live on in the supervisor (a Prolog's lock on the
	 * job, slurmstepd's sockets, libxenlight's handles): only the control socket's listener.
	 */
	if (lfd > 3)
		close_range(3, (unsigned)lfd - 1, 0);
	close_range((unsigned)lfd + 1, ~0U, 0);
	if (chdir("/") < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* stderr beside the console log, so that the hypervisor's own errors are kept */
	if (xvm_host_path(h, "vmd.log", log, sizeof(log)) == 0) {
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (logfd >= 0)
			dup2(logfd, 2);
	}
	f = fopen(h->pidfile, "we");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

int xvm_host_spawn(struct xvm *h, int lfd, xvm_supervisor_fn fn, void *arg, struct xerr *err)
{
	pid_t mid = fork();
	int saved;

	if (mid < 0) {
		saved = errno;
		close(lfd);
		errno = saved;
		return xerr_set(err, "fork: %s", strerror(saved));
	}
	if (mid == 0) {
		/* Double fork: the supervisor is nobody's child but init's, so it outlives us. */
		if (fork() == 0) {
			daemonise(h, lfd);
			fn(h, lfd, arg);
		}
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	close(lfd);
	/* the supervisor writes its pid first thing; wait for it briefly */
	for (int i = 0; i < PIDFILE_TRIES && !h->vmd; i++) {
		FILE *f = fopen(h->pidfile, "re");
		int pid = 0;

		if (f) {
			if (fscanf(f, "%d", &pid) == 1 && pid > 0)
				h->vmd = pid;
			fclose(f);
		}
		if (!h->vmd)
			usleep(20000);
	}
	return 0;
}

void xvm_host_vmd_config(const struct xvm *h, const struct xvm_spec *s, int agent_fd, int lfd,
                         pid_t child, struct vmd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->agent_fd = agent_fd;
	cfg->listen_fd = lfd;
	cfg->owner_uid = s->uid;
	cfg->owner_gid = s->gid;
	cfg->host_agent = s->host_agent ? s->host_agent : XENVM_LIBEXECDIR "/xenvm-agent";
	cfg->allow_root = s->allow_root;
	cfg->child = child;
	cfg->status_path = h->status;
	cfg->console_log = h->console;
	cfg->claim_ms = s->claim_s > 86400 ? 86400000u : s->claim_s * 1000u;
	cfg->claim_path = h->claim;
}

void xvm_host_fail(const struct xvm *h, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	int n;

	memcpy(msg, "failed: ", 8);
	va_start(ap, fmt);
	n = vsnprintf(msg + 8, sizeof(msg) - 8, fmt, ap);
	va_end(ap);
	/* a reason cut short is still the reason: vsnprintf truncates and terminates */
	if (n < 0)
		snprintf(msg + 8, sizeof(msg) - 8, "%s", strerror(errno));
	vmd_write_status(h->status, msg);
}

void xvm_host_unlink(const struct xvm *h)
{
	unlink(h->sock);
	unlink(h->pidfile);
}

bool xvm_pid_alive(pid_t pid)
{
	char path[64], st[256];
	FILE *f;
	bool alive;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	/* a zombie (not yet reaped by init) is dead for us */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	alive = fgets(st, sizeof(st), f) && !strstr(st, ") Z ");
	fclose(f);
	return alive;
}

int xvm_wait_gone(pid_t pid, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (!xvm_pid_alive(pid))
			return 0;
		usleep(20000);
	}
	return xvm_pid_alive(pid) ? -1 : 0;
}

long xvm_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int xvm_host_wait_ready(const struct xvm *h, const char *name, unsigned timeout_ms,
                        struct xerr *err)
{
	char line[1300], tail[700], who[XVM_STATE_DIR_LEN + 8];
	struct timespec t0;

	if (name)
		snprintf(who, sizeof(who), "%.*s", (int)sizeof(who) - 1, name);
	else
		snprintf(who, sizeof(who), "in %.*s", (int)sizeof(who) - 4, h->state_dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		FILE *f = fopen(h->status, "re");

		line[0] = '\0';
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
		}
		if (strcmp(line, "ready") == 0)
			return 0;
		if (line[0] && strcmp(line, "booting") != 0)
			return xerr_errno(err, EHOSTDOWN, "VM %s did not become ready: %s", who,
			                  strncmp(line, "failed: ", 8) == 0 ? line + 8 : line);
		if (h->vmd && !xvm_pid_alive(h->vmd)) {
			return xerr_errno(err, EHOSTDOWN,
			                  "VM %s: its supervisor died (see %s/vmd.log)", who,
			                  h->state_dir);
		}
		if (xvm_ms_since(&t0) >= (long)timeout_ms) {
			vmd_console_tail(h->console, tail, sizeof(tail));
			return xerr_errno(err, ETIMEDOUT, "VM %s did not become ready in %u s: %s",
			                  who, timeout_ms / 1000,
			                  tail[0] ? tail : "(console empty)");
		}
		usleep(50000);
	}
}

void xvm_host_request_shutdown(const struct xvm *h, unsigned grace_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(h->sock);
	struct xvp_conn c;
	int fd;

	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, h->sock, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		xvp_conn_init(&c, fd);
		if (xvp_send(&c, XVP_SHUTDOWN, 0, 0, NULL, 0) == 0)
			xvp_conn_flush_all(&c);
		xvp_conn_fini(&c);
		if (h->vmd > 0)
			xvm_wait_gone(h->vmd, grace_ms);
	}
	close(fd);
}

int xvm_host_stop(const struct xvm *h, unsigned term_ms, const char *name, struct xerr *err)
{
	if (h->vmd <= 0 || !xvm_pid_alive(h->vmd))
		return 0;
	kill(h->vmd, SIGTERM);
	if (xvm_wait_gone(h->vmd, term_ms) == 0)
		return 0;
	kill(h->vmd, SIGKILL);
	if (xvm_wait_gone(h->vmd, 2000) == 0)
		return 0;
	return xerr_errno(err, EBUSY, "supervisor %d of %s does not die", (int)h->vmd,
	                  name ? name : h->state_dir);
}
