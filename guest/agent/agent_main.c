/*
 * agent_main.c - xenvm-agent: runs commands for the host inside the guest (see guest/README.md).
 *
 *   xenvm-agent --device DEV [--status TEXT]   the VM's channel (virtio-serial port, hvc)
 *   xenvm-agent --listen PATH [--status TEXT]  a Unix socket, one link per connection (tests)
 *   xenvm-agent --fd N [--keep-creds]          an inherited connected socket (tests; vmd's
 *                                              host-side helper for commands from the guest)
 *   --host-socket PATH  where programs in the guest ask the host to run a command (relay.c);
 *                       default /run/xenvm/host.sock with --device
 *
 * One thread, one poll(2) loop over the links, the children's pipes and a signalfd.  In a VM the
 * agent is PID 1 (init execs it): it reaps every orphan and powers the guest off on SHUTDOWN.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest/rdmadev/rdmadev.h"
#include "lib/log.h"

#define CREDIT_BATCH (XVP_WINDOW / 4)
#define MAX_POLL 4096
#define DEFAULT_HOST_SOCKET "/run/xenvm/host.sock"

static struct agent_link *links;
static struct agent_chan *chans;
static const char *status = "ok";
static const char *device_path;
static volatile int stopping;

/* Find channel id of link l, or NULL. */
static struct agent_chan *chan_find(struct agent_link *l, uint32_t id)
{
	struct agent_chan *c;

	for (c = chans; c; c = c->next)
		if (c->link == l && c->id == id)
			return c;
	return NULL;
}

