/*
 * xl_host.c - what the node offers: whether we run in dom0, how much memory Xen has free.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xl_priv.h"

int xl_domain_is_dom0(void)
{
	char caps[256] = "";
	FILE *f = fopen("/proc/xen/capabilities", "re");

	/* xenfs lists "control_d" in the control domain only; without xenfs there is no Xen
	 * toolstack here at all. */
	if (!f)
		return 0;
	if (!fgets(caps, sizeof(caps), f))
		caps[0] = '\0';
	fclose(f);
	return strstr(caps, "control_d") != NULL;
}

int xl_domain_free_mib(struct xl_domain_ctx *ctx, uint64_t *mib, struct xerr *err)
{
	uint64_t kb = 0;
	int rc;

	if (!ctx || !mib)
		return xerr_errno(err, EINVAL, "%s: missing argument", __func__);
	ctx->log.first_error[0] = '\0';
	rc = libxl_get_free_memory(ctx->libxl, &kb);
	if (rc)
		return xl_fail(ctx, err, rc, "free memory");
	*mib = kb / 1024;
	return 0;
}
