/*
 * orphan.c - see orphan.h.
 *
 * Why polling and not PR_SET_PDEATHSIG: the kernel sends that signal when the *thread* that
 * forked us exits, and slurmd forks its Prolog from a thread of a multithreaded daemon; a
 * change of getppid() means the process itself is gone (we were reparented).
 */
#include "prolog/orphan.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define WATCH_PERIOD_US 1000000

static pid_t parent;
static uint32_t watched_job;
static char epilog[PATH_MAX];

extern char **environ;

/* $XENVM_EPILOG (test clusters run from the build tree), else our own directory's. */
static int epilog_path(char *buf, size_t len)
{
	const char *e = getenv("XENVM_EPILOG");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (e && e[0] == '/')
		return snprintf(buf, len, "%s", e) < (int)len ? 0 : -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(buf, len, "%s/xenvm-epilog", self) < (int)len ? 0 : -1;
}

static void *watch(void *arg)
{
	char *argv[] = {epilog, NULL};

	(void)arg;
	while (getppid() == parent)
		usleep(WATCH_PERIOD_US);
	xwarn("job %u: slurmd (pid %d) is gone: running %s to remove what this Prolog started",
	      (unsigned)watched_job, (int)parent, epilog);
	/* slurmd read our output: with it gone, a write must not kill the Epilog midway */
	signal(SIGPIPE, SIG_IGN);
	execve(epilog, argv, environ);
	xerror("job %u: exec %s: %s", (unsigned)watched_job, epilog, strerror(errno));
	_exit(1);
}

int prolog_watch_parent(uint32_t jobid)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (epilog_path(epilog, sizeof(epilog)) < 0 || access(epilog, X_OK) < 0) {
		if (!errno)
			errno = ENAMETOOLONG;
		return -1;
	}
	parent = getppid();
	watched_job = jobid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = pthread_create(&t, &attr, watch, NULL);
	pthread_attr_destroy(&attr);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}
