/* vfnl.c - see vfnl.h. */
#include "vfnl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Append attribute `type` with `len` bytes of `data` at buf+*off.  Returns its offset or -1. */
static long put_attr(unsigned char *buf, size_t cap, size_t *off, unsigned short type,
                     const void *data, size_t len)
{
	struct rtattr rta;
	size_t at = *off, total = RTA_LENGTH(len);

	if (at + RTA_ALIGN(total) > cap)
		return -1;
	rta.rta_len = (unsigned short)total;
	rta.rta_type = type;
	memcpy(buf + at, &rta, sizeof(rta));
	if (len)
		memcpy(buf + at + RTA_LENGTH(0), data, len);
	memset(buf + at + total, 0, RTA_ALIGN(total) - total);
	*off = at + RTA_ALIGN(total);
	return (long)at;
}

/* Close a nest opened at `start` by fixing its length. */
static void end_nest(unsigned char *buf, long start, size_t off)
{
	struct rtattr rta;

	memcpy(&rta, buf + start, sizeof(rta));
	rta.rta_len = (unsigned short)(off - (size_t)start);
	memcpy(buf + start, &rta, sizeof(rta));
}

/* Returns the message length, or 0 with errno EINVAL/ENOBUFS. */
size_t xenib_nl_build_vf(void *buf, size_t len, uint32_t seq, const struct xenib_nl_vf *req)
{
	unsigned char *b = buf;
	struct nlmsghdr nlh = {0};
	struct ifinfomsg ifi = {0};
	size_t off = NLMSG_LENGTH(sizeof(ifi));
	long list, info;

	if (!buf || !req || req->ifindex <= 0 ||
	    (!req->node_guid && !req->port_guid && req->policy == XENIB_POLICY_KEEP) ||
	    req->policy < XENIB_POLICY_KEEP || req->policy > XENIB_POLICY_DOWN) {
		errno = EINVAL;
		return 0;
	}
	if (len < off)
		goto nobufs;
	memset(b, 0, off);
	/* nests as iproute2 builds them (no NLA_F_NESTED): what every kernel since 4.5 parses */
	list = put_attr(b, len, &off, IFLA_VFINFO_LIST, NULL, 0);
	info = list < 0 ? -1 : put_attr(b, len, &off, IFLA_VF_INFO, NULL, 0);
	if (info < 0)
		goto nobufs;
	if (req->node_guid) {
		struct ifla_vf_guid g;

		memset(&g, 0, sizeof(g)); /* the padding after .vf goes out too: keep it zero */
		g.vf = req->vf;
		g.guid = *req->node_guid;
		if (put_attr(b, len, &off, IFLA_VF_IB_NODE_GUID, &g, sizeof(g)) < 0)
			goto nobufs;
	}
	if (req->port_guid) {
		struct ifla_vf_guid g;

		memset(&g, 0, sizeof(g));
		g.vf = req->vf;
		g.guid = *req->port_guid;
		if (put_attr(b, len, &off, IFLA_VF_IB_PORT_GUID, &g, sizeof(g)) < 0)
			goto nobufs;
	}
	if (req->policy != XENIB_POLICY_KEEP) {
		struct ifla_vf_link_state ls = {.vf = req->vf, .link_state = (__u32)req->policy};

		if (put_attr(b, len, &off, IFLA_VF_LINK_STATE, &ls, sizeof(ls)) < 0)
			goto nobufs;
	}
	end_nest(b, info, off);
	end_nest(b, list, off);
	nlh.nlmsg_len = (__u32)off;
	nlh.nlmsg_type = RTM_SETLINK;
	nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh.nlmsg_seq = seq;
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = req->ifindex;
	memcpy(b, &nlh, sizeof(nlh));
	memcpy(b + NLMSG_LENGTH(0), &ifi, sizeof(ifi));
	return off;
nobufs:
	errno = ENOBUFS;
	return 0;
}

/* Send one request on a fresh NETLINK_ROUTE socket and read its ack.  See xenib_nl_ops. */
static int kernel_send(void *ctx, const void *msg, size_t len, struct xerr *err)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	union {
		struct nlmsghdr h;
		unsigned char b[8192];
	} ack;
	struct nlmsghdr req;
	int fd = -1, rc = -1, saved;
	ssize_t n;

	(void)ctx;
	if (!msg || len < sizeof(req)) {
		return xerr_errno(err, EINVAL, "invalid netlink request");
	}
	memcpy(&req, msg, sizeof(req));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		xerr_set(err, "netlink socket: %s", strerror(errno));
		goto out;
	}
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		xerr_set(err, "netlink send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		n = recv(fd, &ack, sizeof(ack), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xerr_set(err, "netlink receive: %s", strerror(errno));
			goto out;
		}
		for (struct nlmsghdr *h = &ack.h; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			struct nlmsgerr e;

			if (h->nlmsg_seq != req.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(e))) {
				errno = EPROTO;
				xerr_set(err, "netlink: truncated ack");
				goto out;
			}
			memcpy(&e, NLMSG_DATA(h), sizeof(e));
			if (e.error == 0) {
				rc = 0;
				goto out;
			}
			errno = -e.error;
			xerr_set(err, "%s", strerror(errno));
			goto out;
		}
	}
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

const struct xenib_nl_ops xenib_nl_kernel = {.send = kernel_send, .ctx = NULL};

/* Returns 0, or -1 with errno and err naming the netdev and VF. */
int xenib_nl_set_vf(const struct xenib_nl_ops *ops, const char *what, const struct xenib_nl_vf *req,
                    struct xerr *err)
{
	unsigned char msg[XENIB_NL_MSG_MAX];
	struct xerr why = {{0}};
	size_t len;
	int saved;

	if (!ops)
		ops = &xenib_nl_kernel;
	if (!req || !ops->send) {
		return xerr_errno(err, EINVAL, "xenib_nl_set_vf: invalid argument");
	}
	len = xenib_nl_build_vf(msg, sizeof(msg), (uint32_t)time(NULL), req);
	if (len == 0)
		return xerr_set(err, "%s: RTM_SETLINK vf %u: cannot build request: %s",
		                what ? what : "?", req->vf, strerror(errno));
	if (ops->send(ops->ctx, msg, len, &why) == 0)
		return 0;
	saved = errno;
	xerr_set(err, "%s (ifindex %d): RTM_SETLINK vf %u: %s", what ? what : "?", req->ifindex,
	         req->vf, why.msg);
	errno = saved;
	return -1;
}
