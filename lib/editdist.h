/*
 * editdist.h - bounded edit distance, for "did you mean" hints (internal to libxenvm).
 */
#ifndef XENVM_EDITDIST_H
#define XENVM_EDITDIST_H

#include <stddef.h>

/* The longest `b` xenvm_edit_distance() accepts (image names are at most 64 characters). */
#define XENVM_EDIT_MAX_LEN 128

/*
 * The edit distance between a and b (Levenshtein plus transposition of neighbours, each costing
 * 1), compared without regard to ASCII case, or bound + 1
 * when it is larger than `bound` (the computation stops early then).  b must be at most
 * XENVM_EDIT_MAX_LEN characters; a may be any length.  Uses no heap memory.
 * Returns the distance; (size_t)-1 with errno EINVAL if a or b is NULL or b is too long.
 */
size_t xenvm_edit_distance(const char *a, const char *b, size_t bound);

#endif
