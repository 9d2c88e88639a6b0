/*
 * test_imagecast_tree.c - broadcast trees: every node reached exactly once from the root, parents
 * and children agree, binomial depth <= ceil(log2 N), for every N up to 1024 and every shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "imagecast/tree.h"

#define NMAX 1024

static unsigned ceil_log2(unsigned n)
{
	unsigned l = 0;

	while ((1u << l) < n)
		l++;
	return l;
}

/* Walk the tree from the root through ic_tree_children; check reach, parents and depth. */
static void check_shape(enum xenvm_cast_shape shape)
{
	static unsigned seen[NMAX], queue[NMAX], kids[NMAX];

	for (unsigned n = 1; n <= NMAX; n++) {
		unsigned head = 0, tail = 0, maxdepth = 0;

		for (unsigned i = 0; i < n; i++)
			seen[i] = 0;
		queue[tail++] = 0;
		seen[0] = 1;
		assert_int_equal(ic_tree_parent(shape, n, 0), -1);
		while (head < tail) {
			unsigned r = queue[head++];
			long k = ic_tree_children(shape, n, r, kids, NMAX);
			long d = ic_tree_depth(shape, n, r);

			assert_true(k >= 0);
			assert_true(d >= 0);
			if ((unsigned)d > maxdepth)
				maxdepth = (unsigned)d;
			for (long i = 0; i < k; i++) {
				unsigned c = kids[i];

				assert_true(c < n);
				assert_int_equal(seen[c], 0); /* reached exactly once */
				seen[c] = 1;
				assert_int_equal(ic_tree_parent(shape, n, c), (long)r);
				assert_int_equal(ic_tree_depth(shape, n, c), d + 1);
				queue[tail++] = c;
			}
		}
		assert_int_equal(tail, n); /* every node reached */
		if (shape != XENVM_CAST_PIPELINED_CHAIN)
			assert_true(maxdepth <= ceil_log2(n));
		else
			assert_int_equal(maxdepth, n - 1);
	}
}

static void test_binomial(void **state)
{
	(void)state;
	check_shape(XENVM_CAST_PIPELINED_BINOMIAL);
}

static void test_whole_file_binomial(void **state)
{
	(void)state;
	check_shape(XENVM_CAST_BINOMIAL_WHOLE_FILE);
}

static void test_chain(void **state)
{
	(void)state;
	check_shape(XENVM_CAST_PIPELINED_CHAIN);
}

/* Whole-file senders serve the biggest subtree first: rank 1 heads {1,3,5,7} of 8. */
static void test_child_order(void **state)
{
	unsigned kids[16];

	(void)state;
	assert_int_equal(ic_tree_children(XENVM_CAST_BINOMIAL_WHOLE_FILE, 8, 0, kids, 16), 3);
	assert_int_equal(kids[0], 1);
	assert_int_equal(kids[1], 2);
	assert_int_equal(kids[2], 4);
	assert_int_equal(ic_tree_children(XENVM_CAST_PIPELINED_BINOMIAL, 8, 1, kids, 16), 2);
	assert_int_equal(kids[0], 3);
	assert_int_equal(kids[1], 5);
	assert_int_equal(ic_tree_children(XENVM_CAST_PIPELINED_BINOMIAL, 8, 7, kids, 16), 0);
	/* max smaller than the count: the count is still returned */
	assert_int_equal(ic_tree_children(XENVM_CAST_PIPELINED_BINOMIAL, 1024, 0, kids, 2), 10);
}

static void test_bad_args(void **state)
{
	enum xenvm_cast_shape s;
	unsigned kids[4];

	(void)state;
	assert_int_equal(ic_tree_parent(XENVM_CAST_PIPELINED_CHAIN, 4, 4), -2);
	assert_int_equal(ic_tree_children(XENVM_CAST_PIPELINED_CHAIN, 0, 0, kids, 4), -1);
	assert_int_equal(ic_tree_depth((enum xenvm_cast_shape)9, 4, 0), -1);
	assert_int_equal(ic_shape_parse("pipelined-chain", &s), 0);
	assert_int_equal(s, XENVM_CAST_PIPELINED_CHAIN);
	assert_int_equal(ic_shape_parse("binomial", &s), 0);
	assert_int_equal(s, XENVM_CAST_BINOMIAL_WHOLE_FILE);
	assert_int_equal(ic_shape_parse("star", &s), -1);
	assert_string_equal(ic_shape_name(XENVM_CAST_PIPELINED_BINOMIAL), "pipelined-binomial");
}

/*
 * two-tree: each tree reaches every node exactly once; no node has more than two children over
 * both trees together (it sends at most the image's size); depth <= ceil(log2 N) + 1.
 */
static void test_two_tree(void **state)
{
	static unsigned seen[NMAX], queue[NMAX], depth[NMAX], kids[NMAX];
	static long sent[NMAX];

	(void)state;
	for (unsigned n = 1; n <= NMAX; n++) {
		for (unsigned i = 0; i < n; i++)
			sent[i] = 0;
		for (int t = 0; t < 2; t++) {
			unsigned head = 0, tail = 0;

			for (unsigned i = 0; i < n; i++)
				seen[i] = 0;
			queue[tail++] = 0;
			seen[0] = 1;
			depth[0] = 0;
			assert_int_equal(ic_two_tree_parent(n, 0, t), -1);
			while (head < tail) {
				unsigned r = queue[head++];
				long k = ic_two_tree_children(n, r, t, kids, NMAX);

				assert_true(k >= 0 && k <= 2);
				sent[r] += k;
				for (long i = 0; i < k; i++) {
					unsigned c = kids[i];

					assert_true(c > 0 && c < n);
					assert_int_equal(seen[c], 0);
					seen[c] = 1;
					assert_int_equal(ic_two_tree_parent(n, c, t), (long)r);
					depth[c] = depth[r] + 1;
					assert_true(depth[c] <= ceil_log2(n) + 1);
					queue[tail++] = c;
				}
			}
			assert_int_equal(tail, n);
		}
		/* Half the image per child: at most two children in all, except the root. */
		for (unsigned r = 1; r < n; r++)
			assert_true(sent[r] <= 2);
	}
	assert_int_equal(ic_two_tree_parent(4, 4, 0), -2);
	assert_int_equal(ic_two_tree_children(4, 1, 2, kids, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_binomial), cmocka_unit_test(test_whole_file_binomial),
	    cmocka_unit_test(test_chain),    cmocka_unit_test(test_child_order),
	    cmocka_unit_test(test_bad_args), cmocka_unit_test(test_two_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
