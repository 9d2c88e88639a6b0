/*
 * xenvm-ibcheck - the guest's verbs readiness check, run by /init before the agent says ready.
 *
 *   xenvm-ibcheck [--device NAME] [--wait MS]
 *
 * Asks libibverbs (not sysfs) for the device, so what it checks is what an MPI library will see:
 * the provider loads, the device opens, a port is PORT_ACTIVE.  On success it prints one line,
 * the report the agent carries to the host after "ok" in its hello (vmd writes it to
 * <state_dir>/guest.info, the Prolog records it):
 *   ib=rxe0 port=1 state=ACTIVE link=Ethernet node_guid=5054:00ff:fe65:0b02 gid_index=0
 *   gid=fe80::5054:ff:fe65:b02 ipv4_gid=::ffff:10.101.11.2
 * On Ethernet ports (rxe) gid_index is the link-local RoCE v2 GID: what `ibv_rc_pingpong -g`
 * and UCX_IB_GID_INDEX should use (init writes it into /etc/ucx/ucx.conf).  Not the IPv4 one:
 * UCX 1.13's UD transport, which its RC transport needs for wire-up, times out over rxe with
 * the IPv4-mapped GID and works with the link-local one (measured: tests/cluster/
 * test_vm_verbs.sh).  Link-local is enough because every VM of a job is on one L2 segment, the
 * node bridges.  The IPv4 GID must exist too (it shows eth0 has its address) and is reported as
 * ipv4_gid.  The link-local GID's IPv6 address must have finished duplicate address detection:
 * until then a QP cannot move to RTR from it (ll_addr.h).  InfiniBand ports (a VF) report GID 0
 * and the port's LID instead.  On failure it prints "verbs: <why>" and exits 1; it waits up to
 * --wait ms (default 10000) for a device, an ACTIVE port and usable GIDs, since rxe, a VF's
 * link and IPv6 addresses come up asynchronously.
 *
 * Why a program of its own: the agent is static (no loader in the initramfs), and libibverbs
 * loads its providers with dlopen, which a static binary cannot do reliably.  This one is
 * dynamic and lives on the root disk beside libibverbs.
 * Exit status: 0 ready, 1 not ready (the reason on stdout), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "ll_addr.h"

#define REPORT_MAX 400

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static const char *port_state(enum ibv_port_state s)
{
	switch (s) {
	case IBV_PORT_ACTIVE:
		return "ACTIVE";
	case IBV_PORT_DOWN:
		return "DOWN";
	case IBV_PORT_INIT:
		return "INIT";
	case IBV_PORT_ARMED:
		return "ARMED";
	case IBV_PORT_ACTIVE_DEFER:
		return "ACTIVE_DEFER";
	default:
		return "NOP";
	}
}

/*
 * The first RoCE v2 GID of port whose address is link-local (fe80::/10, ll != 0) or
 * IPv4-mapped (ll == 0), or -1; its text into buf, its entry into *out.
 */
static int roce_v2_gid(struct ibv_context *ctx, uint8_t port, int tbl, int ll, char *buf,
                       size_t len, struct ibv_gid_entry *out)
{
	static const unsigned char v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	for (int i = 0; i < tbl; i++) {
		struct ibv_gid_entry e;
		int match;

		if (ibv_query_gid_ex(ctx, port, (uint32_t)i, &e, 0) != 0 ||
		    e.gid_type != IBV_GID_TYPE_ROCE_V2)
			continue;
		if (ll)
			match = e.gid.raw[0] == 0xfe && (e.gid.raw[1] & 0xc0) == 0x80;
		else
			match = memcmp(e.gid.raw, v4map, sizeof(v4map)) == 0;
		if (match) {
			inet_ntop(AF_INET6, e.gid.raw, buf, (socklen_t)len);
			*out = e;
			return i;
		}
	}
	return -1;
}

/*
 * The state of the IPv6 address behind GID entry e on its net device (ll_addr.h); a file that
 * cannot be read counts as absent, so the wait goes on and the reason is printed at the end.
 */
static int gid_addr_state(const struct ibv_gid_entry *e)
{
	FILE *f = fopen("/proc/net/if_inet6", "re");
	int st;

	if (!f)
		return LL_ADDR_ABSENT;
	st = ll_addr_state(f, e->gid.raw, e->ndev_ifindex);
	fclose(f);
	return st < 0 ? LL_ADDR_ABSENT : st;
}

/*
 * One attempt: fills report (success) or why (failure).  Returns 0 ready, 1 not yet (why says
 * what is missing).
 */
