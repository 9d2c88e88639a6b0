/*
 * units.h - sizes ("512M", "2G", "4096") and durations ("60s", "2m", "1h", "90").
 *
 * Sizes are binary (K = 1024).  A bare number is bytes for sizes, seconds for durations.
 * Both return 0, or -1 with errno EINVAL (syntax) or ERANGE (overflow).
 */
#ifndef XENVM_UNITS_H
#define XENVM_UNITS_H

#include <stddef.h>
#include <stdint.h>

int xenvm_parse_size(const char *s, uint64_t *bytes);
int xenvm_parse_duration(const char *s, uint32_t *seconds);
/* "512M", "2G", "1.5G" style, into buf; returns buf. */
char *xenvm_format_size(uint64_t bytes, char *buf, size_t len);

#endif
