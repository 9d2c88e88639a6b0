/* qemu_pci.h - the qemu driver's argument for a passed-through VF (see qemu_pci.c). */
#ifndef XENVM_VM_QEMU_PCI_H
#define XENVM_VM_QEMU_PCI_H

#include <stddef.h>

/*
 * "vfio-pci,host=<bdf>" into buf, for `-device`.  bdf is "dddd:bb:dd.f", lower-case hex.
 * Returns 0, or -1 with errno EINVAL (malformed address) or ENAMETOOLONG (buf too small).
 */
int xvm_qemu_pci_arg(const char *bdf, char *buf, size_t len);

#endif
