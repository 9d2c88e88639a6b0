/* editdist.c - bounded Levenshtein distance, see editdist.h. */
#include "editdist.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

size_t xenvm_edit_distance(const char *a, const char *b, size_t bound)
{
	size_t row[XENVM_EDIT_MAX_LEN + 1];
	size_t la, lb;

	if (!a || !b) {
		errno = EINVAL;
		return (size_t)-1;
	}
	la = strlen(a);
	lb = strlen(b);
	if (lb > XENVM_EDIT_MAX_LEN) {
		errno = EINVAL;
		return (size_t)-1;
	}
	if ((la > lb ? la - lb : lb - la) > bound)
		return bound + 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best;
		int ca = tolower((unsigned char)a[i - 1]);

		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = ca == tolower((unsigned char)b[j - 1]) ? 0 : 1;

			row[j] = min3(up + 1, row[j - 1] + 1, diag + cost);
			diag = up;
			if (row[j] < best)
				best = row[j];
		}
		if (best > bound) /* every later row is at least this large */
			return bound + 1;
	}
	return row[lb] > bound ? bound + 1 : row[lb];
}
