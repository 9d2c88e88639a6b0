/*
 * check.c - is an RDMA device ready for verbs, read from sysfs and /dev (rdmadev.h).
 *
 * What libibverbs needs to open a device: its sysfs entry and a uverbs character device
 * (ibv_get_device_list matches /sys/class/infiniband_verbs/uverbsN/ibdev to the device, then
 * opens /dev/infiniband/uverbsN).  What a connection needs: a port ACTIVE and, on RoCE, GIDs
 * whose addresses the kernel can route from.  The GID rules are xenvm-ibcheck's (ibcheck.c):
 * the link-local RoCE v2 GID is the one reported (UCX's UD wire-up times out over rxe with the
 * IPv4-mapped one), the IPv4-mapped one must exist (eth0 has its address), and the link-local
 * address must be out of duplicate address detection (ll_addr.h).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/ibcheck/ll_addr.h"
#include "rdmadev.h"

#define PATH_LEN 512
#define NAME_LEN 64

/* A path from fmt into out (PATH_LEN); -1 when it does not fit (the lookup then fails). */
static int mkpath(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mkpath(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_LEN) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The first line of a sysfs file, without its newline; -1 when it cannot be read. */
static int read_line(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int read_line(char *out, size_t len, const char *fmt, ...)
{
	char path[PATH_LEN];
	va_list ap;
	FILE *f;
	int rc = 0, n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(path)) /* never a truncated path: another file */
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(out, (int)len, f))
		rc = -1;
	else
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The entries of dir (no dot files), sorted, up to max of NAME_LEN; their count, -1 none. */
static int list_dir(const char *dir, char (*names)[NAME_LEN], int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= NAME_LEN)
			continue;
		memcpy(names[n++], e->d_name, strlen(e->d_name) + 1); /* < NAME_LEN: checked */
	}
	closedir(d);
	qsort(names, (size_t)n, NAME_LEN, cmp_str);
	return n;
}

/* The uverbs device of ibdev: "uverbsN" into out, 0; -1 none (ib_uverbs not loaded). */
static int uverbs_of(const struct rd_paths *p, const char *ibdev, char *out, size_t len)
{
	char dir[PATH_LEN], names[32][NAME_LEN], v[NAME_LEN];
	int n;

	n = mkpath(dir, "%s/class/infiniband_verbs", p->sys) < 0 ? -1 : list_dir(dir, names, 32);
	for (int i = 0; i < n; i++)
		if (read_line(v, sizeof(v), "%s/%s/ibdev", dir, names[i]) == 0 &&
		    strcmp(v, ibdev) == 0) {
			if (strlen(names[i]) >= len)
				continue;
			memcpy(out, names[i], strlen(names[i]) + 1);
			return 0;
		}
	return -1;
}

/*
 * The first RoCE v2 GID of the port whose address is link-local (ll) or IPv4-mapped (!ll):
 * its index, its text into buf, its raw address and net device's ifindex; -1 none.
 */
static int roce_v2_gid(const char *port, int ll, char *buf, size_t len, unsigned char raw[16],
                       unsigned *ifindex, const struct rd_paths *p)
{
	static const unsigned char v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char zero[16];

	/*
	 * By index, in order (the lowest matching index, as libibverbs' walk finds it), until the
	 * table ends: a listing of gids/ comes in kernfs's hash order, not by number, and rxe's
	 * table has 1024 entries, most of them unused (all zero, their type unreadable).
	 */
	for (int i = 0; i < 4096; i++) {
		char type[32], gid[64], ndev[NAME_LEN], idx[16];
		unsigned char a[16];
		int match;

		if (read_line(gid, sizeof(gid), "%s/gids/%d", port, i) < 0)
			break;
		if (inet_pton(AF_INET6, gid, a) != 1 || memcmp(a, zero, sizeof(zero)) == 0 ||
		    read_line(type, sizeof(type), "%s/gid_attrs/types/%d", port, i) < 0 ||
		    strcmp(type, "RoCE v2") != 0)
			continue;
		if (ll)
			match = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
		else
			match = memcmp(a, v4map, sizeof(v4map)) == 0;
		if (!match)
			continue;
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
		memcpy(raw, a, 16);
		*ifindex = 0;
		if (read_line(ndev, sizeof(ndev), "%s/gid_attrs/ndevs/%d", port, i) == 0 &&
		    !strchr(ndev, '/') &&
		    read_line(idx, sizeof(idx), "%s/class/net/%s/ifindex", p->sys, ndev) == 0)
			*ifindex = (unsigned)strtoul(idx, NULL, 10);
		return i;
	}
	return -1;
}

static int addr_state(const struct rd_paths *p, const unsigned char raw[16], unsigned ifindex)
{
	FILE *f = fopen(p->if_inet6, "re");
	int st;

	if (!f)
		return LL_ADDR_ABSENT;
	st = ll_addr_state(f, raw, ifindex);
	fclose(f);
	return st < 0 ? LL_ADDR_ABSENT : st;
}

