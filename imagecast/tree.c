/*
 * tree.c - broadcast tree shapes.  Pure functions of (shape, n, rank), so that every daemon of a
 * job derives the same tree from the same node list without talking to the others.
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
	       shape == XENVM_CAST_BINOMIAL_WHOLE_FILE || shape == IC_CAST_TWO_TREE;
}

/*
 * The root position of the in-order subtree over positions [lo, hi): lo + 2^k - 1 for the largest
 * 2^k <= hi - lo.  The left subtree is then perfect, every interval starts at an even position,
 * and so interior nodes sit exactly at odd positions and leaves at even ones.
 */
static unsigned io_root(unsigned lo, unsigned hi)
{
	unsigned k = 1;

	while (k <= (hi - lo) / 2)
		k <<= 1;
	return lo + k - 1;
}

/*
 * Find position p in the in-order tree over [0, m): its parent position (-1 at the top) and its
 * interval [*lo, *hi).
 */
static long io_find(unsigned m, unsigned p, unsigned *lo, unsigned *hi)
{
	long parent = -1;

	*lo = 0;
	*hi = m;
	for (;;) {
		unsigned mid = io_root(*lo, *hi);

		if (p == mid)
			return parent;
		parent = mid;
		if (p < mid)
			*hi = mid;
		else
			*lo = mid + 1;
	}
}

/* Position of rank r (>= 1) in tree t, and back. */
static unsigned tt_pos(unsigned m, unsigned r, int t)
{
	return t ? r % m : r - 1; /* tree 1: position shifted by one, cyclically */
}

static unsigned tt_rank(unsigned m, unsigned p, int t)
{
	return t ? (p + m - 1) % m + 1 : p + 1;
}

long ic_two_tree_parent(unsigned n, unsigned r, int t)
{
	unsigned lo, hi;
	long pp;

	if (r >= n || (t != 0 && t != 1)) {
		errno = EINVAL;
		return -2;
	}
	if (r == 0)
		return -1;
	pp = io_find(n - 1, tt_pos(n - 1, r, t), &lo, &hi);
	return pp < 0 ? 0 : (long)tt_rank(n - 1, (unsigned)pp, t);
}

long ic_two_tree_children(unsigned n, unsigned r, int t, unsigned *out, size_t max)
{
	unsigned lo, hi, kids[2], mid;
	long count = 0;

	if (r >= n || (t != 0 && t != 1) || (!out && max)) {
		errno = EINVAL;
		return -1;
	}
	if (n == 1)
		return 0;
	if (r == 0) {
		kids[count++] = tt_rank(n - 1, io_root(0, n - 1), t);
	} else {
		(void)io_find(n - 1, tt_pos(n - 1, r, t), &lo, &hi);
		mid = io_root(lo, hi);
		if (lo < mid)
			kids[count++] = tt_rank(n - 1, io_root(lo, mid), t);
		if (mid + 1 < hi)
			kids[count++] = tt_rank(n - 1, io_root(mid + 1, hi), t);
	}
	for (long i = 0; i < count && (size_t)i < max; i++)
		out[i] = kids[i];
	return count;
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
	if (shape == IC_CAST_TWO_TREE)
		return ic_two_tree_parent(n, r, 0);
	/* Binomial: clearing the highest set bit gives the node that sent to r. */
	return (long)(r - high_bit(r));
}

long ic_tree_children(enum xenvm_cast_shape shape, unsigned n, unsigned r, unsigned *out,
                      size_t max)
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
	if (shape == IC_CAST_TWO_TREE)
		return ic_two_tree_children(n, r, 0, out, max);
	/*
	 * Binomial: r's children are r + 2^k for every 2^k above r's highest bit.  Child r + 2^k
	 * has children of its own only at offsets above 2^k, so the smallest offset heads the
	 * biggest subtree: it comes first (a whole-file sender serves it first).
	 */
	unsigned step = r == 0 ? 1 : high_bit(r) << 1;

	for (unsigned s = step; s != 0 && s < n && r + s < n; s <<= 1) {
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
    [IC_CAST_TWO_TREE] = "two-tree",
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
