/*
 * util.h - small helpers shared by the daemon and the CLI.
 */
#ifndef IC_UTIL_H
#define IC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* "4M", "512K", "2G", "4096" (binary units).  Returns 0, or -1 with errno EINVAL/ERANGE. */
int ic_parse_size(const char *s, uint64_t *out);
/* Monotonic seconds. */
double ic_now(void);
/* "12.3 MiB" into buf; returns buf. */
char *ic_fmt_bytes(double bytes, char *buf, size_t len);

#endif
