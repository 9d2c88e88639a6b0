/* error.c - see error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static void __attribute__((format(printf, 2, 0)))
format(struct xerr *err, const char *fmt, va_list ap)
{
	int saved = errno;

	if (err)
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	errno = saved;
}

int xerr_set(struct xerr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(err, fmt, ap);
	va_end(ap);
	return -1;
}

int xerr_errno(struct xerr *err, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(err, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}
