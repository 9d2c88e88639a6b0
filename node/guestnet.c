/* guestnet.c - see guestnet.h. */
#include "guestnet.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/atomic_file.h"

int xenvm_subnet_parse(const char *cidr, struct xenvm_subnet *out, struct xerr *err)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash;
	struct in_addr in;
	char *end;
	unsigned long p;
	uint32_t mask;

	slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		goto bad;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || !slash[1] || p > 32 || inet_pton(AF_INET, addr, &in) != 1)
		goto bad;
	if (p < 8 || p > 22) {
		errno = EINVAL;
		return xerr_set(err,
		                "network.subnet: '%s': guests need a prefix of /8 to /22 (a /24 "
		                "block per node); e.g. 10.184.0.0/16",
		                cidr);
	}
	mask = p ? ~0u << (32 - p) : 0;
	out->base = ntohl(in.s_addr);
	out->prefix = (unsigned)p;
	if (out->base & ~mask) {
		return xerr_errno(err, EINVAL, "network.subnet: '%s' has host bits set", cidr);
	}
	return 0;
bad:
	return xerr_errno(err, EINVAL,
	                  "network.subnet: '%s' is not an IPv4 subnet (e.g. 10.184.0.0/16)",
	                  cidr ? cidr : "(unset)");
}

uint32_t xenvm_guest_addr(const struct xenvm_subnet *sn, uint32_t node_addr, uint32_t jobid)
{
	uint32_t block_bits = 24 - sn->prefix;
	uint32_t block = node_addr & ((1u << block_bits) - 1);

	return sn->base + (block << 8) + 1 + jobid % XENVM_GUEST_HOSTS;
}

const char *xenvm_ipv4_str(uint32_t addr, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
	         addr & 255);
	return buf;
}

int xenvm_node_ipv4(const char *node, uint32_t *out, struct xerr *err)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc;

	rc = getaddrinfo(node, NULL, &hints, &res);
	if (rc != 0 || !res) {
		return xerr_errno(err, ENOENT, "node %s: no IPv4 address: %s", node,
		                  rc ? gai_strerror(rc) : "none");
	}
	*out = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
	freeaddrinfo(res);
	return 0;
}

/* <state_dir>/addr into buf.  0, or -1 with errno ENAMETOOLONG. */
static int addr_dir(const char *state_dir, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/addr", state_dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The job id in a claim file, or 0 when it cannot be read. */
static uint32_t claim_holder(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (uint32_t)strtoul(buf, NULL, 10);
}

int xenvm_guest_addr_claim(const char *state_dir, uint32_t addr, uint32_t jobid, struct xerr *err)
{
	char dir[4096], path[4200], ip[INET_ADDRSTRLEN], text[16];
	uint32_t holder;
	int fd, n;

	if (addr_dir(state_dir, dir, sizeof(dir)) < 0 || xenvm_mkdir_p(dir, 0755) < 0)
		return xerr_set(err, "%s/addr: cannot create: %s", state_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, xenvm_ipv4_str(addr, ip, sizeof(ip)));
	n = snprintf(text, sizeof(text), "%" PRIu32 "\n", jobid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		if (write(fd, text, (size_t)n) != n) {
			int e = errno;

			close(fd);
			unlink(path);
			errno = e;
			return xerr_set(err, "%s: cannot write: %s", path, strerror(e));
		}
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return xerr_set(err, "%s: cannot create: %s", path, strerror(errno));
	holder = claim_holder(path);
	if (holder == jobid)
		return 0;
	errno = EADDRINUSE;
	return xerr_set(err,
	                "guest address %s on this node is held by job %" PRIu32
	                " (job ids %u apart share an address); resubmit the job",
	                ip, holder, XENVM_GUEST_HOSTS);
}

int xenvm_guest_addr_release_job(const char *state_dir, uint32_t jobid)
{
	char dir[4096], path[4400];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (addr_dir(state_dir, dir, sizeof(dir)) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (claim_holder(path) == jobid && unlink(path) < 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	return rc;
}
