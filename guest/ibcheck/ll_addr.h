/*
 * ll_addr.h - is the IPv6 address behind a RoCE v2 GID usable as a source yet?
 *
 * Moving a RoCE v2 QP to RTR makes the kernel route from the source GID's IPv6 address to the
 * peer (rdma_addr_find_l2_eth_by_grh).  While that address is tentative (duplicate address
 * detection, about 1-2 s after the link comes up) no route has it as source and
 * ibv_modify_qp(RTR) fails.  So a port whose GID address is tentative is not ready for verbs.
 */
#ifndef XENVM_GUEST_LL_ADDR_H
#define XENVM_GUEST_LL_ADDR_H

#include <stdio.h>

enum ll_addr_state {
	LL_ADDR_USABLE = 0, /* present, DAD done (or off) */
	LL_ADDR_TENTATIVE,  /* present, DAD still running (optimistic or not) */
	LL_ADDR_DADFAILED,  /* present, another host on the link has it */
	LL_ADDR_ABSENT,     /* not an address of that interface (yet) */
};

/*
 * Looks addr (16 bytes, network order) up in if_inet6, text in /proc/net/if_inet6's layout
 * ("<32 hex> <ifindex> <plen> <scope> <flags> <name>", all hex), on interface ifindex (0: any).
 * Returns an ll_addr_state, or -1 with errno set: EINVAL for a NULL argument, EIO for a read
 * error on the stream.  Malformed lines are skipped: the kernel writes this file.
 */
int ll_addr_state(FILE *if_inet6, const unsigned char addr[16], unsigned ifindex);

/* "usable", "tentative", "dadfailed", "absent" (or "?" for anything else). */
const char *ll_addr_state_name(int state);

#endif
