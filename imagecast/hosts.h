/*
 * hosts.h - node lists: Slurm hostlist expressions ("node[01-16],login") to ordered arrays.
 */
#ifndef IC_HOSTS_H
#define IC_HOSTS_H

#include <stddef.h>

#include "lib/error.h"

#define IC_MAX_NODES 65536

/*
 * Expand a Slurm hostlist expression in order (duplicates are an error: a node would be in the
 * tree twice; so are more than IC_MAX_NODES names, and names that are empty or hold white space
 * or control characters, which libslurm lets through).  Returns the count and *out (free with
 * ic_hosts_free), or -1 with err (errno EINVAL, ENOMEM).
 */
long ic_hosts_expand(const char *expr, char ***out, struct xerr *err);
void ic_hosts_free(char **hosts, size_t n);

/*
 * A name that is in hosts[0..n) more than once, found in O(n log n) (a list has up to
 * IC_MAX_NODES names, and comes from peers in fetch requests).  Returns 1 with *dup pointing at
 * it, 0 if all names differ, or -1 with errno ENOMEM.
 */
int ic_hosts_dup(char *const *hosts, size_t n, const char **dup);

#endif
