/*
 * guestnet.h - the IPv4 address of a job's VM on a node, computed alike on every node.
 *
 * Every node of a job must know every other VM's address without asking (the Prologs run at
 * once and share nothing), so the address is a pure function of the node's own address, the
 * job id and network.subnet (xenvm.yaml(5), GUEST ADDRESSES):
 *
 *   subnet S/P (P <= 22), node address A, job J:
 *     block = the low (24 - P) bits of A    (one /24 of S per node)
 *     host  = 1 + J mod 250                 (.1 .. .250; .251-.254 are left to admins)
 *     guest = S + block * 256 + host, prefix P
 *
 * So node addresses must differ in their low (24 - P) bits (true when all nodes sit in one /24
 * and P = 16), and two jobs on one node collide when their ids are 250 apart: the Prolog
 * detects that with a lock per address (guestnet_claim) and fails the second job clearly.
 */
#ifndef XENVM_GUESTNET_H
#define XENVM_GUESTNET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define XENVM_GUEST_HOSTS 250u /* guest addresses per node block */

struct xenvm_subnet {
	uint32_t base; /* host byte order, host bits zero */
	unsigned prefix;
};

/*
 * Parse network.subnet ("10.184.0.0/16").  Returns 0, or -1 with errno EINVAL and err naming
 * the value: not IPv4 CIDR, host bits set, or a prefix longer than 22 (no room for a /24 per
 * node).
 */
int xenvm_subnet_parse(const char *cidr, struct xenvm_subnet *out, struct xerr *err);

/* The guest address (host byte order) of job `jobid`'s VM on the node at `node_addr`. */
uint32_t xenvm_guest_addr(const struct xenvm_subnet *sn, uint32_t node_addr, uint32_t jobid);

/* "A.B.C.D" of addr (host byte order) into buf (>= INET_ADDRSTRLEN). Returns buf. */
const char *xenvm_ipv4_str(uint32_t addr, char *buf, size_t len);

/*
 * The node's IPv4 address by name (getaddrinfo, the node's /etc/hosts or DNS), host byte
 * order.  Returns 0, or -1 with errno ENOENT (no IPv4 address) and err naming the node.
 */
int xenvm_node_ipv4(const char *node, uint32_t *out, struct xerr *err);

/*
 * Claim the guest address for job `jobid` on this node: <state_dir>/addr/<A.B.C.D> holding the
 * job id, created exclusively.  A claim left by the same job (the Prolog ran again) is kept.
 * Returns 0, or -1 with errno EADDRINUSE (another job holds it: err names that job) or the
 * error of creating the file.
 */
int xenvm_guest_addr_claim(const char *state_dir, uint32_t addr, uint32_t jobid, struct xerr *err);

/*
 * Drop every address claim held by job `jobid` (found by content, so a changed network.subnet
 * does not strand a claim).  Returns 0 (also when there is none), or -1 with errno from
 * reading <state_dir>/addr or removing a claim.
 */
int xenvm_guest_addr_release_job(const char *state_dir, uint32_t jobid);

#endif
