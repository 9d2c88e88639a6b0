/*
 * ctx_slurmstepd.c - slurmstepd (S_CTX_REMOTE): the job's tasks on a node.
 *
 * user_init reads what the Prolog recorded for the job on this node.  Slurm does not send errors
 * from user_init back to srun, so a problem found there is kept and raised again in task_init,
 * where it fails the task with the reason on the user's stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "lib/catalog_match.h"
#include "lib/config.h"
#include "lib/config_path.h"
#include "lib/log.h"
#include "xspank.h"

#ifndef XENVM_LIBEXECDIR
#define XENVM_LIBEXECDIR "/usr/local/libexec/xenvm"
#endif

static char *pending_error;

void xspank_set_pending(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (pending_error)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(pending_error);
	pending_error = strdup(buf);
}

/*
 * Does a step's --vm-image name the job's image?  The very name, or, when job_submit chose the
 * image by --vm-require within a family (--vm-image=FAMILY --vm-require=...), that family.
 */
static bool same_image(const struct xenvm_request *job, const char *step_image)
{
	if (strcmp(job->image, step_image) == 0)
		return true;
	return job->require[0] && xenvm_image_in_family(job->image, step_image);
}

int xspank_slurmstepd_user_init(spank_t sp)
{
	char path[PATH_MAX];
	struct xenvm_config *cfg = NULL;
	struct xerr err;
	uint32_t jobid = 0;
	spank_err_t rc;

	rc = spank_get_item(sp, S_JOB_ID, &jobid);
	if (rc != ESPANK_SUCCESS) {
		xerror("cannot get the job id: %s", spank_strerror(rc));
		return -1;
	}
	if (!xenvm_config_path(xspank.args.config, path, sizeof(path)) ||
	    xenvm_config_load(path, true, &cfg, &err) < 0) {
		/* Only a VM job needs the configuration; remember the fault for task_init. */
		xspank_set_pending("site configuration: %s", err.msg);
		return 0;
	}
	if (xenvm_job_record_read(cfg->state_dir, jobid, &xspank.job, &err) == 0)
		/* A VM booted for --vm-image steps serves only the steps that ask for it. */
		xspank.have_job = !xspank.job.step_only || xspank.opts.have_image;
	else if (errno != ENOENT)
		xspank_set_pending("%s", err.msg);
	xenvm_config_free(cfg);
	if (xspank.have_job && !xspank.job.error && xspank.opts.have_image &&
	    !same_image(&xspank.job.req, xspank.opts.req.image))
		xspank_set_pending(
		    "this step asks for image %s, but the job's VM on %s runs %s (steps "
		    "of a job share its VMs)",
		    xspank.opts.req.image, xspank.job.node, xspank.job.req.image);
	else if (xspank.have_job && xspank.job.error)
		xspank_set_pending("VM for job %u on %s: %s", (unsigned)jobid, xspank.job.node,
		                   xspank.job.error);
	return 0;
}

/* Set a variable in the task's environment; 0, or -1 (logged). */
static int task_setenv(spank_t sp, const char *name, const char *value)
{
	spank_err_t rc = spank_setenv(sp, name, value, 1);

	if (rc == ESPANK_SUCCESS)
		return 0;
	xerror("cannot set %s for the task: %s", name, spank_strerror(rc));
	return -1;
}

/* --vm-verbose: what the Prolog did on this node, once per node and step (local task 0). */
static void report_node(spank_t sp)
{
	const struct xenvm_job_record *j = &xspank.job;
	uint32_t local = 1;
	char fetched[64];

	if (!j->req.verbose || !xspank.report ||
	    spank_get_item(sp, S_TASK_ID, &local) != ESPANK_SUCCESS || local != 0)
		return;
	if (j->fetch_bytes == 0)
		snprintf(fetched, sizeof(fetched), "cache hit");
	else if (j->fetch_bytes > 0)
		snprintf(fetched, sizeof(fetched), "%.1f MiB fetched", j->fetch_bytes / 1048576.0);
	else
		snprintf(fetched, sizeof(fetched), "fetched");
	fprintf(stderr,
	        "xenvm: %s: image %s: %s in %.1f s; %s VM booted and ready in %.1f s at %s\n",
	        j->node, j->req.image, fetched, j->fetch_ms / 1000.0, j->driver,
	        j->boot_ms / 1000.0, j->guest_ip);
	fflush(stderr);
}

/*
 * --vm-require: which image job_submit chose, in the batch job's output (sbatch and srun also
 * print it when the job is submitted).  Once: the batch script's task.
 */
static void report_match(spank_t sp)
{
	const struct xenvm_job_record *j = &xspank.job;
	uint32_t stepid = 0, local = 1;

	if (!j->req.require[0] || spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS ||
	    stepid != SLURM_BATCH_SCRIPT ||
	    spank_get_item(sp, S_TASK_ID, &local) != ESPANK_SUCCESS || local != 0)
		return;
	fprintf(stderr, "xenvm: --vm-require matched %s (%s)\n", j->req.image, j->req.digest);
	fflush(stderr);
}

/*
 * XENVM_VM_*: what the task's VM is (xenvm-exec(1), ENVIRONMENT), for scripts and support
 * requests; they reach the guest with the rest of the task's environment.  0, or -1 (logged).
 */
