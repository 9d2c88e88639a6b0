/*
 * ctx_slurmd.c - slurmd (S_CTX_SLURMD): check the site configuration when slurmd starts, so a
 * broken xenvm.yaml shows up in slurmd's log at once rather than at the first VM job.
 */
#include <limits.h>

#include "lib/config.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "xspank.h"

int xspank_slurmd_init(spank_t sp)
{
	char path[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xerr err;

	if (!xenvm_config_path(xspank.args.config, path, sizeof(path))) {
		xerror("configuration path is too long");
		return -1;
	}
	if (xenvm_config_load(path, true, &cfg, &err) < 0) {
		/* Not fatal for slurmd: non-VM jobs must keep running; VM jobs fail in the Prolog.
		 */
		xerror("%s", err.msg);
		return 0;
	}
	xverbose("configuration %s: driver %s, state in %s", path,
	         cfg->driver == XENVM_DRIVER_XEN ? "xen" : "qemu", cfg->state_dir);
	xenvm_config_free(cfg);
	return 0;
}
