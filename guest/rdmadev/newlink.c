/*
 * newlink.c - `rdma link add NAME type TYPE netdev NETDEV` as iproute2 does it (rdma/link.c):
 * one RDMA_NLDEV_CMD_NEWLINK request on a NETLINK_RDMA socket, the kernel's ack read back.
 * A few dozen lines instead of the `rdma` binary and its five shared libraries in the initramfs.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <rdma/rdma_netlink.h>

#include "rdmadev.h"

/* the kernel's limits: IB_DEVICE_NAME_MAX, a link type's name, IFNAMSIZ (with the NUL) */
#define NAME_MAX_LEN 63
#define TYPE_MAX_LEN 31
#define NETDEV_MAX_LEN 15

static int bad_name(const char *s, size_t max)
{
	return !s || !s[0] || strlen(s) > max || strchr(s, '/');
}

/* Appends a NUL-terminated string attribute at *off; -1 when it does not fit. */
static int put_str(char *buf, size_t len, size_t *off, uint16_t type, const char *s)
{
	size_t n = strlen(s) + 1;
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type};

	if (*off + NLA_ALIGN(NLA_HDRLEN + n) > len)
		return -1;
	memcpy(buf + *off, &a, sizeof(a));
	memcpy(buf + *off + NLA_HDRLEN, s, n);
	memset(buf + *off + NLA_HDRLEN + n, 0, NLA_ALIGN(NLA_HDRLEN + n) - (NLA_HDRLEN + n));
	*off += NLA_ALIGN(NLA_HDRLEN + n);
	return 0;
}

ssize_t rd_newlink_msg(void *buf, size_t len, uint32_t seq, const char *name, const char *type,
                       const char *netdev)
{
	struct nlmsghdr h = {0};
	size_t off = NLMSG_HDRLEN;

	if (!buf || bad_name(name, NAME_MAX_LEN) || bad_name(type, TYPE_MAX_LEN) ||
	    bad_name(netdev, NETDEV_MAX_LEN)) {
		errno = EINVAL;
		return -1;
	}
	if (len < NLMSG_HDRLEN || put_str(buf, len, &off, RDMA_NLDEV_ATTR_DEV_NAME, name) < 0 ||
	    put_str(buf, len, &off, RDMA_NLDEV_ATTR_LINK_TYPE, type) < 0 ||
	    put_str(buf, len, &off, RDMA_NLDEV_ATTR_NDEV_NAME, netdev) < 0) {
		errno = ENOSPC;
		return -1;
	}
	h.nlmsg_len = (uint32_t)off;
	h.nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_NEWLINK);
	h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h.nlmsg_seq = seq;
	memcpy(buf, &h, sizeof(h));
	return (ssize_t)off;
}

int rd_newlink(const char *name, const char *type, const char *netdev)
{
	union {
		struct nlmsghdr h;
		char b[1024];
	} req, ans;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;
	int fd, rc = -1, saved = 0;

	n = rd_newlink_msg(req.b, sizeof(req.b), 1, name, type, netdev);
	if (n < 0)
		return -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (fd < 0)
		return -1;
	if (sendto(fd, req.b, (size_t)n, 0, (struct sockaddr *)&kernel, sizeof(kernel)) != n) {
		saved = errno ? errno : EIO;
		goto out;
	}
	/* The answer to a request with NLM_F_ACK is one NLMSG_ERROR: error 0 is the ack. */
	for (;;) {
		n = recv(fd, ans.b, sizeof(ans.b), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			goto out;
		}
		break;
	}
	if ((size_t)n < NLMSG_HDRLEN + sizeof(struct nlmsgerr) || ans.h.nlmsg_type != NLMSG_ERROR ||
	    ans.h.nlmsg_seq != 1) {
		saved = EPROTO;
		goto out;
	}
	{
		struct nlmsgerr e;

		memcpy(&e, ans.b + NLMSG_HDRLEN, sizeof(e));
		if (e.error != 0) {
			saved = -e.error;
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	if (rc < 0)
		errno = saved;
	return rc;
}
