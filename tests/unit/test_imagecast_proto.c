/*
 * test_imagecast_proto.c - frames (magic, version, limits), ERROR frames, zero-copy chunk frames,
 * fetch requests and node lists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "imagecast/hosts.h"
#include "imagecast/proto.h"
#include "imagecast/spec.h"

static void pair(struct ic_conn **a, struct ic_conn **b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*a = ic_conn_wrap(sv[0], "a");
	*b = ic_conn_wrap(sv[1], "b");
	assert_non_null(*a);
	assert_non_null(*b);
}

static void test_header(void **state)
{
	uint8_t h[IC_FRAME_HDR];
	unsigned type;
	uint32_t len;
	struct xerr err;

	(void)state;
	ic_hdr_pack(h, IC_PROTO_VERSION, IC_CHUNK, 4242);
	assert_int_equal(ic_hdr_unpack(h, &type, &len, &err), 0);
	assert_int_equal(type, IC_CHUNK);
	assert_int_equal(len, 4242);

	ic_hdr_pack(h, 7, IC_HELLO, 0);
	assert_int_equal(ic_hdr_unpack(h, &type, &len, &err), -1);
	assert_int_equal(errno, EPROTO);
	assert_string_equal(err.msg, "unsupported protocol version 7; this node speaks 2");

	ic_hdr_pack(h, IC_PROTO_VERSION, IC_HELLO, IC_FRAME_MAX + 1);
	assert_int_equal(ic_hdr_unpack(h, &type, &len, &err), -1);
	ic_hdr_pack(h, IC_PROTO_VERSION, 200, 0);
	assert_int_equal(ic_hdr_unpack(h, &type, &len, &err), -1);
	memcpy(h, "GET ", 4);
	assert_int_equal(ic_hdr_unpack(h, &type, &len, &err), -1);
	assert_non_null(strstr(err.msg, "bad magic"));
}

static void test_roundtrip_and_error(void **state)
{
	struct ic_conn *a, *b;
	struct xerr err;
	unsigned type;
	char *body = NULL;
	uint32_t len;

	(void)state;
	pair(&a, &b);
	assert_int_equal(ic_send(a, IC_COMMAND, "status", 6), 0);
	assert_int_equal(ic_recv(b, &type, &body, &len, 100, &err), 0);
	assert_int_equal(type, IC_COMMAND);
	assert_string_equal(body, "status");
	free(body);

	ic_send_error(a, "image %s is not on node %s", "x", "n1");
	assert_int_equal(ic_recv(b, &type, &body, &len, 100, &err), -1);
	assert_int_equal(errno, EREMOTEIO);
	assert_string_equal(err.msg, "image x is not on node n1");

	/* Too large for what the receiver allows. */
	assert_int_equal(ic_send(a, IC_MANIFEST, "0123456789", 10), 0);
	assert_int_equal(ic_recv(b, &type, &body, &len, 5, &err), -1);

	/* A peer speaking version 9 gets an ERROR it can read, in our version. */
	{
		uint8_t h[IC_FRAME_HDR];

		ic_conn_close(a);
		ic_conn_close(b);
		pair(&a, &b);
		ic_hdr_pack(h, 9, IC_HELLO, 0);
		assert_int_equal(write(a->fd, h, sizeof(h)), (ssize_t)sizeof(h));
		assert_int_equal(ic_recv_hdr(b, &type, &len, &err), -1);
		assert_int_equal(ic_recv(a, &type, &body, &len, 1000, &err), -1);
		assert_int_equal(errno, EREMOTEIO);
		assert_non_null(strstr(err.msg, "unsupported protocol version 9"));
	}
	/* EOF is a clear error. */
	ic_conn_close(b);
	assert_int_equal(ic_recv(a, &type, &body, &len, 100, &err), -1);
	assert_non_null(strstr(err.msg, "connection closed"));
	ic_conn_close(a);
}

static void test_chunk_frame(void **state)
{
	struct ic_conn *a, *b;
	struct xerr err;
	char path[] = "/tmp/ic-proto.XXXXXX";
	int fd = mkstemp(path);
	unsigned type;
	uint32_t len, idx;
	char data[32];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	pair(&a, &b);
	assert_int_equal(ic_send_chunk(a, 7, fd, 4, 8), 0);
	assert_int_equal(ic_recv_hdr(b, &type, &len, &err), 0);
	assert_int_equal(type, IC_CHUNK);
	assert_int_equal(len, 12);
	assert_int_equal(b->t->recv(b, &idx, 4), 0);
	assert_int_equal(ntohl(idx), 7);
	assert_int_equal(b->t->recv(b, data, 8), 0);
	assert_memory_equal(data, "456789ab", 8);
	ic_conn_close(a);
	ic_conn_close(b);
	close(fd);
	unlink(path);
}

