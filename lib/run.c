/* run.c - see run.h. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append to the head buffer until full; the rest is dropped. */
static void keep_head(char *buf, size_t max, size_t *len, const char *p, size_t n)
{
	size_t room = max - *len;

	if (n > room)
		n = room;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

/* Keep the last max bytes. */
static void keep_tail(char *buf, size_t max, size_t *len, const char *p, size_t n)
{
	if (n >= max) {
		memcpy(buf, p + n - max, max);
		*len = max;
	} else {
		if (*len + n > max) {
			size_t drop = *len + n - max;

			memmove(buf, buf + drop, *len - drop);
			*len -= drop;
		}
		memcpy(buf + *len, p, n);
		*len += n;
	}
	buf[*len] = '\0';
}

/* The child: own process group (so the deadline kills helpers it starts), stdin /dev/null. */
static void __attribute__((noreturn))
child(char *const argv[], char *const envp[], int out_w, int err_w)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(127);
	/* The caller may be a daemon (slurmstepd) with descriptors not marked close-on-exec. */
	close_range(3, ~0U, 0);
	execve(argv[0], argv, envp ? envp : environ);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int xenvm_run(char *const argv[], char *const envp[], unsigned timeout_ms,
              struct xenvm_run_result *r)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	size_t olen = 0, elen = 0;
	long long deadline;
	pid_t pid = -1;
	int open_fds = 2, rc = -1, e;

	memset(r, 0, sizeof(*r));
	if (!argv || !argv[0] || argv[0][0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0)
		child(argv, envp, out[1], err[1]);
	setpgid(pid, pid); /* also here: no window where a kill would miss the group */
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	deadline = now_ms() + timeout_ms;
	while (open_fds > 0) {
		struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
		long long left = deadline - now_ms();
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			r->timed_out = 1;
			kill(-pid, SIGTERM);
			usleep(200 * 1000);
			kill(-pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			kill(-pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(i ? err[0] : out[0]);
				if (i)
					err[0] = -1;
				else
					out[0] = -1;
				open_fds--;
				continue;
			}
			if (i)
				keep_tail(r->err, XENVM_RUN_ERR_MAX, &elen, buf, (size_t)n);
			else
				keep_head(r->out, XENVM_RUN_OUT_MAX, &olen, buf, (size_t)n);
		}
	}
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR)
			goto out;
	}
	/* Helpers the child left behind in its group go with it. */
	kill(-pid, SIGKILL);
	pid = -1;
	rc = 0;
out:
	e = errno;
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	errno = e;
	return rc;
}

void xenvm_last_line(const char *s, char *buf, size_t len)
{
	const char *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	if (len == 0)
		return;
	if ((size_t)(end - start) >= len)
		end = start + len - 1;
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\0';
}
