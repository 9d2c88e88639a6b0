/*
 * ctx_step_vm.c - slurmstepd (S_CTX_REMOTE), init_post_opt: `srun --vm-image=NAME` as a step of
 * an allocation that has no VM.
 *
 * No Prolog booted a VM for such a job, so the step's slurmstepd runs xenvm-prolog itself (as
 * root, before the step's tasks exist) for this node; prolog/step.h says what it does.  Runs
 * on every node of the step at once, like the Prolog, so the nodes join one image broadcast.
 * What fails is reported by task_init, through the same job record a Prolog leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "lib/config.h"
#include "lib/config_path.h"
#include "lib/jobstate.h"
#include "lib/log.h"
#include "lib/run.h"
#include "xspank.h"

#ifndef XENVM_SBINDIR
#define XENVM_SBINDIR "/usr/local/sbin"
#endif

#define ENV_MAX 24

/* A variable of the step's environment (as srun sent it), or NULL. */
static const char *step_env(spank_t sp, const char *name, char *buf, size_t len)
{
	return spank_getenv(sp, name, buf, (int)len) == ESPANK_SUCCESS ? buf : NULL;
}

/* Append "NAME=value" to env (skipped when value is NULL).  0, or -1 (out of memory). */
static int env_add(char **env, size_t *n, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (*n + 1 >= ENV_MAX || asprintf(&env[*n], "%s=%s", name, value) < 0)
		return -1;
	env[++*n] = NULL;
	return 0;
}

/*
 * --vm-verbose reports each node once per job, not once per step: the first step on the node
 * claims <job dir>/.reported (we are still root here; task_init is not).
 */
static void claim_report(spank_t sp)
{
	char cfgpath[PATH_MAX], dir[4096], path[4200];
	struct xenvm_config *cfg = NULL;
	struct xerr err;
	uint32_t jobid = 0;
	int fd;

	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
	    !xenvm_config_path(xspank.args.config, cfgpath, sizeof(cfgpath)) ||
	    xenvm_config_load(cfgpath, true, &cfg, &err) < 0)
		return;
	if (xenvm_job_dir(cfg->state_dir, jobid, dir, sizeof(dir)) == 0 && access(dir, F_OK) == 0) {
		snprintf(path, sizeof(path), "%s/.reported", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			xspank.report = true;
			close(fd);
		}
	}
	xenvm_config_free(cfg);
}

