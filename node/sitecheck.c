/* sitecheck.c - see sitecheck.h. */
#include "node/sitecheck.h"

#include <errno.h>

#include "node/drivers.h"
#include "node/guestnet.h"
#include "vm/accel.h"

int xvm_site_config_check(const struct xenvm_config *cfg, struct xerr *err)
{
	const char *driver = cfg->driver == XENVM_DRIVER_XEN ? "xen" : "qemu";
	struct xenvm_subnet sn;
	enum xvm_accel_mode mode;
	struct xerr why;

	if (!xvm_driver_find(driver)) {
		int e = errno;

		xerr_set(err, "%s: driver: '%s' %s", cfg->path, driver,
		         e == ENOTSUP ? "is not in this build (built without libxenlight)"
		                      : "is no driver");
		errno = e;
		return -1;
	}
	if (xvm_accel_parse(cfg->vm.accel, &mode) < 0) {
		xerr_set(err, "%s: vm.accel: '%s': expected auto, kvm or tcg", cfg->path,
		         cfg->vm.accel ? cfg->vm.accel : "");
		errno = EINVAL;
		return -1;
	}
	if (!cfg->network.subnet) {
		xerr_set(err, "%s: network.subnet is not set: VMs need addresses (xenvm.yaml(5))",
		         cfg->path);
		errno = EINVAL;
		return -1;
	}
	if (xenvm_subnet_parse(cfg->network.subnet, &sn, &why) < 0) {
		xerr_set(err, "%s: %s", cfg->path, why.msg);
		errno = EINVAL;
		return -1;
	}
	return 0;
}
