/*
 * units.h - sizes ("512M", "2G", "4096") and durations ("60s", "2m", "1h", "90").
 *
 * Sizes are binary (K = 1024).  A bare number is bytes for sizes, seconds for durations.
 * Both return 0, or -1 with errno EINVAL (syntax) or ERANGE (overflow).
 *
 * Size:     DIGITS [. DIGITS] [K|M|G|T|P [B|iB] | B], the letter in either case; a fraction must
 *           give a whole number of bytes ("1.5G" yes, "1.1K" no); "2GB" = "2GiB" = 2 * 2^30.
 * Duration: DIGITS [s|m|h|d]; one unit only ("1h30m" is EINVAL).
 * No sign, no white space; an empty string is EINVAL.
 */
#ifndef XENVM_UNITS_H
#define XENVM_UNITS_H

#include <stddef.h>
#include <stdint.h>

int xenvm_parse_size(const char *s, uint64_t *bytes);
int xenvm_parse_duration(const char *s, uint32_t *seconds);
/*
 * "512M", "2G", "1.5G" style (the largest unit giving a whole number or one exact decimal, else
 * plain bytes), so that xenvm_parse_size() reads back the same value; into buf, truncated like
 * snprintf.  Returns buf, or NULL with errno EINVAL if buf is NULL or len is 0.
 */
char *xenvm_format_size(uint64_t bytes, char *buf, size_t len);

#endif
