/*
 * run.h - run a helper program with a deadline and keep what it printed.
 *
 * For the Prolog and Epilog, which call other tools of the project (imagecast): no shell, a
 * closed stdin, output captured (the head of stdout, the tail of stderr), and a child that
 * overstays its deadline is killed with its process group so a stuck helper never holds the
 * Prolog past PrologEpilogTimeout.
 */
#ifndef XENVM_RUN_H
#define XENVM_RUN_H

#include <stddef.h>

#define XENVM_RUN_OUT_MAX 8192 /* bytes of stdout kept (the first) */
#define XENVM_RUN_ERR_MAX 2048 /* bytes of stderr kept (the last) */

struct xenvm_run_result {
	int status;                      /* wait status, valid when the call returned 0 */
	int timed_out;                   /* killed at the deadline */
	char out[XENVM_RUN_OUT_MAX + 1]; /* NUL-terminated */
	char err[XENVM_RUN_ERR_MAX + 1]; /* NUL-terminated, the tail */
};

/*
 * Run argv (argv[0] an absolute path) with environment envp (NULL: ours) for at most
 * timeout_ms.  Returns 0 when the child ran and was reaped (see r->status, r->timed_out), or
 * -1 with errno when it could not be started (fork/pipe/exec failure: ENOENT, EACCES ...).
 */
int xenvm_run(char *const argv[], char *const envp[], unsigned timeout_ms,
              struct xenvm_run_result *r);

/* The last non-empty line of s copied into buf (NUL-terminated, may be truncated). */
void xenvm_last_line(const char *s, char *buf, size_t len);

#endif
