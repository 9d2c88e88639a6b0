/*
 * xenvm-xl-test - drive xl_domain.h from the command line (dom0, root): the Xen tests and the
 * benchmark create, stop and list domains through the driver with it.  See xenvm-xl-test(8).
 *
 *   xenvm-xl-test create --name NAME --kernel FILE [--ramdisk FILE] [--cmdline STR] [--pvh]
 *                        [--memory MiB] [--vcpus N] [--bridge BR [--mac MAC] [--vif-script P]]
 *                        [--disk FILE [--disk-script P]] [--nested-tcg] [--timeout-ms MS]
 *   xenvm-xl-test stop NAME [--grace-ms MS]
 *   xenvm-xl-test list [PREFIX]
 *
 * create prints "domid=N create_ms=T running_ms=T" (times from the create call) once the
 * domain runs.  Exit status: 0 on success, 1 on failure (with the reason on stderr), 2 on a
 * usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "xl_domain.h"

static void usage(void)
{
	fprintf(stderr,
	        "usage: xenvm-xl-test [-v] create --name NAME --kernel FILE [--ramdisk FILE]\n"
	        "         [--cmdline STR] [--pvh] [--memory MiB] [--vcpus N] [--bridge BR]\n"
	        "         [--mac MAC] [--vif-script PATH] [--disk FILE [--disk-script PATH]]\n"
	        "         [--nested-tcg] [--timeout-ms MS]\n"
	        "       xenvm-xl-test [-v] stop NAME [--grace-ms MS]\n"
	        "       xenvm-xl-test [-v] list [PREFIX]\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Parse an unsigned decimal option value in min..max, or exit with a usage error. */
static unsigned int parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "xenvm-xl-test: %s: '%s' is not a number in %lu..%lu\n", opt, s,
		        min, max);
		exit(2);
	}
	return (unsigned int)v;
}

static int cmd_create(struct xl_domain_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"kernel", required_argument, NULL, 'k'},
	    {"ramdisk", required_argument, NULL, 'r'},
	    {"cmdline", required_argument, NULL, 'c'},
	    {"pvh", no_argument, NULL, 'P'},
	    {"memory", required_argument, NULL, 'm'},
	    {"vcpus", required_argument, NULL, 'u'},
	    {"bridge", required_argument, NULL, 'b'},
	    {"mac", required_argument, NULL, 'a'},
	    {"vif-script", required_argument, NULL, 's'},
	    {"nested-tcg", no_argument, NULL, 'R'},
	    {"disk", required_argument, NULL, 'd'},
	    {"disk-script", required_argument, NULL, 'D'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	struct xl_domain_spec spec = {.type = XL_DOMAIN_PV, .memory_mib = 128, .vcpus = 1};
	unsigned int timeout_ms = 60000;
	uint32_t domid = 0;
	struct xerr err = {""};
	double t0, t_created;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			spec.name = optarg;
			break;
		case 'k':
			spec.kernel = optarg;
			break;
		case 'r':
			spec.ramdisk = optarg;
			break;
		case 'c':
			spec.cmdline = optarg;
			break;
		case 'P':
			spec.type = XL_DOMAIN_PVH;
			break;
		case 'm':
			spec.memory_mib = parse_uint("--memory", optarg, 1, 1048576);
			break;
		case 'u':
			spec.vcpus = parse_uint("--vcpus", optarg, 1, 128);
			break;
		case 'b':
			spec.bridge = optarg;
			break;
		case 'a':
			spec.mac = optarg;
			break;
		case 's':
			spec.vif_script = optarg;
			break;
		case 'R':
			spec.nested_tcg = 1;
			break;
		case 'd':
			spec.disk = optarg;
			break;
		case 'D':
			spec.disk_script = optarg;
			break;
		case 't':
			timeout_ms = parse_uint("--timeout-ms", optarg, 1, 3600000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !spec.name || !spec.kernel)
		usage();

	t0 = now_ms();
	if (xl_domain_create(ctx, &spec, &domid, &err) == -1)
		goto fail;
	t_created = now_ms();
	/* A domain that cannot be started must not outlive this command. */
	if (xl_domain_unpause(ctx, domid, &err) == -1 ||
	    xl_domain_wait_running(ctx, domid, timeout_ms, &err) == -1) {
		struct xerr ignored;

		xl_domain_stop(ctx, domid, 0, 10000, &ignored);
		goto fail;
	}
	printf("domid=%" PRIu32 " create_ms=%.0f running_ms=%.0f\n", domid, t_created - t0,
	       now_ms() - t0);
	return 0;
fail:
	fprintf(stderr, "xenvm-xl-test: %s\n", err.msg);
	return 1;
}

static int cmd_stop(struct xl_domain_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"grace-ms", required_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0},
	};
	unsigned int grace_ms = 10000;
	struct xerr err = {""};
	uint32_t domid;
	double t0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'g')
			usage();
		grace_ms = parse_uint("--grace-ms", optarg, 0, 3600000);
	}
	if (optind != argc - 1)
		usage();
	t0 = now_ms();
	if (xl_domain_find(ctx, argv[optind], &domid, &err) == -1 ||
	    xl_domain_stop(ctx, domid, grace_ms, 10000, &err) == -1) {
		fprintf(stderr, "xenvm-xl-test: %s\n", err.msg);
		return 1;
	}
	printf("stopped domid=%" PRIu32 " stop_ms=%.0f\n", domid, now_ms() - t0);
	return 0;
}

static int cmd_list(struct xl_domain_ctx *ctx, int argc, char **argv)
{
	struct xl_domain_entry *list = NULL;
	struct xerr err = {""};
	size_t n = 0, i;

	if (argc > 2)
		usage();
	if (xl_domain_list(ctx, argc == 2 ? argv[1] : "", &list, &n, &err) == -1) {
		fprintf(stderr, "xenvm-xl-test: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%" PRIu32 " %s%s%s%s%s\n", list[i].domid, list[i].name,
		       list[i].paused ? " paused" : "", list[i].shutdown ? " shutdown" : "",
		       list[i].crashed ? " crashed" : "", list[i].dying ? " dying" : "");
	xl_domain_list_free(list, n);
	return 0;
}

int main(int argc, char **argv)
{
	struct xl_domain_ctx *ctx = NULL;
	struct xerr err = {""};
	int verbose = 0, ret = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argc--;
		argv++;
	}
	if (argc < 2)
		usage();
	xlog_init("xenvm-xl-test", verbose ? XLOG_DEBUG : XLOG_WARN);
	if (strcmp(argv[1], "create") && strcmp(argv[1], "stop") && strcmp(argv[1], "list"))
		usage();
	if (xl_domain_open(&ctx, verbose, &err) == -1) {
		fprintf(stderr, "xenvm-xl-test: %s\n", err.msg);
		goto out;
	}
	if (strcmp(argv[1], "create") == 0)
		ret = cmd_create(ctx, argc - 1, argv + 1);
	else if (strcmp(argv[1], "stop") == 0)
		ret = cmd_stop(ctx, argc - 1, argv + 1);
	else
		ret = cmd_list(ctx, argc - 1, argv + 1);
out:
	xl_domain_close(ctx);
	return ret;
}