static void chan_unlink_free(struct agent_chan *ch)
{
	struct agent_chan **pp;

	for (pp = &chans; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	agent_chan_free(ch);
}

/*
 * Signal the child's process group (its own session), falling back to the child alone.  On a
 * pty the terminal's foreground group too: a shell's job (`sleep` under `bash -i`) runs in a
 * group of its own, and a signal the task gets natively from slurmstepd reaches it as well.
 */
static void chan_kill(struct agent_chan *ch, int sig)
{
	pid_t fg;

	if (ch->reaped || ch->pid <= 0)
		return;
	if (ch->pty >= 0 && (fg = tcgetpgrp(ch->pty)) > 0 && fg != ch->pid)
		kill(-fg, sig);
	if (kill(-ch->pid, sig) < 0)
		kill(ch->pid, sig);
}

/*
 * The host gave the channel up (CLOSE, link lost): kill it; chan_maybe_finish() frees it once
 * reaped.  Channels are only freed after a dispatch pass, so poll entries never dangle.
 */
static void chan_abandon(struct agent_chan *ch)
{
	ch->link = NULL;
	chan_kill(ch, SIGKILL);
}

static void link_fail(struct agent_link *l, const char *why)
{
	struct agent_chan *c, *next;
	int n = 0;

	for (c = chans; c; c = next) {
		next = c->next;
		if (c->link == l) {
			chan_abandon(c);
			n++;
		}
	}
	/* A client that hangs up after its exec ended is the normal case. */
	xlog(n ? XLOG_WARN : XLOG_DEBUG, "link %d: %s; %d exec(s) killed", l->conn.fd, why, n);
	l->dead = true;
	if (relay_is_uplink(l))
		relay_uplink_lost();
}

/* Queue a frame on l; a failure to queue (ENOMEM) makes the link unusable. */
#define SEND(l, expr)                                                                              \
	do {                                                                                       \
		if ((expr) < 0)                                                                    \
			link_fail((l), "cannot queue output");                                     \
	} while (0)

/* ERROR with a text that may hold a NUL (xvp_send_error stops at the first).  As xvp_send. */
static int send_error_raw(struct xvp_conn *c, uint32_t chan, int err, const char *text, size_t len)
{
	uint8_t buf[4 + 2048];

	if (len > sizeof(buf) - 4)
		len = sizeof(buf) - 4;
	buf[0] = (uint8_t)err;
	buf[1] = (uint8_t)((uint32_t)err >> 8);
	buf[2] = (uint8_t)((uint32_t)err >> 16);
	buf[3] = (uint8_t)((uint32_t)err >> 24);
	memcpy(buf + 4, text, len);
	return xvp_send(c, XVP_ERROR, chan, 0, buf, 4 + len);
}

static void handle_exec(struct agent_link *l, const struct xvp_frame *f)
{
	struct xvp_exec x;
	struct agent_chan *ch;
	const char *stage = "decode";
	char msg[2048], what[1024];

	if (chan_find(l, f->chan)) {
		SEND(l, xvp_send_error(&l->conn, f->chan, EEXIST, "channel in use"));
		return;
	}
	if (xvp_exec_decode(f->payload, f->len, &x) < 0) {
		snprintf(msg, sizeof(msg), "bad exec request: %s", strerror(errno));
		SEND(l, xvp_send_error(&l->conn, f->chan, errno, msg));
		return;
	}
	ch = agent_spawn(l, f->chan, &x, &stage, what, sizeof(what));
	if (!ch) {
		int e = errno;
		int n = snprintf(msg, sizeof(msg), "%s: %s: %s", stage, what[0] ? what : x.argv[0],
		                 strerror(e));

		/* text, NUL, what the exec failed on (proto.h, ERROR) */
		if (n < 0 || (size_t)n >= sizeof(msg))
			n = (int)sizeof(msg) - 1;
		n += snprintf(msg + n + 1, sizeof(msg) - (size_t)n - 1, "%s", what) + 1;
		if ((size_t)n >= sizeof(msg))
			n = (int)sizeof(msg) - 1;
		SEND(l, send_error_raw(&l->conn, f->chan, e, msg, (size_t)n));
	} else {
		ch->next = chans;
		chans = ch;
		xdebug("chan %u: started pid %d: %s", f->chan, (int)ch->pid, x.argv[0]);
		SEND(l, xvp_send_u32(&l->conn, XVP_STARTED, f->chan, 0, (uint32_t)ch->pid));
	}
	xvp_exec_free(&x);
}

/* Host -> child bytes for a stream we accept input on. */
static void handle_data(struct agent_link *l, struct agent_chan *ch, const struct xvp_frame *f)
{
	struct agent_in *in;

	if (f->stream >= ch->nstreams || f->stream == XVP_STREAM_STDOUT ||
	    f->stream == XVP_STREAM_STDERR)
		return link_fail(l, "DATA on a stream that takes no input");
	in = &ch->in[f->stream];
	if (in->buf.len + f->len > XVP_WINDOW)
		return link_fail(l, "host overran its credit");
	if (in->fd < 0 || in->eof) {
		/* The child stopped reading: drop, but keep the host's credit flowing. */
		SEND(l, xvp_send_u32(&l->conn, XVP_CREDIT, ch->id, f->stream, f->len));
		return;
	}
	if (xvp_buf_reserve(&in->buf, f->len) < 0)
		return link_fail(l, "out of memory");
	memcpy(in->buf.buf + in->buf.off + in->buf.len, f->payload, f->len);
	in->buf.len += f->len;
}

/* Close the child's input side once the host's EOF and all buffered bytes went through. */
static void in_maybe_close(struct agent_chan *ch, size_t s)
{
	struct agent_in *in = &ch->in[s];

	if (!in->eof || in->buf.len > 0 || in->fd < 0)
		return;
	if (s == XVP_STREAM_STDIN) {
		close(in->fd);
		in->fd = -1;
	} else {
		shutdown(in->fd, SHUT_WR); /* relay socket: the read side stays */
	}
}

static void handle_frame(struct agent_link *l, const struct xvp_frame *f)
{
	struct agent_chan *ch;
	uint32_t v = 0;

	/* A channel a guest program opened (srun shim): the host answers, relay.c routes it. */
	if ((f->chan & XVP_CHAN_GUEST) && relay_is_uplink(l))
		return relay_from_host(f);
	switch (f->type) {
	case XVP_HELLO:
		SEND(l, xvp_send_hello(&l->conn, status));
		return;
	case XVP_EXEC:
		handle_exec(l, f);
		return;
	case XVP_SHUTDOWN:
		xinfo("shutdown requested");
		stopping = 1;
		return;
	default:
		break;
	}
	ch = chan_find(l, f->chan);
	if (!ch)
		return; /* a late frame for a finished channel */
	switch (f->type) {
	case XVP_DATA:
		handle_data(l, ch, f);
		break;
	case XVP_EOF:
		if (f->stream >= ch->nstreams)
			return link_fail(l, "bad EOF");
		if (f->stream == XVP_STREAM_STDOUT || f->stream == XVP_STREAM_STDERR) {
			/* The host's reader is gone: the child gets EPIPE/SIGPIPE, as locally. */
			if (ch->out[f->stream].fd >= 0)
				close(ch->out[f->stream].fd);
			ch->out[f->stream].fd = -1;
			ch->out[f->stream].eof = true;
			break;
		}
		ch->in[f->stream].eof = true;
		in_maybe_close(ch, f->stream);
		break;
	case XVP_CREDIT:
		if (xvp_get_u32(f, 0, &v) < 0 || f->stream >= ch->nstreams)
			return link_fail(l, "bad CREDIT");
		ch->out[f->stream].credit += v;
		break;
	case XVP_SIGNAL:
		if (xvp_get_u32(f, 0, &v) < 0 || v == 0 || v >= NSIG)
			return link_fail(l, "bad SIGNAL");
		chan_kill(ch, (int)v);
		break;
	case XVP_CLOSE:
		chan_abandon(ch);
		break;
	case XVP_WINSIZE: {
		struct xvp_tty t;
		struct winsize ws;

		if (xvp_parse_winsize(f, &t) < 0)
			return link_fail(l, "bad WINSIZE");
		if (ch->pty < 0)
			break; /* no terminal: nothing has a size */
		ws = (struct winsize){.ws_row = (unsigned short)t.rows,
		                      .ws_col = (unsigned short)t.cols,
		                      .ws_xpixel = (unsigned short)t.xpixel,
		                      .ws_ypixel = (unsigned short)t.ypixel};
		/* the kernel sends SIGWINCH to the terminal's foreground group */
		ioctl(ch->pty, TIOCSWINSZ, &ws);
		break;
	}
	default:
		xdebug("ignoring frame %s", xvp_type_name(f->type));
		break;
	}
}

static void link_read(struct agent_link *l)
{
	struct xvp_frame f;
	ssize_t n;
	int r = 0;

	n = xvp_conn_fill(&l->conn);
	if (n == 0)
		return link_fail(l, "peer closed");
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		return link_fail(l, strerror(errno));
	}
	while (!l->dead && (r = xvp_conn_next(&l->conn, &f)) > 0)
		handle_frame(l, &f);
	if (r < 0 && !l->dead)
		link_fail(l, "malformed frame");
}

