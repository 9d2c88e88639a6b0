/* xl_pci.c - see xl_pci.h. */
#include "xl_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xl_pci_from_bdf(libxl_device_pci *pci, const char *bdf, struct xerr *err)
{
	unsigned d, b, s, f;
	char tail;

	/* Our own parser: libxl's needs a context, and a config is built before one exists. */
	if (!pci || !bdf || strlen(bdf) != 12 || strspn(bdf, "0123456789abcdef:.") != 12 ||
	    bdf[4] != ':' || bdf[7] != ':' || bdf[10] != '.' ||
	    sscanf(bdf, "%4x:%2x:%2x.%1x%c", &d, &b, &s, &f, &tail) != 4 || s > 0x1f || f > 7) {
		return xerr_errno(err, EINVAL, "PCI address '%s': expected dddd:bb:dd.f",
		                  bdf ? bdf : "");
	}
	pci->domain = (int)d;
	pci->bus = (uint8_t)b;
	pci->dev = (uint8_t)s;
	pci->func = (uint8_t)f;
	return 0;
}

int xl_pci_config_add(libxl_domain_config *dc, const char *bdf, struct xerr *err)
{
	libxl_device_pci pci, *grown;

	libxl_device_pci_init(&pci);
	if (!dc || xl_pci_from_bdf(&pci, bdf, err) == -1) {
		errno = EINVAL;
		libxl_device_pci_dispose(&pci);
		return -1;
	}
	/*
	 * A VF's config space needs no writes beyond what pciback allows (permissive off keeps the
	 * guest from reprogramming the VF's BARs); ConnectX VFs use MSI-X, so MSI translation
	 * stays off; power management off because a VF has no PM capability of its own.
	 */
	pci.permissive = false;
	pci.msitranslate = false;
	pci.power_mgmt = false;
#ifdef LIBXL_HAVE_DEVICE_PCI_SEIZE
	pci.seize = false; /* assignable_add already took it from mlx5_core, on purpose */
#endif
	grown = realloc(dc->pcidevs, (size_t)(dc->num_pcidevs + 1) * sizeof(*grown));
	if (!grown) {
		libxl_device_pci_dispose(&pci);
		return xerr_errno(err, ENOMEM, "out of memory");
	}
	dc->pcidevs = grown;
	dc->pcidevs[dc->num_pcidevs++] = pci; /* dispose of dc frees it */
	dc->c_info.passthrough = LIBXL_PASSTHROUGH_ENABLED;
	return 0;
}

int xl_pci_assignable_add(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err)
{
	libxl_device_pci pci;
	char what[80];
	int rc;

	libxl_device_pci_init(&pci);
	if (!ctx || xl_pci_from_bdf(&pci, bdf, err) == -1) {
		libxl_device_pci_dispose(&pci);
		errno = EINVAL;
		return -1;
	}
	ctx->log.first_error[0] = '\0';
	rc = libxl_device_pci_assignable_add(ctx->libxl, &pci, 1);
	libxl_device_pci_dispose(&pci);
	if (rc) {
		snprintf(what, sizeof(what), "making PCI device %s assignable (xen-pciback)", bdf);
		return xl_fail(ctx, err, rc, what);
	}
	return 0;
}

int xl_pci_assignable_remove(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err)
{
	libxl_device_pci pci;
	char what[80];
	int rc;

	libxl_device_pci_init(&pci);
	if (!ctx || xl_pci_from_bdf(&pci, bdf, err) == -1) {
		libxl_device_pci_dispose(&pci);
		errno = EINVAL;
		return -1;
	}
	ctx->log.first_error[0] = '\0';
	rc = libxl_device_pci_assignable_remove(ctx->libxl, &pci, 1);
	libxl_device_pci_dispose(&pci);
	if (rc) {
		snprintf(what, sizeof(what), "giving PCI device %s back to its driver", bdf);
		return xl_fail(ctx, err, rc, what);
	}
	return 0;
}

int xl_pci_to_bdf(const libxl_device_pci *pci, char *buf, size_t len)
{
	if (!pci || !buf) {
		errno = EINVAL;
		return -1;
	}
	if (len < XL_PCI_BDF_LEN) {
		errno = ERANGE;
		return -1;
	}
	/* Masks: xl_pci_from_bdf() only reads 4 hex digits of domain, 5 bits of slot, 3 of func. */
	snprintf(buf, len, "%04x:%02x:%02x.%x", (unsigned)pci->domain & 0xffff, pci->bus,
	         pci->dev & 0x1fu, pci->func & 7u);
	return 0;
}

/* Free a list from libxl_device_pci_{,assignable_}list (older libxenlight has no _free). */
static void pci_list_free(libxl_device_pci *list, int num)
{
#if defined(LIBXL_HAVE_DEVICE_PCI_LIST_FREE)
	libxl_device_pci_list_free(list, num);
#else
	for (int i = 0; i < num; i++)
		libxl_device_pci_dispose(&list[i]);
	free(list);
#endif
}

int xl_pci_is_assignable(struct xl_domain_ctx *ctx, const char *bdf, struct xerr *err)
{
	libxl_device_pci pci, *list;
	int num = 0, ret = 0;

	libxl_device_pci_init(&pci);
	if (!ctx || xl_pci_from_bdf(&pci, bdf, err) == -1) {
		libxl_device_pci_dispose(&pci);
		errno = EINVAL;
		return -1;
	}
	/* NULL with num 0 is also "none assignable" (pciback not loaded): not an error. */
	list = libxl_device_pci_assignable_list(ctx->libxl, &num);
	if (!list && num) {
		libxl_device_pci_dispose(&pci);
		return xerr_errno(err, EIO, "PCI device %s: cannot read the assignable list", bdf);
	}
	for (int i = 0; i < num; i++)
		if (list[i].domain == pci.domain && list[i].bus == pci.bus &&
		    list[i].dev == pci.dev && list[i].func == pci.func)
			ret = 1;
#if defined(LIBXL_HAVE_DEVICE_PCI_ASSIGNABLE_LIST_FREE)
	libxl_device_pci_assignable_list_free(list, num);
#else
	pci_list_free(list, num);
#endif
	libxl_device_pci_dispose(&pci);
	return ret;
}

int xl_pci_domain_list(struct xl_domain_ctx *ctx, uint32_t domid, char (*out)[XL_PCI_BDF_LEN],
                       size_t max, size_t *n, struct xerr *err)
{
	libxl_device_pci *list;
	int num = 0;

	if (!ctx || !n || (max && !out))
		return xerr_errno(err, EINVAL, "%s: bad arguments", __func__);
	*n = 0;
	/* libxl reads the domain's PCI backend in xenstore: nothing there (no device, or the
	 * domain is gone) is an empty list. */
	list = libxl_device_pci_list(ctx->libxl, domid, &num);
	for (int i = 0; i < num; i++)
		if ((size_t)i < max)
			xl_pci_to_bdf(&list[i], out[i], XL_PCI_BDF_LEN);
	*n = num > 0 ? (size_t)num : 0;
	if (list)
		pci_list_free(list, num);
	return 0;
}
