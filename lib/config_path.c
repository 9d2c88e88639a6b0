/* config_path.c - see config_path.h. */
#include "config_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char *copy(char *buf, size_t len, const char *s)
{
	if ((size_t)snprintf(buf, len, "%s", s) >= len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

char *xenvm_config_path(const char *explicit_path, char *buf, size_t len)
{
	const char *env, *slurm_conf;

	if (!buf || !len) {
		errno = EINVAL;
		return NULL;
	}
	if (explicit_path && *explicit_path)
		return copy(buf, len, explicit_path);
	env = getenv("XENVM_CONFIG");
	if (env && *env)
		return copy(buf, len, env);
	slurm_conf = getenv("SLURM_CONF");
	if (slurm_conf && *slurm_conf) {
		const char *slash = strrchr(slurm_conf, '/');
		int dirlen = slash ? (int)(slash - slurm_conf) : 1;
		const char *dir = slash ? slurm_conf : ".";

		if ((size_t)snprintf(buf, len, "%.*s/xenvm.yaml", dirlen, dir) >= len) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return copy(buf, len, XENVM_CONFIG_DEFAULT_PATH);
}
