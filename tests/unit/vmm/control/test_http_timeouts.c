// SPDX-License-Identifier: GPL-2.0-only
/*
 * A control socket nobody can lock out (vmm/control/http/timeouts.c): a
 * crowd of idle connections does not keep the API from answering, a new
 * connection takes the place of the one idle the longest and never of a
 * busy one, a head or body that does not come in time gets 408, an idle
 * kept-alive connection is closed quietly, an answer nobody reads is
 * given up, and a deferred answer is waited for however long it takes.
 * A real event loop, spoken to through plain sockets (http_harness.h),
 * most tests with timeouts shortened to SHORT_MS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_vm.h"
#include "http_harness.h"
#include "vmm/control/http/internal.h"

#define BY_HAND_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_server_stopped, stop_server)

#define SHORT_MS 300   /* the timeout under test */
#define LONG_MS	 20000 /* the others: never reached in a test */
#define CROWD	 (2 * HTTP_MAX_CONNS)

/* Like a CLOCK_MONOTONIC stopwatch started now. */
static struct timespec started(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/* The timeout under test fired: not before it was due, and not much after. */
static void assert_fired_in_time(const struct timespec *t0, unsigned int ms)
{
	double s = seconds_since(t0);

	if (s < ms / 1000.0 - 0.02 || s > ms / 1000.0 + 1.5)
		fail_msg("the timeout of %u ms fired after %.3f s", ms, s);
}

/* Whether the connection is still open: no answer, no end, within @ms. */
static bool still_open(struct client *c, int ms)
{
	return nothing_sent(c, ms);
}

enum { SHORT_HEAD = 1, SHORT_BODY = 2, SHORT_IDLE = 4, SHORT_SEND = 8, SHORT_ALL = 15 };

static unsigned int timeout_ms(unsigned int which, unsigned int one)
{
	return which & one ? SHORT_MS : LONG_MS;
}

/* A new connection, with the timeouts in @which SHORT_MS and the others LONG_MS. */
static struct client *client_with(struct fixture *f, unsigned int which)
{
	set_timeouts(f, timeout_ms(which, SHORT_HEAD), timeout_ms(which, SHORT_BODY),
		     timeout_ms(which, SHORT_IDLE), timeout_ms(which, SHORT_SEND));
	return client_open(f->path);
}

/* @c, one request answered: kept alive, idle. */
static struct client *answered_once(struct client *c)
{
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	return c;
}

/* ---- a crowd of idle connections, against the real API ---- */

static int start_api(void **state)
{
	reset_vm(state);
	*state = fixture_open(ctl_api_handle, (void *)&ops);
	return 0;
}

static int stop_api(void **state)
{
	fixture_close(*state);
	return 0;
}

static void test_idle_crowd_cannot_lock_out(void **state)
{
	struct fixture *f = *state;
	struct client *crowd[CROWD], *status;
	struct timespec t0;
	int i;

	for (i = 0; i < CROWD; i++) /* connected, nothing sent, held open */
		crowd[i] = client_open(f->path);
	t0 = started();
	status = client_open(f->path);
	send_str(status, "GET /v1/vm HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(status, 200, "\"state\": \"running\"");
	if (seconds_since(&t0) > 2.0)
		fail_msg("GET /v1/vm answered after %.3f s", seconds_since(&t0));
	client_close(status);

	/* each newcomer took the place of the connection idle the longest */
	for (i = 0; i <= CROWD - HTTP_MAX_CONNS; i++) {
		expect_response(crowd[i], 503, "idle the longest, was closed to make room");
		assert_true(server_closed(crowd[i]));
	}
	for (; i < CROWD; i++) {
		assert_true(still_open(crowd[i], 0));
		send_str(crowd[i], get_vm);
		expect_response(crowd[i], 200, "\"vcpus\"");
	}
	for (i = 0; i < CROWD; i++)
		client_close(crowd[i]);
}

/* ---- who makes room ---- */

static struct client *idle_client(const char *path)
{
	return served_client(path); /* answered once, kept alive */
}

static void test_displaces_the_oldest_idle_never_a_busy_one(void **state)
{
	struct fixture *f = *state;
	struct client *head = client_open(f->path), *deferred = client_open(f->path);
	struct client *body = client_open(f->path), *sending = client_open(f->path);
	struct client *idle[HTTP_MAX_CONNS - 4], *extra;
	unsigned int i;

	/* the busy ones are the oldest connections, idle before the others */
	send_str(head, "GET /head HTTP/1.1\r\nHost: x");
	send_str(deferred, "GET /defer HTTP/1.1\r\n\r\n");
	send_str(body, "PUT /body HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
	send_str(sending, "GET /big HTTP/1.1\r\n\r\n"); /* more than the socket holds */
	wait_deferred(f, 1);
	wait_mid_request(f, 2);
	for (i = 0; i < HTTP_MAX_CONNS - 4; i++)
		idle[i] = idle_client(f->path);
	send_str(idle[0], get_vm); /* idle again: now the newest idle */
	expect_response(idle[0], 200, "/v1/vm");

	extra = served_client(f->path);
	assert_true(server_closed(idle[1])); /* quietly: it had its answers */
	send_str(idle[0], get_vm);
	expect_response(idle[0], 200, "/v1/vm");
	send_str(idle[2], get_vm);
	expect_response(idle[2], 200, "/v1/vm");

	/* the busy ones go on as if nothing happened */
	send_str(head, "\r\n\r\n");
	expect_echo(head, "GET", "/head", "", "", "");
	answer_deferred(f);
	expect_response(deferred, 200, "{\"deferred\": \"/defer\"}");
	send_str(body, "cd");
	expect_echo(body, "PUT", "/body", "", "", "abcd");
	expect_response(sending, 200, "\"big\"");

	client_close(extra);
	client_close(head);
	client_close(deferred);
	client_close(body);
	client_close(sending);
	for (i = 0; i < HTTP_MAX_CONNS - 4; i++)
		client_close(idle[i]);
}

static void test_newcomer_displaces_a_silent_connection(void **state)
{
	struct fixture *f = *state;
	struct client *c[HTTP_MAX_CONNS], *extra;
	int i;

	c[0] = client_open(f->path); /* connected, never says a word */
	for (i = 1; i < HTTP_MAX_CONNS; i++)
		c[i] = idle_client(f->path);
	extra = served_client(f->path);
	/* it never had an answer: it gets one saying why, then the end */
	expect_response(c[0], 503, "at most 32 API connections");
	assert_true(server_closed(c[0]));
	for (i = 1; i < HTTP_MAX_CONNS; i++) {
		send_str(c[i], get_vm);
		expect_response(c[i], 200, "/v1/vm");
	}
	for (i = 0; i < HTTP_MAX_CONNS; i++)
		client_close(c[i]);
	client_close(extra);
}

/* ---- the head ---- */

/*
 * With the timeout @which (SHORT_HEAD or SHORT_BODY) short, a new
 * connection that sends @text (NULL: nothing) gets a 408 saying @needle
 * in time, then the end, and no request reaches the handler.
 */
static void expect_408_for(struct fixture *f, unsigned int which, const char *text,
			   const char *needle)
{
	struct timespec t0 = started();
	struct client *c = client_with(f, which);
	struct response r;

	if (text)
		send_str(c, text);
	r = read_response(c);
	assert_fired_in_time(&t0, SHORT_MS);
	assert_int_equal(r.status, 408);
	if (!strstr(r.body, needle))
		fail_msg("the 408 says %s, not %s", r.body, needle);
	assert_non_null(strstr(r.headers, "Connection: close"));
	free(r.body);
	assert_true(server_closed(c));
	assert_int_equal(requests_handled(f), 0);
	client_close(c);
	wait_served(f, 0);
}

static void test_half_a_head_gets_408(void **state)
{
	expect_408_for(*state, SHORT_HEAD, "GET /v1/vm HTTP/1.1\r\nHost: x\r\n",
		       "headers took longer than 0.3 s");
}

static void test_silent_connection_gets_408(void **state)
{
	expect_408_for(*state, SHORT_HEAD, NULL, "no request arrived within 0.3 s of connecting");
}

static void test_head_trickling_in_gets_408(void **state)
{
	struct fixture *f = *state;
	const char *head = "GET /v1/vm HTTP/1.1\r\nHost: x\r\nX-Slow: loris\r\n";
	struct client *c;
	struct timespec t0;
	size_t i;

	c = client_with(f, SHORT_HEAD);
	t0 = started();
	for (i = 0; head[i] && still_open(c, 30); i++) { /* progress does not extend it */
		char byte[2] = { head[i], '\0' };

		send_maybe_refused(c->fd, byte);
	}
	expect_response(c, 408, "headers took longer than");
	assert_fired_in_time(&t0, SHORT_MS);
	client_close(c);
}

static void test_head_timed_from_its_first_byte(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = answered_once(client_with(f, SHORT_HEAD));
	/* idle between requests for longer than a head may take */
	assert_true(still_open(c, 2 * SHORT_MS));
	send_str(c, "GET /v1/vm HTTP/1.1\r\n");
	usleep(SHORT_MS / 2 * 1000); /* within the head's time, not the idle one's */
	send_str(c, "Host: x\r\n\r\n");
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

/* ---- the body ---- */

static void test_stalled_body_gets_408(void **state)
{
	expect_408_for(*state, SHORT_BODY, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
		       "the request body did not all arrive within 0.3 s");
}

static void test_body_trickling_in_gets_408(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	struct timespec t0;
	int i;

	c = client_with(f, SHORT_BODY);
	send_str(c, "PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
	t0 = started();
	for (i = 0; i < 100 && still_open(c, 30); i++)
		send_maybe_refused(c->fd, "a");
	expect_response(c, 408, "request body");
	assert_fired_in_time(&t0, SHORT_MS);
	assert_int_equal(requests_handled(f), 0);
	client_close(c);
}

/* ---- between requests ---- */

/* @c, idle from now, is closed quietly once the idle timeout (SHORT_MS) is over. */
static void expect_idle_close(struct fixture *f, struct client *c)
{
	struct timespec t0 = started();

	assert_true(still_open(c, SHORT_MS / 2));
	assert_true(server_closed(c)); /* the end, not an answer */
	assert_fired_in_time(&t0, SHORT_MS);
	client_close(c);
	wait_served(f, 0);
}

static void test_idle_keep_alive_closed_quietly(void **state)
{
	struct fixture *f = *state;

	expect_idle_close(f, answered_once(client_with(f, SHORT_IDLE)));
}

static void test_used_in_time_stays_open(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	int i;

	c = answered_once(client_with(f, SHORT_IDLE));
	for (i = 0; i < 4; i++) { /* 4 x 2/3: longer than one idle timeout in all */
		assert_true(still_open(c, SHORT_MS * 2 / 3));
		send_str(c, get_vm);
		expect_response(c, 200, "/v1/vm");
	}
	client_close(c);
}

/* ---- answers ---- */

static void test_deferred_answer_awaited_past_every_timeout(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = client_with(f, SHORT_ALL);
	send_str(c, "PUT /defer HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	wait_deferred(f, 1);
	assert_true(still_open(c, 4 * SHORT_MS)); /* a long commit, say */
	assert_int_equal(connections_served(f), 1);
	answer_deferred(f);
	expect_response(c, 200, "{\"deferred\": \"/defer\"}");
	expect_idle_close(f, c); /* then an idle kept-alive connection like any other */
}

static void test_unread_answer_given_up(void **state)
{
	struct fixture *f = *state;
	struct response r;
	struct client *c;
	struct timespec t0;

	c = client_with(f, SHORT_SEND);
	send_str(c, "GET /big HTTP/1.1\r\n\r\n"); /* and never read */
	t0 = started();
	wait_served(f, 0);
	assert_fired_in_time(&t0, SHORT_MS);
	r = read_response(c);
	assert_true(r.status == 0); /* cut short */
	free(r.body);
	client_close(c);
}

/* Answers nobody reads, one request at a time, until the server's socket is full. */
static unsigned int fill_with_unread_answers(struct fixture *f, struct client *c)
{
	unsigned int n = 0;
	int before, now = 0, tries;

	while (!send_buffer_full(f)) {
		assert_int_equal(ioctl(c->fd, FIONREAD, &before), 0);
		send_str(c, get_vm);
		n++;
		for (tries = 0; tries < 5000 && now <= before; tries++) {
			assert_int_equal(ioctl(c->fd, FIONREAD, &now), 0);
			if (now <= before)
				usleep(1000);
		}
		if (now <= before)
			fail_msg("answer %u never came, with %d bytes unread", n, before);
	}
	return n;
}

static void test_unread_last_answer_given_up(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	struct timespec t0;
	unsigned int i, n;

	c = client_with(f, SHORT_HEAD | SHORT_SEND);
	n = fill_with_unread_answers(f, c);
	send_str(c, "GET /v1/vm HTTP/1.1\r\nHost: x"); /* its 408 finds no room */
	t0 = started();
	wait_served(f, 0); /* its place is free again */
	assert_fired_in_time(&t0, 2 * SHORT_MS);
	for (i = 0; i < n; i++)
		expect_response(c, 200, "/v1/vm");
	assert_true(server_closed(c)); /* and the 408 was given up */
	client_close(c);
}

/* ---- the loop's part, played by the test (start_server_stopped()) ---- */

/* A connection accepted as the loop would, with its recv and the timer queued. */
static struct http_conn *accept_by_hand(struct fixture *f, struct client **client)
{
	struct http_conn *c;
	int fd;

	*client = client_open(f->path);
	fd = accept4(f->srv.fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	c = http_conn_new(&f->srv, fd);
	assert_non_null(c);
	assert_int_equal(http_conn_serve(c), 0);
	http_conn_next(c);
	assert_ptr_equal(c->busy, &c->recv_op);
	http_sweep_arm(&f->srv);
	assert_true(f->srv.sweep_busy);
	return c;
}

/* The timer fires. */
static void sweep_now(struct fixture *f)
{
	f->srv.sweep_op.done(&f->srv.sweep_op, 0, 0);
}

/* @c's recv completes with @text: its client sent it. */
static void receive_by_hand(struct http_conn *c, const char *text)
{
	memcpy(c->in, text, strlen(text));
	c->recv_op.done(&c->recv_op, strlen(text), 0);
}

/* A request on @c, answered and sent: @c is then idle, receiving. */
static void serve_by_hand(struct http_conn *c)
{
	receive_by_hand(c, get_vm);
	assert_ptr_equal(c->busy, &c->send_op);
	c->send_op.done(&c->send_op, strbuf_len(&c->out), 0);
	assert_ptr_equal(c->busy, &c->recv_op);
}

/*
 * Fill the ring's submission queue and make flushing it fail, as when the
 * ring is in trouble: ev_sqe() then has no SQE to give. Returns what
 * mend_ring() needs.
 */
static int break_ring(struct ev_loop *loop)
{
	int fd = loop->ring.enter_ring_fd;
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&loop->ring))) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
	}
	loop->ring.enter_ring_fd = -1;
	return fd;
}

static void mend_ring(struct ev_loop *loop, int fd)
{
	loop->ring.enter_ring_fd = fd;
}

static void test_cancel_without_sqe_tried_again(void **state)
{
	struct fixture *f = *state;
	struct client *client;
	struct http_conn *c;
	int ring_fd;

	f->srv.timeouts.head_ms = 1;
	c = accept_by_hand(f, &client);
	usleep(10 * 1000);
	ring_fd = break_ring(&f->loop);
	sweep_now(f);
	assert_int_equal(c->expired, EXPIRY_NONE); /* not left marked, never to be swept */
	assert_false(http_make_room(&f->srv));	   /* nor displaced, yet still receiving */
	assert_true(c->served);
	assert_int_equal(f->srv.nr_served, 1);
	mend_ring(&f->loop, ring_fd);
	sweep_now(f); /* the next sweep tries again, and can */
	assert_int_equal(c->expired, EXPIRED_HEAD);
	client_close(client);
}

static void test_cancelled_recv_interrupted_still_answers(void **state)
{
	struct fixture *f = *state;
	struct client *client;
	struct http_conn *c;

	f->srv.timeouts.head_ms = 1;
	c = accept_by_hand(f, &client);
	usleep(10 * 1000);
	sweep_now(f);
	assert_int_equal(c->expired, EXPIRED_HEAD);
	c->recv_op.done(&c->recv_op, -EINTR, 0); /* the cancel found it in io-wq */
	assert_ptr_equal(c->busy, &c->send_op);
	assert_non_null(strstr(strbuf_str(&c->out), "HTTP/1.1 408"));
	assert_int_equal(c->expired, EXPIRY_NONE); /* that send has its deadline */
	client_close(client);
}

/* What the server logs while stderr goes to a file. */
struct capture {
	int saved;
	FILE *file;
};

static void capture_start(struct capture *cap)
{
	fflush(stderr);
	cap->saved = dup(STDERR_FILENO);
	cap->file = tmpfile();
	assert_true(cap->saved >= 0 && cap->file);
	assert_true(dup2(fileno(cap->file), STDERR_FILENO) >= 0);
}

/* The text logged since capture_start(); free it. */
static char *capture_end(struct capture *cap)
{
	char *text = calloc(1, 4096);

	fflush(stderr);
	dup2(cap->saved, STDERR_FILENO);
	close(cap->saved);
	rewind(cap->file);
	assert_true(fread(text, 1, 4095, cap->file) < 4095);
	fclose(cap->file);
	return text;
}

static void test_idle_expiry_logged_when_it_closes(void **state)
{
	struct fixture *f = *state;
	struct client *client;
	struct capture cap;
	struct http_conn *c;
	char *log;
	int fd;

	f->srv.timeouts.idle_ms = 1;
	c = accept_by_hand(f, &client);
	serve_by_hand(c);
	usleep(10 * 1000);
	capture_start(&cap);
	sweep_now(f);
	assert_int_equal(c->expired, EXPIRED_IDLE);
	receive_by_hand(c, get_vm); /* used after all, before the cancel reached it */
	log = capture_end(&cap);
	assert_ptr_equal(c->busy, &c->send_op); /* served */
	if (strstr(log, "closed"))
		fail_msg("logged a close that did not happen: %s", log);
	free(log);

	c->send_op.done(&c->send_op, strbuf_len(&c->out), 0);
	usleep(10 * 1000);
	capture_start(&cap);
	sweep_now(f);
	fd = c->fd;
	c->recv_op.done(&c->recv_op, -ECANCELED, 0);
	log = capture_end(&cap);
	assert_ptr_equal(c->busy, &c->close_op);
	close(fd); /* the close queued for the loop, which never submits it */
	if (!strstr(log, "closed a connection unused for 0.001 s"))
		fail_msg("the idle close logged %s", log);
	free(log);
	client_close(client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_crowd_cannot_lock_out, start_api,
						stop_api),
		SERVER_TEST(test_displaces_the_oldest_idle_never_a_busy_one),
		SERVER_TEST(test_newcomer_displaces_a_silent_connection),
		SERVER_TEST(test_half_a_head_gets_408),
		SERVER_TEST(test_silent_connection_gets_408),
		SERVER_TEST(test_head_trickling_in_gets_408),
		SERVER_TEST(test_head_timed_from_its_first_byte),
		SERVER_TEST(test_stalled_body_gets_408),
		SERVER_TEST(test_body_trickling_in_gets_408),
		SERVER_TEST(test_idle_keep_alive_closed_quietly),
		SERVER_TEST(test_used_in_time_stays_open),
		SERVER_TEST(test_deferred_answer_awaited_past_every_timeout),
		SERVER_TEST(test_unread_answer_given_up),
		SERVER_TEST(test_unread_last_answer_given_up),
		BY_HAND_TEST(test_cancel_without_sqe_tried_again),
		BY_HAND_TEST(test_cancelled_recv_interrupted_still_answers),
		BY_HAND_TEST(test_idle_expiry_logged_when_it_closes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
