/*
 * xl_chan.c - a secondary PV console's backend in our own process (see xl_chan.h).
 *
 * The protocol is the one xenconsoled speaks for the primary console, reached through xenbus
 * like any split driver: the guest's frontend (Linux hvc_xen, "xenconsole") grants one page
 * holding struct xencons_interface and allocates an unbound event channel, writes `ring-ref`
 * and `port` and switches to Initialised; the backend maps the page, binds the channel and
 * switches to Connected.  The guest writes to `out` and reads from `in`; each side notifies
 * the other after moving an index.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/io/console.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "lib/log.h"
#include "xl_chan.h"
#include "xl_priv.h"

/* Xenbus states (xen/io/xenbus.h): only these matter here. */
#define XB_INITIALISING 1
#define XB_INITIALISED 3
#define XB_CONNECTED 4
#define XB_CLOSING 5
#define XB_CLOSED 6

#define CHAN_BUF 8192

struct chan {
	uint32_t domid;
	char fe[96], be[96];
	struct xs_handle *xs;
	xenevtchn_handle *xce;
	xengnttab_handle *xgt;
	volatile struct xencons_interface *ring; /* NULL while not connected */
	int port;                                /* local event channel port, or -1 */
	int be_state;                            /* what we last wrote to our state node */
	char to_host[CHAN_BUF], to_guest[CHAN_BUF];
	size_t host_len, host_off, guest_len, guest_off;
};

static int paths(uint32_t domid, unsigned int devid, char *fe, char *be, size_t len)
{
	if (devid < 1 || devid > 9) {
		errno = EINVAL;
		return -1;
	}
	snprintf(fe, len, "/local/domain/%u/device/console/%u", domid, devid);
	snprintf(be, len, "/local/domain/0/backend/console/%u/%u", domid, devid);
	return 0;
}

/* Write path=value with perms in transaction t.  true on success (errno set otherwise). */
static bool put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                const char *value, struct xs_permissions *perms)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, t, path, value, strlen(value)) &&
	       xs_set_permissions(xs, t, path, perms, 2);
}

int xl_chan_add(uint32_t domid, unsigned int devid, const char *name, struct xerr *err)
{
	/* The first entry is the owner (full access) and everyone else's default. */
	struct xs_permissions fe_perms[2] = {{.id = domid, .perms = XS_PERM_NONE},
	                                     {.id = 0, .perms = XS_PERM_READ}};
	struct xs_permissions be_perms[2] = {{.id = 0, .perms = XS_PERM_NONE},
	                                     {.id = domid, .perms = XS_PERM_READ}};
	char fe[96], be[96], id[16], cdir[96];
	struct xs_handle *xs = NULL;
	xs_transaction_t t;
	int ret = -1, saved = EIO;

	if (paths(domid, devid, fe, be, sizeof(fe)) == -1 || !name) {
		saved = EINVAL;
		xerr_set(err, "console device %u of domain %u: bad device id or name", devid,
		         domid);
		goto out;
	}
	xs = xs_open(0);
	if (!xs) {
		saved = errno;
		xerr_set(err, "xenstore: %s (is xenstored running?)", strerror(saved));
		goto out;
	}
	snprintf(id, sizeof(id), "%u", domid);
	snprintf(cdir, sizeof(cdir), "/local/domain/%u/device/console", domid);
	for (;;) {
		t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			break;
		xs_rm(xs, t, fe);
		xs_rm(xs, t, be);
		/* The guest lists device/console to find the device: it must be able to read. */
		if (!xs_mkdir(xs, t, cdir) || !xs_set_permissions(xs, t, cdir, fe_perms, 2) ||
		    !xs_mkdir(xs, t, fe) || !xs_set_permissions(xs, t, fe, fe_perms, 2) ||
		    !xs_mkdir(xs, t, be) || !xs_set_permissions(xs, t, be, be_perms, 2) ||
		    !put(xs, t, fe, "backend", be, fe_perms) ||
		    !put(xs, t, fe, "backend-id", "0", fe_perms) ||
		    !put(xs, t, fe, "name", name, fe_perms) ||
		    !put(xs, t, fe, "state", "1", fe_perms) ||
		    !put(xs, t, be, "frontend", fe, be_perms) ||
		    !put(xs, t, be, "frontend-id", id, be_perms) ||
		    !put(xs, t, be, "online", "1", be_perms) ||
		    !put(xs, t, be, "name", name, be_perms) ||
		    !put(xs, t, be, "state", "1", be_perms)) {
			saved = errno;
			xs_transaction_end(xs, t, true);
			break;
		}
		if (xs_transaction_end(xs, t, false)) {
			ret = 0;
			break;
		}
		if (errno != EAGAIN) {
			saved = errno;
			break;
		}
	}
	if (ret == -1)
		xerr_set(err, "xenstore: cannot add console device %u to domain %u: %s", devid,
		         domid, strerror(saved));
	saved = EIO;
out:
	if (xs)
		xs_close(xs);
	if (ret == -1)
		errno = saved;
	return ret;
}

