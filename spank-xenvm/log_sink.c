/* log_sink.c - send libxenvm's messages to Slurm's logger with the plugin's prefix. */
#include <slurm/spank.h>

#include "lib/log.h"
#include "xspank.h"

static void slurm_sink(enum xlog_level level, const char *msg)
{
	switch (level) {
	case XLOG_ERROR:
		slurm_error("xenvm: %s", msg);
		break;
	case XLOG_WARN:
		/* Slurm has no warning level for plugins; info reaches the user's terminal. */
		slurm_info("xenvm: warning: %s", msg);
		break;
	case XLOG_INFO:
		slurm_info("xenvm: %s", msg);
		break;
	case XLOG_VERBOSE:
		slurm_verbose("xenvm: %s", msg);
		break;
	default:
		slurm_debug("xenvm: %s", msg);
		break;
	}
}

void xspank_log_init(void)
{
	/* Slurm filters by its own level, so let everything through to it. */
	xlog_init("xenvm", XLOG_DEBUG);
	xlog_set_sink(slurm_sink);
}
