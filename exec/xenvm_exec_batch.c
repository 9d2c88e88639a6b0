/*
 * xenvm_exec_batch.c - the batch step: the script in slurmd's spool is a host file, so it is
 * copied into the guest (one small exec of the guest's /bin/sh fed the script on stdin) before
 * the step runs it there; its own #! line then picks the interpreter in the guest.
 */
#include "xenvm_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_MAX_SIZE (64u << 20) /* far above any script; bounds what we hold in memory */

/*
 * In the guest, as the user: a private directory that did not exist (mktemp -d: mkdir 0700 with
 * a random name, so nothing the user planted in /tmp is followed), the script in it, its path on
 * stdout.
 */
static const char copy_cmd[] =
    "umask 077; d=$(mktemp -d \"/tmp/xenvm-batch-$1.XXXXXX\") || exit 1; "
    "cat > \"$d/slurm_script\" && chmod 700 \"$d/slurm_script\" && "
    "printf '%s\\n' \"$d/slurm_script\"";

int xexec_batch_read(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, rc = XEXEC_EXIT_NOEXEC, e;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		fprintf(stderr, "%s: batch script %s: %s\n", xexec_prog, path, strerror(e));
		return e == ENOENT ? XEXEC_EXIT_NOTFOUND : XEXEC_EXIT_NOEXEC;
	}
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: batch script %s: %s\n", xexec_prog, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)BATCH_MAX_SIZE) {
		fprintf(stderr, "%s: batch script %s: %s\n", xexec_prog, path,
		        !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 64 MB");
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		fprintf(stderr, "%s: out of memory\n", xexec_prog);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: batch script %s: %s\n", xexec_prog, path,
			        strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank while we read: what we have is the script */
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

/* Append frame bytes to a bounded text buffer (the rest is dropped; only the start matters). */
static void keep(char *dst, size_t cap, size_t *used, const uint8_t *p, size_t n)
{
	if (*used + 1 >= cap)
		return;
	if (n > cap - 1 - *used)
		n = cap - 1 - *used;
	memcpy(dst + *used, p, n);
	*used += n;
	dst[*used] = '\0';
}

/*
 * Feed `in` to the started exec's stdin and collect its stdout and stderr until EXIT.  Returns
 * the exit status (128+n for signal n), or -1 with a message printed (link fault, ERROR).
 */
static int feed_and_collect(struct xvp_conn *c, uint32_t chan, const uint8_t *in, size_t inlen,
                            char *out, size_t outcap, char *err, size_t errcap)
{
	size_t sent = 0, nout = 0, nerr = 0;
	uint32_t credit = XVP_WINDOW, a, b;
	bool eof_sent = false;
	struct xvp_frame f;
	int more;

	out[0] = err[0] = '\0';
	for (;;) {
		while (sent < inlen && credit > 0) {
			size_t n = inlen - sent;

			if (n > credit)
				n = credit;
			if (n > XVP_DATA_MAX)
				n = XVP_DATA_MAX;
			if (xvp_send(c, XVP_DATA, chan, XVP_STREAM_STDIN, in + sent, n) < 0)
				goto lost;
			sent += n;
			credit -= (uint32_t)n;
		}
		if (sent == inlen && !eof_sent) {
			if (xvp_send(c, XVP_EOF, chan, XVP_STREAM_STDIN, NULL, 0) < 0)
				goto lost;
			eof_sent = true;
		}
		if (xvp_conn_flush_all(c) < 0)
			goto lost;
		while ((more = xvp_conn_next(c, &f)) > 0) {
			if (f.chan != chan)
				continue;
			switch (f.type) {
			case XVP_DATA:
				if (f.stream == XVP_STREAM_STDOUT)
					keep(out, outcap, &nout, f.payload, f.len);
				else
					keep(err, errcap, &nerr, f.payload, f.len);
				if (xvp_send_u32(c, XVP_CREDIT, chan, f.stream, f.len) < 0)
					goto lost;
				break;
			case XVP_CREDIT:
				if (f.stream == XVP_STREAM_STDIN && xvp_get_u32(&f, 0, &a) == 0)
					credit += a;
				break;
			case XVP_EXIT:
				if (xvp_get_u32(&f, 0, &a) < 0 || xvp_get_u32(&f, 1, &b) < 0)
					goto lost;
				return a == XVP_SIGNALED ? (int)(128 + (b & 127)) : (int)(b & 255);
			case XVP_ERROR:
				fprintf(stderr, "%s: copying the batch script into the VM: %.*s\n",
				        xexec_prog, (int)(f.len > 4 ? f.len - 4 : 0),
				        f.payload + 4);
				return -1;
			default:
				break;
			}
		}
		if (more < 0)
			goto lost;
		if (xvp_conn_pending(c))
			continue;
		ssize_t n = xvp_conn_fill(c);

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			goto lost;
	}
lost:
	fprintf(stderr,
	        "%s: lost the connection to the VM's agent while copying the batch script\n",
	        xexec_prog);
	return -1;
}

int xexec_batch_copy(struct xvp_conn *c, uint32_t chan, const uint8_t *script, size_t len,
                     const char *jobid, const struct xvp_exec *ident, char *guest_path, size_t plen)
{
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)copy_cmd, (char *)"xenvm-batch",
	                (char *)jobid};
	char *envp[] = {(char *)"PATH=/usr/bin:/bin"};
	char out[4096], err[1024];
	struct xvp_exec x = *ident;
	struct xvp_buf req = {0};
	int rc = XEXEC_EXIT_INTERNAL, st;

	x.argv = argv;
	x.argc = sizeof(argv) / sizeof(argv[0]);
	x.envp = envp;
	x.envc = 1;
	x.cwd = (char *)"/";
	x.nrelay = 0;
	if (xvp_exec_encode(&x, &req) < 0 ||
	    xvp_send(c, XVP_EXEC, chan, 0, req.buf + req.off, req.len) < 0) {
		fprintf(stderr, "%s: out of memory\n", xexec_prog);
		goto out;
	}
	if (xvp_conn_flush_all(c) < 0) {
		fprintf(stderr, "%s: sending the batch script: %s\n", xexec_prog, strerror(errno));
		goto out;
	}
	st = xexec_wait_started(c, chan);
	if (st != 0)
		goto out; /* message printed */
	st = feed_and_collect(c, chan, script, len, out, sizeof(out), err, sizeof(err));
	if (st < 0)
		goto out;
	out[strcspn(out, "\n")] = '\0';
	if (st != 0 || strncmp(out, "/tmp/xenvm-batch-", 17) != 0) {
		err[strcspn(err, "\n")] = '\0';
		fprintf(stderr, "%s: copying the batch script into the VM failed (status %d): %s\n",
		        xexec_prog, st, err[0] ? err : "no message");
		goto out;
	}
	if ((size_t)snprintf(guest_path, plen, "%s", out) >= plen) {
		fprintf(stderr, "%s: guest path of the batch script too long\n", xexec_prog);
		goto out;
	}
	rc = 0;
out:
	xvp_buf_free(&req);
	return rc;
}
