/*
 * xenib.c - the `xenib` admin command: the node's IB VF pool (see xenib(8)).
 *
 *   xenib [options] status | enable [--vfs N] | alloc --job J --vm NAME [--no-commit]
 *                 | commit --job J --vm NAME | release --job J | release --vm NAME | recover
 *
 * Exit status: 0 success, 1 failure, 2 usage, 3 no free VF (the Prolog's cue for fallback).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "guid.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "pkey.h"
#include "xenib.h"

enum { EXIT_USAGE = 2, EXIT_NO_VF = 3 };

struct opts {
	const char *config;
	const char *root;
	const char *state_dir;
	const char *node;
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: xenib [-c FILE] [--root DIR] [--state-dir DIR] [--node NAME] [-v] COMMAND\n"
	    "commands:\n"
	    "  status                          PFs and VFs, free or whose job and VM\n"
	    "  enable [--vfs N]                enable N VFs per PF (default ib.vfs_per_device)\n"
	    "  alloc --job J --vm NAME [--no-commit]\n"
	    "                                  give a VF to a VM; prints its PCI address and "
	    "GUIDs\n"
	    "  commit --job J --vm NAME        commit a lease taken with --no-commit\n"
	    "  release --job J | --vm NAME     policy Down, GUIDs cleared, VF freed\n"
	    "  recover                         free VFs of dead allocators and finished jobs\n");
}

/* This node's name: --node, SLURMD_NODENAME, else the short host name.  NULL on failure. */
static const char *node_name(const struct opts *o, char *buf, size_t len)
{
	const char *env = getenv("SLURMD_NODENAME");
	char *dot;

	if (o->node)
		return o->node;
	if (env && *env)
		return env;
	if (gethostname(buf, len) < 0)
		return NULL;
	buf[len - 1] = '\0';
	dot = strchr(buf, '.');
	if (dot)
		*dot = '\0';
	return buf;
}

