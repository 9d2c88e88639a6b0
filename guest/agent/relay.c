/*
 * relay.c - commands that programs in the guest ask the host to run (srun, squeue ... in a
 * batch script), see guest/README.md.
 *
 * The guest has no munge and no Slurm, so its `srun` is a shim (xenvm-exec under that name) that
 * connects to the agent's host socket and speaks the agent protocol exactly as xenvm-exec does
 * to the agent.  The agent forwards each shim's exec onto the link to the host with a channel id
 * from the guest's range (XVP_CHAN_GUEST set, so it never collides with the ids the host picks)
 * and routes the replies back.  Frames are forwarded unchanged, so the credits between the shim
 * and the host bound what is buffered here.  What the host runs, and as whom, is the host's
 * decision (vm/vmd_guest.c): the agent does not filter, since a guest program could bypass
 * any check made inside the guest.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

/*
 * Bounds, so that a guest process opening thousands of connections costs the agent (which
 * also runs the job's tasks) neither its descriptors nor its loop: at most RELAY_MAX_SHIMS
 * shims (as many as the host runs at once, vm/vmd_guest.c), RELAY_MAX_PER_PEER from one
 * process, the excess refused at once with the reason in the HELLO; a shim that asked nothing
 * RELAY_IDLE_MS after its HELLO is closed.
 */
#define RELAY_MAX_SHIMS 256
#define RELAY_MAX_PER_PEER 64
#define RELAY_IDLE_MS 10000

/* One shim connection: one exec (xenvm-exec opens one channel per connection). */
struct relay_shim {
	struct relay_shim *next;
	struct xvp_conn conn;
	uint32_t shim_chan; /* the shim's id for its exec */
	uint32_t host_chan; /* our id on the host link; 0 before EXEC and after EXIT/ERROR */
	bool used;          /* an EXEC was seen: a second one is refused */
	bool dead;
	pid_t pid; /* SO_PEERCRED, for logs and the per-process bound */
	uid_t uid;
	long long since_ms; /* accepted (HELLO sent) */
};

static struct relay_shim *shims;
static struct agent_link *uplink;
static int listen_fd = -1;
static char listen_path[108];
static uint32_t next_chan = 1;
static long long listen_after_ms;    /* accept paused until then (out of descriptors) */
static struct xvp_refusals refusals; /* logged once a minute with their count */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mark a shim for removal; its host exec, if any, is given up (the host kills it). */
static void shim_fail(struct relay_shim *s, const char *why)
{
	if (s->dead)
		return;
	xdebug("shim pid %d: %s", (int)s->pid, why);
	if (s->host_chan && uplink && !uplink->dead)
		xvp_send(&uplink->conn, XVP_CLOSE, s->host_chan, 0, NULL, 0);
	s->host_chan = 0;
	s->dead = true;
}

int relay_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* /run/xenvm is ours; readable by all so that every user in the guest reaches the socket */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	/*
	 * 0666: any user of the guest may ask; the host runs every command as the job's user
	 * whoever asked (the guest's users are the job's user, or root it was granted).
	 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	listen_fd = fd;
	snprintf(listen_path, sizeof(listen_path), "%s", path);
	return 0;
}

void relay_set_uplink(struct agent_link *l)
{
	uplink = l;
}

bool relay_is_uplink(const struct agent_link *l)
{
	return l && l == uplink;
}

void relay_uplink_lost(void)
{
	struct relay_shim *s;

	/* The host restarts its side of a VM link only with a new supervisor: nothing survives. */
	for (s = shims; s; s = s->next)
		if (s->host_chan) {
			s->host_chan = 0;
			xvp_send_error(&s->conn, s->shim_chan, ECONNRESET,
			               "lost the link to the host");
		}
}

/* Over the bounds: the reason in the HELLO, then closed; logged once a minute with a count. */
static bool refuse_excess(int fd, pid_t pid)
{
	struct relay_shim *s;
	size_t n = 0, same = 0;
	char why[160];

	for (s = shims; s; s = s->next)
		if (!s->dead) {
			n++;
			same += s->pid == pid;
		}
	if (n >= RELAY_MAX_SHIMS)
		snprintf(
		    why, sizeof(why),
		    "refused: too many connections to the guest's host-command socket (%zu open)",
		    n);
	else if (same >= RELAY_MAX_PER_PEER)
		snprintf(why, sizeof(why),
		         "refused: too many connections to the guest's host-command socket from "
		         "process %d (%zu open)",
		         (int)pid, same);
	else
		return false;
	xvp_refuse(fd, why, "host socket", &refusals);
	return true;
}

static void accept_shim(void)
{
	struct ucred cr = {0};
	socklen_t cl = sizeof(cr);
	struct relay_shim *s;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		/* out of descriptors: the pending connection would wake us at once, again and again
		 */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			listen_after_ms = now_ms() + 1000;
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
	if (refuse_excess(fd, cr.pid))
		return;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	xvp_conn_init(&s->conn, fd);
	s->pid = cr.pid;
	s->uid = cr.uid;
	s->since_ms = now_ms();
	/* The shim reads HELLO first, like xenvm-exec from a VM; its status says if we can help. */
	if (xvp_send_hello(&s->conn, uplink ? "ok" : "no link to the host in this agent") < 0) {
		close(fd);
		xvp_conn_fini(&s->conn);
		free(s);
		return;
	}
	s->next = shims;
	shims = s;
}

