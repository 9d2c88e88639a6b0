/*
 * vfnl.h - the upstream route for a VF's GUIDs and link policy: rtnetlink RTM_SETLINK on the
 * PF's IPoIB netdev, as `ip link set <pf> vf N node_guid G port_guid G state auto` sends it.
 *
 * Plain rtnetlink over a socket: one fixed message and its ack do not justify pulling libmnl or
 * libnl into a static library that the Prolog links.  The message is built by
 * xenib_nl_build_vf() (the tests check it byte for byte against linux/if_link.h) and sent
 * through a `struct xenib_nl_ops`, so the tests capture it instead of needing an HCA.
 */
#ifndef XENIB_VFNL_H
#define XENIB_VFNL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* Link policy of a VF (IFLA_VF_LINK_STATE_*; mlx5's sriov/<N>/policy Follow/Up/Down). */
enum xenib_vf_policy {
	XENIB_POLICY_FOLLOW = 0, /* IFLA_VF_LINK_STATE_AUTO: the VF's port follows the PF's */
	XENIB_POLICY_UP = 1,     /* IFLA_VF_LINK_STATE_ENABLE */
	XENIB_POLICY_DOWN = 2,   /* IFLA_VF_LINK_STATE_DISABLE */
	XENIB_POLICY_KEEP = -1,  /* leave it (only in messages) */
};

/* What a message sets; a NULL guid pointer leaves that GUID alone. */
struct xenib_nl_vf {
	int ifindex; /* the PF's netdev */
	uint32_t vf; /* VF index on the PF */
	const uint64_t *node_guid;
	const uint64_t *port_guid;
	enum xenib_vf_policy policy;
};

/*
 * Build the RTM_SETLINK request (NLM_F_REQUEST|NLM_F_ACK, sequence `seq`) into buf.  Returns its
 * length, or 0 with errno EINVAL (bad arguments, nothing to set) or ENOBUFS (buf too small;
 * XENIB_NL_MSG_MAX always suffices).
 */
#define XENIB_NL_MSG_MAX 256
size_t xenib_nl_build_vf(void *buf, size_t len, uint32_t seq, const struct xenib_nl_vf *req);

/* The transport: send one request and wait for its ack. */
struct xenib_nl_ops {
	/* Returns 0 when the kernel acked, or -1 with errno (the kernel's error) and err filled. */
	int (*send)(void *ctx, const void *msg, size_t len, struct xerr *err);
	void *ctx;
};

/* The real one: a NETLINK_ROUTE socket per request. */
extern const struct xenib_nl_ops xenib_nl_kernel;

/*
 * Build and send `req` through ops (NULL: xenib_nl_kernel).  Returns 0, or -1 with errno and
 * err "<netdev>: RTM_SETLINK vf N: <reason>" (`what` names the netdev for the message).
 */
int xenib_nl_set_vf(const struct xenib_nl_ops *ops, const char *what, const struct xenib_nl_vf *req,
                    struct xerr *err);

#endif
