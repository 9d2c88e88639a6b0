/*
 * test_vm_proto.c - the agent protocol's framing and EXEC encoding (vm/proto.c).
 */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/proto.h"

/* Move everything queued on a to b through a socketpair. */
static void pump(struct xvp_conn *a, struct xvp_conn *b)
{
	while (xvp_conn_pending(a)) {
		assert_int_equal(xvp_conn_flush(a), 0);
		assert_true(xvp_conn_fill(b) > 0);
	}
}

static void test_frames_roundtrip(void **state)
{
	int sv[2];
	struct xvp_conn a, b;
	struct xvp_frame f;
	uint32_t v, ver;
	char st[16];
	static uint8_t big[XVP_DATA_MAX];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	xvp_conn_init(&a, sv[0]);
	xvp_conn_init(&b, sv[1]);
	memset(big, 0xab, sizeof(big));
	assert_int_equal(xvp_send_hello(&a, "ok"), 0);
	assert_int_equal(xvp_send(&a, XVP_DATA, 7, 2, big, sizeof(big)), 0);
	assert_int_equal(xvp_send_u32(&a, XVP_CREDIT, 7, 1, 4096), 0);
	assert_int_equal(xvp_send_u32x2(&a, XVP_EXIT, 7, XVP_SIGNALED, 15), 0);
	pump(&a, &b);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_parse_hello(&f, &ver, st, sizeof(st)), 0);
	assert_string_equal(st, "ok");
	assert_int_equal(ver, XVP_VERSION);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(f.type, XVP_DATA);
	assert_int_equal(f.chan, 7);
	assert_int_equal(f.stream, 2);
	assert_int_equal(f.len, sizeof(big));
	assert_memory_equal(f.payload, big, sizeof(big));
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(f.type, XVP_CREDIT);
	assert_int_equal(xvp_get_u32(&f, 0, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(xvp_get_u32(&f, 1, &v), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(f.type, XVP_EXIT);
	assert_int_equal(xvp_conn_next(&b, &f), 0);
	xvp_conn_fini(&a);
	xvp_conn_fini(&b);
	close(sv[0]);
	close(sv[1]);
}

static void test_oversized_frame_rejected(void **state)
{
	struct xvp_conn c;
	struct xvp_frame f;
	uint8_t hdr[XVP_HDR_LEN] = {0xff, 0xff, 0xff, 0x7f, XVP_DATA, 0, 0, 0, 1, 0, 0, 0};

	(void)state;
	xvp_conn_init(&c, -1);
	assert_int_equal(xvp_buf_reserve(&c.in, sizeof(hdr)), 0);
	memcpy(c.in.buf, hdr, sizeof(hdr));
	c.in.len = sizeof(hdr);
	assert_int_equal(xvp_conn_next(&c, &f), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(xvp_send(&c, XVP_DATA, 1, 0, hdr, XVP_MAX_PAYLOAD + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	xvp_conn_fini(&c);
}

static void test_hello_version_mismatch(void **state)
{
	struct xvp_frame f = {.type = XVP_HELLO, .len = 10};
	uint8_t p[10] = {2, 0, 0, 0, 0, 0, 0, 0, 'o', 'k'};
	uint32_t ver;
	char st[8];

	(void)state;
	f.payload = p;
	assert_int_equal(xvp_parse_hello(&f, &ver, st, sizeof(st)), -1);
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_int_equal(ver, 2);
	f.len = 3;
	assert_int_equal(xvp_parse_hello(&f, &ver, st, sizeof(st)), -1);
	assert_int_equal(errno, EPROTO);
}

static void test_exec_roundtrip(void **state)
{
	char *argv[] = {"prog", "", "a b", "\xff\xfe"};
	char *envp[] = {"A=1", "EMPTY="};
	uint32_t groups[] = {4, 100};
	struct xvp_exec x = {.argv = argv,
	                     .argc = 4,
	                     .envp = envp,
	                     .envc = 2,
	                     .cwd = "/home/u",
	                     .uid = 1001,
	                     .gid = 1002,
	                     .groups = groups,
	                     .ngroups = 2,
	                     .flags = XVP_EXEC_ROOT,
	                     .relay_fds = {11},
	                     .nrelay = 1};
	struct xvp_buf b = {0};
	struct xvp_exec y;

	(void)state;
	assert_int_equal(xvp_exec_encode(&x, &b), 0);
	assert_int_equal(xvp_exec_decode(b.buf + b.off, b.len, &y), 0);
	assert_int_equal(y.argc, 4);
	assert_string_equal(y.argv[1], "");
	assert_string_equal(y.argv[3], "\xff\xfe");
	assert_null(y.argv[4]);
	assert_int_equal(y.envc, 2);
	assert_string_equal(y.envp[1], "EMPTY=");
	assert_null(y.envp[2]);
	assert_string_equal(y.cwd, "/home/u");
	assert_int_equal(y.uid, 1001);
	assert_int_equal(y.gid, 1002);
	assert_int_equal(y.ngroups, 2);
	assert_int_equal(y.groups[1], 100);
	assert_int_equal(y.flags, XVP_EXEC_ROOT);
	assert_int_equal(y.nrelay, 1);
	assert_int_equal(y.relay_fds[0], 11);
	xvp_exec_free(&y);
	xvp_buf_free(&b);
}

static void test_exec_decode_rejects(void **state)
{
	struct xvp_exec y;
	/* truncated TLV header */
	const uint8_t trunc[] = {1, 0, 5, 0};
	/* ARG "x" but no cwd */
	const uint8_t nocwd[] = {1, 0, 1, 0, 0, 0, 'x'};
	/* ARG with an embedded NUL, then CWD "/" */
	const uint8_t nul[] = {1, 0, 2, 0, 0, 0, 'a', 0, 3, 0, 1, 0, 0, 0, '/'};
	/* ENV without '=' */
	const uint8_t env[] = {1, 0, 1, 0, 0, 0, 'x', 2, 0, 1, 0, 0, 0, 'A', 3, 0, 1, 0, 0, 0, '/'};
	/* RELAY of fd 1 (stdio cannot be relayed) */
	const uint8_t rel[] = {1, 0,   1, 0, 0, 0, 'x', 3, 0, 1, 0, 0,
	                       0, '/', 8, 0, 4, 0, 0,   0, 1, 0, 0, 0};
	/* length beyond the payload */
	const uint8_t over[] = {1, 0, 0xff, 0, 0, 0, 'x'};

	(void)state;
	assert_int_equal(xvp_exec_decode(trunc, sizeof(trunc), &y), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(xvp_exec_decode(nocwd, sizeof(nocwd), &y), -1);
	assert_int_equal(xvp_exec_decode(nul, sizeof(nul), &y), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(xvp_exec_decode(env, sizeof(env), &y), -1);
	assert_int_equal(xvp_exec_decode(rel, sizeof(rel), &y), -1);
	assert_int_equal(xvp_exec_decode(over, sizeof(over), &y), -1);
	assert_int_equal(errno, EPROTO);
}

/* EXIT carries the wait status itself (core bit included); a two-field EXIT still decodes. */
static void test_exit_status(void **state)
{
	int sv[2], ws = -1;
	struct xvp_conn a, b;
	struct xvp_frame f;
	uint32_t v;
	const uint8_t bad[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0}; /* "stopped" */

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	xvp_conn_init(&a, sv[0]);
	xvp_conn_init(&b, sv[1]);
	assert_int_equal(xvp_send_exit(&a, 5, 0x80 | SIGSEGV), 0); /* SIGSEGV, core dumped */
	assert_int_equal(xvp_send_exit(&a, 5, 3 << 8), 0);         /* exit 3 */
	assert_int_equal(xvp_send_u32x2(&a, XVP_EXIT, 5, XVP_SIGNALED, SIGKILL), 0); /* old agent */
	assert_int_equal(xvp_send_u32x2(&a, XVP_EXIT, 5, XVP_EXITED, 300), 0);
	assert_int_equal(xvp_send(&a, XVP_EXIT, 5, 0, bad, sizeof(bad)), 0);
	assert_int_equal(xvp_send_u32x2(&a, XVP_EXIT, 5, XVP_SIGNALED, 0), 0);
	pump(&a, &b);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), 0);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSEGV && WCOREDUMP(ws));
	/* the first two fields stay what older receivers read */
	assert_int_equal(xvp_get_u32(&f, 0, &v), 0);
	assert_int_equal(v, XVP_SIGNALED);
	assert_int_equal(xvp_get_u32(&f, 1, &v), 0);
	assert_int_equal(v, SIGSEGV);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), 0);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 3);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), 0);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL && !WCOREDUMP(ws));
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), 0);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 300 % 256);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(xvp_conn_next(&b, &f), 1);
	assert_int_equal(xvp_exit_status(&f, &ws), -1);
	assert_int_equal(errno, EPROTO);
	xvp_conn_fini(&a);
	xvp_conn_fini(&b);
	close(sv[0]);
	close(sv[1]);
}

