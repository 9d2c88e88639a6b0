/*
 * nodelist.h - a job's node list ("node[1-4,7]") expanded through libslurm's hostlist API.
 *
 * Order is Slurm's order, which every node of a job sees identically; imagecast builds its
 * broadcast tree from it.
 */
#ifndef XENVM_NODELIST_H
#define XENVM_NODELIST_H

#include <stddef.h>

#include "error.h"

struct xenvm_nodelist {
	char **names;
	size_t n;
};

/*
 * Expand `expr`.  Returns 0 and fills *out (release with xenvm_nodelist_free), or -1 with err
 * filled ("SLURM_NODELIST: 'node[1-' is not a valid node list") and errno EINVAL/ENOMEM.
 * `what` names the source of `expr` for the message.
 */
int xenvm_nodelist_expand(const char *what, const char *expr, struct xenvm_nodelist *out,
                          struct xerr *err);
/* Index of `name` in the list, or -1. */
long xenvm_nodelist_index(const struct xenvm_nodelist *nl, const char *name);
void xenvm_nodelist_free(struct xenvm_nodelist *nl);

#endif
