/*
 * drivers.h - the VM drivers of this build, by the name xenvm.yaml's vm.driver gives.
 */
#ifndef XENVM_NODE_DRIVERS_H
#define XENVM_NODE_DRIVERS_H

#include "lib/config.h"
#include "lib/error.h"
#include "vm/driver.h"

/*
 * The driver called `name` ("qemu", "xen").  Returns NULL with errno ENOENT for a name no
 * build knows, ENOTSUP for "xen" in a build without libxenlight.
 */
const struct xvm_driver *xvm_driver_find(const char *name);

/*
 * The driver xenvm.yaml's `driver` names.  Returns it, or NULL with errno (as xvm_driver_find)
 * and err naming the file and the driver.
 */
const struct xvm_driver *xvm_driver_for_config(const struct xenvm_config *cfg, struct xerr *err);

#endif
