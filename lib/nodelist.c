/* nodelist.c - see nodelist.h. */
#include "nodelist.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>

/* A job never spans more nodes than this; a larger expansion is an input error, not a job. */
#define XENVM_NODELIST_MAX 65536

int xenvm_nodelist_expand(const char *what, const char *expr, struct xenvm_nodelist *out,
                          struct xerr *err)
{
	hostlist_t hl = NULL;
	char *host = NULL;
	char **names = NULL;
	size_t n = 0;
	int count, rc = -1;

	if (!what || !out)
		return xerr_errno(err, EINVAL,
		                  "internal error: bad arguments to xenvm_nodelist_expand");
	out->names = NULL;
	out->n = 0;
	if (!expr || !*expr)
		return xerr_errno(err, EINVAL, "%s: the node list is empty", what);
	/* hostlist_create accepts some garbage leniently; reject characters no node name has. */
	if (strpbrk(expr, " \t\n\"'`$;|&<>()*?{}\\"))
		return xerr_errno(err, EINVAL, "%s: '%.200s' is not a valid node list", what, expr);
	hl = slurm_hostlist_create(expr);
	if (!hl) {
		errno = EINVAL;
		xerr_set(err, "%s: '%.200s' is not a valid node list", what, expr);
		goto out;
	}
	count = slurm_hostlist_count(hl);
	if (count <= 0 || count > XENVM_NODELIST_MAX) {
		errno = EINVAL;
		xerr_set(err, "%s: '%.200s' names %d nodes (1 to %d allowed)", what, expr, count,
		         XENVM_NODELIST_MAX);
		goto out;
	}
	names = calloc((size_t)count, sizeof(*names));
	if (!names) {
		xerr_set(err, "%s: out of memory", what);
		goto out;
	}
	while ((host = slurm_hostlist_shift(hl))) {
		if ((int)n == count || !*host) {
			errno = EINVAL;
			xerr_set(err, "%s: '%.200s' is not a valid node list", what, expr);
			goto out;
		}
		names[n] = strdup(host);
		free(host); /* hostlist_shift returns malloc()ed memory */
		host = NULL;
		if (!names[n]) {
			xerr_set(err, "%s: out of memory", what);
			goto out;
		}
		n++;
	}
	if ((int)n != count) {
		errno = EINVAL;
		xerr_set(err, "%s: '%.200s' is not a valid node list", what, expr);
		goto out;
	}
	out->names = names;
	out->n = n;
	names = NULL;
	rc = 0;
out:
	free(host);
	if (names) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (hl)
		slurm_hostlist_destroy(hl);
	return rc;
}

long xenvm_nodelist_index(const struct xenvm_nodelist *nl, const char *name)
{
	if (!nl || !name)
		return -1;
	for (size_t i = 0; i < nl->n; i++)
		if (strcmp(nl->names[i], name) == 0)
			return (long)i;
	return -1;
}

void xenvm_nodelist_free(struct xenvm_nodelist *nl)
{
	if (!nl)
		return;
	for (size_t i = 0; i < nl->n; i++)
		free(nl->names[i]);
	free(nl->names);
	nl->names = NULL;
	nl->n = 0;
}
