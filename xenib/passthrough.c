/*
 * passthrough.c - hand a VF's PCI function to a passthrough driver (vfio-pci for QEMU) and back
 * to the host, through sysfs under the pool's root prefix (sysfs-bus-pci):
 *
 *   echo vfio-pci > /sys/bus/pci/devices/<bdf>/driver_override   only that driver may bind
 *   echo <bdf>    > /sys/bus/pci/devices/<bdf>/driver/unbind     leave mlx5_core
 *   echo <bdf>    > /sys/bus/pci/drivers_probe                   the override's driver binds
 *
 * Why driver_override rather than new_id/bind: new_id would make vfio-pci claim every function
 * with the VF's vendor:device, other VFs (still the host's) included; the override is per
 * function and survives a re-probe.  Giving it back clears the override and re-probes, so the
 * VF's own driver (mlx5_core) takes it again whichever passthrough driver held it (vfio-pci,
 * or xen-pciback after libxl made it assignable).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"
#include "xenib.h"

/* A PCI address as the kernel names functions: dddd:bb:dd.f in lower-case hex. */
static bool bdf_ok(const char *bdf)
{
	unsigned d, b, s, f;
	char tail;

	return bdf && strlen(bdf) == 12 && bdf[4] == ':' && bdf[7] == ':' && bdf[10] == '.' &&
	       sscanf(bdf, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &tail) == 4 &&
	       strspn(bdf, "0123456789abcdef:.") == 12 && s < 32 && f < 8;
}

int xenib_pci_driver(const char *root, const char *bdf, char *buf, size_t len, struct xerr *err)
{
	char path[4096];

	if (!bdf_ok(bdf) || !buf || len == 0) {
		return xerr_errno(err, EINVAL, "PCI address '%s': expected dddd:bb:dd.f",
		                  bdf ? bdf : "");
	}
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/devices/%s", bdf) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		int saved = errno;

		xerr_set(err, "%s: no such PCI function: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/devices/%s/driver", bdf) < 0)
		return -1;
	if (xenib_link_basename(path, buf, len, err) < 0) {
		if (errno != ENOENT)
			return -1;
		buf[0] = '\0'; /* no driver bound */
	}
	return 0;
}

int xenib_pci_bind(const char *root, const char *bdf, const char *driver, struct xerr *err)
{
	char path[4096], cur[XENIB_NAME_MAX];

	if (!driver || !*driver || strchr(driver, '/') || strlen(driver) >= XENIB_NAME_MAX) {
		return xerr_errno(err, EINVAL, "PCI driver name '%s' is not valid",
		                  driver ? driver : "");
	}
	if (xenib_pci_driver(root, bdf, cur, sizeof(cur), err) < 0)
		return -1;
	if (strcmp(cur, driver) == 0)
		return 0; /* a retried Prolog step, or the site binds VFs itself */
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/drivers/%s", driver) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		return xerr_errno(err, ENXIO, "%s: PCI driver %s is not loaded (modprobe %s)", path,
		                  driver, driver);
	}
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/devices/%s/driver_override",
	               bdf) < 0 ||
	    xenib_sysfs_write(path, driver, err) < 0)
		return -1;
	if (cur[0] && (xenib_path(path, sizeof(path), root, err,
	                          "/sys/bus/pci/devices/%s/driver/unbind", bdf) < 0 ||
	               xenib_sysfs_write(path, bdf, err) < 0))
		return -1;
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/drivers_probe") < 0 ||
	    xenib_sysfs_write(path, bdf, err) < 0)
		return -1;
	return 0;
}

int xenib_pci_check_bound(const char *root, const char *bdf, const char *driver, struct xerr *err)
{
	char cur[XENIB_NAME_MAX], path[4096], group[32];

	if (xenib_pci_driver(root, bdf, cur, sizeof(cur), err) < 0)
		return -1;
	if (strcmp(cur, driver) != 0) {
		return xerr_errno(err, EBUSY, "VF %s is bound to %s, not %s, after drivers_probe",
		                  bdf, cur[0] ? cur : "no driver", driver);
	}
	if (strcmp(driver, "vfio-pci") != 0)
		return 0;
	/* QEMU opens /dev/vfio/<group>: without an IOMMU there is no group and nothing to open. */
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/devices/%s/iommu_group", bdf) <
	        0 ||
	    xenib_link_basename(path, group, sizeof(group), err) < 0) {
		errno = ENODEV;
		return xerr_set(err,
		                "%s: VF %s has no IOMMU group: enable the IOMMU "
		                "(intel_iommu=on / amd_iommu=on) for vfio-pci passthrough",
		                path, bdf);
	}
	if (xenib_path(path, sizeof(path), root, err, "/dev/vfio/%s", group) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		errno = ENODEV;
		return xerr_set(err,
		                "%s: missing for VF %s (IOMMU group %s) after binding vfio-pci",
		                path, bdf, group);
	}
	return 0;
}

/* Drivers that hold a VF for a guest; any other driver is the host's own (mlx5_core). */
static bool passthrough_driver(const char *d)
{
	return !strcmp(d, "vfio-pci") || !strcmp(d, "pciback") || !strcmp(d, "xen-pciback");
}

int xenib_pci_return(const char *root, const char *bdf, struct xerr *err)
{
	char path[4096], cur[XENIB_NAME_MAX];

	if (xenib_pci_driver(root, bdf, cur, sizeof(cur), err) < 0)
		return errno == ENOENT ? 0
		                       : -1; /* the VF is gone (SR-IOV disabled): nothing to do */
	/* "\n" clears the override (an empty write is refused by some kernels) */
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/devices/%s/driver_override",
	               bdf) < 0 ||
	    xenib_sysfs_write(path, "\n", err) < 0)
		return -1;
	if (cur[0] && !passthrough_driver(cur))
		return 0; /* already the host's */
	if (cur[0] && (xenib_path(path, sizeof(path), root, err,
	                          "/sys/bus/pci/devices/%s/driver/unbind", bdf) < 0 ||
	               xenib_sysfs_write(path, bdf, err) < 0))
		return -1;
	if (xenib_path(path, sizeof(path), root, err, "/sys/bus/pci/drivers_probe") < 0 ||
	    xenib_sysfs_write(path, bdf, err) < 0)
		return -1;
	return 0;
}
