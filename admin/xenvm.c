/*
 * xenvm.c - the `xenvm` admin command: global options, configuration, subcommand dispatch.
 *
 *   xenvm [-c xenvm.yaml] [-v]... COMMAND [ARGS]    (see doc/man/xenvm.8)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "vm/accel.h"
#include "vm/cgroup.h"

static const struct {
	const char *name;
	int (*run)(const struct xenvm_config *cfg, int argc, char **argv);
} commands[] = {
    {"boot", xa_cmd_boot}, {"list", xa_cmd_list},       {"status", xa_cmd_status},
    {"exec", xa_cmd_exec}, {"destroy", xa_cmd_destroy},
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: xenvm [-c FILE] [-v]... COMMAND [ARGS]\n"
	        "  boot --image NAME [--driver xen|qemu] [--mem SIZE] [--vcpus N] [--name NAME]\n"
	        "       [--bridge BR --ip A.B.C.D/NN] [--timeout SECONDS] [--no-wait]\n"
	        "  list\n"
	        "  exec [--cwd DIR] ID -- COMMAND [ARG]...\n"
	        "  destroy ID\n"
	        "  status\n"
	        "  check [--config FILE] [--catalog FILE]\n"
	        "  image list|show|push|tag|rm|share|unshare|history|gc|fsck|job|import ...\n"
	        "See xenvm(8).\n");
}

/*
 * Load xenvm.yaml (-c, else $XENVM_CONFIG, else beside slurm.conf, else /etc/xenvm) and point the
 * qemu driver's accelerator choice and VM cgroups at it.  Returns the config, or NULL with the
 * error printed.
 */
static struct xenvm_config *load_config(const char *explicit_path)
{
	char path[4096];
	struct xenvm_config *cfg = NULL;
	struct xerr err = {""};
	enum xvm_accel_mode mode;
	enum xvm_cgroup_mode cg;

	if (!xenvm_config_path(explicit_path, path, sizeof(path))) {
		xerror("configuration path: %s", strerror(errno));
		return NULL;
	}
	/* Only a file named on purpose must exist; a node may run on the defaults. */
	if (xenvm_config_load(path, !explicit_path && !getenv("XENVM_CONFIG"), &cfg, &err) < 0) {
		xerror("%s", err.msg);
		return NULL;
	}
	if (xvm_accel_parse(cfg->vm.accel, &mode) < 0 ||
	    xvm_accel_configure(mode, cfg->state_dir, &err) < 0) {
		xerror("%s: vm.accel '%s': %s", cfg->path, cfg->vm.accel ? cfg->vm.accel : "",
		       err.msg[0] ? err.msg : "expected auto, kvm or tcg");
		xenvm_config_free(cfg);
		return NULL;
	}
	if (xvm_cgroup_parse(cfg->vm.cgroup, &cg) < 0) {
		xerror("%s: vm.cgroup '%s': expected auto, required or off", cfg->path,
		       cfg->vm.cgroup ? cfg->vm.cgroup : "");
		xenvm_config_free(cfg);
		return NULL;
	}
	xvm_cgroup_configure(cg, cfg->vm.memory_overhead_bytes);
	return cfg;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	char path_buf[4096];
	struct xerr err = {""};
	struct xenvm_config *cfg = NULL;
	enum xlog_level level = XLOG_INFO;
	int opt, rc = XA_EXIT_USAGE;

	xlog_init("xenvm", XLOG_INFO);
	/* "+": stop at the subcommand, whose options are its own */
	while ((opt = getopt_long(argc, argv, "+c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			if (level < XLOG_DEBUG)
				level++;
			break;
		case 'h':
			usage(stdout);
			return XA_EXIT_OK;
		default:
			usage(stderr);
			return XA_EXIT_USAGE;
		}
	}
	xlog_set_level(level);
	if (optind >= argc) {
		usage(stderr);
		return XA_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "image") == 0) {
		int sub = optind;

		/* no accelerator set-up: users run it on login nodes */
		if (!xenvm_config_path(config, path_buf, sizeof(path_buf)) ||
		    xenvm_config_load(path_buf, !config && !getenv("XENVM_CONFIG"), &cfg, &err) <
		        0) {
			xerror("%s", err.msg[0] ? err.msg : strerror(errno));
			return XA_EXIT_CONFIG;
		}
		optind = 0;
		rc = xa_cmd_image(cfg, argc - sub, argv + sub);
		goto out;
	}
	if (strcmp(argv[optind], "check") == 0) {
		int sub = optind;

		optind = 0;
		return xa_check(config, argc - sub, argv + sub);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		int sub = optind;

		cfg = load_config(config);
		if (!cfg)
			return XA_EXIT_CONFIG;
		optind = 0; /* re-initialise getopt for the subcommand's own options */
		rc = commands[i].run(cfg, argc - sub, argv + sub);
		goto out;
	}
	xerror("unknown command '%s' (boot, list, exec, destroy, status, check, image)",
	       argv[optind]);
	usage(stderr);
out:
	xenvm_config_free(cfg);
	return rc;
}