/* The integer at dir/key, or -1 when absent or not a number. */
static long read_long(struct xs_handle *xs, const char *dir, const char *key)
{
	char path[160], *v, *end;
	unsigned int len;
	long n = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (v) {
		n = strtol(v, &end, 10);
		if (end == v || *end)
			n = -1;
		free(v);
	}
	return n;
}

int xl_chan_set_owner(uint32_t domid, unsigned int devid, int pid, struct xerr *err)
{
	char fe[96], be[96], path[160], v[16];
	struct xs_handle *xs;
	bool done;

	if (paths(domid, devid, fe, be, sizeof(fe)) == -1)
		return xerr_set(err, "console device %u: bad device id", devid);
	xs = xs_open(0);
	if (!xs)
		return xerr_errno(err, EIO, "xenstore: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/xenvm-supervisor", be);
	snprintf(v, sizeof(v), "%d", pid);
	done = xs_write(xs, XBT_NULL, path, v, strlen(v));
	if (!done)
		xerr_set(err, "xenstore: %s: %s", path, strerror(errno));
	xs_close(xs);
	if (!done)
		errno = EIO;
	return done ? 0 : -1;
}

int xl_chan_owner(uint32_t domid, unsigned int devid)
{
	char fe[96], be[96];
	struct xs_handle *xs;
	long pid;

	if (paths(domid, devid, fe, be, sizeof(fe)) == -1)
		return 0;
	xs = xs_open(0);
	if (!xs)
		return 0;
	pid = read_long(xs, be, "xenvm-supervisor");
	xs_close(xs);
	return pid > 0 && pid <= INT32_MAX ? (int)pid : 0;
}

int xl_chan_remove(uint32_t domid, unsigned int devid, struct xerr *err)
{
	char fe[96], be[96], parent[96];
	struct xs_handle *xs;
	int ret = 0;

	if (paths(domid, devid, fe, be, sizeof(fe)) == -1)
		return xerr_set(err, "console device %u: bad device id", devid);
	xs = xs_open(0);
	if (!xs)
		return xerr_errno(err, EIO, "xenstore: %s", strerror(errno));
	/* xs_rm of a missing node fails with ENOENT: that is the goal reached. */
	if ((!xs_rm(xs, XBT_NULL, be) && errno != ENOENT) ||
	    (!xs_rm(xs, XBT_NULL, fe) && errno != ENOENT)) {
		xerr_set(err, "xenstore: cannot remove console device %u of domain %u: %s", devid,
		         domid, strerror(errno));
		ret = -1;
	}
	/* The per-domain backend directory is ours alone (xenconsoled uses no backend nodes). */
	snprintf(parent, sizeof(parent), "/local/domain/0/backend/console/%u", domid);
	xs_rm(xs, XBT_NULL, parent);
	xs_close(xs);
	if (ret)
		errno = EIO;
	return ret;
}

static void set_state(struct chan *c, int state)
{
	char path[160], v[4];

	c->be_state = state;
	snprintf(path, sizeof(path), "%s/state", c->be);
	snprintf(v, sizeof(v), "%d", state);
	if (!xs_write(c->xs, XBT_NULL, path, v, strlen(v)))
		xwarn("domain %u: cannot set %s to %s: %s", c->domid, path, v, strerror(errno));
}

static void disconnect(struct chan *c)
{
	if (c->port >= 0)
		xenevtchn_unbind(c->xce, (evtchn_port_t)c->port);
	c->port = -1;
	if (c->ring)
		xengnttab_unmap(c->xgt, (void *)c->ring, 1);
	c->ring = NULL;
}

