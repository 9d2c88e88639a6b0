/*
 * xenvm_exec_relay.c - xenvm-exec's event loop: stdio, relay fds and signals <-> the agent.
 *
 * Our stdio is shared with whoever started us (slurmstepd, a shell), so it is never switched to
 * non-blocking; instead writes are cut to PIPE_BUF after POLLOUT, which a pipe always accepts
 * without blocking, and reads take what one read(2) returns after POLLIN.
 */
#include "xenvm_exec.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* One stream as seen from the host. */
struct xstream {
	int rfd, wfd;    /* read: our source for the guest; write: our sink for the guest's data */
	uint32_t credit; /* bytes we may still send */
	bool sent_eof;   /* we sent EOF (or have nothing to send) */
	bool got_eof;    /* the guest sent EOF */
	struct xvp_buf buf; /* guest bytes waiting for wfd */
	uint32_t done;      /* bytes written to wfd, not yet credited back */
	bool is_sock;       /* relay fd: shut down one direction at a time */
};

/* Signals a task gets from slurmstepd or a shell that must reach the guest process. */
static const int fwd_signals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2,
                                  SIGCONT, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH};

static int signals_fd(void)
{
	sigset_t set;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]); i++)
		sigaddset(&set, fwd_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * Send signal sig to the guest process group.  A suspend (scontrol suspend, gang scheduling) is
 * SIGTSTP then SIGSTOP from slurmstepd; SIGSTOP cannot be caught, so it stops only this relay.
 * The guest group gets SIGTSTP (for programs that handle it) and then SIGSTOP (the agent's
 * children lead orphaned process groups, where the kernel drops SIGTSTP's default stop).
 * SIGCONT, forwarded like any other signal, resumes them.  Returns 0, or -1 with errno set.
 */
static int forward_signal(struct xvp_conn *c, uint32_t chan, uint32_t sig)
{
	if (xvp_send_u32(c, XVP_SIGNAL, chan, 0, sig) < 0)
		return -1;
	if (sig == SIGTSTP)
		return xvp_send_u32(c, XVP_SIGNAL, chan, 0, SIGSTOP);
	return 0;
}

/* Write buffered guest bytes to the sink (at most PIPE_BUF: never blocks after POLLOUT). */
static void stream_drain(struct xvp_conn *c, uint32_t chan, uint16_t id, struct xstream *s)
{
	size_t n = s->buf.len > PIPE_BUF ? PIPE_BUF : s->buf.len;
	ssize_t w;

	if (n == 0)
		return;
	do {
		w = write(s->wfd, s->buf.buf + s->buf.off, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return;
	if (w < 0) {
		/*
		 * Our reader went away (EPIPE): tell the agent, which closes the child's pipe so
		 * the child gets SIGPIPE as it would locally; later bytes are credited back unread.
		 */
		w = (ssize_t)s->buf.len;
		s->wfd = -1;
		if (!s->is_sock)
			xvp_send(c, XVP_EOF, chan, id, NULL, 0);
	}
	s->buf.off += (size_t)w;
	s->buf.len -= (size_t)w;
	s->done += (uint32_t)w;
	if (s->buf.len == 0)
		s->buf.off = 0;
	if (s->done >= XVP_WINDOW / 4 || s->buf.len == 0) {
		if (xvp_send_u32(c, XVP_CREDIT, chan, id, s->done) == 0)
			s->done = 0;
	}
	if (s->got_eof && s->buf.len == 0 && s->wfd >= 0 && s->is_sock)
		shutdown(s->wfd, SHUT_WR);
}

/* Read from our source and send it; EOF/error ends the direction. */
static int stream_pump(struct xvp_conn *c, uint32_t chan, uint16_t id, struct xstream *s)
{
	static uint8_t buf[XVP_DATA_MAX];
	size_t want = s->credit < sizeof(buf) ? s->credit : sizeof(buf);
	ssize_t n;

	/*
	 * Never block here: our stdin may be a socket another process reads too (mpiexec hands
	 * srun its own), so poll's "readable" can be stale by the time we read, and a blocking
	 * read would stop every other stream, including the exit status.  The socket gets
	 * MSG_DONTWAIT; a pipe or file keeps read(2) (O_NONBLOCK would change it for the other
	 * holders of the description too).
	 */
	do {
		n = recv(s->rfd, buf, want, MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = read(s->rfd, buf, want);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		s->sent_eof = true;
		if (s->is_sock)
			shutdown(s->rfd, SHUT_RD);
		return xvp_send(c, XVP_EOF, chan, id, NULL, 0);
	}
	s->credit -= (uint32_t)n;
	return xvp_send(c, XVP_DATA, chan, id, buf, (size_t)n);
}

/* Handle one frame for our channel; sets *exit_status (a wait status) when the exec ended.
 * Returns 0, or -1 with errno EPROTO (message printed) or ENOMEM. */
static int on_frame(struct xvp_conn *c, uint32_t chan, const struct xvp_frame *f,
                    struct xstream *st, size_t ns, int *exit_status)
{
	uint32_t a;

	if (f->chan != chan)
		return 0;
	switch (f->type) {
	case XVP_DATA:
		if (f->stream >= ns || f->stream == XVP_STREAM_STDIN ||
		    st[f->stream].buf.len + f->len > XVP_WINDOW)
			goto proto;
		if (st[f->stream].wfd < 0) { /* nobody reads it: credit back at once */
			return xvp_send_u32(c, XVP_CREDIT, chan, f->stream, f->len);
		}
		if (xvp_buf_reserve(&st[f->stream].buf, f->len) < 0)
			return -1;
		memcpy(st[f->stream].buf.buf + st[f->stream].buf.off + st[f->stream].buf.len,
		       f->payload, f->len);
		st[f->stream].buf.len += f->len;
		return 0;
	case XVP_EOF:
		if (f->stream >= ns)
			goto proto;
		st[f->stream].got_eof = true;
		if (st[f->stream].buf.len == 0 && st[f->stream].is_sock && st[f->stream].wfd >= 0)
			shutdown(st[f->stream].wfd, SHUT_WR);
		return 0;
	case XVP_CREDIT:
		if (f->stream >= ns || xvp_get_u32(f, 0, &a) < 0)
			goto proto;
		st[f->stream].credit += a;
		return 0;
	case XVP_EXIT:
		if (xvp_exit_status(f, exit_status) < 0)
			goto proto;
		return 0;
	case XVP_ERROR:
		fprintf(stderr, "%s: agent: %.*s\n", xexec_prog, (int)(f->len > 4 ? f->len - 4 : 0),
		        f->payload + 4);
		errno = EPROTO;
		return -1;
	default:
		return 0;
	}
proto:
	fprintf(stderr, "%s: malformed %s frame from the agent\n", xexec_prog,
	        xvp_type_name(f->type));
	errno = EPROTO;
	return -1;
}

/* pty mode: our terminal changed size (SIGWINCH); tell the guest's.  0, or -1 (ENOMEM). */
static int send_winsize(struct xvp_conn *c, uint32_t chan)
{
	struct xvp_tty t = {0};

	if (xexec_tty_size(STDIN_FILENO, &t) < 0)
		return 0; /* no longer a terminal: nothing to tell */
	return xvp_send_winsize(c, chan, &t);
}

int xexec_relay(struct xvp_conn *c, uint32_t chan, const int *relay_fds, size_t nrelay, bool pty)
{
	struct xstream st[XVP_MAX_STREAMS];
	struct pollfd pfd[2 + 2 * XVP_MAX_STREAMS];
	int kind[2 + 2 * XVP_MAX_STREAMS];
	size_t ns = XVP_STREAM_RELAY0 + nrelay, i;
	int sfd, exit_status = -1, rc = -1;
	const char *lost_why = NULL;
	struct xvp_frame f;

	memset(st, 0, sizeof(st));
	for (i = 0; i < XVP_MAX_STREAMS; i++) {
		st[i].rfd = st[i].wfd = -1;
		st[i].credit = XVP_WINDOW;
		st[i].sent_eof = true;
	}
	st[0].rfd = STDIN_FILENO;
	st[0].sent_eof = false;
	st[1].wfd = STDOUT_FILENO;
	st[2].wfd = STDERR_FILENO;
	for (i = 0; i < nrelay; i++) {
		st[3 + i].rfd = st[3 + i].wfd = relay_fds[i];
		st[3 + i].sent_eof = false;
		st[3 + i].is_sock = true;
	}
	if (pty) {
		const uint8_t *early;
		size_t n = xexec_tty_early(&early);

		/* within the initial credit (XVP_WINDOW), in one frame (XVP_DATA_MAX) */
		if (n > 0 && xvp_send(c, XVP_DATA, chan, XVP_STREAM_STDIN, early, n) < 0)
			return -1;
		st[0].credit -= (uint32_t)n;
	}
	sfd = signals_fd();
	if (sfd < 0) {
		fprintf(stderr, "%s: signals: %s\n", xexec_prog, strerror(errno));
		return -1;
	}
	for (;;) {
		nfds_t n = 0;
		bool drained = true;
		int more;

		/* Frames may already wait in the buffer (read along with STARTED). */
		while ((more = xvp_conn_next(c, &f)) > 0)
			if (on_frame(c, chan, &f, st, ns, &exit_status) < 0)
				goto out;
		if (more < 0) {
			lost_why = strerror(errno);
			goto lost;
		}

		for (i = 0; i < ns; i++)
			if (st[i].buf.len > 0)
				drained = false;
		/* EXIT arrives after the guest's EOFs: finish once what we hold is written. */
		if (exit_status >= 0 && drained) {
			rc = exit_status;
			goto out;
		}
		pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		if (xvp_conn_pending(c))
			pfd[n].events |= POLLOUT;
		kind[n++] = -1;
		pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
		kind[n++] = -2;
		for (i = 0; i < ns; i++) {
			if (st[i].rfd >= 0 && !st[i].sent_eof && st[i].credit > 0) {
				pfd[n] = (struct pollfd){.fd = st[i].rfd, .events = POLLIN};
				kind[n++] = (int)i;
			}
			if (st[i].wfd >= 0 && st[i].buf.len > 0) {
				pfd[n] = (struct pollfd){.fd = st[i].wfd, .events = POLLOUT};
				kind[n++] = (int)(i + XVP_MAX_STREAMS);
			}
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (kind[k] == -1) {
				ssize_t r;

				if (pfd[k].revents & POLLOUT && xvp_conn_flush(c) < 0) {
					lost_why = strerror(errno);
					goto lost;
				}
				if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = xvp_conn_fill(c);
				/*
				 * End of stream: the supervisor closed our connection because the
				 * VM is gone (QEMU killed, the VM shut down).  errno says nothing
				 * then.
				 */
				if (r == 0)
					lost_why = "the VM stopped (its supervisor closed the "
					           "connection)";
				else if (r < 0 && errno != EAGAIN)
					lost_why = strerror(errno);
				if (lost_why)
					goto lost;
			} else if (kind[k] == -2) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					/* on a pty the size travels, the guest's kernel signals */
					if (pty && si.ssi_signo == SIGWINCH
					        ? send_winsize(c, chan) < 0
					        : forward_signal(c, chan, si.ssi_signo) < 0)
						goto out;
				}
			} else if (kind[k] < XVP_MAX_STREAMS) {
				if (stream_pump(c, chan, (uint16_t)kind[k], &st[kind[k]]) < 0)
					goto out;
			} else {
				i = (size_t)kind[k] - XVP_MAX_STREAMS;
				stream_drain(c, chan, (uint16_t)i, &st[i]);
			}
		}
		if (xvp_conn_flush(c) < 0) {
			lost_why = strerror(errno);
			goto lost;
		}
	}
lost:
	/* leave the terminal sane before the message, or it is printed in raw mode */
	xexec_tty_restore();
	fprintf(stderr, "%s: lost the connection to the VM's agent: %s\n", xexec_prog, lost_why);
	errno = ECONNRESET;
	rc = -1;
out:
	for (i = 0; i < XVP_MAX_STREAMS; i++)
		xvp_buf_free(&st[i].buf);
	close(sfd);
	return rc;
}
