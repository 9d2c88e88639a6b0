/*
 * hosts.h - node lists: Slurm hostlist expressions ("node[01-16],login") to ordered arrays.
 */
#ifndef IC_HOSTS_H
#define IC_HOSTS_H

#include <stddef.h>

#include "error.h"

#define IC_MAX_NODES 65536

/*
 * Expand a Slurm hostlist expression in order (duplicates are an error: a node would be in the
 * tree twice).  Returns the count and *out (free with ic_hosts_free), or -1 with err (errno
 * EINVAL).
 */
long ic_hosts_expand(const char *expr, char ***out, struct xerr *err);
void ic_hosts_free(char **hosts, size_t n);

#endif
