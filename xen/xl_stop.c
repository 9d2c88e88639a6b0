/*
 * xl_stop.c - ending a domain: shutdown request, grace period, destroy, waiting until gone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xenstore.h>

#include "lib/log.h"
#include "xl_pci.h"
#include "xl_priv.h"

/* PCI devices of one domain given back when it is stopped (the driver passes one: the VF). */
#define XL_STOP_MAX_PCI 8

int xl_domain_destroy(struct xl_domain_ctx *ctx, uint32_t domid, struct xerr *err)
{
	char what[64];
	int rc;

	if (!ctx)
		return xerr_errno(err, EINVAL, "%s: no context", __func__);

	ctx->log.first_error[0] = '\0';
	rc = libxl_domain_destroy(ctx->libxl, domid, NULL);
	if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL)
		return 0; /* already gone: destroy is idempotent for the Epilog */
	if (rc) {
		snprintf(what, sizeof(what), "destroy domain %u", domid);
		return xl_fail(ctx, err, rc, what);
	}
	return 0;
}

int xl_domain_wait_gone(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int timeout_ms,
                        struct xerr *err)
{
	uint64_t deadline = xl_now_ms() + timeout_ms;
	libxl_dominfo info;
	int rc;

	if (!ctx)
		return xerr_errno(err, EINVAL, "%s: no context", __func__);

	/* A destroyed domain stays visible with dying=1 while Xen frees its memory (~0.1 s here);
	 * its name and memory are only free for reuse once libxl_domain_info no longer finds it. */
	for (;;) {
		rc = xl_info(ctx, domid, &info);
		libxl_dominfo_dispose(&info);
		if (rc == ERROR_DOMAIN_NOTFOUND)
			return 0;
		if (rc)
			return xl_fail(ctx, err, rc, "domain info");
		if (xl_now_ms() >= deadline)
			return xerr_errno(err, ETIMEDOUT, "domain %u still present after %u ms",
			                  domid, timeout_ms);
		xl_sleep_ms(20);
	}
}

/* Whether the domain has shut down or is gone.  Returns 1, 0 (still running), or -1 (error). */
static int stopped(struct xl_domain_ctx *ctx, uint32_t domid)
{
	libxl_dominfo info;
	int rc, ret;

	rc = xl_info(ctx, domid, &info);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		ret = 1;
	else if (rc)
		ret = -1;
	else
		ret = info.shutdown || info.dying;
	libxl_dominfo_dispose(&info);
	return ret;
}

/* Ask the guest to power off by writing its PV control node, the request a Linux guest's
 * xenbus watch acts on.  libxl_domain_shutdown() is not used because it waits (up to 60 s) for
 * the guest to acknowledge, which would not honour a shorter grace period for a hung guest.
 * Returns 0, or -1 with errno (the caller destroys the domain anyway). */
static int request_poweroff(uint32_t domid)
{
	struct xs_handle *xs = NULL;
	char path[64];
	int ret = -1, saved;

	xs = xs_open(0);
	if (!xs)
		goto out;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	if (!xs_write(xs, XBT_NULL, path, "poweroff", strlen("poweroff")))
		goto out;
	ret = 0;
out:
	saved = errno;
	xs_close(xs);
	errno = saved;
	return ret;
}

/*
 * Give the PCI devices of a domain that is gone back to their drivers (libxl rebinds what
 * assignable_add unbound).  A failure is a warning only: the domain is gone either way, and the
 * Epilog's xvm_job_ib_release() returns the VF through sysfs too and fails, naming it, if it
 * cannot.
 */
static void give_back_pci(struct xl_domain_ctx *ctx, uint32_t domid, char (*bdf)[XL_PCI_BDF_LEN],
                          size_t n)
{
	struct xerr e = {""};

	for (size_t i = 0; i < n && i < XL_STOP_MAX_PCI; i++) {
		if (xl_pci_assignable_remove(ctx, bdf[i], &e) == -1)
			xwarn("domain %u: %s", domid, e.msg);
		else
			xverbose("domain %u: PCI device %s given back to its driver", domid,
			         bdf[i]);
	}
}

int xl_domain_stop(struct xl_domain_ctx *ctx, uint32_t domid, unsigned int grace_ms,
                   unsigned int gone_ms, struct xerr *err)
{
	uint64_t deadline = xl_now_ms() + grace_ms;
	char pci[XL_STOP_MAX_PCI][XL_PCI_BDF_LEN];
	size_t n_pci = 0;
	int st;

	if (!ctx)
		return xerr_errno(err, EINVAL, "%s: no context", __func__);

	st = stopped(ctx, domid);
	/* A guest that already shut down or crashed has nothing left to be asked. */
	if (grace_ms > 0 && st == 0) {
		if (request_poweroff(domid) == -1)
			xverbose("domain %u: cannot request poweroff (%s); destroying", domid,
			         strerror(errno));
		else
			while ((st = stopped(ctx, domid)) == 0 && xl_now_ms() < deadline)
				xl_sleep_ms(20);
	}
	/* Read before the destroy: libxenlight forgets a domain's PCI devices with it. */
	if (xl_pci_domain_list(ctx, domid, pci, XL_STOP_MAX_PCI, &n_pci, NULL) == -1)
		n_pci = 0;
	if (xl_domain_destroy(ctx, domid, err) == -1 ||
	    xl_domain_wait_gone(ctx, domid, gone_ms, err) == -1)
		return -1;
	/* Only once it is gone: pciback holds a device while a domain still has it. */
	give_back_pci(ctx, domid, pci, n_pci);
	return 0;
}