/* One port of dev: 0 ready (report), 1 not (why). */
static int check_port(const struct rd_paths *p, const char *dev, const char *guid, int port,
                      char *report, size_t rlen, char *why, size_t wlen)
{
	char dir[PATH_LEN], state[32], link[32];

	if (mkpath(dir, "%s/class/infiniband/%s/ports/%d", p->sys, dev, port) < 0 ||
	    read_line(state, sizeof(state), "%s/state", dir) < 0) {
		snprintf(why, wlen, "%s port %d: no state in sysfs", dev, port);
		return 1;
	}
	/* "4: ACTIVE" */
	if (atoi(state) != 4) {
		const char *s = strchr(state, ' ');

		snprintf(why, wlen, "%s port %d is %s, not ACTIVE", dev, port, s ? s + 1 : state);
		return 1;
	}
	if (read_line(link, sizeof(link), "%s/link_layer", dir) < 0)
		snprintf(link, sizeof(link), "InfiniBand");
	if (strcmp(link, "Ethernet") == 0) {
		char v4[INET6_ADDRSTRLEN], gid[INET6_ADDRSTRLEN];
		unsigned char raw[16];
		unsigned ifindex;
		int idx, st;

		if (roce_v2_gid(dir, 0, v4, sizeof(v4), raw, &ifindex, p) < 0) {
			snprintf(why, wlen,
			         "%s port %d: no RoCE v2 IPv4 GID (is the NIC's address set?)", dev,
			         port);
			return 1;
		}
		idx = roce_v2_gid(dir, 1, gid, sizeof(gid), raw, &ifindex, p);
		if (idx < 0) {
			snprintf(why, wlen, "%s port %d: no link-local RoCE v2 GID", dev, port);
			return 1;
		}
		st = addr_state(p, raw, ifindex);
		if (st != LL_ADDR_USABLE) {
			snprintf(why, wlen,
			         "%s port %d: GID %s is %s on ifindex %u (IPv6 duplicate address "
			         "detection), so RoCE v2 connections cannot use it",
			         dev, port, gid, ll_addr_state_name(st), ifindex);
			return 1;
		}
		snprintf(report, rlen,
		         "ib=%s port=%d state=ACTIVE link=Ethernet node_guid=%s gid_index=%d "
		         "gid=%s ipv4_gid=%s",
		         dev, port, guid, idx, gid, v4);
	} else {
		char lid[32] = "0";

		read_line(lid, sizeof(lid), "%s/lid", dir);
		snprintf(
		    report, rlen,
		    "ib=%s port=%d state=ACTIVE link=InfiniBand node_guid=%s gid_index=0 lid=%lu",
		    dev, port, guid, strtoul(lid, NULL, 16));
	}
	return 0;
}

int rd_check_once(const struct rd_paths *p, const char *want, char *report, size_t rlen, char *why,
                  size_t wlen)
{
	char dir[PATH_LEN], devs[32][NAME_LEN], ports[16][NAME_LEN], guid[64], uv[NAME_LEN],
	    node[PATH_LEN];
	const char *dev = NULL;
	int n, np;

	n = mkpath(dir, "%s/class/infiniband", p->sys) < 0 ? -1 : list_dir(dir, devs, 32);
	for (int i = 0; i < n && !dev; i++)
		if (!want || strcmp(devs[i], want) == 0)
			dev = devs[i];
	if (!dev) {
		if (want)
			snprintf(why, wlen, "no RDMA device %s (sysfs lists %d%s%s)", want,
			         n < 0 ? 0 : n, n > 0 ? ", e.g. " : "", n > 0 ? devs[0] : "");
		else
			snprintf(why, wlen, "no RDMA device (sysfs lists none)");
		return 1;
	}
	if (uverbs_of(p, dev, uv, sizeof(uv)) < 0) {
		snprintf(why, wlen, "%s: no uverbs device (ib_uverbs not loaded?)", dev);
		return 1;
	}
	if (mkpath(node, "%s/infiniband/%s", p->dev, uv) < 0 || access(node, F_OK) != 0) {
		snprintf(why, wlen, "%s: no %s (%s)", dev, node, strerror(errno));
		return 1;
	}
	if (read_line(guid, sizeof(guid), "%s/%s/node_guid", dir, dev) < 0)
		snprintf(guid, sizeof(guid), "?");
	np = mkpath(dir, "%s/class/infiniband/%s/ports", p->sys, dev) < 0
	         ? -1
	         : list_dir(dir, ports, 16);
	snprintf(why, wlen, "%s: no port", dev);
	for (int i = 0; i < np; i++)
		if (check_port(p, dev, guid, atoi(ports[i]), report, rlen, why, wlen) == 0)
			return 0;
	return 1;
}