static void test_spec(void **state)
{
	struct ic_spec s, back;
	struct xerr err;
	char *text = NULL;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "ttylinux");
	strcpy(s.digest, "sha256:");
	memset(s.digest + 7, 'a', IC_SHA_HEX);
	s.digest[IC_DIGEST_LEN] = '\0';
	s.shape = XENVM_CAST_PIPELINED_CHAIN;
	s.chunk_bytes = 4 << 20;
	assert_int_equal(ic_hosts_expand("node[01-03],login", &s.nodes, &err), 4);
	s.nnodes = 4;
	strcpy(s.files[0].role, "kernel");
	s.files[0].path = strdup("tty/vmlinuz");
	s.files[0].size = 99;
	s.nfiles = 1;
	s.store = strdup("/srv/images");
	assert_true(ic_spec_format(&s, &text) > 0);
	assert_int_equal(ic_spec_parse(text, &back, &err), 0);
	assert_string_equal(back.nodes[2], "node03");
	assert_string_equal(back.nodes[3], "login");
	assert_int_equal(back.shape, XENVM_CAST_PIPELINED_CHAIN);
	assert_int_equal(ic_spec_rank(&back, "node02"), 1);
	assert_int_equal(ic_spec_rank(&back, "other"), -1);
	ic_spec_clear(&back);
	free(text);
	ic_spec_clear(&s);

	assert_int_equal(ic_spec_parse("name x\nbogus 1\n", &back, &err), -1);
	assert_non_null(strstr(err.msg, "unknown key"));
	assert_int_equal(ic_spec_parse("name x\nnode a\nnode a\n", &back, &err), -1);
	assert_int_equal(ic_spec_parse("file kernel 1 zz ../../etc\n", &back, &err), -1);
	assert_int_equal(ic_hosts_expand("n[1-2],n1", &s.nodes, &err), -1);
	assert_non_null(strstr(err.msg, "twice"));
}

/*
 * Node names that libslurm's hostlist lets through but that are no host name and would be lines
 * of their own in a fetch request (found by tests/fuzz/fuzz_imagecast_wire: "a,[" gave "").
 */
static void test_hosts_names(void **state)
{
	char **h = NULL;
	struct xerr err;

	(void)state;
	assert_int_equal(ic_hosts_expand("a,[", &h, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "invalid node name ''"));
	assert_int_equal(ic_hosts_expand("n1\nstore /etc", &h, &err), -1);
	assert_non_null(strstr(err.msg, "invalid node name"));
	assert_null(h);
	assert_int_equal(ic_hosts_expand("n[1-3],gpu[7,9]", &h, &err), 5);
	assert_string_equal(h[4], "gpu9");
	ic_hosts_free(h, 5);
}

/* CPU seconds used by this process so far. */
static double cpu_s(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/*
 * Long node lists are checked for duplicates in O(n log n): the pairwise check took 53 s under
 * ASan for the 16-byte list "no[01-50826]" (found by tests/fuzz/fuzz_imagecast_wire), and 7 s
 * of an optimised imagecastd for a peer's fetch request with 65536 nodes.
 */
static void test_many_nodes(void **state)
{
	size_t cap = (size_t)IC_MAX_NODES * 16 + 1024;
	char **h = NULL, *text = malloc(cap), *p;
	struct ic_spec s;
	struct xerr err;
	double t0 = cpu_s();

	(void)state;
	assert_non_null(text);
	assert_int_equal(ic_hosts_expand("no[01-50826]", &h, &err), 50826);
	ic_hosts_free(h, 50826);
	assert_int_equal(ic_hosts_expand("n[1-65536],m1", &h, &err), -1);
	assert_non_null(strstr(err.msg, "more than 65536 nodes"));
	assert_int_equal(ic_hosts_expand("n[1-60000],n59999", &h, &err), -1);
	assert_non_null(strstr(err.msg, "node n59999 appears twice"));

	p = text + sprintf(text,
	                   "name x\ndigest sha256:%064d\nchunk_bytes 65536\n"
	                   "file kernel 1 %064d k\n",
	                   0, 0);
	for (int i = 0; i < IC_MAX_NODES; i++)
		p += sprintf(p, "node n%d\n", i);
	assert_int_equal(ic_spec_parse(text, &s, &err), 0);
	assert_int_equal(s.nnodes, IC_MAX_NODES);
	assert_int_equal(ic_spec_rank(&s, "n65535"), 65535);
	ic_spec_clear(&s);
	/* the last node repeats the first */
	sprintf(p - strlen("node n65535\n"), "node n0\n");
	assert_int_equal(ic_spec_parse(text, &s, &err), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err.msg, "request: node n0 appears twice");
	free(text);
	/* well under a second here; the pairwise checks took minutes under ASan */
	assert_true(cpu_s() - t0 < 10.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),      cmocka_unit_test(test_roundtrip_and_error),
	    cmocka_unit_test(test_chunk_frame), cmocka_unit_test(test_spec),
	    cmocka_unit_test(test_hosts_names), cmocka_unit_test(test_many_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
