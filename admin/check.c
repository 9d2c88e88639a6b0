/*
 * check.c - `xenvm check`: a site's xenvm.yaml and catalog judged by the rules the Prolog and
 * job_submit apply, before a change reaches the nodes (see xenvm(8), CHECK).
 *
 * The rules are theirs, not copies: xenvm.yaml through xenvm_config_load and
 * xvm_site_config_check (what the Prolog drains a node for), the catalog through
 * xenvm_catalog_load (what job_submit refuses VM jobs for, and the Prolog fails a job for).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "lib/catalog.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "node/sitecheck.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xenvm check [--config FILE] [--catalog FILE]\n");
}

int xa_check(const char *config_arg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"catalog", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *catalog_arg = NULL;
	char path[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xenvm_catalog *cat = NULL;
	struct xerr err = {""};
	int opt, rc = XA_EXIT_OK;

	while ((opt = getopt_long(argc, argv, "+c:C:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_arg = optarg;
			break;
		case 'C':
			catalog_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			return XA_EXIT_OK;
		default:
			usage(stderr);
			return XA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return XA_EXIT_USAGE;
	}
	if (!xenvm_config_path(config_arg, path, sizeof(path))) {
		xerror("configuration path: %s", strerror(errno));
		return XA_EXIT_CHECK_NODE;
	}
	/* The Prolog reads the file wherever it is; a node without one runs on the defaults. */
	if (xenvm_config_load(path, !config_arg && !getenv("XENVM_CONFIG"), &cfg, &err) < 0 ||
	    xvm_site_config_check(cfg, &err) < 0) {
		printf("error: %s\n  the Prolog would fail every VM job here with exit 1: Slurm "
		       "drains the node\n",
		       err.msg);
		rc = XA_EXIT_CHECK_NODE;
		/* The catalog is still worth judging when xenvm.yaml names it. */
		if (!cfg && !catalog_arg)
			goto out;
	} else {
		printf("ok: %s (driver %s, network.subnet %s)\n", cfg->path,
		       cfg->driver == XENVM_DRIVER_XEN ? "xen" : "qemu", cfg->network.subnet);
	}
	if (xenvm_catalog_load(catalog_arg ? catalog_arg : cfg->catalog, &cat, &err) < 0) {
		printf(
		    "%s: error: %s\n  job_submit refuses VM jobs (plain jobs run; nodes stay up)\n",
		    catalog_arg ? catalog_arg : cfg->catalog, err.msg);
		if (rc == XA_EXIT_OK)
			rc = XA_EXIT_CHECK_CATALOG;
		goto out;
	}
	printf("ok: %s (%zu images)\n", catalog_arg ? catalog_arg : cfg->catalog, cat->n_images);
out:
	xenvm_catalog_free(cat);
	xenvm_config_free(cfg);
	return rc;
}
