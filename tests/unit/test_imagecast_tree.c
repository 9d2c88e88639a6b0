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

#include "tree.h"

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

/* Whole-file senders serve the biggest subtree first: children in decreasing distance. */
static void test_child_order(void **state)
{
	unsigned kids[16];

	(void)state;
	assert_int_equal(ic_tree_children(XENVM_CAST_BINOMIAL_WHOLE_FILE, 8, 0, kids, 16), 3);
	assert_int_equal(kids[0], 4);
	assert_int_equal(kids[1], 2);
	assert_int_equal(kids[2], 1);
	assert_int_equal(ic_tree_children(XENVM_CAST_PIPELINED_BINOMIAL, 8, 1, kids, 16), 2);
	assert_int_equal(kids[0], 5);
	assert_int_equal(kids[1], 3);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binomial),    cmocka_unit_test(test_whole_file_binomial),
		cmocka_unit_test(test_chain),	    cmocka_unit_test(test_child_order),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
