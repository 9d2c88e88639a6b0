/*
 * plugin.c - job_submit_vmimage.so entry points (JobSubmitPlugins=vmimage).
 *
 * plugin_version must equal the running slurmctld's version exactly; the build checks the
 * headers against the installed Slurm (mk/slurm.mk) and the #if below keeps a build made
 * against other headers from ever producing a plugin.
 */
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurm_version.h>

#include "lib/log.h"
#include "vmimage.h"

#ifndef XENVM_SLURM_VERSION
#error "XENVM_SLURM_VERSION (the installed Slurm's version number) must be given by the build"
#endif
#if XENVM_SLURM_VERSION != SLURM_VERSION_NUMBER
#error "Slurm headers do not match the installed Slurm: job_submit_vmimage.so would stop slurmctld"
#endif

const char plugin_name[] = "Job submit plugin for xenvm VM images";
const char plugin_type[] = "job_submit/vmimage";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

extern void slurm_info(const char *fmt, ...);
extern void slurm_error(const char *fmt, ...);
extern void slurm_verbose(const char *fmt, ...);
extern void slurm_debug(const char *fmt, ...);

/* What slurmctld's plugin loader resolves (see job_submit_vmimage.map). */
int init(void);
int fini(void);
int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid, char **err_msg);
int job_modify(job_desc_msg_t *job_desc, void *job_ptr, uint32_t submit_uid, char **err_msg);

static struct vmimage_plugin plugin;

static void slurmctld_sink(enum xlog_level level, const char *msg)
{
	switch (level) {
	case XLOG_ERROR:
		slurm_error("job_submit/vmimage: %s", msg);
		break;
	case XLOG_WARN:
	case XLOG_INFO:
		slurm_info("job_submit/vmimage: %s", msg);
		break;
	case XLOG_VERBOSE:
		slurm_verbose("job_submit/vmimage: %s", msg);
		break;
	default:
		slurm_debug("job_submit/vmimage: %s", msg);
		break;
	}
}

int init(void)
{
	xlog_init("job_submit/vmimage", XLOG_DEBUG);
	xlog_set_sink(slurmctld_sink);
	return vmimage_init(&plugin);
}

int fini(void)
{
	vmimage_fini(&plugin);
	xlog_set_sink(NULL);
	return SLURM_SUCCESS;
}

int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid, char **err_msg)
{
	return vmimage_submit(&plugin, job_desc, submit_uid, err_msg);
}

/*
 * An update cannot change the VM request: slurmctld does not pass a running job's spank
 * environment to job_modify, and the Prolog reads the copy pinned at submit.
 */
int job_modify(job_desc_msg_t *job_desc, void *job_ptr, uint32_t submit_uid, char **err_msg)
{
	return SLURM_SUCCESS;
}