/* A job id, a VF count: as xenvm_parse_jobid.  Returns 0, or -1 after printing why. */
static int parse_u32(const char *what, const char *s, uint32_t *out)
{
	struct xerr err = {{0}};

	if (xenvm_parse_jobid(what, s, out, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	return 0;
}

static const char *route_name(const struct xenib_pf *pf, char *buf, size_t len)
{
	if (pf->vendor_sriov)
		return "mlx5-sysfs";
	if (pf->ifindex > 0) {
		snprintf(buf, len, "rtnetlink(%s)", pf->netdev);
		return buf;
	}
	return "none";
}

static int cmd_status(struct xenib_pool *pool)
{
	const struct xenib_topology *t = xenib_pool_topology(pool);
	struct xenib_slot_status *s = NULL;
	struct xerr err = {{0}};
	size_t n = 0;

	if (xenib_pool_status(pool, &s, &n, &err) < 0) {
		xerror("%s", err.msg);
		return EXIT_FAILURE;
	}
	printf("%-10s %-13s %5s %5s %s\n", "PF", "BDF", "VFS", "TOTAL", "GUID-ROUTE");
	for (size_t i = 0; i < t->n_pfs; i++) {
		char r[48];

		printf("%-10s %-13s %5u %5u %s\n", t->pfs[i].name, t->pfs[i].bdf, t->pfs[i].numvfs,
		       t->pfs[i].totalvfs, route_name(&t->pfs[i], r, sizeof(r)));
	}
	printf("\n%-4s %-13s %-10s %3s %-10s %-9s %10s %-20s %s\n", "SLOT", "VF", "PF", "N",
	       "DRIVER", "STATE", "JOB", "VM", "SINCE");
	for (size_t i = 0; i < n; i++) {
		const struct xenib_slot_status *e = &s[i];
		bool gone = e->vf.pf == (unsigned)-1, free_slot = e->state == XENIB_FREE;
		char since[32] = "-", job[16] = "-", slot[16] = "-", vf[16] = "-";
		struct tm tm;

		if (!gone) {
			snprintf(slot, sizeof(slot), "%u", e->vf.slot);
			snprintf(vf, sizeof(vf), "%u", e->vf.vf);
		}
		if (!free_slot) {
			snprintf(job, sizeof(job), "%" PRIu32, e->jobid);
			if (gmtime_r(&e->since, &tm))
				strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%-4s %-13s %-10s %3s %-10s %-9s %10s %-20s %s%s\n", slot, e->vf.bdf,
		       gone ? "(gone)" : t->pfs[e->vf.pf].name, vf,
		       e->vf.driver[0] ? e->vf.driver : "-", xenib_state_name(e->state), job,
		       free_slot ? "-" : e->vm, since, gone ? " (VF no longer present)" : "");
	}
	free(s);
	return EXIT_SUCCESS;
}

/* Partition upkeep after a change to `jobid`'s VFs, where the site configured one. */
static int sync_partition(struct xenib_pool *pool, const struct xenvm_config *cfg, uint32_t jobid)
{
	struct xenib_opensm o = {.partitions = cfg->ib.partitions_file,
	                         .pid_file = cfg->ib.opensm_pid_file};
	struct xerr err = {{0}};

	if (!cfg->ib.partitions_file || !cfg->ib.pkey)
		return 0;
	if (xenib_partition_sync(pool, &xenib_pkey_opensm, &o, jobid, cfg->ib.pkey, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	return 0;
}

/* The sub-command's --job/--vm/--vfs/--no-commit.  Returns 0, or -1 (usage printed). */
struct sub {
	uint32_t jobid;
	const char *vm;
	uint32_t vfs;
	bool no_commit;
};

static int parse_sub(int argc, char **argv, struct sub *s)
{
	static const struct option longopts[] = {{"job", required_argument, NULL, 'j'},
	                                         {"vm", required_argument, NULL, 'm'},
	                                         {"vfs", required_argument, NULL, 'n'},
	                                         {"no-commit", no_argument, NULL, 'N'},
	                                         {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (parse_u32("--job", optarg, &s->jobid) < 0)
				return -1;
			break;
		case 'm':
			s->vm = optarg;
			break;
		case 'n':
			if (parse_u32("--vfs", optarg, &s->vfs) < 0)
				return -1;
			break;
		case 'N':
			s->no_commit = true;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		xerror("%s: unexpected argument '%s'", argv[0], argv[optind]);
		return -1;
	}
	return 0;
}

static int cmd_alloc(struct xenib_pool *pool, const struct xenvm_config *cfg, const struct sub *s)
{
	struct xenib_assignment a;
	struct xerr err = {{0}};
	char ng[24], pg[24];

	if (xenib_alloc(pool, s->jobid, s->vm, &a, &err) < 0) {
		int e = errno;

		xerror("%s", err.msg);
		return e == ENOSPC || e == ENODEV ? EXIT_NO_VF : EXIT_FAILURE;
	}
	/* a command's lease dies with it: commit unless the caller will, from a live process */
	if (!s->no_commit && xenib_commit(pool, s->jobid, s->vm, &err) < 0) {
		xerror("%s", err.msg);
		return EXIT_FAILURE;
	}
	if (sync_partition(pool, cfg, s->jobid) < 0)
		return EXIT_FAILURE;
	xenib_guid_hex(a.node_guid, ng, sizeof(ng));
	xenib_guid_hex(a.port_guid, pg, sizeof(pg));
	printf("bdf=%s pf=%s vf=%u slot=%u node_guid=%s port_guid=%s\n", a.bdf, a.pf, a.vf, a.slot,
	       ng, pg);
	return EXIT_SUCCESS;
}

/*
 * The jobs holding VFs now (for the partitions to update after a release): *jobs is malloc'ed.
 * Returns 0, or -1 after logging why.
 */
static int holders(struct xenib_pool *pool, const char *vm, uint32_t **jobs, size_t *n_jobs)
{
	struct xenib_slot_status *s = NULL;
	struct xerr err = {{0}};
	size_t n = 0;

	*jobs = NULL;
	*n_jobs = 0;
	if (xenib_pool_status(pool, &s, &n, &err) < 0) {
		xerror("%s", err.msg);
		return -1;
	}
	*jobs = calloc(n + 1, sizeof(**jobs));
	if (!*jobs) {
		free(s);
		xerror("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i].state != XENIB_FREE && (!vm || strcmp(vm, s[i].vm) == 0))
			(*jobs)[(*n_jobs)++] = s[i].jobid;
	free(s);
	return 0;
}

/* A job runs here while its state directory exists (lib/jobstate.h): the Prolog's rule. */
static bool job_alive(uint32_t jobid, void *state_dir)
{
	return xenvm_job_present(state_dir, jobid);
}

/* Release (--job, --vm, or recover) and bring the affected jobs' partitions along. */
static int cmd_release(struct xenib_pool *pool, const struct xenvm_config *cfg, const struct sub *s,
                       bool recover)
{
	struct xerr err = {{0}};
	uint32_t *jobs = NULL;
	size_t n_jobs = 0;
	unsigned n = 0;
	int rc;

	if (s->jobid) {
		rc = xenib_release_job(pool, s->jobid, &n, &err);
	} else {
		if (holders(pool, recover ? NULL : s->vm, &jobs, &n_jobs) < 0)
			return EXIT_FAILURE;
		rc = recover ? xenib_recover(pool, job_alive, cfg->state_dir, &n, &err)
		             : xenib_release_vm(pool, s->vm, &n, &err);
	}
	if (rc < 0)
		xerror("%s", err.msg);
	if (s->jobid && sync_partition(pool, cfg, s->jobid) < 0)
		rc = -1;
	for (size_t i = 0; i < n_jobs; i++)
		if (sync_partition(pool, cfg, jobs[i]) < 0)
			rc = -1;
	free(jobs);
	printf("released %u VF%s\n", n, n == 1 ? "" : "s");
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Run one command on an open pool.  Returns the exit status. */
static int run(const char *cmd, int argc, char **argv, struct xenib_pool *pool,
               const struct xenvm_config *cfg)
{
	struct sub s = {0};
	struct xerr err = {{0}};

	if (parse_sub(argc, argv, &s) < 0)
		return EXIT_USAGE;
	if (strcmp(cmd, "status") == 0 && !s.jobid && !s.vm)
		return cmd_status(pool);
	if ((strcmp(cmd, "alloc") == 0 || strcmp(cmd, "commit") == 0) && s.jobid && s.vm) {
		if (cmd[0] == 'a')
			return cmd_alloc(pool, cfg, &s);
		if (xenib_commit(pool, s.jobid, s.vm, &err) < 0) {
			xerror("%s", err.msg);
			return EXIT_FAILURE;
		}
		return sync_partition(pool, cfg, s.jobid) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (strcmp(cmd, "release") == 0 && !s.jobid != !s.vm)
		return cmd_release(pool, cfg, &s, false);
	if (strcmp(cmd, "recover") == 0 && !s.jobid && !s.vm)
		return cmd_release(pool, cfg, &s, true);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"root", required_argument, NULL, 'r'},
	                                         {"state-dir", required_argument, NULL, 's'},
	                                         {"node", required_argument, NULL, 'n'},
	                                         {"verbose", no_argument, NULL, 'v'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct opts o = {0};
	struct xenvm_config *cfg = NULL;
	struct xenib_pool *pool = NULL;
	struct xenib_params p;
	struct xerr err = {{0}};
	char host[256];
	const char *cmd, *node;
	int c, rc = EXIT_FAILURE;

	xlog_init("xenib", XLOG_INFO);
	while ((c = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'n':
			o.node = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* info and up by default; -v verbose, -vv debug (every sysfs write) */
	xlog_set_level(o.verbose >= 2 ? XLOG_DEBUG : o.verbose ? XLOG_VERBOSE : XLOG_INFO);
	cmd = argv[optind];
	/* an absent default file means the defaults; an absent named file is an error */
	if (xenvm_config_load(o.config, o.config == NULL, &cfg, &err) < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	if (o.state_dir) {
		char *dup = strdup(o.state_dir);

		if (!dup) {
			xerror("out of memory");
			goto out;
		}
		free(cfg->state_dir);
		cfg->state_dir = dup;
	}
	node = node_name(&o, host, sizeof(host));
	if (!node) {
		xerror("cannot tell this node's name: use --node");
		goto out;
	}
	/* The command reads xenvm.yaml itself; the library takes plain values. */
	p = (struct xenib_params){.root = o.root,
	                          .state_dir = cfg->state_dir,
	                          .devices = cfg->ib.devices,
	                          .n_devices = cfg->ib.n_devices,
	                          .vfs_per_device = cfg->ib.vfs_per_device,
	                          .guid_prefix = cfg->ib.guid_prefix,
	                          .node = node};
	if (strcmp(cmd, "enable") == 0) {
		struct sub s = {.vfs = cfg->ib.vfs_per_device};
		unsigned changed = 0;

		if (parse_sub(argc - optind, argv + optind, &s) < 0 || s.jobid || s.vm) {
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
		if (s.vfs == 0) {
			xerror("how many VFs? set ib.vfs_per_device in %s or give --vfs N",
			       cfg->path);
			rc = EXIT_USAGE;
			goto out;
		}
		if (xenib_enable(&p, s.vfs, &changed, &err) < 0) {
			xerror("%s", err.msg);
			goto out;
		}
		printf("%u PF%s changed\n", changed, changed == 1 ? "" : "s");
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (xenib_pool_open(&p, &pool, &err) < 0) {
		xerror("%s", err.msg);
		goto out;
	}
	rc = run(cmd, argc - optind, argv + optind, pool, cfg);
out:
	xenib_pool_close(pool);
	xenvm_config_free(cfg);
	return rc;
}
