/*
 * units.c - sizes and durations, see units.h.
 *
 * Size syntax:     DIGITS [ "." DIGITS ] [ K|M|G|T|P [ "B" | "iB" ] | "B" ]
 *                  (suffix letters in either case; all multiples are binary: 1K = 1024).
 *                  A fraction is allowed only when the result is a whole number of bytes
 *                  ("1.5G" and "0.5K" are fine, "1.1K" is not).
 * Duration syntax: DIGITS [ s|m|h|d ]   (a bare number is seconds).
 * No sign, no white space, no empty string.
 */
#include "units.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* At most this many fraction digits: 10^18 still fits a uint64_t. */
#define MAX_FRAC_DIGITS 18

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parse a run of decimal digits at *sp into *out and advance *sp.
 * Returns 0, or -1 with errno EINVAL (no digit) or ERANGE (does not fit a uint64_t).
 */
static int parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!is_digit(*s)) {
		errno = EINVAL;
		return -1;
	}
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			/* keep scanning so a later syntax error still wins over ERANGE */
			while (is_digit(*s))
				s++;
			*sp = s;
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

/* The binary multiplier for a size suffix letter, or 0 if `c` is not one. */
static uint64_t size_multiplier(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return UINT64_C(1) << 10;
	case 'm':
	case 'M':
		return UINT64_C(1) << 20;
	case 'g':
	case 'G':
		return UINT64_C(1) << 30;
	case 't':
	case 'T':
		return UINT64_C(1) << 40;
	case 'p':
	case 'P':
		return UINT64_C(1) << 50;
	default:
		return 0;
	}
}

/*
 * Returns 0 and sets *bytes, or -1 with errno EINVAL (NULL argument, empty, sign, garbage,
 * a fraction that is not a whole number of bytes) or ERANGE (larger than UINT64_MAX).
 */
int xenvm_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t whole = 0, frac = 0, frac_scale = 1, mult = 1;
	bool overflow = false, have_frac = false;
	unsigned __int128 total;

	if (!s || !bytes) {
		errno = EINVAL;
		return -1;
	}
	if (parse_digits(&s, &whole) < 0) {
		if (errno != ERANGE)
			return -1;
		overflow = true;
	}
	if (*s == '.') {
		const char *f = ++s;

		have_frac = true;
		for (; is_digit(*s); s++) {
			if (s - f >= MAX_FRAC_DIGITS) {
				errno = EINVAL;
				return -1;
			}
			frac = frac * 10 + (uint64_t)(*s - '0');
			frac_scale *= 10;
		}
		if (s == f) { /* "1." or "1.G" */
			errno = EINVAL;
			return -1;
		}
	}
	if (*s) {
		uint64_t m = size_multiplier(*s);

		if (m) {
			mult = m;
			s++;
			if (*s == 'i' && s[1] == 'B')
				s += 2;
			else if (*s == 'B')
				s++;
		} else if (*s == 'B') {
			s++;
		}
	}
	if (*s) {
		errno = EINVAL;
		return -1;
	}
	if (overflow) {
		errno = ERANGE;
		return -1;
	}
	total = (unsigned __int128)whole * mult;
	if (have_frac) {
		unsigned __int128 part = (unsigned __int128)frac * mult;

		if (part % frac_scale != 0) { /* not a whole number of bytes */
			errno = EINVAL;
			return -1;
		}
		total += part / frac_scale;
	}
	if (total > UINT64_MAX) {
		errno = ERANGE;
		return -1;
	}
	*bytes = (uint64_t)total;
	return 0;
}

/*
 * Returns 0 and sets *seconds, or -1 with errno EINVAL (NULL argument, empty, sign, garbage, an
 * unknown unit) or ERANGE (more than UINT32_MAX seconds).
 */
int xenvm_parse_duration(const char *s, uint32_t *seconds)
{
	uint64_t v = 0, mult = 1;
	bool overflow = false;

	if (!s || !seconds) {
		errno = EINVAL;
		return -1;
	}
	if (parse_digits(&s, &v) < 0) {
		if (errno != ERANGE)
			return -1;
		overflow = true;
	}
	switch (*s) {
	case '\0':
		break;
	case 's':
		s++;
		break;
	case 'm':
		mult = 60;
		s++;
		break;
	case 'h':
		mult = 3600;
		s++;
		break;
	case 'd':
		mult = 86400;
		s++;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (*s) {
		errno = EINVAL;
		return -1;
	}
	if (overflow || v > UINT32_MAX / mult) {
		errno = ERANGE;
		return -1;
	}
	*seconds = (uint32_t)(v * mult);
	return 0;
}

/*
 * The shortest exact form: the largest unit that gives a whole number or one decimal
 * ("512M", "1.5G", "1536K", "1000"), so xenvm_parse_size() gives `bytes` back.
 * Returns buf (possibly truncated to len - 1 characters, like snprintf); NULL with errno EINVAL
 * when buf is NULL or len is 0.
 */
char *xenvm_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "PTGMK";

	if (!buf || !len) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; units[i]; i++) {
		uint64_t unit = size_multiplier(units[i]);
		uint64_t rem = bytes % unit;

		if (bytes < unit)
			continue;
		if (rem == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / unit), units[i]);
			return buf;
		}
		if (rem * 10 % unit == 0) {
			snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(bytes / unit),
			         (unsigned long long)(rem * 10 / unit), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}
