/*
 * hosts.c - hostlist expansion through libslurm (the same grammar users give srun).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>

#include "hosts.h"

void ic_hosts_free(char **hosts, size_t n)
{
	if (!hosts)
		return;
	for (size_t i = 0; i < n; i++)
		free(hosts[i]);
	free(hosts);
}

long ic_hosts_expand(const char *expr, char ***out, struct xerr *err)
{
	hostlist_t hl = NULL;
	char **v = NULL, *h;
	size_t n = 0, cap = 0;
	long rc = -1;

	if (!expr || !*expr || !out) {
		errno = EINVAL;
		return xerr_set(err, "empty node list");
	}
	hl = slurm_hostlist_create(expr);
	if (!hl) {
		errno = EINVAL;
		return xerr_set(err, "invalid node list '%s'", expr);
	}
	while ((h = slurm_hostlist_shift(hl)) != NULL) {
		char *copy = strdup(h);

		/* slurm_hostlist_shift's result is malloc'd by libslurm's allocator. */
		free(h);
		if (!copy)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i], copy) == 0) {
				errno = EINVAL;
				xerr_set(err, "node %s appears twice in '%s'", copy, expr);
				free(copy);
				goto out;
			}
		if (n == cap) {
			char **grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(copy);
				goto nomem;
			}
			v = grown;
		}
		v[n++] = copy;
		if (n > IC_MAX_NODES) {
			errno = EINVAL;
			xerr_set(err, "more than %d nodes in '%s'", IC_MAX_NODES, expr);
			goto out;
		}
	}
	if (n == 0) {
		errno = EINVAL;
		xerr_set(err, "empty node list '%s'", expr);
		goto out;
	}
	*out = v;
	v = NULL;
	rc = (long)n;
	goto out;
nomem:
	errno = ENOMEM;
	xerr_set(err, "out of memory");
out:
	ic_hosts_free(v, v ? n : 0);
	slurm_hostlist_destroy(hl);
	return rc;
}
