/*
 * drivers.c - the table of VM drivers (see drivers.h).
 *
 * The table sits above both drivers: vm/ holds the interface and the qemu driver, xen/ the
 * xen driver on top of vm/, so only a layer above both may name them together.
 */
#include "node/drivers.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/config.h"

#ifdef XENVM_HAVE_XEN
#include "xen/driver.h"
#endif

static const struct {
	const char *name;
	const struct xvm_driver *driver; /* NULL: known, not in this build */
} drivers[] = {
    {"qemu", &xvm_driver_qemu},
#ifdef XENVM_HAVE_XEN
    {"xen", &xvm_driver_xen},
#else
    {"xen", NULL},
#endif
};

const struct xvm_driver *xvm_driver_find(const char *name)
{
	if (!name) {
		errno = ENOENT;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		if (strcmp(drivers[i].name, name) != 0)
			continue;
		if (!drivers[i].driver)
			errno = ENOTSUP;
		return drivers[i].driver;
	}
	errno = ENOENT;
	return NULL;
}

const struct xvm_driver *xvm_driver_for_config(const struct xenvm_config *cfg, struct xerr *err)
{
	const char *name = cfg->driver == XENVM_DRIVER_XEN ? "xen" : "qemu";
	const struct xvm_driver *d = xvm_driver_find(name);
	int saved = errno;

	if (!d) {
		xerr_set(err, "%s: driver: %s is not available in this build", cfg->path, name);
		errno = saved;
	}
	return d;
}