/* A pty request: the TTY field round-trips; a wrong length or a second one is refused. */
static void test_exec_tty(void **state)
{
	char *argv[] = {"bash", "-i"};
	struct xvp_exec x = {.argv = argv, .argc = 2, .cwd = "/", .pty = true};
	struct xvp_buf b = {0};
	struct xvp_exec y;
	struct xvp_frame f = {.type = XVP_WINSIZE};
	struct xvp_tty t = {0};
	uint8_t ws[16] = {50, 0, 0, 0, 132, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
	size_t len;

	(void)state;
	x.tty = (struct xvp_tty){.rows = 24, .cols = 80, .iflag = 0x500, .lflag = 0x8a3b};
	x.tty.cc[0] = 3;
	x.tty.cc[XVP_TTY_NCC - 1] = 0xff;
	assert_int_equal(xvp_exec_encode(&x, &b), 0);
	assert_int_equal(xvp_exec_decode(b.buf + b.off, b.len, &y), 0);
	assert_true(y.pty);
	assert_memory_equal(&y.tty, &x.tty, sizeof(x.tty));
	xvp_exec_free(&y);
	/* without a TTY field: no pty (what an older host sends) */
	x.pty = false;
	xvp_buf_free(&b);
	assert_int_equal(xvp_exec_encode(&x, &b), 0);
	assert_int_equal(xvp_exec_decode(b.buf + b.off, b.len, &y), 0);
	assert_false(y.pty);
	xvp_exec_free(&y);
	/* two TTY fields */
	x.pty = true;
	xvp_buf_free(&b);
	assert_int_equal(xvp_exec_encode(&x, &b), 0);
	len = b.len;
	assert_int_equal(xvp_buf_reserve(&b, 78), 0);
	memcpy(b.buf + b.off + b.len, b.buf + b.off + len - 78, 78);
	b.len += 78;
	assert_int_equal(xvp_exec_decode(b.buf + b.off, b.len, &y), -1);
	assert_int_equal(errno, EPROTO);
	/* a TTY field one byte short */
	b.len = len - 1;
	b.buf[b.off + len - 78 + 2] = 71;
	assert_int_equal(xvp_exec_decode(b.buf + b.off, b.len, &y), -1);
	assert_int_equal(errno, EPROTO);
	xvp_buf_free(&b);
	/* WINSIZE */
	f.payload = ws;
	f.len = sizeof(ws);
	assert_int_equal(xvp_parse_winsize(&f, &t), 0);
	assert_int_equal(t.rows, 50);
	assert_int_equal(t.cols, 132);
	assert_int_equal(t.xpixel, 1);
	assert_int_equal(t.ypixel, 2);
	f.len = 15;
	assert_int_equal(xvp_parse_winsize(&f, &t), -1);
	assert_int_equal(errno, EPROTO);
}

/* Frames split at every byte boundary still parse. */
static void test_partial_input(void **state)
{
	int sv[2];
	struct xvp_conn a, b;
	struct xvp_frame f;
	size_t total, i;
	const uint8_t *bytes;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	xvp_conn_init(&a, sv[0]);
	xvp_conn_init(&b, sv[1]);
	assert_int_equal(xvp_send(&a, XVP_DATA, 3, 0, "hello", 5), 0);
	total = a.out.len;
	bytes = a.out.buf + a.out.off;
	for (i = 0; i < total; i++) {
		assert_int_equal(write(sv[0], bytes + i, 1), 1);
		assert_int_equal(xvp_conn_fill(&b), 1);
		assert_int_equal(xvp_conn_next(&b, &f), i + 1 == total ? 1 : 0);
	}
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "hello", 5);
	xvp_conn_fini(&a);
	xvp_conn_fini(&b);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_roundtrip),
	    cmocka_unit_test(test_oversized_frame_rejected),
	    cmocka_unit_test(test_hello_version_mismatch),
	    cmocka_unit_test(test_exec_roundtrip),
	    cmocka_unit_test(test_exec_decode_rejects),
	    cmocka_unit_test(test_partial_input),
	    cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_exec_tty),
	};

	return cmocka_run_group_tests_name("vm_proto", tests, NULL, NULL);
}
