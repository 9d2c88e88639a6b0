/*
 * netpin.h - a VM's network pinned to what the Prolog gave it (nftables, bridge family).
 *
 * A guest whose user has root can change its MAC, its addresses and its routes.  The node's
 * bridge then carries whatever the guest sends, to anything on the cluster network: slurmd,
 * imagecastd, munged's host, another job's VMs.  Each job therefore gets its own table
 * `bridge xenvm_job<J>` on the node, whose chains look only at the job's taps:
 *   - from a tap: the source MAC, the ARP sender and the IPv4/IPv6 source must be the VM's own;
 *     destinations must be the job's VMs (on any node), IPv6 link-local multicast (neighbour
 *     discovery), or a service the site lists (network.allow); anything else is dropped,
 *     frames for the node itself included;
 *   - to a tap: only frames from the job's VMs, the listed services' replies (by source port:
 *     stateless, so no connection tracking on the bridge is needed) and ARP from these or the
 *     gateway are delivered.
 * A table per job makes teardown one idempotent delete that finds the job by name, also after
 * a crash, and keeps jobs from touching each other's rules.
 *
 * The job's other VMs are known without asking: their addresses are a function of their
 * nodes' addresses (node/guestnet.h) and their MACs of their addresses (vm/mac.h), so their
 * IPv6 link-local addresses (EUI-64 of the MAC: RoCE v2's GIDs over rxe) are too.
 */
#ifndef XENVM_NODE_NETPIN_H
#define XENVM_NODE_NETPIN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* A service the job's VMs may reach beside each other (xenvm.yaml network.allow). */
struct xvm_netpin_allow {
	uint32_t addr;   /* IPv4, host byte order */
	unsigned prefix; /* 0..32 */
	uint8_t proto;   /* 6 tcp, 17 udp, 0 any */
	uint16_t port;   /* 0: any port */
};

struct xvm_netpin {
	uint32_t jobid;
	const char *tap;       /* the VM's interface on the node's bridge ([A-Za-z0-9_.-]{1,15}) */
	const char *oui;       /* "52:54:00" (qemu) or "00:16:3e" (xen): the MACs' first 3 bytes */
	uint32_t ip;           /* the VM's IPv4 address, host byte order */
	const uint32_t *peers; /* every VM of the job, this one included, host byte order */
	size_t n_peers;
	const struct xvm_netpin_allow *allow;
	size_t n_allow;
	uint32_t gateway; /* the guests' gateway (ARP only; 0: none), host byte order */
};

/* Most VMs one job's table names (the job's nodes): bounds the script's size. */
#define XVM_NETPIN_MAX_PEERS 4096

/*
 * The nft(8) script that pins p's tap: creates the job's table if needed and the tap's chains
 * (replacing a previous pin of the same tap).  *out is malloc'ed, NUL-terminated.  Returns 0,
 * or -1 with errno EINVAL (a bad tap name or oui, no peers, too many peers, a bad allow entry)
 * or ENOMEM, and err naming what.
 */
int xvm_netpin_script(const struct xvm_netpin *p, char **out, struct xerr *err);

/*
 * Apply xvm_netpin_script(p) with nft(8) ($XENVM_NFT, else /usr/sbin/nft), writing the script to
 * a temporary file under tmpdir.  Returns 0, or -1 with errno and err carrying nft's message.
 */
int xvm_netpin_apply(const struct xvm_netpin *p, const char *tmpdir, struct xerr *err);

/*
 * Remove job jobid's table (every pin of the job on this node).  Returns 0, also when there
 * is none, or -1 with errno and err carrying nft's message.
 */
int xvm_netpin_remove(uint32_t jobid, struct xerr *err);

#endif
