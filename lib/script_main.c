/* script_main.c - see script_main.h. */
#include "script_main.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config_path.h"
#include "error.h"
#include "log.h"
#include "request.h"

static void usage(FILE *f, const char *name)
{
	fprintf(f,
	        "usage: %s [-c xenvm.yaml] [-v]\n"
	        "Run by slurmd (see %s(8)); reads the job from its environment.\n",
	        name, name);
}

enum xenvm_script_start xenvm_script_start(const char *name, int argc, char **argv, bool any_job,
                                           struct xenvm_config **cfg)
{
	const char *config_arg = NULL;
	char path[PATH_MAX];
	struct xerr err;
	int c;

	*cfg = NULL;
	xlog_init(name, XLOG_INFO);
	while ((c = getopt(argc, argv, "c:vh")) != -1) {
		switch (c) {
		case 'c':
			config_arg = optarg;
			break;
		case 'v':
			xlog_set_level(XLOG_DEBUG);
			break;
		case 'h':
			usage(stdout, name);
			return XENVM_SCRIPT_DONE;
		default:
			usage(stderr, name);
			return XENVM_SCRIPT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr, name);
		return XENVM_SCRIPT_USAGE;
	}
	if (!getenv("SPANK_" XENVM_REQ_IMAGE) && !any_job)
		return XENVM_SCRIPT_DONE;
	xlog_open_syslog(LOG_DAEMON);
	if (!xenvm_config_path(config_arg, path, sizeof(path))) {
		xerror("configuration path: %s", strerror(errno));
		return XENVM_SCRIPT_FAULT;
	}
	if (xenvm_config_load(path, false, cfg, &err) < 0) {
		xerror("%s", err.msg);
		return XENVM_SCRIPT_FAULT;
	}
	return XENVM_SCRIPT_RUN;
}
