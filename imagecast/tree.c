/*
 * tree.c - broadcast tree shapes.  Pure functions of (shape, n, rank), so that every daemon of a job
 * derives the same tree from the same node list without talking to the others.
 */
#include <errno.h>
#include <string.h>

#include "tree.h"

/* Highest power of two <= r (r > 0). */
static unsigned high_bit(unsigned r)
{
	unsigned b = 1;

	while (b <= r / 2)
		b <<= 1;
	return b;
}

static int shape_ok(enum xenvm_cast_shape shape)
{
	return shape == XENVM_CAST_PIPELINED_BINOMIAL || shape == XENVM_CAST_PIPELINED_CHAIN ||
	       shape == XENVM_CAST_BINOMIAL_WHOLE_FILE;
}

long ic_tree_parent(enum xenvm_cast_shape shape, unsigned n, unsigned r)
{
	if (!shape_ok(shape) || r >= n) {
		errno = EINVAL;
		return -2;
	}
	if (r == 0)
		return -1;
	if (shape == XENVM_CAST_PIPELINED_CHAIN)
		return (long)r - 1;
	/* Binomial: clearing the highest set bit gives the node that sent to r. */
	return (long)(r - high_bit(r));
}

long ic_tree_children(enum xenvm_cast_shape shape, unsigned n, unsigned r, unsigned *out, size_t max)
{
	long count = 0;

	if (!shape_ok(shape) || r >= n || (!out && max)) {
		errno = EINVAL;
		return -1;
	}
	if (shape == XENVM_CAST_PIPELINED_CHAIN) {
		if (r + 1 < n) {
			if (max)
				out[0] = r + 1;
			count = 1;
		}
		return count;
	}
	/*
	 * Binomial: r's children are r + 2^k for every 2^k above r's highest bit.  The child with the
	 * largest k heads the biggest subtree, so it comes first.
	 */
	unsigned step = r == 0 ? 1 : high_bit(r) << 1, top = 0;

	for (unsigned s = step; s != 0 && s < n && r + s < n; s <<= 1)
		top = s;
	for (unsigned s = top; s >= step && s != 0; s >>= 1) {
		if ((size_t)count < max)
			out[count] = r + s;
		count++;
	}
	return count;
}

long ic_tree_depth(enum xenvm_cast_shape shape, unsigned n, unsigned r)
{
	long d = 0, p;

	if (!shape_ok(shape) || r >= n) {
		errno = EINVAL;
		return -1;
	}
	for (p = r; p > 0; d++)
		p = ic_tree_parent(shape, n, (unsigned)p);
	return d;
}

static const char *const shape_names[] = {
	[XENVM_CAST_PIPELINED_BINOMIAL] = "pipelined-binomial",
	[XENVM_CAST_PIPELINED_CHAIN] = "pipelined-chain",
	[XENVM_CAST_BINOMIAL_WHOLE_FILE] = "binomial",
};

int ic_shape_parse(const char *s, enum xenvm_cast_shape *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < sizeof(shape_names) / sizeof(shape_names[0]); i++) {
		if (strcmp(s, shape_names[i]) == 0) {
			*out = (enum xenvm_cast_shape)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

const char *ic_shape_name(enum xenvm_cast_shape shape)
{
	return shape_ok(shape) ? shape_names[shape] : "?";
}
