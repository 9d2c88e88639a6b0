/*
 * xen_find.c - xvm_driver_find() learns "xen" in programs linked with $(XVM_XEN_LINK).
 *
 * xvm_driver_find() lives in qemu.c and knows only "qemu"; the programs that may boot Xen VMs
 * (the xenvm command, the Prolog) are linked with -Wl,--wrap=xvm_driver_find, so that their
 * calls land here first.  Programs without libxenlight keep the plain function and say that
 * "xen" is not available.  (When xvm_driver_find itself names the xen driver, this file and the
 * --wrap go.)
 */
#include <string.h>

#include "vm/driver.h"

const struct xvm_driver *__real_xvm_driver_find(const char *name);
const struct xvm_driver *__wrap_xvm_driver_find(const char *name);

/* The driver called name, or NULL with errno ENOENT (from the wrapped function). */
const struct xvm_driver *__wrap_xvm_driver_find(const char *name)
{
	if (name && strcmp(name, "xen") == 0)
		return &xvm_driver_xen;
	return __real_xvm_driver_find(name);
}
