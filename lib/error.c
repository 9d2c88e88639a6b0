/* error.c - see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int xerr_set(struct xerr *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