/* The shim asks to run something: give it a guest-range id and forward it. */
static void shim_exec(struct relay_shim *s, const struct xvp_frame *f)
{
	if (s->used) {
		xvp_send_error(&s->conn, f->chan, EBUSY, "one command per connection");
		return;
	}
	s->used = true;
	if (!uplink || uplink->dead) {
		xvp_send_error(&s->conn, f->chan, ENOTCONN, "no link to the host");
		return;
	}
	s->shim_chan = f->chan;
	s->host_chan = XVP_CHAN_GUEST | next_chan;
	next_chan = next_chan + 1 < XVP_CHAN_GUEST ? next_chan + 1 : 1;
	xdebug("shim pid %d uid %u: host chan %#x", (int)s->pid, (unsigned)s->uid, s->host_chan);
	if (xvp_send(&uplink->conn, XVP_EXEC, s->host_chan, 0, f->payload, f->len) < 0)
		shim_fail(s, "cannot queue the request");
}

static void shim_frame(struct relay_shim *s, const struct xvp_frame *f)
{
	switch (f->type) {
	case XVP_EXEC:
		shim_exec(s, f);
		return;
	case XVP_DATA:
	case XVP_EOF:
	case XVP_CREDIT:
	case XVP_SIGNAL:
	case XVP_CLOSE:
		/* Only the exec's own frames go to the host: a shim cannot SHUTDOWN the VM. */
		if (!s->host_chan || f->chan != s->shim_chan || !uplink || uplink->dead)
			return;
		if (xvp_send(&uplink->conn, f->type, s->host_chan, f->stream, f->payload, f->len) <
		    0)
			shim_fail(s, "cannot queue output");
		if (f->type == XVP_CLOSE)
			s->host_chan = 0;
		return;
	default:
		return; /* HELLO and the rest: nothing to do */
	}
}

static void shim_read(struct relay_shim *s)
{
	struct xvp_frame f;
	ssize_t n = xvp_conn_fill(&s->conn);
	int r = 0;

	if (n == 0)
		return shim_fail(s, "closed");
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			shim_fail(s, strerror(errno));
		return;
	}
	while (!s->dead && (r = xvp_conn_next(&s->conn, &f)) > 0)
		shim_frame(s, &f);
	if (r < 0)
		shim_fail(s, "malformed frame");
}

void relay_from_host(const struct xvp_frame *f)
{
	struct relay_shim *s;

	for (s = shims; s; s = s->next)
		if (s->host_chan && s->host_chan == f->chan)
			break;
	if (!s) {
		/* Its shim went away while the host started it: stop it there. */
		if (f->type == XVP_STARTED && uplink)
			xvp_send(&uplink->conn, XVP_CLOSE, f->chan, 0, NULL, 0);
		return;
	}
	if (xvp_send(&s->conn, f->type, s->shim_chan, f->stream, f->payload, f->len) < 0)
		return shim_fail(s, "cannot queue output");
	if (f->type == XVP_EXIT || f->type == XVP_ERROR)
		s->host_chan = 0; /* done; the shim hangs up when it has written everything */
}

size_t relay_poll(struct pollfd *pfd, void **owner, size_t max)
{
	struct relay_shim *s;
	size_t n = 0;

	if (listen_fd >= 0 && n < max && now_ms() >= listen_after_ms) {
		pfd[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		owner[n++] = NULL;
	}
	for (s = shims; s && n < max; s = s->next) {
		if (s->dead)
			continue;
		pfd[n] = (struct pollfd){.fd = s->conn.fd, .events = POLLIN};
		if (xvp_conn_pending(&s->conn))
			pfd[n].events |= POLLOUT;
		owner[n++] = s;
	}
	return n;
}

void relay_event(void *owner, short revents)
{
	struct relay_shim *s = owner;

	if (!s) {
		accept_shim();
		return;
	}
	if (s->dead)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		shim_read(s);
}

void relay_after_pass(void)
{
	struct relay_shim **pp = &shims, *s;
	long long now = now_ms();

	while ((s = *pp)) {
		if (!s->dead && xvp_conn_flush(&s->conn) < 0)
			shim_fail(s, strerror(errno));
		if (!s->dead && !s->used && now - s->since_ms >= RELAY_IDLE_MS)
			shim_fail(s, "asked nothing in time: closed");
		if (!s->dead) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		close(s->conn.fd);
		xvp_conn_fini(&s->conn);
		free(s);
	}
}

void relay_fini(void)
{
	struct relay_shim *s;

	for (s = shims; s; s = s->next)
		s->dead = true;
	relay_after_pass();
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(listen_path);
		listen_fd = -1;
	}
}

int relay_timeout_ms(void)
{
	struct relay_shim *s;

	if (listen_fd >= 0 && listen_after_ms > now_ms())
		return 1000;
	for (s = shims; s; s = s->next)
		if (!s->dead && !s->used)
			return 1000;
	return -1;
}
