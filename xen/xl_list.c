/*
 * xl_list.c - finding domains by name: one by its full name, a job's by the name prefix.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xl_priv.h"

int xl_domain_find(struct xl_domain_ctx *ctx, const char *name, uint32_t *domid, struct xerr *err)
{
	if (!ctx || !name || !domid)
		return xerr_errno(err, EINVAL, "xl_domain_find: missing argument");
	if (libxl_name_to_domid(ctx->libxl, name, domid) != 0) {
		return xerr_errno(err, ESRCH, "no domain named %s", name);
	}
	return 0;
}

void xl_domain_list_free(struct xl_domain_entry *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int xl_domain_list(struct xl_domain_ctx *ctx, const char *prefix, struct xl_domain_entry **out,
                   size_t *n, struct xerr *err)
{
	struct xl_domain_entry *list = NULL;
	libxl_dominfo *info = NULL;
	size_t count = 0, plen;
	char *name = NULL;
	int nb = 0, i, ret = -1;

	if (!ctx || !prefix || !out || !n) {
		errno = EINVAL;
		xerr_set(err, "xl_domain_list: missing argument");
		goto out;
	}
	*out = NULL;
	*n = 0;
	plen = strlen(prefix);
	ctx->log.first_error[0] = '\0';
	info = libxl_list_domain(ctx->libxl, &nb);
	if (!info) {
		xl_fail(ctx, err, ERROR_FAIL, "list domains");
		goto out;
	}
	list = calloc((size_t)nb, sizeof(*list));
	if (!list && nb > 0) {
		xerr_set(err, "list domains: out of memory");
		goto out;
	}
	for (i = 0; i < nb; i++) {
		if (info[i].domid == 0)
			continue;
		/* A domain can vanish between the list and the lookup: then it has no name. */
		name = libxl_domid_to_name(ctx->libxl, info[i].domid);
		if (!name || strncmp(name, prefix, plen) != 0) {
			free(name);
			name = NULL;
			continue;
		}
		list[count].domid = info[i].domid;
		list[count].name = name;
		list[count].paused = info[i].paused;
		list[count].shutdown = info[i].shutdown;
		list[count].dying = info[i].dying;
		list[count].crashed =
		    info[i].shutdown && info[i].shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH;
		name = NULL;
		count++;
	}
	*out = count ? list : NULL;
	*n = count;
	if (count)
		list = NULL;
	ret = 0;
out:
	xl_domain_list_free(list, count);
	if (info)
		libxl_dominfo_list_free(info, nb);
	return ret;
}