/* Move buffered host bytes into the child's fd; credit them back in batches. */
static void chan_write_in(struct agent_chan *ch, size_t s)
{
	struct agent_in *in = &ch->in[s];
	ssize_t n;

	while (in->buf.len > 0 && in->fd >= 0) {
		n = write(in->fd, in->buf.buf + in->buf.off, in->buf.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			/* EPIPE: the child closed its end; drop what is left, credit it back. */
			in->done += (uint32_t)in->buf.len;
			in->buf.len = 0;
			in->buf.off = 0;
			if (s == XVP_STREAM_STDIN) {
				close(in->fd);
				in->fd = -1;
			}
			in->eof = true;
			break;
		}
		in->buf.off += (size_t)n;
		in->buf.len -= (size_t)n;
		in->done += (uint32_t)n;
	}
	if (in->buf.len == 0)
		in->buf.off = 0;
	if (ch->link && in->done > 0 && (in->done >= CREDIT_BATCH || in->buf.len == 0)) {
		SEND(ch->link,
		     xvp_send_u32(&ch->link->conn, XVP_CREDIT, ch->id, (uint16_t)s, in->done));
		in->done = 0;
	}
	in_maybe_close(ch, s);
}

/* Child -> host: read what the credit allows and send it. */
static void chan_read_out(struct agent_chan *ch, size_t s)
{
	struct agent_out *out = &ch->out[s];
	static uint8_t buf[XVP_DATA_MAX];
	size_t want = out->credit < XVP_DATA_MAX ? out->credit : XVP_DATA_MAX;
	ssize_t n;

	if (!ch->link || want == 0)
		return;
	do {
		n = read(out->fd, buf, want);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		SEND(ch->link, xvp_send(&ch->link->conn, XVP_EOF, ch->id, (uint16_t)s, NULL, 0));
		out->eof = true;
		if (s < XVP_STREAM_RELAY0) {
			close(out->fd);
			out->fd = -1;
		} else {
			shutdown(out->fd, SHUT_RD);
		}
		return;
	}
	out->credit -= (uint32_t)n;
	SEND(ch->link, xvp_send(&ch->link->conn, XVP_DATA, ch->id, (uint16_t)s, buf, (size_t)n));
}