/* Map the ring and bind the channel the frontend published.  0, or -1 with errno. */
static int connect_ring(struct chan *c)
{
	long ref = read_long(c->xs, c->fe, "ring-ref"), rport = read_long(c->xs, c->fe, "port");
	xenevtchn_port_or_error_t port;

	if (ref < 0 || rport < 0) {
		errno = EPROTO;
		return -1;
	}
	c->ring = xengnttab_map_grant_ref(c->xgt, c->domid, (uint32_t)ref, PROT_READ | PROT_WRITE);
	if (!c->ring)
		return -1;
	port = xenevtchn_bind_interdomain(c->xce, c->domid, (evtchn_port_t)rport);
	if (port < 0) {
		int saved = errno;

		disconnect(c);
		errno = saved;
		return -1;
	}
	c->port = port;
	xinfo("domain %u: agent channel connected (ring-ref %ld, event channel %ld)", c->domid, ref,
	      rport);
	return 0;
}

/*
 * Follow the frontend's state: connect when it is initialised; when it closes, answer Closing
 * and then Closed.  A guest shutting down waits (5 s) for the backend's Closing and ignores
 * a backend that jumps to Closed (Linux xenbus_otherend_changed during shutdown).
 */
static void frontend_changed(struct chan *c)
{
	long st = read_long(c->xs, c->fe, "state");
	int want = c->be_state;

	switch (st) {
	case XB_INITIALISED:
	case XB_CONNECTED:
		if (c->ring)
			break;
		if (connect_ring(c) == 0)
			want = XB_CONNECTED;
		else
			xwarn("domain %u: cannot connect the agent channel: %s", c->domid,
			      strerror(errno));
		break;
	case XB_CLOSING:
	case XB_CLOSED:
	case XB_INITIALISING:
		/* The guest let go (shutdown, or its driver starts over): so do we. */
		if (c->ring) {
			disconnect(c);
			c->host_len = c->host_off = c->guest_len = c->guest_off = 0;
		}
		if (st == XB_CLOSING)
			want = XB_CLOSING;
		else if (st == XB_CLOSED)
			want = XB_CLOSED;
		else if (c->be_state >= XB_CLOSING)
			want = XB_INITIALISING; /* ready for a new connection */
		break;
	default:
		break;
	}
	if (want != c->be_state)
		set_state(c, want);
}

/* 1 when the domain has shut down, crashed or is gone; 0 while it lives; -1 on error. */
static int domain_over(struct xl_domain_ctx *ctx, uint32_t domid)
{
	libxl_dominfo info;
	int rc, ret;

	rc = xl_info(ctx, domid, &info);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		ret = 1;
	else if (rc)
		ret = -1;
	else
		ret = info.shutdown || info.dying;
	libxl_dominfo_dispose(&info);
	return ret;
}

/* Move what the guest wrote (ring `out`) into to_host.  Returns whether anything moved. */
static bool ring_read(struct chan *c)
{
	XENCONS_RING_IDX cons = c->ring->out_cons, prod = c->ring->out_prod;
	bool moved = false;

	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* read the data after seeing prod */
	if (c->host_off > 0 && c->host_off == c->host_len)
		c->host_off = c->host_len = 0;
	while (cons != prod && c->host_len < sizeof(c->to_host)) {
		c->to_host[c->host_len++] = c->ring->out[MASK_XENCONS_IDX(cons, c->ring->out)];
		cons++;
		moved = true;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* data read before the slot is released */
	c->ring->out_cons = cons;
	return moved;
}

/* Move to_guest into the ring's `in` while it has room.  Returns whether anything moved. */
static bool ring_write(struct chan *c)
{
	XENCONS_RING_IDX cons = c->ring->in_cons, prod = c->ring->in_prod;
	bool moved = false;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	while (c->guest_off < c->guest_len && prod - cons < sizeof(c->ring->in)) {
		c->ring->in[MASK_XENCONS_IDX(prod, c->ring->in)] = c->to_guest[c->guest_off++];
		prod++;
		moved = true;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE); /* data visible before the new prod */
	c->ring->in_prod = prod;
	if (c->guest_off == c->guest_len)
		c->guest_off = c->guest_len = 0;
	return moved;
}

/* Both directions once; notify the guest when an index moved.  0, or -1 (fd failed or EOF=1). */
static int pump(struct chan *c, int fd, bool fd_readable)
{
	bool notify = false;
	ssize_t n;

	if (fd_readable && c->guest_len == 0) {
		n = read(fd, c->to_guest, sizeof(c->to_guest));
		if (n == 0)
			return 1;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0)
			c->guest_len = (size_t)n;
	}
	if (c->ring) {
		notify |= ring_write(c);
		notify |= ring_read(c);
		if (notify && c->port >= 0)
			xenevtchn_notify(c->xce, (evtchn_port_t)c->port);
	}
	while (c->host_off < c->host_len) {
		n = write(fd, c->to_host + c->host_off, c->host_len - c->host_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0)
			return -1;
		c->host_off += (size_t)n;
	}
	/* Room again in to_host: take what the guest queued meanwhile (it waits for our kick). */
	if (c->ring && c->host_off == c->host_len && ring_read(c) && c->port >= 0)
		xenevtchn_notify(c->xce, (evtchn_port_t)c->port);
	return 0;
}

