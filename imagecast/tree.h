/*
 * tree.h - the broadcast trees every node computes identically from the job's ordered node list.
 *
 * Ranks are positions in the node list; rank 0 is the root (it reads the image store when it does
 * not hold the image).  Shapes (enum xenvm_cast_shape from config.h):
 *   pipelined-binomial  binomial tree, chunks forwarded as they arrive (default)
 *   pipelined-chain     0 -> 1 -> 2 -> ..., chunks forwarded as they arrive
 *   binomial            the ICS'06 paper's scheme: the same binomial tree, but a node forwards only
 *                       once it holds the whole image, to one child at a time, biggest subtree
 * first
 */
#ifndef IC_TREE_H
#define IC_TREE_H

#include <stddef.h>

#include "lib/config.h"

/*
 * two-tree (imagecast's own shape; xenvm.yaml's parser does not know it yet, the CLI does):
 * two binary trees over ranks 1..n-1, fed by rank 0 at both roots.  Even chunks travel down tree 0,
 * odd chunks down tree 1.  Tree 0 is an in-order tree whose interior nodes sit at odd positions;
 * tree 1 is the same tree with every position shifted by one, so a node interior in one tree is a
 * leaf in the other: no node sends more than the image's size, and the depth is
 * <= ceil(log2 n) + 1.  T is about S/B plus a fill of O(log n) chunk times (Sanders, Speck and
 * Traeff, "Two-tree algorithms for full bandwidth broadcast", 2009).
 */
#define IC_CAST_TWO_TREE XENVM_CAST_TWO_TREE

/* Parent of rank r in tree t (0 or 1) of the two-tree shape; -1 for rank 0; -2 + EINVAL. */
long ic_two_tree_parent(unsigned n, unsigned r, int t);
/* Children of r in tree t, as ic_tree_children.  Returns the count, or -1 with errno EINVAL. */
long ic_two_tree_children(unsigned n, unsigned r, int t, unsigned *out, size_t max);

/* Parent of rank r in a tree of n nodes; -1 for the root.  Returns -2 with errno EINVAL if r >= n.
 */
long ic_tree_parent(enum xenvm_cast_shape shape, unsigned n, unsigned r);

/*
 * Children of r written to out[0..max) in the order a whole-file sender serves them (biggest
 * subtree first).  Returns the number of children (which may exceed max: only max are written), or
 * -1 with errno EINVAL on a bad argument.
 */
long ic_tree_children(enum xenvm_cast_shape shape, unsigned n, unsigned r, unsigned *out,
                      size_t max);

/* Hops from the root to r (0 for the root), or -1 with errno EINVAL. */
long ic_tree_depth(enum xenvm_cast_shape shape, unsigned n, unsigned r);

/* Parse "pipelined-binomial" | "pipelined-chain" | "binomial" | "two-tree".  Returns 0, or -1 with
 * errno EINVAL.
 */
int ic_shape_parse(const char *s, enum xenvm_cast_shape *out);
/* The name ic_shape_parse() accepts, or "?" for a value out of range. */
const char *ic_shape_name(enum xenvm_cast_shape shape);

#endif