/* Send EXIT once the child is reaped and its stdout/stderr reached EOF; then free it. */
static void chan_maybe_finish(struct agent_chan *ch)
{
	uint32_t kind, code;

	if (!ch->reaped)
		return;
	if (!ch->link) {
		chan_unlink_free(ch);
		return;
	}
	if (!ch->out[XVP_STREAM_STDOUT].eof || !ch->out[XVP_STREAM_STDERR].eof)
		return;
	if (WIFSIGNALED(ch->wstatus)) {
		kind = XVP_SIGNALED;
		code = (uint32_t)WTERMSIG(ch->wstatus);
	} else {
		kind = XVP_EXITED;
		code = (uint32_t)WEXITSTATUS(ch->wstatus);
	}
	/* the status as it is: a death by signal stays one on the host (xenvm-exec re-raises it) */
	SEND(ch->link, xvp_send_exit(&ch->link->conn, ch->id, ch->wstatus));
	xdebug("chan %u: pid %d done (%s %u)", ch->id, (int)ch->pid,
	       kind == XVP_SIGNALED ? "signal" : "exit", code);
	chan_unlink_free(ch);
}

static void reap_children(void)
{
	struct agent_chan *c;
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (c = chans; c; c = c->next)
			if (c->pid == pid && !c->reaped) {
				c->reaped = true;
				c->wstatus = st;
				break;
			}
		/* not ours: an orphan re-parented to PID 1, or a child that failed before exec */
	}
}

static struct agent_link *link_add(int fd, bool is_device)
{
	struct agent_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	xvp_conn_init(&l->conn, fd);
	l->is_device = is_device;
	if (xvp_send_hello(&l->conn, status) < 0) {
		xvp_conn_fini(&l->conn);
		free(l);
		return NULL;
	}
	l->next = links;
	links = l;
	return l;
}

/* Drop dead links; a device link is re-armed (the host may reconnect to the VM's channel). */
static void links_sweep(void)
{
	struct agent_link **pp = &links, *l;

	while ((l = *pp)) {
		if (!l->dead) {
			pp = &l->next;
			continue;
		}
		if (l->is_device) {
			l->dead = false;
			l->conn.in.len = l->conn.out.len = 0;
			l->conn.in.off = l->conn.out.off = 0;
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		if (relay_is_uplink(l))
			relay_set_uplink(NULL);
		close(l->conn.fd);
		xvp_conn_fini(&l->conn);
		free(l);
	}
}

/* PID 1 in a VM: end everything and power off.  Never returns. */
static void __attribute__((noreturn)) power_off(void)
{
	kill(-1, SIGTERM);
	usleep(300000);
	kill(-1, SIGKILL);
	sync();
	reboot(RB_POWER_OFF);
	_exit(0);
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: xenvm-agent (--device DEV | --listen PATH | --fd N) [--status TEXT] "
	        "[--host-socket PATH] [--keep-creds] [--debug]\n");
}

