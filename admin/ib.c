/*
 * ib.c - status's InfiniBand section: the node's VF pool through libxenib.
 *
 * A node without SR-IOV IB devices is normal (guests then use Soft-RoCE where images allow):
 * that prints "no IB" with the reason, never an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "node/jobib.h"
#include "xenib/xenib.h"

void xa_print_ib(const struct xenvm_config *cfg)
{
	struct xenib_params p;
	struct xenib_pool *pool = NULL;
	struct xenib_slot_status *slots = NULL;
	struct xerr err = {""};
	size_t n = 0, count[3] = {0, 0, 0};
	char host[256] = "";
	const char *node = getenv("SLURMD_NODENAME");

	if (!node) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			snprintf(host, sizeof(host), "localhost");
		node = host;
	}
	xvm_job_ib_params(&p, cfg, NULL, node);
	if (xenib_pool_open(&p, &pool, &err) < 0 || xenib_pool_status(pool, &slots, &n, &err) < 0) {
		printf("IB VFs: no IB (%s)\n", err.msg);
		goto out;
	}
	if (n == 0) {
		printf("IB VFs: no IB (no SR-IOV InfiniBand VF on this node)\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((size_t)slots[i].state < 3)
			count[slots[i].state]++;
	printf("IB VFs: %zu (%zu free, %zu leased, %zu assigned)\n", n, count[XENIB_FREE],
	       count[XENIB_LEASED], count[XENIB_ASSIGNED]);
	for (size_t i = 0; i < n; i++)
		if (slots[i].state != XENIB_FREE)
			printf("  VF %s (%s vf%u) %s to job %u vm %s\n", slots[i].vf.bdf,
			       pool ? xenib_pool_topology(pool)->pfs[slots[i].vf.pf].name : "?",
			       slots[i].vf.vf, xenib_state_name(slots[i].state), slots[i].jobid,
			       slots[i].vm);
out:
	free(slots);
	if (pool)
		xenib_pool_close(pool);
}
