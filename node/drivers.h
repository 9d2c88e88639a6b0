/*
 * drivers.h - the VM drivers of this build, by the name xenvm.yaml's vm.driver gives.
 */
#ifndef XENVM_NODE_DRIVERS_H
#define XENVM_NODE_DRIVERS_H

#include "vm/driver.h"

/*
 * The driver called `name` ("qemu", "xen").  Returns NULL with errno ENOENT for a name no
 * build knows, ENOTSUP for "xen" in a build without libxenlight.
 */
const struct xvm_driver *xvm_driver_find(const char *name);

#endif
