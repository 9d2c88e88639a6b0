/*
 * fuzz_vm_proto.c - libFuzzer target for the VM agent protocol (vm/proto.c).
 *
 * Boundary: guest -> host.  vmd, the per-VM supervisor, runs as root on the node and cuts the
 * byte stream from the guest's agent into frames, reads HELLO, and decodes EXEC requests that
 * programs in the guest send to the host (srun inside the VM).  A job may be root in its VM, so
 * every byte of that stream is hostile: a crash, an overread or a leak here is a fault in a root
 * daemon that an ordinary user's job can trigger.  The guest agent parses the same frames from
 * the host.
 *
 * The input is the stream as it arrives: it is cut into frames with xvp_conn_next, each frame's
 * payload goes through every accessor and decoder, and the whole input is also decoded as one
 * EXEC payload.  A decoded EXEC must encode and decode back to the same request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "vm/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_vec(char **a, char **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* A decoded request re-encodes into a payload that decodes to the same request. */
static void check_exec_roundtrip(const struct xvp_exec *x)
{
	struct xvp_buf b = {0};
	struct xvp_exec y;

	if (!x->argv || x->argv[x->argc] || !x->envp || x->envp[x->envc] || !x->cwd)
		abort(); /* decode promises NULL-terminated vectors and a cwd */
	if (xvp_exec_encode(x, &b) < 0) {
		xvp_buf_free(&b);
		return; /* only ENOMEM/EMSGSIZE, which a fuzz input cannot cause */
	}
	if (xvp_exec_decode(b.buf + b.off, b.len, &y) < 0)
		abort();
	if (y.argc != x->argc || y.envc != x->envc || strcmp(y.cwd, x->cwd) != 0 ||
	    y.uid != x->uid || y.gid != x->gid || y.flags != x->flags || y.ngroups != x->ngroups ||
	    y.nrelay != x->nrelay || !same_vec(y.argv, x->argv, x->argc) ||
	    !same_vec(y.envp, x->envp, x->envc) ||
	    (x->ngroups && memcmp(y.groups, x->groups, x->ngroups * sizeof(*x->groups)) != 0) ||
	    memcmp(y.relay_fds, x->relay_fds, x->nrelay * sizeof(*x->relay_fds)) != 0 ||
	    y.pty != x->pty || (x->pty && memcmp(&y.tty, &x->tty, sizeof(x->tty)) != 0))
		abort();
	xvp_exec_free(&y);
	xvp_buf_free(&b);
}

static void exec_decode(const uint8_t *p, size_t len)
{
	struct xvp_exec x;

	if (xvp_exec_decode(p, len, &x) == 0) {
		check_exec_roundtrip(&x);
		xvp_exec_free(&x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xvp_conn c;
	struct xvp_frame f;
	int rc;

	xvp_conn_init(&c, -1);
	if (xvp_buf_reserve(&c.in, size) < 0)
		abort();
	if (size)
		memcpy(c.in.buf, data, size);
	c.in.len = size;
	while ((rc = xvp_conn_next(&c, &f)) == 1) {
		char status[16], big[600];
		uint32_t v, version;
		size_t at;

		/* The frame lies within what was read.  (Offsets, not pointers: a compared pointer
		 * would go into libFuzzer's table of compared values and make runs differ.) */
		at = (size_t)(f.payload - c.in.buf);
		if (at < XVP_HDR_LEN || f.len > size || at + f.len > size)
			abort();
		for (size_t i = 0; i < 4; i++)
			if (xvp_get_u32(&f, i, &v) == 0 && f.len < (i + 1) * 4)
				abort();
		/* a small buffer (truncation) and one larger than any status a sender emits */
		if (xvp_parse_hello(&f, &version, status, sizeof(status)) == 0 &&
		    strlen(status) >= sizeof(status))
			abort();
		(void)xvp_parse_hello(&f, &version, big, sizeof(big));
		(void)xvp_parse_hello(&f, &version, status, 1);
		{
			struct xvp_tty t;
			int ws;

			/* an accepted status is one an exec can end with */
			if (f.type == XVP_EXIT && xvp_exit_status(&f, &ws) == 0 && !WIFEXITED(ws) &&
			    !WIFSIGNALED(ws))
				abort();
			if (xvp_parse_winsize(&f, &t) == 0 && (f.type != XVP_WINSIZE || f.len < 16))
				abort();
		}
		exec_decode(f.payload, f.len);
		if (!xvp_type_name(f.type))
			abort();
	}
	if (rc < 0 && c.in.len < XVP_HDR_LEN)
		abort(); /* a protocol error needs a header */
	xvp_conn_fini(&c);
	exec_decode(data, size);
	return 0;
}
