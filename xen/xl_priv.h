/*
 * xl_priv.h - what the files of xen/ share: the libxenlight API level and the context.
 * Not for users of xl_domain.h.
 */
#ifndef XENVM_XL_PRIV_H
#define XENVM_XL_PRIV_H

/* Pin the libxenlight API we are written against: newer libxl keeps this API for us. */
#define LIBXL_API_VERSION 0x041300

#include <stdint.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xentoollog.h>

#include "xl_domain.h"

/* Needed: kernel/ramdisk/cmdline in build_info (not u.pv) and ERROR_DOMAIN_NOTFOUND. */
#ifndef LIBXL_HAVE_BUILDINFO_KERNEL
#error "libxenlight too old: LIBXL_HAVE_BUILDINFO_KERNEL is required (Xen >= 4.10)"
#endif
#ifndef LIBXL_HAVE_ERROR_DOMAIN_NOTFOUND
#error "libxenlight too old: LIBXL_HAVE_ERROR_DOMAIN_NOTFOUND is required"
#endif

/* A xentoollog logger that forwards to lib/log.h and keeps the first error line since a call
 * began (callers clear it), so that a failure is reported with libxenlight's own reason. */
struct xl_logger {
	xentoollog_logger vtable; /* first: libxenlight sees a xentoollog_logger * */
	int verbose;
	char first_error[512];
};

struct xl_domain_ctx {
	libxl_ctx *libxl;
	struct xl_logger log;
};

/* Set err from a failed libxenlight call: "<what>: <libxl error name>: <first libxl error>".
 * Returns -1 with errno EIO so callers can `return xl_fail(...)`. */
int xl_fail(struct xl_domain_ctx *ctx, struct xerr *err, int rc, const char *what);

/* libxl_domain_info() into *info (initialised here; caller disposes).  Returns libxl's rc:
 * 0, ERROR_DOMAIN_NOTFOUND, or another ERROR_*. */
int xl_info(struct xl_domain_ctx *ctx, uint32_t domid, libxl_dominfo *info);

/* Monotonic milliseconds, and a sleep that resumes after signals. */
uint64_t xl_now_ms(void);
void xl_sleep_ms(unsigned int ms);

#endif
