/*
 * xenvm-rdmadev - a container VM's RDMA set-up, run by /init from the initramfs (rdmadev.h):
 *
 *   xenvm-rdmadev add NAME TYPE NETDEV          e.g. add rxe0 rxe eth0 (`rdma link add`)
 *   xenvm-rdmadev check [--device NAME] [--wait MS]
 *
 * `check` prints xenvm-ibcheck's report line when the device is ready, "verbs: <why> after N s"
 * otherwise, waiting up to --wait ms (default 10000) since rxe, a VF's link and IPv6 addresses
 * come up asynchronously.  Static: the initramfs has no loader, and a container's root may
 * have none either.  It is not a binary of its own: xenvm-agent runs this main when called by
 * this name (/lib/xenvm/xenvm-rdmadev is a link to the agent), sharing the agent's static libc.
 * Exit status: 0 done/ready, 1 failed/not ready, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdmadev.h"

#define USAGE                                                                                      \
	"usage: xenvm-rdmadev add NAME TYPE NETDEV\n"                                              \
	"       xenvm-rdmadev check [--device NAME] [--wait MS]\n"

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int cmd_add(int argc, char **argv)
{
	if (argc != 5) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (rd_newlink(argv[2], argv[3], argv[4]) < 0) {
		fprintf(stderr, "xenvm-rdmadev: add %s type %s netdev %s: %s\n", argv[2], argv[3],
		        argv[4], strerror(errno));
		return 1;
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {{"device", required_argument, NULL, 'd'},
	                                     {"wait", required_argument, NULL, 'w'},
	                                     {NULL, 0, NULL, 0}};
	const struct rd_paths p = {.sys = "/sys", .dev = "/dev", .if_inet6 = "/proc/net/if_inet6"};
	char report[RD_REPORT_MAX] = "", why[400] = "";
	const char *want = NULL;
	long wait_ms = 10000, t0;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "d:w:", opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 'd':
			want = optarg;
			break;
		case 'w':
			wait_ms = strtol(optarg, &end, 10);
			if (!*optarg || *end || wait_ms < 0 || wait_ms > 600000) {
				fprintf(stderr, "xenvm-rdmadev: --wait %s: expected 0..600000 ms\n",
				        optarg);
				return 2;
			}
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	t0 = now_ms();
	for (;;) {
		if (rd_check_once(&p, want, report, sizeof(report), why, sizeof(why)) == 0) {
			printf("%s\n", report);
			return 0;
		}
		if (now_ms() - t0 >= wait_ms)
			break;
		usleep(100000);
	}
	printf("verbs: %s after %.1f s\n", why, (double)(now_ms() - t0) / 1000.0);
	return 1;
}

const char *xvm_rdmadev_basename(const char *argv0)
{
	const char *b = argv0 ? strrchr(argv0, '/') : NULL;

	return b ? b + 1 : argv0 ? argv0 : "";
}

int xvm_rdmadev_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cmd_add(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	fputs(USAGE, stderr);
	return 2;
}
