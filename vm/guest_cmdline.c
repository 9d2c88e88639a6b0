/*
 * guest_cmdline.c - the guest kernel's command line (see guest_cmdline.h).
 */
#include "vm/guest_cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A value the host puts in one parameter: printable ASCII without a space (a new parameter
 * would start) or a comma (the 9p list's separator).  NULL is fine (not passed).
 */
static bool word_ok(const char *v)
{
	if (!v)
		return true;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || (unsigned char)*v > 0x7e || *v == ',')
			return false;
	return true;
}

/*
 * Check the image's line (printable ASCII: lib/catalog.c checks it too, but the spec may come
 * from elsewhere) and what the host adds.  0, or -1 with errno EINVAL and err.
 */
static int check_words(const struct xvm_spec *s, struct xerr *err)
{
	const char *const words[] = {s->hostname, s->ip_cidr, s->gateway};
	static const char *const names[] = {"hostname", "address", "gateway"};
	const char *what = NULL, *bad = NULL;

	for (const char *c = s->cmdline; c && *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
			errno = EINVAL;
			return xerr_set(err,
			                "the image's kernel command line has a control character "
			                "(byte %zu is 0x%02x)",
			                (size_t)(c - s->cmdline) + 1, (unsigned char)*c);
		}
	for (size_t i = 0; !what && i < 3; i++)
		if (!word_ok(words[i])) {
			what = names[i];
			bad = words[i];
		}
	for (size_t i = 0; !what && i < s->n_shares && i < XVM_MAX_SHARES; i++)
		if (!word_ok(s->shares[i].guest_path)) {
			what = "shared directory";
			bad = s->shares[i].guest_path;
		}
	if (!what)
		return 0;
	errno = EINVAL;
	return xerr_set(err,
	                "%s '%.200s' has a space, comma or control character: it cannot go on "
	                "the guest kernel's command line",
	                what, bad);
}

char *xvm_guest_cmdline(const struct xvm_spec *s, const char *driver_args, struct xerr *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int saved;

	if (check_words(s, err) < 0)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		goto nomem;
	fprintf(f, "%s quiet panic=-1 %s xenvm.hostname=%s", s->cmdline ? s->cmdline : "",
	        driver_args, s->hostname ? s->hostname : s->name);
	if (s->ip_cidr)
		fprintf(f, " xenvm.ip=%s", s->ip_cidr);
	if (s->gateway)
		fprintf(f, " xenvm.gw=%s", s->gateway);
	/* 9p tags xs<i>: qemu's mount_tag and xen's 9pfs tag; the image's init mounts them */
	for (size_t i = 0; i < s->n_shares; i++)
		fprintf(f, "%sxs%zu@%s", i ? "," : " xenvm.9p=", i, s->shares[i].guest_path);
	if (ferror(f)) {
		fclose(f);
		goto nomem;
	}
	if (fclose(f) != 0)
		goto nomem;
	if (len >= XVM_CMDLINE_MAX) {
		free(buf);
		errno = E2BIG;
		xerr_set(
		    err,
		    "the guest kernel's command line would be %zu bytes, Linux takes at most %d "
		    "(the image's cmdline is %zu of them)",
		    len, XVM_CMDLINE_MAX - 1, s->cmdline ? strlen(s->cmdline) : (size_t)0);
		return NULL;
	}
	return buf;
nomem:
	saved = errno ? errno : ENOMEM;
	free(buf);
	errno = saved;
	xerr_set(err, "kernel command line: %s", strerror(saved));
	return NULL;
}
