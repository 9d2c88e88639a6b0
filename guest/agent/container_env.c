/*
 * container_env.c - a container image's ENV and WORKDIR for the tasks (issue 16).
 *
 * `xenvm image import` writes them to /.xenvm/config in the image's root disk ("ENV K=V",
 * "WORKDIR /dir", "USER u" lines).  The job says otherwise where it says anything: a variable
 * the task already has keeps the task's value, except PATH, which becomes the container's PATH
 * followed by the task's (the host's directories mean little in the container's file system);
 * WORKDIR is used only when the task's working directory does not exist in the guest.  USER is
 * not applied: tasks run as the job's user, as Slurm decided.  ENTRYPOINT is not read.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTAINER_ENV_MAX 256

static char *env_list[CONTAINER_ENV_MAX];
static size_t env_n;
static char *workdir;

void agent_container_load(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[8192];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		if (l && line[l - 1] == '\n')
			line[--l] = '\0';
		if (strncmp(line, "ENV ", 4) == 0 && strchr(line + 4, '=') && line[4] != '=' &&
		    env_n < CONTAINER_ENV_MAX)
			env_list[env_n++] = strdup(line + 4);
		else if (strncmp(line, "WORKDIR /", 9) == 0 && !workdir)
			workdir = strdup(line + 8);
	}
	fclose(f);
}

const char *agent_container_workdir(void)
{
	return workdir;
}

/* The entry of envp named like kv ("K=..."), or NULL. */
static char *const *find(char *const *envp, const char *kv)
{
	size_t k = (size_t)(strchr(kv, '=') - kv);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, kv, k + 1) == 0)
			return envp;
	return NULL;
}

char **agent_container_env(char *const *envp)
{
	size_t n = 0, j = 0;
	char **out;

	if (!env_n)
		return (char **)envp;
	while (envp && envp[n])
		n++;
	out = calloc(n + env_n + 1, sizeof(*out));
	if (!out)
		return (char **)envp;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0) {
			char *const *c = find((char *const *)env_list, "PATH=");
			char *merged = NULL;

			if (c && asprintf(&merged, "%s:%s", *c, envp[i] + 5) > 0) {
				out[j++] = merged;
				continue;
			}
		}
		out[j++] = envp[i];
	}
	for (size_t i = 0; i < env_n; i++)
		if (!find(envp, env_list[i]))
			out[j++] = env_list[i];
	out[j] = NULL;
	return out;
}
