/*
 * editdist.c - bounded edit distance (optimal string alignment: insertions, deletions,
 * substitutions and transpositions of neighbours each count 1), see editdist.h.
 */
#include "editdist.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

static int fold(char c)
{
	return tolower((unsigned char)c);
}

size_t xenvm_edit_distance(const char *a, const char *b, size_t bound)
{
	/* three rows of the DP matrix: i-2, i-1, i (rotated, no heap) */
	size_t rows[3][XENVM_EDIT_MAX_LEN + 1];
	size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
	size_t la, lb, prev_best = 0;

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
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t best, *t;

		cur[0] = i;
		best = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
			    fold(a[i - 2]) == fold(b[j - 1]) && pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
			if (cur[j] < best)
				best = cur[j];
		}
		/* a later row can only be lower than this one through a transposition from the
		 * previous row: once both rows exceed the bound, every later row does too */
		if (best > bound && prev_best > bound)
			return bound + 1;
		prev_best = best;
		t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb] > bound ? bound + 1 : prev[lb];
}