int xl_chan_serve(uint32_t domid, unsigned int devid, int fd, struct xerr *err)
{
	struct chan *c = NULL;
	struct xl_domain_ctx *ctx = NULL;
	char fe_state[160];
	int ret = -1, saved = EIO, r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		saved = ENOMEM;
		xerr_set(err, "out of memory");
		goto out;
	}
	c->domid = domid;
	c->port = -1;
	c->be_state = XB_INITIALISING; /* as xl_chan_add() left it */
	if (paths(domid, devid, c->fe, c->be, sizeof(c->fe)) == -1) {
		saved = EINVAL;
		xerr_set(err, "console device %u: bad device id", devid);
		goto out;
	}
	if (xl_domain_open(&ctx, 0, err) == -1) {
		saved = errno;
		goto out;
	}
	c->xs = xs_open(0);
	c->xce = xenevtchn_open(NULL, 0);
	c->xgt = xengnttab_open(NULL, 0);
	if (!c->xs || !c->xce || !c->xgt) {
		saved = errno;
		xerr_set(err, "cannot open %s: %s (dom0 needs xenstored, xen-evtchn, xen-gntdev)",
		         !c->xs    ? "xenstore"
		         : !c->xce ? "/dev/xen/evtchn"
		                   : "/dev/xen/gntdev",
		         strerror(saved));
		goto out;
	}
	snprintf(fe_state, sizeof(fe_state), "%s/state", c->fe);
	/* A watch fires once when set: the frontend's current state is seen even if it is
	 * already initialised.  @releaseDomain fires when any domain shuts down or dies. */
	if (!xs_watch(c->xs, fe_state, "fe") || !xs_watch(c->xs, "@releaseDomain", "rel")) {
		saved = errno;
		xerr_set(err, "xenstore watch: %s", strerror(saved));
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p[3] = {
		    {.fd = xs_fileno(c->xs), .events = POLLIN},
		    {.fd = xenevtchn_fd(c->xce), .events = POLLIN},
		    {.fd = fd, .events = 0},
		};
		char **w;

		/* Read from fd only when it can go somewhere: the guest's credit is the ring. */
		if (c->ring && c->guest_len == 0)
			p[2].events |= POLLIN;
		if (c->host_off < c->host_len)
			p[2].events |= POLLOUT;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			xerr_set(err, "poll: %s", strerror(saved));
			goto out;
		}
		if (p[1].revents & POLLIN) {
			xenevtchn_port_or_error_t port = xenevtchn_pending(c->xce);

			if (port >= 0)
				xenevtchn_unmask(c->xce, (evtchn_port_t)port);
		}
		while ((w = xs_check_watch(c->xs))) {
			bool rel = strcmp(w[XS_WATCH_TOKEN], "rel") == 0;

			free(w);
			if (!rel) {
				frontend_changed(c);
				continue;
			}
			r = domain_over(ctx, domid);
			if (r == 1) {
				xinfo("domain %u shut down or is gone: agent channel closed",
				      domid);
				ret = 0;
				goto out;
			}
		}
		r = pump(c, fd, p[2].revents & (POLLIN | POLLHUP | POLLERR));
		if (r == 1) {
			ret = 0; /* the supervisor closed its end */
			goto out;
		}
		if (r < 0) {
			saved = errno;
			xerr_set(err, "agent link: %s", strerror(saved));
			goto out;
		}
	}
out:
	if (c) {
		disconnect(c);
		if (c->xgt)
			xengnttab_close(c->xgt);
		if (c->xce)
			xenevtchn_close(c->xce);
		if (c->xs)
			xs_close(c->xs);
		free(c);
	}
	xl_domain_close(ctx);
	if (ret)
		errno = saved;
	return ret;
}
