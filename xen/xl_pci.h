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

#include <stddef.h>
#include <stdint.h>

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

/* A PCI address as xl_pci_from_bdf() reads it, NUL included. */
#define XL_PCI_BDF_LEN 13

/* Format pci's address into buf ("dddd:bb:dd.f").  Returns 0, or -1 with errno ERANGE (buf
 * shorter than XL_PCI_BDF_LEN) or EINVAL (pci NULL). */
int xl_pci_to_bdf(const libxl_device_pci *pci, char *buf, size_t len);

/* Whether `bdf` is bound to xen-pciback already (libxl's assignable list).  Returns 1 or 0, or -1
 * with errno EINVAL or EIO (the list could not be read). */
int xl_pci_is_assignable(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err);

/*
 * The PCI devices passed through to domain domid, read before it is destroyed (libxenlight
 * forgets them with the domain): up to max addresses into out[], their count into *n (may
 * exceed max).  A domain without any, or gone, has none.  Returns 0, or -1 with errno EINVAL.
 */
int xl_pci_domain_list(struct xl_domain_ctx *ctx, uint32_t domid, char (*out)[XL_PCI_BDF_LEN],
                       size_t max, size_t *n, struct xerr *err);

/*
 * Fill dc (initialised by the caller with libxl_domain_config_init; disposed by the caller
 * whatever the result) from spec, PCI device included: what xl_domain_create() hands
 * libxenlight.  Needs no Xen and no context, so the config can be checked in unit tests.
 * spec is not checked here (xl_domain_spec_check does).  Defined in xl_create.c.  Returns 0, or
 * -1 with errno ENOMEM or EINVAL (malformed spec->pci_bdf, or the cpuid policy).
 */
int xl_domain_config_build(const struct xl_domain_spec *spec, libxl_domain_config *dc,
                           struct xerr *err);

#endif
