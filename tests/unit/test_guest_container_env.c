/*
 * test_guest_container_env.c - a container image's ENV and WORKDIR for the agent's tasks
 * (guest/agent/container_env.c): the task's variables win except PATH, which becomes the image's
 * PATH followed by the task's; malformed lines are ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest/agent/agent.h"

static const char *get(char **env, const char *key)
{
	size_t k = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, k) == 0 && (*env)[k] == '=')
			return *env + k + 1;
	return NULL;
}

static void no_config(void **st)
{
	char *envp[] = {"A=1", NULL};

	(void)st;
	agent_container_load("/nonexistent/.xenvm/config");
	assert_ptr_equal(agent_container_env(envp), envp);
	assert_null(agent_container_workdir());
}

static void merged(void **st)
{
	char path[] = "/tmp/test_container_env.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	char *envp[] = {"PATH=/usr/bin:/bin", "FOO=from-job", "HOME=/home/u", NULL};
	char **out;

	(void)st;
	assert_non_null(f);
	fputs("ENV PATH=/opt/app/bin:/usr/bin\nENV FOO=from-image\nENV LANG=C.UTF-8\n"
	      "ENV =bad\nENV noequals\nWORKDIR relative\nWORKDIR /work\nUSER alice\n",
	      f);
	fclose(f);
	agent_container_load(path);
	unlink(path);
	out = agent_container_env(envp);
	assert_string_equal(get(out, "PATH"), "/opt/app/bin:/usr/bin:/usr/bin:/bin");
	assert_string_equal(get(out, "FOO"), "from-job");
	assert_string_equal(get(out, "LANG"), "C.UTF-8");
	assert_string_equal(get(out, "HOME"), "/home/u");
	assert_null(get(out, "noequals"));
	assert_null(get(out, "USER"));
	assert_string_equal(agent_container_workdir(), "/work");
	/* no PATH in the task: the image's is added as any other variable */
	{
		char *bare[] = {NULL};
		char **o2 = agent_container_env(bare);

		assert_string_equal(get(o2, "PATH"), "/opt/app/bin:/usr/bin");
		free(o2);
	}
	for (char **e = out; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			free(*e);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_config),
	    cmocka_unit_test(merged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
