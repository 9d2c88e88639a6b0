/*
 * exec.c - `xenvm exec ID -- ARGV`: run a command in a VM through xenvm-exec.
 *
 * xenvm-exec already is the one client of the agent protocol (streams, signals, exit status);
 * exec'ing it with the VM's control socket keeps one implementation of all that.  The command
 * runs in / unless --cwd says otherwise: the admin's current directory need not exist in the
 * guest.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "lib/log.h"

#ifndef XENVM_LIBEXECDIR
#define XENVM_LIBEXECDIR "/usr/local/libexec/xenvm"
#endif

int xa_cmd_exec(const struct xenvm_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"cwd", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	const char *cwd = "/", *exe = getenv("XENVM_EXEC");
	char sock[4200], path[4200];
	char **args = NULL;
	struct xa_vm v;
	struct xerr err = {""};
	int opt, first, n = 0;

	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt != 'C') {
			xerror("exec: usage: xenvm exec [--cwd DIR] ID -- COMMAND [ARG]...");
			return XA_EXIT_USAGE;
		}
		cwd = optarg;
	}
	first = optind + 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (optind >= argc || first >= argc) {
		xerror("exec: usage: xenvm exec [--cwd DIR] ID -- COMMAND [ARG]...");
		return XA_EXIT_USAGE;
	}
	if (xa_find(cfg, argv[optind], &v, &err) < 0) {
		xerror("exec: %s", err.msg);
		return XA_EXIT_EXEC;
	}
	if (!v.dir[0]) {
		xerror("exec: VM %s has no state directory (an orphan: xenvm destroy it)", v.name);
		return XA_EXIT_EXEC;
	}
	if (strcmp(v.state, "ready") != 0) {
		xerror("exec: VM %s is %s, not ready%s%s", v.name, v.state, v.reason[0] ? ": " : "",
		       v.reason);
		return XA_EXIT_EXEC;
	}
	if (!exe || !*exe) {
		snprintf(path, sizeof(path), "%s/xenvm-exec", XENVM_LIBEXECDIR);
		exe = path;
	}
	snprintf(sock, sizeof(sock), "%s/agent.sock", v.dir);
	args = calloc((size_t)(argc - first) + 7, sizeof(*args));
	if (!args) {
		xerror("exec: out of memory");
		return XA_EXIT_EXEC;
	}
	args[n++] = (char *)"xenvm-exec";
	args[n++] = (char *)"--socket";
	args[n++] = sock;
	args[n++] = (char *)"--cwd";
	args[n++] = (char *)cwd;
	args[n++] = (char *)"--";
	for (int i = first; i < argc; i++)
		args[n++] = argv[i];
	fflush(NULL);
	execv(exe, args);
	xerror("exec: %s: %s (set XENVM_EXEC to xenvm-exec's path)", exe, strerror(errno));
	free(args);
	return XA_EXIT_EXEC;
}
