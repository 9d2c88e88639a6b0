/* script_env.c - see script_env.h. */
#include "script_env.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobstate.h"

int xenvm_script_env_read(struct xenvm_script_env *se, int need_nodes, struct xerr *err)
{
	const char *v;
	uint32_t id;

	if (!se)
		return xerr_set(err, "internal error: bad arguments to xenvm_script_env_read");
	memset(se, 0, sizeof(*se));
	se->uid = (uid_t)-1;
	se->gid = (gid_t)-1;
	if (xenvm_parse_jobid("SLURM_JOB_ID", getenv("SLURM_JOB_ID"), &se->jobid, err) < 0)
		return -1;
	if ((v = getenv("SLURM_JOB_UID"))) {
		if (xenvm_parse_id("SLURM_JOB_UID", v, &id, err) < 0)
			return -1;
		se->uid = id;
	}
	if ((v = getenv("SLURM_JOB_GID"))) {
		if (xenvm_parse_id("SLURM_JOB_GID", v, &id, err) < 0)
			return -1;
		se->gid = id;
	}
	se->user = getenv("SLURM_JOB_USER");
	se->node = getenv("SLURMD_NODENAME");
	se->nodelist = getenv("SLURM_NODELIST");
	if (!need_nodes)
		return 0;
	if (se->uid == (uid_t)-1)
		return xerr_set(err, "SLURM_JOB_UID is not set");
	if (se->gid == (gid_t)-1)
		return xerr_set(err, "SLURM_JOB_GID is not set");
	if (!se->node || !*se->node)
		return xerr_set(err, "SLURMD_NODENAME is not set");
	if (!se->nodelist || !*se->nodelist)
		return xerr_set(err, "SLURM_NODELIST is not set");
	return 0;
}

int xenvm_cpus_on_node(const char *list, size_t index, uint32_t *out)
{
	const char *p = list;
	size_t at = 0;

	if (!list || !*list) {
		errno = EINVAL;
		return -1;
	}
	while (*p) {
		unsigned long cpus, times = 1;
		char *end;

		errno = 0;
		cpus = strtoul(p, &end, 10);
		if (errno || end == p || cpus == 0 || cpus > UINT32_MAX)
			goto bad;
		p = end;
		if (*p == '(') {
			if (p[1] != 'x')
				goto bad;
			times = strtoul(p + 2, &end, 10);
			if (errno || end == p + 2 || *end != ')' || times == 0)
				goto bad;
			p = end + 1;
		}
		if (index < at + times) {
			*out = (uint32_t)cpus;
			return 0;
		}
		at += times;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	errno = ERANGE;
	return -1;
bad:
	errno = EINVAL;
	return -1;
}
