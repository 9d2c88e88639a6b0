/* jobs.c - see jobs.h. */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX (64u << 20)

void imgs_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Run scontrol show job -o [jobid]; its stdout into *out (free()).  0, or -1 with err. */
static int scontrol(const char *jobid, char **out, struct xerr *err)
{
	const char *prog = getenv("XENVM_SCONTROL") ? getenv("XENVM_SCONTROL") : "scontrol";
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return xerr_set(err, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return xerr_set(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		execlp(prog, prog, "show", "job", "-o", jobid, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (len + 65536 + 1 > cap) {
			char *nb = cap + 65536 + 1 > OUT_MAX ? NULL : realloc(buf, cap + 65536 + 1);

			if (!nb)
				break;
			buf = nb;
			cap += 65536 + 1;
		}
		n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(buf);
		return xerr_set(err,
		                "%s show job -o%s%s failed (exit %d): cannot tell which images "
		                "jobs are pinned to",
		                prog, jobid ? " " : "", jobid ? jobid : "",
		                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static bool finished(const char *line)
{
	static const char *const done[] = {"COMPLETED",     "CANCELLED", "FAILED",    "TIMEOUT",
	                                   "NODE_FAIL",     "PREEMPTED", "BOOT_FAIL", "DEADLINE",
	                                   "OUT_OF_MEMORY", NULL};
	const char *s = strstr(line, " JobState=");

	if (!s)
		return false; /* unknown: keep what it may pin */
	s += strlen(" JobState=");
	for (int i = 0; done[i]; i++)
		if (strncmp(s, done[i], strlen(done[i])) == 0 &&
		    (s[strlen(done[i])] == ' ' || s[strlen(done[i])] == '\0'))
			return true;
	return false;
}

/* The pin of one line of `scontrol show job -o`, into hex.  True when found. */
static bool line_pin(const char *line, char *hex)
{
	const char *s =
	    strncmp(line, "AdminComment=", 13) == 0 ? line : strstr(line, " AdminComment=");

	if (!s)
		return false;
	s = strstr(s, IMGS_PIN_PREFIX);
	if (!s)
		return false;
	memcpy(hex, s + strlen(IMGS_PIN_PREFIX), IMGS_HEX_LEN);
	hex[IMGS_HEX_LEN] = '\0';
	return imgs_hex_valid(hex);
}

int imgs_live_pins(char ***out, size_t *n, struct xerr *err)
{
	char *text = NULL, *save = NULL, **v = NULL;

	*out = NULL;
	*n = 0;
	if (scontrol(NULL, &text, err) < 0)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char hex[IMGS_HEX_LEN + 1] = "";
		char **nv;

		if (!line_pin(l, hex) || finished(l))
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(hex))) {
			imgs_strv_free(nv ? nv : v, *n);
			free(text);
			*n = 0;
			return xerr_set(err, "out of memory");
		}
		v = nv;
		(*n)++;
	}
	free(text);
	*out = v;
	return 0;
}

int imgs_job_pin(uint32_t jobid, char hex[IMGS_HEX_LEN + 1], struct xerr *err)
{
	char id[16], *text = NULL;
	int rc;

	snprintf(id, sizeof(id), "%u", jobid);
	if (scontrol(id, &text, err) < 0)
		return -1;
	rc = line_pin(text, hex) ? 1 : 0;
	free(text);
	return rc;
}
