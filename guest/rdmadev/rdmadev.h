/*
 * rdmadev.h - RDMA device set-up and readiness without libibverbs or iproute2, for a container
 * VM (xenvm.container=1): its root file system is the user's, so /init cannot run the site root
 * disk's `rdma` and `xenvm-ibcheck`, and the project's libibverbs must not go into the
 * container's library path (its own libibverbs and providers would clash with ours).  The
 * static `xenvm-rdmadev` in the initramfs does both jobs with the kernel's interfaces alone:
 * RDMA netlink to create a Soft-RoCE link, sysfs and /dev to see the device as the container's
 * libibverbs will find it.
 */
#ifndef XENVM_GUEST_RDMADEV_H
#define XENVM_GUEST_RDMADEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RD_REPORT_MAX 400

/*
 * The RDMA_NLDEV_CMD_NEWLINK request `rdma link add NAME type TYPE netdev NETDEV` sends, into
 * buf (len bytes), with sequence number seq.  Returns its length, or -1 with errno: EINVAL for
 * a NULL, empty or over-long NAME (63), TYPE (31) or NETDEV (15) or one with a '/', ENOSPC when
 * buf is too small.
 */
ssize_t rd_newlink_msg(void *buf, size_t len, uint32_t seq, const char *name, const char *type,
                       const char *netdev);

/*
 * Sends that request on a NETLINK_RDMA socket and waits for the kernel's answer.  0, or -1 with
 * errno (the kernel's error for the request, e.g. ENOENT when the link type's module is not
 * loaded or its crc32 is missing, EEXIST for a taken name; EPROTONOSUPPORT: no RDMA netlink).
 */
int rd_newlink(const char *name, const char *type, const char *netdev);

/* Where the kernel's views are: "/sys", "/dev", "/proc/net/if_inet6" (tests: a fake tree). */
struct rd_paths {
	const char *sys;
	const char *dev;
	const char *if_inet6;
};

/*
 * One look at RDMA device want (NULL: the first by name) as a program using verbs will see it:
 * in <sys>/class/infiniband, with a uverbs character device <dev>/infiniband/uverbsN, a port
 * ACTIVE and, on Ethernet ports, a RoCE v2 IPv4-mapped GID and a link-local RoCE v2 GID whose
 * IPv6 address is out of duplicate address detection.  Returns 0 with report filled (the same
 * line as xenvm-ibcheck's: "ib=rxe0 port=1 state=ACTIVE link=Ethernet node_guid=... gid_index=N
 * gid=fe80::... ipv4_gid=::ffff:...", InfiniBand ports "... gid_index=0 lid=N"), or 1 with why
 * filled (what is missing yet).
 */
int rd_check_once(const struct rd_paths *p, const char *want, char *report, size_t rlen, char *why,
                  size_t wlen);

/*
 * `xenvm-rdmadev add|check ...` (rdmadev_main.c): xenvm-agent's main runs it when its argv[0]'s
 * last component is "xenvm-rdmadev".  Returns the exit status.
 */
int xvm_rdmadev_main(int argc, char **argv);

/* The last component of argv0 ("" for NULL). */
const char *xvm_rdmadev_basename(const char *argv0);

#endif