int xspank_slurmstepd_post_opt(spank_t sp)
{
	const struct xenvm_request *r = &xspank.opts.req;
	char cfgpath[PATH_MAX], nodes[8192], host[256], acct[256], part[256], num[3][32];
	char *env[ENV_MAX] = {NULL}, *argv[2];
	const char *prolog =
	    xspank.args.prolog ? xspank.args.prolog : XENVM_SBINDIR "/xenvm-prolog";
	const char *nl;
	struct xenvm_config *cfg = NULL;
	struct xenvm_run_result *res = NULL;
	struct passwd *pw;
	struct xerr err;
	uint32_t jobid = 0, stepid = 0, uid = 0, gid = 0;
	size_t n = 0;
	int rc = 0;

	claim_report(sp);
	/* Only an explicit --vm-image on this step (a VM job's steps inherit its VM). */
	if (!xspank.opts.have_image || !r->image[0])
		return 0;
	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS)
		return 0; /* user_init finds no record and task_init reports it */
	if (stepid == SLURM_BATCH_SCRIPT || stepid == SLURM_EXTERN_CONT)
		return 0;
	if (!xenvm_config_path(xspank.args.config, cfgpath, sizeof(cfgpath)) ||
	    xenvm_config_load(cfgpath, true, &cfg, &err) < 0)
		return 0; /* user_init reports the configuration fault */
	nl = step_env(sp, "SLURM_STEP_NODELIST", nodes, sizeof(nodes));
	if (!nl)
		nl = step_env(sp, "SLURM_NODELIST", nodes, sizeof(nodes));
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[strcspn(host, ".")] = '\0';
	pw = getpwuid(uid);
	snprintf(num[0], sizeof(num[0]), "%u", (unsigned)jobid);
	snprintf(num[1], sizeof(num[1]), "%u", (unsigned)uid);
	snprintf(num[2], sizeof(num[2]), "%u", (unsigned)gid);
	if (env_add(env, &n, "PATH", "/usr/sbin:/usr/bin:/sbin:/bin") < 0 ||
	    env_add(env, &n, "XENVM_PROLOG_STEP", "1") < 0 ||
	    env_add(env, &n, "XENVM_CONFIG", cfgpath) < 0 ||
	    env_add(env, &n, "XENVM_IMAGECAST", getenv("XENVM_IMAGECAST")) < 0 ||
	    env_add(env, &n, "XENVM_HOST_AGENT", getenv("XENVM_HOST_AGENT")) < 0 ||
	    env_add(env, &n, "SLURM_JOB_ID", num[0]) < 0 ||
	    env_add(env, &n, "SLURM_JOB_UID", num[1]) < 0 ||
	    env_add(env, &n, "SLURM_JOB_GID", num[2]) < 0 ||
	    env_add(env, &n, "SLURM_JOB_USER", pw ? pw->pw_name : NULL) < 0 ||
	    env_add(env, &n, "SLURMD_NODENAME", host) < 0 ||
	    env_add(env, &n, "SLURM_NODELIST", nl) < 0 ||
	    env_add(env, &n, "SLURM_JOB_ACCOUNT",
	            step_env(sp, "SLURM_JOB_ACCOUNT", acct, sizeof(acct))) < 0 ||
	    env_add(env, &n, "SLURM_JOB_PARTITION",
	            step_env(sp, "SLURM_JOB_PARTITION", part, sizeof(part))) < 0 ||
	    env_add(env, &n, "SPANK_XENVM_IMAGE", r->image) < 0)
		goto oom;
	if (r->mem_bytes) {
		char m[32];

		snprintf(m, sizeof(m), "%llu", (unsigned long long)r->mem_bytes);
		if (env_add(env, &n, "SPANK_XENVM_MEM", m) < 0)
			goto oom;
	}
	if (r->vcpus) {
		char c[16];

		snprintf(c, sizeof(c), "%u", (unsigned)r->vcpus);
		if (env_add(env, &n, "SPANK_XENVM_VCPUS", c) < 0)
			goto oom;
	}
	if ((r->root && env_add(env, &n, "SPANK_XENVM_ROOT", "1") < 0) ||
	    (r->verbose && env_add(env, &n, "SPANK_XENVM_VERBOSE", "1") < 0) ||
	    (r->mounts[0] && env_add(env, &n, "SPANK_XENVM_MOUNTS", r->mounts) < 0))
		goto oom;
	res = malloc(sizeof(*res));
	if (!res)
		goto oom;
	argv[0] = (char *)prolog;
	argv[1] = NULL;
	xdebug("job %u step %u: booting this node's VM with %s", (unsigned)jobid, (unsigned)stepid,
	       prolog);
	if (xenvm_run(argv, env, (cfg->timeouts.fetch_s + cfg->timeouts.ready_s + 30) * 1000u,
	              res) < 0)
		xspank_set_pending("cannot run %s: %s", prolog, strerror(errno));
	else if (res->timed_out || !WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0) {
		char line[512];

		xenvm_last_line(res->err, line, sizeof(line));
		xspank_set_pending("VM for job %u step %u on %s could not be started%s%s",
		                   (unsigned)jobid, (unsigned)stepid, host, line[0] ? ": " : "",
		                   line);
	} else if (!xspank.report)
		claim_report(sp); /* the step booted the node's VM: the job directory exists now */
	goto out;
oom:
	xspank_set_pending("out of memory");
out:
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(res);
	xenvm_config_free(cfg);
	return rc;
}