static int check_once(const char *want, char *report, char *why, size_t len)
{
	struct ibv_device **list = NULL;
	struct ibv_context *ctx = NULL;
	struct ibv_device_attr da;
	struct ibv_port_attr pa;
	int n = 0, rc = 1;
	struct ibv_device *dev = NULL;
	const char *seen = "";

	list = ibv_get_device_list(&n);
	if (!list) {
		snprintf(why, len, "libibverbs cannot list devices: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (!want || strcmp(ibv_get_device_name(list[i]), want) == 0) {
			dev = list[i];
			break;
		}
	if (!dev) {
		if (n > 0)
			seen = ibv_get_device_name(list[0]);
		if (want)
			snprintf(why, len, "no RDMA device %s (libibverbs lists %d%s%s)", want, n,
			         n ? ", e.g. " : "", seen);
		else
			snprintf(why, len, "no RDMA device (libibverbs lists none)");
		goto out;
	}
	ctx = ibv_open_device(dev);
	if (!ctx) {
		snprintf(why, len, "%s: cannot open: %s", ibv_get_device_name(dev),
		         strerror(errno));
		goto out;
	}
	if (ibv_query_device(ctx, &da) != 0) {
		snprintf(why, len, "%s: cannot query the device", ibv_get_device_name(dev));
		goto out;
	}
	snprintf(why, len, "%s: no port", ibv_get_device_name(dev));
	for (uint8_t p = 1; p <= da.phys_port_cnt; p++) {
		uint64_t g = be64toh(da.node_guid);
		char gid[INET6_ADDRSTRLEN] = "";
		int idx;

		if (ibv_query_port(ctx, p, &pa) != 0)
			continue;
		if (pa.state != IBV_PORT_ACTIVE) {
			snprintf(why, len, "%s port %u is %s, not ACTIVE", ibv_get_device_name(dev),
			         p, port_state(pa.state));
			continue;
		}
		if (pa.link_layer == IBV_LINK_LAYER_ETHERNET) {
			char v4[INET6_ADDRSTRLEN] = "";
			struct ibv_gid_entry ge;
			int st;

			/* The IPv4 GID is the sign that eth0 has its address (the job's MPI needs
			 * it); the link-local one is what verbs users are told to use. */
			if (roce_v2_gid(ctx, p, pa.gid_tbl_len, 0, v4, sizeof(v4), &ge) < 0) {
				snprintf(
				    why, len,
				    "%s port %u: no RoCE v2 IPv4 GID (is the NIC's address set?)",
				    ibv_get_device_name(dev), p);
				continue;
			}
			idx = roce_v2_gid(ctx, p, pa.gid_tbl_len, 1, gid, sizeof(gid), &ge);
			if (idx < 0) {
				snprintf(why, len, "%s port %u: no link-local RoCE v2 GID",
				         ibv_get_device_name(dev), p);
				continue;
			}
			st = gid_addr_state(&ge);
			if (st != LL_ADDR_USABLE) {
				snprintf(why, len,
				         "%s port %u: GID %s is %s on ifindex %u (IPv6 duplicate "
				         "address detection), so RoCE v2 connections cannot use it",
				         ibv_get_device_name(dev), p, gid, ll_addr_state_name(st),
				         ge.ndev_ifindex);
				continue;
			}
			snprintf(report, REPORT_MAX,
			         "ib=%s port=%u state=ACTIVE link=Ethernet "
			         "node_guid=%04x:%04x:%04x:%04x "
			         "gid_index=%d gid=%s ipv4_gid=%s",
			         ibv_get_device_name(dev), p, (unsigned)(g >> 48) & 0xffff,
			         (unsigned)(g >> 32) & 0xffff, (unsigned)(g >> 16) & 0xffff,
			         (unsigned)g & 0xffff, idx, gid, v4);
		} else {
			snprintf(report, REPORT_MAX,
			         "ib=%s port=%u state=ACTIVE link=InfiniBand "
			         "node_guid=%04x:%04x:%04x:%04x "
			         "gid_index=0 lid=%u",
			         ibv_get_device_name(dev), p, (unsigned)(g >> 48) & 0xffff,
			         (unsigned)(g >> 32) & 0xffff, (unsigned)(g >> 16) & 0xffff,
			         (unsigned)g & 0xffff, pa.lid);
		}
		rc = 0;
		break;
	}
out:
	if (ctx)
		ibv_close_device(ctx);
	if (list)
		ibv_free_device_list(list);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
	                                     {"wait", required_argument, NULL, 'w'},
	                                     {NULL, 0, NULL, 0}};
	const char *want = NULL;
	char report[REPORT_MAX] = "", why[300] = "";
	long wait_ms = 10000, t0;
	int c;

	while ((c = getopt_long(argc, argv, "d:w:", opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 'd':
			want = optarg;
			break;
		case 'w':
			wait_ms = strtol(optarg, &end, 10);
			if (!*optarg || *end || wait_ms < 0 || wait_ms > 600000) {
				fprintf(stderr, "xenvm-ibcheck: --wait %s: expected 0..600000 ms\n",
				        optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: xenvm-ibcheck [--device NAME] [--wait MS]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: xenvm-ibcheck [--device NAME] [--wait MS]\n");
		return 2;
	}
	t0 = now_ms();
	for (;;) {
		if (check_once(want, report, why, sizeof(why)) == 0) {
			printf("%s\n", report);
			return 0;
		}
		if (now_ms() - t0 >= wait_ms)
			break;
		usleep(100000);
	}
	printf("verbs: %s after %.1f s\n", why, (now_ms() - t0) / 1000.0);
	return 1;
}
