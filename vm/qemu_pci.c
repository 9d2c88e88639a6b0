/*
 * qemu_pci.c - QEMU's -device argument for a passed-through PCI function (an IB VF).
 *
 * Its own file so the unit tests can check the exact argument without starting QEMU.  The
 * address is checked character by character: it lands inside a QEMU option string, where a ','
 * would start another property.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vm/qemu_pci.h"

int xvm_qemu_pci_arg(const char *bdf, char *buf, size_t len)
{
	unsigned d, b, s, f;
	char tail;
	int n;

	if (!bdf || strlen(bdf) != 12 || strspn(bdf, "0123456789abcdef:.") != 12 ||
	    sscanf(bdf, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &tail) != 4 || bdf[4] != ':' ||
	    bdf[7] != ':' || bdf[10] != '.' || s > 0x1f || f > 7) {
		errno = EINVAL;
		return -1;
	}
	/* vfio-pci: QEMU opens /dev/vfio/<group> of the function bound to vfio-pci on the host */
	n = snprintf(buf, len, "vfio-pci,host=%s", bdf);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
