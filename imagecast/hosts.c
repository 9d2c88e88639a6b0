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

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ic_hosts_dup(char *const *hosts, size_t n, const char **dup)
{
	const char **sorted;
	int rc = 0;

	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(sorted, hosts, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			*dup = sorted[i];
			rc = 1;
			break;
		}
	free(sorted);
	return rc;
}

/*
 * A node name is a host name and a line of its own in a fetch request (spec.h): not empty, no
 * white space or control character.  libslurm's hostlist yields "" for "a,[" and keeps newlines.
 */
static int valid_host(const char *h)
{
	if (!*h)
		return 0;
	for (; *h; h++)
		if ((unsigned char)*h <= ' ' || *h == 0x7f)
			return 0;
	return 1;
}

long ic_hosts_expand(const char *expr, char ***out, struct xerr *err)
{
	hostlist_t hl = NULL;
	char **v = NULL, *h;
	const char *dup;
	size_t n = 0, cap = 0;
	long rc = -1;
	int dups;

	if (!expr || !*expr || !out) {
		return xerr_errno(err, EINVAL, "empty node list");
	}
	hl = slurm_hostlist_create(expr);
	if (!hl) {
		return xerr_errno(err, EINVAL, "invalid node list '%s'", expr);
	}
	/* before expanding them: "a[1-3000]b[1-3000]" is 9 million names */
	if (slurm_hostlist_count(hl) > IC_MAX_NODES) {
		errno = EINVAL;
		xerr_set(err, "more than %d nodes in '%s'", IC_MAX_NODES, expr);
		goto out;
	}
	while ((h = slurm_hostlist_shift(hl)) != NULL) {
		char *copy = strdup(h);

		/* slurm_hostlist_shift's result is malloc'd by libslurm's allocator. */
		free(h);
		if (!copy)
			goto nomem;
		if (!valid_host(copy)) {
			errno = EINVAL;
			xerr_set(err, "invalid node name '%s' in '%s'", copy, expr);
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
	dups = ic_hosts_dup(v, n, &dup);
	if (dups < 0)
		goto nomem;
	if (dups > 0) {
		errno = EINVAL;
		xerr_set(err, "node %s appears twice in '%s'", dup, expr);
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
