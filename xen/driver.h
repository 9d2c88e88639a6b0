/*
 * driver.h - the `xen` VM driver (struct xvm_driver, vm/driver.h) over the libxenlight layer.
 */
#ifndef XENVM_XEN_DRIVER_H
#define XENVM_XEN_DRIVER_H

#include "vm/driver.h"

extern const struct xvm_driver xvm_driver_xen;

#endif