static int describe_vm(spank_t sp)
{
	const struct xenvm_job_record *j = &xspank.job;
	char mem[32], vcpus[16];

	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)j->req.mem_bytes);
	snprintf(vcpus, sizeof(vcpus), "%u", (unsigned)j->req.vcpus);
	if (task_setenv(sp, "XENVM_VM_IMAGE", j->req.image) < 0 ||
	    task_setenv(sp, "XENVM_VM_DIGEST", j->req.digest) < 0 ||
	    task_setenv(sp, "XENVM_VM_DRIVER", j->driver) < 0 ||
	    task_setenv(sp, "XENVM_VM_NODE", j->node) < 0 ||
	    task_setenv(sp, "XENVM_VM_IP", j->guest_ip) < 0 ||
	    (j->req.mem_bytes && task_setenv(sp, "XENVM_VM_MEM", mem) < 0) ||
	    (j->req.vcpus && task_setenv(sp, "XENVM_VM_VCPUS", vcpus) < 0))
		return -1;
	return 0;
}

/*
 * Run the task inside the node's VM: argv[0] becomes xenvm-exec (argv cannot grow; slurmstepd
 * execs argv[0] with argv), which finds the original in XENVM_EXEC_ARGV0 and relays the task's
 * environment, cwd, stdio, signals and exit status.  0, or -1 (logged).
 */
static int redirect_task(spank_t sp)
{
	char sock[sizeof(xspank.job.vm_dir) + 16];
	const char *exec = xspank.args.exec ? xspank.args.exec : XENVM_LIBEXECDIR "/xenvm-exec";
	uint32_t stepid = 0;
	char **argv = NULL;
	int argc = 0;
	spank_err_t rc;

	rc = spank_get_item(sp, S_JOB_ARGV, &argc, &argv);
	if (rc != ESPANK_SUCCESS || argc < 1 || !argv || !argv[0]) {
		xerror("cannot get the task's command line: %s", spank_strerror(rc));
		return -1;
	}
	if (access(exec, X_OK) < 0) {
		xerror("%s: %s (plugstack.conf exec=PATH)", exec, strerror(errno));
		return -1;
	}
	snprintf(sock, sizeof(sock), "%s/agent.sock", xspank.job.vm_dir);
	if (task_setenv(sp, "XENVM_EXEC_ARGV0", argv[0]) < 0 ||
	    task_setenv(sp, "XENVM_SOCKET", sock) < 0 || describe_vm(sp) < 0)
		return -1;
	if (spank_get_item(sp, S_JOB_STEPID, &stepid) == ESPANK_SUCCESS &&
	    stepid == SLURM_BATCH_SCRIPT && task_setenv(sp, "XENVM_EXEC_BATCH", "1") < 0)
		return -1;
	/* The task process execs argv[0] right after this; the string must outlive us. */
	argv[0] = strdup(exec);
	if (!argv[0]) {
		xerror("out of memory");
		return -1;
	}
	return 0;
}

/*
 * What the Prolog refused to share (node/sharepolicy.h), on the user's stderr once per node and
 * step (local task 0).  A task whose working directory was refused fails, as a task whose
 * working directory is missing does: in the guest it would run in another directory of that
 * name (the guest's own /etc) or in none.  Returns 0, or -1 (this task must fail).
 */
static int report_refused(spank_t sp)
{
	const struct xenvm_job_record *j = &xspank.job;
	uint32_t local = 1;
	char cwd[PATH_MAX];

	if (j->warning && spank_get_item(sp, S_TASK_ID, &local) == ESPANK_SUCCESS && local == 0) {
		fprintf(stderr, "xenvm: %s: warning: %s\n", j->node, j->warning);
		fflush(stderr);
	}
	/* slurmstepd has moved into the step's working directory before task_init. */
	if (j->cwd_refused && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, j->cwd_refused) == 0) {
		fprintf(stderr,
		        "xenvm: %s: the task's working directory %s is not shared with the VM "
		        "(see the warning above); use --chdir with a directory under your home or "
		        "one the site allows\n",
		        j->node, cwd);
		fflush(stderr);
		return -1;
	}
	return 0;
}

int xspank_slurmstepd_task_init(spank_t sp)
{
	/* A job without a VM request runs as it would without this plugin. */
	if (!xspank.have_job && !xspank.opts.have_image)
		return 0;
	if (!xspank.have_job)
		xspank_set_pending("this step asked for --vm-image=%s but no VM was started for it "
		                   "(is prolog= in plugstack.conf right?)",
		                   xspank.opts.req.image);
	if (pending_error) {
		fprintf(stderr, "xenvm: %s\n", pending_error);
		fflush(stderr);
		xerror("%s", pending_error);
		return -1;
	}
	if (!xspank.job.vm_dir[0]) {
		fprintf(stderr,
		        "xenvm: job %u on %s: the Prolog recorded no VM (is Prolog=xenvm-prolog "
		        "set in slurm.conf, with PrologFlags=Alloc?)\n",
		        (unsigned)xspank.job.jobid, xspank.job.node);
		fflush(stderr);
		return -1;
	}
	report_node(sp);
	report_match(sp);
	if (report_refused(sp) < 0)
		return -1;
	return redirect_task(sp);
}
