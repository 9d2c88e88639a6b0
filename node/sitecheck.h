/*
 * sitecheck.h - the rules a node's xenvm.yaml must pass before the Prolog boots anything.
 *
 * One code path for the Prolog (a failure is a fault of the node: exit 1, Slurm drains it) and
 * for `xenvm check` (an admin's dry run of the same rules before a change reaches the nodes).
 */
#ifndef XENVM_NODE_SITECHECK_H
#define XENVM_NODE_SITECHECK_H

#include "lib/config.h"
#include "lib/error.h"

/*
 * Check what xenvm.yaml alone decides: the driver is in this build, vm.accel is a mode,
 * network.subnet is set and leaves a /24 per node.  Reads no other file and probes nothing.
 * Returns 0, or -1 with errno (ENOTSUP: driver not built in; EINVAL otherwise) and err naming
 * the file and key.
 */
int xvm_site_config_check(const struct xenvm_config *cfg, struct xerr *err);

#endif
