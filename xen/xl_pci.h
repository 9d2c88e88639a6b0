/*
 * xl_pci.h - an IB VF (any PCI function) passed through to a domain, through libxenlight.
 *
 * The xen driver's half of VMM-bypass (xenib/README.md): before the domain is created the VF is
 * made assignable (libxl_device_pci_assignable_add with rebind: unbound from mlx5_core, bound to
 * xen-pciback, remembered so it can be given back) and listed in the domain config's PCI devices,
 * so libxenlight attaches it when it builds the domain (pcifront in a PV guest).  After the
 * domain is gone the VF is given back (libxl_device_pci_assignable_remove with rebind).
 *
 * Every function returns 0 or -1 with errno set and err filled (may be NULL).
 */
#ifndef XENVM_XL_PCI_H
#define XENVM_XL_PCI_H

#include "xl_priv.h"

/*
 * Fill an initialised libxl_device_pci from "dddd:bb:dd.f" (lower-case hex).  Returns 0, or -1
 * with errno EINVAL (malformed address).
 */
int xl_pci_from_bdf(libxl_device_pci *pci, const char *bdf, struct xerr *err);

/*
 * Append `bdf` to dc->pcidevs (dc initialised with libxl_domain_config_init; freed by
 * libxl_domain_config_dispose) with the settings a VF needs: no permissive config space, MSI
 * translation off (ConnectX uses MSI-X), power management off, and passthrough enabled for the
 * domain.  Returns 0, or -1 with errno EINVAL or ENOMEM.
 */
int xl_pci_config_add(libxl_domain_config *dc, const char *bdf, struct xerr *err);

/* Make `bdf` assignable (bound to pciback).  Already assignable is success.  -1: EINVAL, EIO. */
int xl_pci_assignable_add(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err);

/* Give `bdf` back to the driver it had before assignable_add.  -1: EINVAL, EIO (libxl refused). */
int xl_pci_assignable_remove(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err);

#endif
