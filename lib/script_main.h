/*
 * script_main.h - the start every slurmd script of the project shares (xenvm-prolog,
 * xenvm-epilog): options, the "no VM requested" fast path, logging and xenvm.yaml.
 */
#ifndef XENVM_SCRIPT_MAIN_H
#define XENVM_SCRIPT_MAIN_H

#include <stdbool.h>

#include "config.h"

enum xenvm_script_start {
	XENVM_SCRIPT_RUN = 0, /* a VM job: *cfg is loaded, go on */
	XENVM_SCRIPT_DONE,    /* nothing to do (no VM requested, or -h): exit 0 */
	XENVM_SCRIPT_USAGE,   /* bad options (usage printed): exit 2 */
	XENVM_SCRIPT_FAULT,   /* xenvm.yaml unreadable (logged): a fault of the node, exit 1 */
};

/*
 * Parse `-c xenvm.yaml -v -h`, return XENVM_SCRIPT_DONE at once when the job asked for no VM
 * (SPANK_XENVM_IMAGE unset: such jobs must cost nothing) unless `any_job` (the Epilog: a job
 * without a VM request may have had --vm-image steps, which leave state), else open syslog and
 * load the configuration into *cfg (free with xenvm_config_free).  `name` prefixes every
 * message.
 */
enum xenvm_script_start xenvm_script_start(const char *name, int argc, char **argv, bool any_job,
                                           struct xenvm_config **cfg);

#endif
