/*
 * tree.h - the broadcast trees every node computes identically from the job's ordered node list.
 *
 * Ranks are positions in the node list; rank 0 is the root (it reads the image store when it does
 * not hold the image).  Shapes (enum xenvm_cast_shape from config.h):
 *   pipelined-binomial  binomial tree, chunks forwarded as they arrive (default)
 *   pipelined-chain     0 -> 1 -> 2 -> ..., chunks forwarded as they arrive
 *   binomial            the ICS'06 paper's scheme: the same binomial tree, but a node forwards only
 *                       once it holds the whole image, to one child at a time, biggest subtree first
 */
#ifndef IC_TREE_H
#define IC_TREE_H

#include <stddef.h>

#include "config.h"

/* Parent of rank r in a tree of n nodes; -1 for the root.  Returns -2 with errno EINVAL if r >= n. */
long ic_tree_parent(enum xenvm_cast_shape shape, unsigned n, unsigned r);

/*
 * Children of r written to out[0..max) in the order a whole-file sender serves them (biggest subtree
 * first).  Returns the number of children (which may exceed max: only max are written), or
 * -1 with errno EINVAL on a bad argument.
 */
long ic_tree_children(enum xenvm_cast_shape shape, unsigned n, unsigned r, unsigned *out, size_t max);

/* Hops from the root to r (0 for the root), or -1 with errno EINVAL. */
long ic_tree_depth(enum xenvm_cast_shape shape, unsigned n, unsigned r);

/* Parse "pipelined-binomial" | "pipelined-chain" | "binomial".  Returns 0, or -1 with errno EINVAL. */
int ic_shape_parse(const char *s, enum xenvm_cast_shape *out);
/* The name ic_shape_parse() accepts, or "?" for a value out of range. */
const char *ic_shape_name(enum xenvm_cast_shape shape);

#endif
