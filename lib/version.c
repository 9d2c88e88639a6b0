/* version.c - see version.h; the order is dpkg's verrevcmp() on one version part. */
#include "version.h"

#include <stddef.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A non-digit character's weight: '~' lowest, then the end, letters, other characters. */
static int weight(char c)
{
	if (is_digit(c))
		return 0;
	if (is_alpha(c))
		return (unsigned char)c;
	if (c == '~')
		return -1;
	if (c)
		return (unsigned char)c + 256;
	return 0;
}

int xenvm_version_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
			int wa = weight(*a), wb = weight(*b);

			if (wa != wb)
				return wa < wb ? -1 : 1;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (is_digit(*a) && is_digit(*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (is_digit(*a))
			return 1;
		if (is_digit(*b))
			return -1;
		if (first_diff)
			return first_diff < 0 ? -1 : 1;
	}
	return 0;
}