/* One pass of the loop: build the poll set, wait, dispatch.  Returns 0, or -1 to stop. */
static int run_once(int sfd, int lfd)
{
	static struct pollfd pfd[MAX_POLL];
	static void *owner[MAX_POLL];
	static int kind[MAX_POLL], strm[MAX_POLL];
	struct agent_link *l;
	struct agent_chan *c, *next;
	nfds_t n = 0;
	size_t s;

	pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
	kind[n++] = 0;
	if (lfd >= 0) {
		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		kind[n++] = 1;
	}
	for (l = links; l && n < MAX_POLL; l = l->next) {
		pfd[n] = (struct pollfd){.fd = l->conn.fd, .events = POLLIN};
		if (xvp_conn_pending(&l->conn))
			pfd[n].events |= POLLOUT;
		owner[n] = l;
		kind[n++] = 2;
	}
	for (size_t k = relay_poll(pfd + n, owner + n, MAX_POLL / 4); k > 0; k--)
		kind[n++] = 5;
	for (c = chans; c; c = c->next) {
		for (s = 0; s < c->nstreams && n + 2 < MAX_POLL; s++) {
			if (c->in[s].fd >= 0 && c->in[s].buf.len > 0) {
				pfd[n] = (struct pollfd){.fd = c->in[s].fd, .events = POLLOUT};
				owner[n] = c, strm[n] = (int)s, kind[n++] = 3;
			}
			if (c->link && c->out[s].fd >= 0 && !c->out[s].eof &&
			    c->out[s].credit > 0) {
				pfd[n] = (struct pollfd){.fd = c->out[s].fd, .events = POLLIN};
				owner[n] = c, strm[n] = (int)s, kind[n++] = 4;
			}
		}
	}
	if (poll(pfd, n, relay_timeout_ms()) < 0) {
		if (errno == EINTR)
			return 0;
		xerror("poll: %s", strerror(errno));
		return -1;
	}
	for (nfds_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		switch (kind[i]) {
		case 0: {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap_children();
				else if (!device_path || getpid() != 1)
					stopping = 1;
			}
			break;
		}
		case 1: {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (cfd >= 0 && !link_add(cfd, false))
				close(cfd);
			break;
		}
		case 2:
			l = owner[i];
			if (l->dead)
				break;
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				link_read(l);
			if (!l->dead && xvp_conn_flush(&l->conn) < 0)
				link_fail(l, strerror(errno));
			if (l->dead && l->is_device)
				usleep(100000); /* host side not connected: do not spin */
			break;
		case 3:
			chan_write_in(owner[i], (size_t)strm[i]);
			break;
		case 4:
			chan_read_out(owner[i], (size_t)strm[i]);
			break;
		case 5:
			relay_event(owner[i], pfd[i].revents);
			break;
		}
	}
	for (c = chans; c; c = next) {
		next = c->next;
		chan_maybe_finish(c);
	}
	for (l = links; l; l = l->next)
		if (!l->dead && xvp_conn_pending(&l->conn) && xvp_conn_flush(&l->conn) < 0)
			link_fail(l, strerror(errno));
	relay_after_pass();
	links_sweep();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'd'}, {"listen", required_argument, NULL, 'l'},
	    {"fd", required_argument, NULL, 'f'},     {"status", required_argument, NULL, 's'},
	    {"debug", no_argument, NULL, 'D'},        {"host-socket", required_argument, NULL, 'H'},
	    {"keep-creds", no_argument, NULL, 'K'},   {NULL, 0, NULL, 0},
	};
	const char *listen_path = NULL, *host_socket = NULL;
	struct agent_link *l;
	int fd = -1, lfd = -1, sfd, opt, rc = 1;
	struct rlimit rl;

	/* One static binary in the initramfs, two programs: a container VM's RDMA set-up is the
	 * agent's code under another name (guest/rdmadev), 0.8 MB of static libc less. */
	if (strcmp(xvm_rdmadev_basename(argv[0]), "xenvm-rdmadev") == 0)
		return xvm_rdmadev_main(argc, argv);
	xlog_init("xenvm-agent", XLOG_INFO);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			device_path = optarg;
			break;
		case 'l':
			listen_path = optarg;
			break;
		case 'f':
			fd = atoi(optarg);
			break;
		case 's':
			status = optarg;
			break;
		case 'D':
			xlog_set_level(XLOG_DEBUG);
			break;
		case 'H':
			host_socket = optarg;
			break;
		case 'K':
			agent_keep_creds = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!!device_path + !!listen_path + (fd >= 0) != 1) {
		usage();
		return 2;
	}
	/* Room for relay fds staged above their targets (see spawn.c). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* In the guest only: the host-side helper (--keep-creds) runs no container task. */
	if (!agent_keep_creds)
		agent_container_load(AGENT_CONTAINER_CONFIG);
	sfd = setup_signals();
	if (sfd < 0) {
		xerror("signals: %s", strerror(errno));
		goto out;
	}
	if (device_path) {
		int dfd;

		while ((dfd = open(device_path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) < 0) {
			xerror("open %s: %s (retrying)", device_path, strerror(errno));
			sleep(1);
		}
		/*
		 * A Xen PV console (/dev/hvc1) is a tty: echo, canonical mode and CR/LF mapping
		 * would corrupt frames.  virtio-serial ports are not ttys and skip this.
		 */
		if (isatty(dfd)) {
			struct termios t;

			if (tcgetattr(dfd, &t) == 0) {
				cfmakeraw(&t);
				if (tcsetattr(dfd, TCSANOW, &t) < 0)
					xerror("%s: raw mode: %s", device_path, strerror(errno));
			}
		}
		l = link_add(dfd, true);
		if (!l) {
			xerror("out of memory");
			goto out;
		}
		relay_set_uplink(l);
		if (!host_socket)
			host_socket = DEFAULT_HOST_SOCKET;
		/* The console line the driver's logs and humans look for. */
		if (strcmp(status, "ok") == 0 || strncmp(status, "ok ", 3) == 0)
			xinfo("ready on %s", device_path);
		else
			xerror("NOT ready: %s", status);
	} else if (listen_path) {
		lfd = listen_unix(listen_path);
		if (lfd < 0) {
			xerror("listen %s: %s", listen_path, strerror(errno));
			goto out;
		}
	} else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !(l = link_add(fd, false))) {
		/* close-on-exec: the link must not leak into commands (vmd's helper runs srun) */
		xerror("--fd %d: %s", fd, strerror(errno));
		goto out;
	} else if (host_socket) {
		/* only with a host socket: vmd's helper (--fd) gets guest-range ids as its own */
		relay_set_uplink(l);
	}
	/* Without the relay the agent still runs the host's commands: a warning, not a failure. */
	if (host_socket && relay_listen(host_socket) < 0)
		xerror("host command socket %s: %s (srun in the guest will not work)", host_socket,
		       strerror(errno));
	while (!stopping) {
		if (run_once(sfd, lfd) < 0)
			goto out;
		if (!listen_path && !device_path && !links)
			break; /* --fd: the only link is gone */
	}
	rc = 0;
out:
	relay_fini();
	if (stopping && getpid() == 1)
		power_off();
	while (chans) {
		struct agent_chan *c = chans;

		chan_kill(c, SIGKILL);
		chans = c->next;
		agent_chan_free(c);
	}
	while (links) {
		struct agent_link *dl = links;

		links = dl->next;
		xvp_conn_flush(&dl->conn);
		close(dl->conn.fd);
		xvp_conn_fini(&dl->conn);
		free(dl);
	}
	if (listen_path && lfd >= 0)
		unlink(listen_path);
	return rc;
}
