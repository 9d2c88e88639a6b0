/*
 * xl_ctx.c - the libxenlight context and its logger.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "xl_priv.h"

static void logger_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                            const char *context, const char *format, va_list al)
    __attribute__((format(printf, 5, 0)));

static void logger_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                            const char *context, const char *format, va_list al)
{
	struct xl_logger *l = (struct xl_logger *)lg;
	char msg[sizeof(l->first_error)];
	int n;

	if (level < XTL_WARN && !l->verbose)
		return;
	n = vsnprintf(msg, sizeof(msg), format, al);
	if (n >= 0 && errnoval >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnoval));
	if (level >= XTL_ERROR) {
		/* libxl logs the cause first and its consequences after ("unable to add vif
		 * devices"): keep the first error since the call began. */
		if (!l->first_error[0])
			snprintf(l->first_error, sizeof(l->first_error), "%s", msg);
		xdebug("%s: %s", context ? context : "libxl", msg);
	} else if (level >= XTL_WARN) {
		xverbose("%s: %s", context ? context : "libxl", msg);
	} else {
		xdebug("%s: %s", context ? context : "libxl", msg);
	}
}

static void logger_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                            int percent, unsigned long done, unsigned long total)
{
	/* Progress (e.g. of a migration) is of no use to a VM's boot. */
}

static void logger_destroy(xentoollog_logger *lg)
{
	/* The logger is embedded in struct xl_domain_ctx: nothing to free. */
}

int xl_domain_open(struct xl_domain_ctx **out, int verbose, struct xerr *err)
{
	struct xl_domain_ctx *ctx = NULL;
	int rc, saved = 0, ret = -1;

	if (!out) {
		saved = EINVAL;
		xerr_set(err, "xl_domain_open: no result pointer");
		goto out;
	}
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		saved = errno;
		xerr_set(err, "xl_domain_open: %s", strerror(saved));
		goto out;
	}
	ctx->log.vtable.vmessage = logger_vmessage;
	ctx->log.vtable.progress = logger_progress;
	ctx->log.vtable.destroy = logger_destroy;
	ctx->log.verbose = verbose;

	rc = libxl_ctx_alloc(&ctx->libxl, LIBXL_VERSION, 0, &ctx->log.vtable);
	if (rc) {
		/* libxl gives no errno; the usual cause is not being in dom0 or not root. */
		saved = access("/dev/xen/privcmd", R_OK | W_OK) ? errno : EIO;
		xerr_set(err,
		         "cannot open libxenlight (%s)%s%s: is this dom0, as root, with xenstored?",
		         libxl_error_to_string(rc), ctx->log.first_error[0] ? ": " : "",
		         ctx->log.first_error);
		ctx->libxl = NULL;
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	ret = 0;
out:
	xl_domain_close(ctx);
	if (ret)
		errno = saved;
	return ret;
}

void xl_domain_close(struct xl_domain_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->libxl)
		libxl_ctx_free(ctx->libxl);
	free(ctx);
}

int xl_fail(struct xl_domain_ctx *ctx, struct xerr *err, int rc, const char *what)
{
	const char *name = libxl_error_to_string(rc);

	xerr_set(err, "%s: %s%s%s", what, name ? name : "libxl error",
	         ctx->log.first_error[0] ? ": " : "", ctx->log.first_error);
	ctx->log.first_error[0] = '\0';
	errno = EIO;
	return -1;
}

int xl_info(struct xl_domain_ctx *ctx, uint32_t domid, libxl_dominfo *info)
{
	libxl_dominfo_init(info);
	ctx->log.first_error[0] = '\0';
	return libxl_domain_info(ctx->libxl, info, domid);
}

uint64_t xl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void xl_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
