/*
 * args.c - plugstack.conf arguments:
 *   required spank_xenvm.so [config=PATH] [exec=PATH] [prolog=PATH]
 */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "xspank.h"

static int set_path(const char *key, const char *val, char **dst)
{
	if (!*val || val[0] != '/') {
		xerror("plugstack.conf: %s= needs an absolute path, got '%s'", key, val);
		return -1;
	}
	free(*dst);
	*dst = strdup(val);
	if (!*dst) {
		xerror("plugstack.conf: out of memory");
		return -1;
	}
	return 0;
}

int xspank_args_parse(int ac, char **av, struct xspank_args *out)
{
	for (int i = 0; i < ac; i++) {
		const char *a = av[i];

		if (strncmp(a, "config=", 7) == 0) {
			if (set_path("config", a + 7, &out->config) < 0)
				return -1;
		} else if (strncmp(a, "exec=", 5) == 0) {
			if (set_path("exec", a + 5, &out->exec) < 0)
				return -1;
		} else if (strncmp(a, "prolog=", 7) == 0) {
			if (set_path("prolog", a + 7, &out->prolog) < 0)
				return -1;
		} else {
			xerror(
			    "plugstack.conf: unknown argument '%s' (known: config=PATH, exec=PATH, "
			    "prolog=PATH)",
			    a);
			return -1;
		}
	}
	return 0;
}

void xspank_args_free(struct xspank_args *a)
{
	free(a->config);
	free(a->exec);
	free(a->prolog);
	a->config = a->exec = a->prolog = NULL;
}
