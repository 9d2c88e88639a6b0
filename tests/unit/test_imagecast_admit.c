/*
 * test_imagecast_admit.c - imagecastd's admission of TCP connections: slots in total and per
 * peer, the log that speaks of a peer once a minute, and the handshake stage (a half HELLO closed
 * at its deadline, a whole one handed on, bad first frames and excess connections refused at once
 * with an ERROR naming the limit).  Connections are socketpairs; the clock is passed in.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "imagecast/admit.h"
#include "imagecast/handshake.h"
#include "lib/log.h"
#include "imagecast/proto.h"

/* ---------------------------------------------------------------- slots and the log */

static void test_limits(void **state)
{
	struct ic_admit a;

	(void)state;
	assert_int_equal(ic_admit_init(&a, 0, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ic_admit_init(&a, 5, 2), 0);
	assert_int_equal(ic_admit_take(&a, "10.0.0.1"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_take(&a, "10.0.0.1"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_take(&a, "10.0.0.1"), IC_ADMIT_PEER);
	assert_int_equal(ic_admit_count(&a, "10.0.0.1"), 2);
	assert_int_equal(ic_admit_take(&a, "10.0.0.2"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_take(&a, "10.0.0.3"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_take(&a, "10.0.0.4"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_count(&a, NULL), 5);
	/* Full: a new address is refused by the total, and so is a known one under its own limit.
	 */
	assert_int_equal(ic_admit_take(&a, "10.0.0.5"), IC_ADMIT_TOTAL);
	assert_int_equal(ic_admit_take(&a, "10.0.0.2"), IC_ADMIT_TOTAL);
	ic_admit_release(&a, "10.0.0.1");
	ic_admit_release(&a, "10.0.0.9"); /* never taken: ignored */
	assert_int_equal(ic_admit_count(&a, NULL), 4);
	assert_int_equal(ic_admit_take(&a, "10.0.0.5"), IC_ADMIT_OK);
	/* Released to zero, an address's entry is free for another. */
	ic_admit_release(&a, "10.0.0.3");
	assert_int_equal(ic_admit_count(&a, "10.0.0.3"), 0);
	assert_int_equal(ic_admit_take(&a, "10.0.0.6"), IC_ADMIT_OK);
	assert_int_equal(ic_admit_count(&a, "10.0.0.6"), 1);
	assert_int_equal(ic_admit_count(&a, NULL), 5);
	ic_admit_destroy(&a);
}

static void test_log_once_a_minute(void **state)
{
	struct ic_admit a;
	char addr[32];

	(void)state;
	assert_int_equal(ic_admit_init(&a, 4, 4), 0);
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.0.0.1", 100.0), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ic_admit_should_log(&a, "limit", "10.0.0.1", 100.0 + i * 10), -1);
	/* Another peer, and another kind about the same peer, have their own minute. */
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.0.0.2", 101.0), 0);
	assert_int_equal(ic_admit_should_log(&a, "timeout", "10.0.0.1", 101.0), 0);
	/* A minute later the next one logs and says how many were not. */
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.0.0.1", 160.0), 5);
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.0.0.1", 161.0), -1);

	/* More peers than the table: the rest share one message a minute. */
	ic_admit_destroy(&a);
	assert_int_equal(ic_admit_init(&a, 4, 4), 0);
	for (int i = 0; i < IC_ADMIT_LOG_SLOTS; i++) {
		snprintf(addr, sizeof(addr), "10.1.0.%d", i);
		assert_int_equal(ic_admit_should_log(&a, "limit", addr, 200.0), 0);
	}
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.2.0.1", 200.0), 0);
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.2.0.2", 200.0), -1);
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.2.0.3", 210.0), -1);
	/* Once the table's entries are a minute old they are reused. */
	assert_int_equal(ic_admit_should_log(&a, "limit", "10.2.0.4", 261.0), 0);
	ic_admit_destroy(&a);
}

/* ---------------------------------------------------------------- the handshake stage */

struct ready_log {
	int calls;
	char cred[64];
	struct ic_conn *c;
};

static void ready(void *arg, struct ic_conn *c, char *cred)
{
	struct ready_log *r = arg;

	r->calls++;
	snprintf(r->cred, sizeof(r->cred), "%s", cred);
	free(cred);
	r->c = c; /* the test closes it and gives the slot back, as imagecastd does */
}

static int warnings;
static char last_warning[1200];

static void sink(enum xlog_level level, const char *msg)
{
	if (level == XLOG_WARN) {
		warnings++;
		snprintf(last_warning, sizeof(last_warning), "%s", msg);
	}
}

/* A connection from the peer addr: *client is our end, the stage gets the other at `now`. */
static void connect_to(struct ic_hs *h, const char *addr, struct ic_conn **client, double now)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	*client = ic_conn_wrap(sv[0], "server");
	assert_non_null(*client);
	ic_hs_add(h, ic_conn_wrap(sv[1], addr), now);
}

/* One round of the accept loop at `now`, without waiting. */
static void run(struct ic_hs *h, double now)
{
	struct pollfd p[64];
	size_t n = ic_hs_pollfds(h, p);

	assert_true(poll(p, n, 0) >= 0);
	ic_hs_run(h, p, n, now);
}

/* The ERROR the stage sent to client (then closed), as text. */
static void expect_error(struct ic_conn *client, const char *part)
{
	unsigned type;
	char *body = NULL;
	struct xerr err;

	client->t->set_timeout(client, 2000);
	assert_int_equal(ic_recv(client, &type, &body, NULL, 4096, &err), -1);
	assert_int_equal(errno, EREMOTEIO);
	if (!strstr(err.msg, part))
		fail_msg("ERROR '%s' does not say '%s'", err.msg, part);
	/* And then the end of the stream. */
	assert_int_equal(ic_recv(client, &type, &body, NULL, 4096, &err), -1);
	assert_int_equal(errno, ECONNRESET);
}

static void send_raw_hdr(struct ic_conn *client, unsigned version, unsigned type, uint32_t len)
{
	uint8_t hdr[IC_FRAME_HDR];

	ic_hdr_pack(hdr, version, type, len);
	assert_int_equal(client->t->send(client, hdr, sizeof(hdr), 0), 0);
}

static void test_half_hello_closed_at_deadline(void **state)
{
	struct ic_admit a;
	struct ic_hs h;
	struct ready_log r = {0};
	struct ic_conn *idle, *half;

	(void)state;
	xlog_set_sink(sink);
	assert_int_equal(ic_admit_init(&a, 8, 8), 0);
	assert_int_equal(ic_hs_init(&h, &a, "n1", 5.0, ready, &r), 0);
	assert_int_equal(ic_hs_wait_ms(&h, 0), -1);
	connect_to(&h, "10.0.0.1", &idle, 100.0);
	connect_to(&h, "10.0.0.1", &half, 101.0);
	assert_int_equal(ic_hs_wait_ms(&h, 100.0), 5001);
	send_raw_hdr(half, IC_PROTO_VERSION, IC_HELLO, 100);
	assert_int_equal(half->t->send(half, "MUNGE:AAAA", 10, 0), 0);
	run(&h, 104.9);
	assert_int_equal(h.n, 2);
	assert_int_equal(ic_admit_count(&a, "10.0.0.1"), 2);
	/* The deadline counts from accept, whatever arrived since. */
	warnings = 0;
	run(&h, 105.0);
	assert_int_equal(h.n, 1);
	expect_error(idle, "no authentication within 5 s (handshake-timeout)");
	run(&h, 106.0);
	assert_int_equal(h.n, 0);
	expect_error(half, "handshake-timeout");
	assert_int_equal(ic_admit_count(&a, NULL), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(warnings, 1); /* two timeouts of one peer: one message */
	ic_conn_close(idle);
	ic_conn_close(half);
	ic_hs_destroy(&h);
	ic_admit_destroy(&a);
	xlog_set_sink(NULL);
}

static void test_whole_hello_handed_on(void **state)
{
	struct ic_admit a;
	struct ic_hs h;
	struct ready_log r = {0};
	struct ic_conn *client;

	(void)state;
	assert_int_equal(ic_admit_init(&a, 8, 8), 0);
	assert_int_equal(ic_hs_init(&h, &a, "n1", 5.0, ready, &r), 0);
	connect_to(&h, "10.0.0.1", &client, 0);
	/* In pieces: part of the header, the rest, then the credential in two. */
	{
		uint8_t hdr[IC_FRAME_HDR];

		ic_hdr_pack(hdr, IC_PROTO_VERSION, IC_HELLO, 10);
		assert_int_equal(client->t->send(client, hdr, 5, 0), 0);
		run(&h, 1);
		assert_int_equal(client->t->send(client, hdr + 5, IC_FRAME_HDR - 5, 0), 0);
		run(&h, 2);
		assert_int_equal(client->t->send(client, "MUNGE:", 6, 0), 0);
		run(&h, 3);
		assert_int_equal(r.calls, 0);
		assert_int_equal(client->t->send(client, "abc:", 4, 0), 0);
		run(&h, 4);
	}
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.cred, "MUNGE:abc:");
	assert_int_equal(h.n, 0);
	/* The slot goes with the connection: the callee gives it back. */
	assert_int_equal(ic_admit_count(&a, "10.0.0.1"), 1);
	ic_conn_close(r.c);
	ic_admit_release(&a, "10.0.0.1");
	ic_conn_close(client);
	ic_hs_destroy(&h);
	ic_admit_destroy(&a);
}

static void test_bad_first_frames_refused(void **state)
{
	struct ic_admit a;
	struct ic_hs h;
	struct ready_log r = {0};
	struct ic_conn *notyet, *big, *oldver, *gone;

	(void)state;
	assert_int_equal(ic_admit_init(&a, 8, 8), 0);
	assert_int_equal(ic_hs_init(&h, &a, "n1", 5.0, ready, &r), 0);
	connect_to(&h, "10.0.0.1", &notyet, 0);
	connect_to(&h, "10.0.0.2", &big, 0);
	connect_to(&h, "10.0.0.3", &oldver, 0);
	connect_to(&h, "10.0.0.4", &gone, 0);
	send_raw_hdr(notyet, IC_PROTO_VERSION, IC_GET_MANIFEST, 6);
	assert_int_equal(notyet->t->send(notyet, "name x", 6, 0), 0);
	send_raw_hdr(big, IC_PROTO_VERSION, IC_HELLO, 1u << 20);
	send_raw_hdr(oldver, 9, IC_HELLO, 4);
	ic_conn_close(gone);
	run(&h, 1);
	assert_int_equal(h.n, 0);
	assert_int_equal(ic_admit_count(&a, NULL), 0);
	assert_int_equal(r.calls, 0);
	expect_error(notyet, "authentication required: the first frame must be HELLO with a munge "
	                     "credential, not GET_MANIFEST");
	expect_error(big, "HELLO of 1048576 bytes refused (at most 4096)");
	expect_error(oldver, "unsupported protocol version 9; this node speaks 2");
	ic_conn_close(notyet);
	ic_conn_close(big);
	ic_conn_close(oldver);
	ic_hs_destroy(&h);
	ic_admit_destroy(&a);
}

static void test_excess_refused_at_once(void **state)
{
	struct ic_admit a;
	struct ic_hs h;
	struct ready_log r = {0};
	struct ic_conn *held[4], *over[6];

	(void)state;
	xlog_set_sink(sink);
	warnings = 0;
	assert_int_equal(ic_admit_init(&a, 4, 3), 0);
	assert_int_equal(ic_hs_init(&h, &a, "n1", 5.0, ready, &r), 0);
	for (int i = 0; i < 3; i++)
		connect_to(&h, "10.0.0.1", &held[i], 0);
	/* Five more from that peer: each refused at once, one message in the log. */
	for (int i = 0; i < 5; i++) {
		connect_to(&h, "10.0.0.1", &over[i], 1);
		expect_error(over[i], "imagecastd on n1: too many connections from 10.0.0.1 "
		                      "(max-per-peer 3); try again later");
	}
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last_warning, "connection refused"));
	assert_int_equal(h.n, 3);
	/* The last slot in total goes to another peer; then everyone is refused. */
	connect_to(&h, "10.0.0.2", &held[3], 1);
	connect_to(&h, "10.0.0.3", &over[5], 1);
	expect_error(over[5], "too many connections (max-connections 4)");
	assert_int_equal(warnings, 2);
	assert_int_equal(ic_admit_count(&a, NULL), 4);
	/* A minute later, the peer's next refusal is logged with the count of the others. */
	ic_conn_close(over[0]);
	connect_to(&h, "10.0.0.1", &over[0], 61);
	expect_error(over[0], "max-connections 4");
	assert_int_equal(warnings, 3);
	assert_non_null(strstr(last_warning, "(4 more like it in the last minute not logged)"));
	ic_hs_destroy(&h);
	assert_int_equal(ic_admit_count(&a, NULL), 0);
	for (int i = 0; i < 4; i++)
		ic_conn_close(held[i]);
	for (int i = 0; i < 6; i++)
		ic_conn_close(over[i]);
	ic_admit_destroy(&a);
	xlog_set_sink(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_log_once_a_minute),
	    cmocka_unit_test(test_half_hello_closed_at_deadline),
	    cmocka_unit_test(test_whole_hello_handed_on),
	    cmocka_unit_test(test_bad_first_frames_refused),
	    cmocka_unit_test(test_excess_refused_at_once),
	};

	xlog_init("test", XLOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
