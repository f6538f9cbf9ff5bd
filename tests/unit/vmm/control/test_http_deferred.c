// SPDX-License-Identifier: GPL-2.0-only
/*
 * Answers the handler gives later (http_response_defer(),
 * http_deferred_answer() in vmm/control/http/connection.c): nothing sent
 * until then, pipelined requests answered after it in order, other
 * connections served meanwhile, an answer given before the handler
 * returns, and the connection or the server gone before the answer; a
 * descriptor with a deferred answer, and closed when nobody gets it. A
 * real event loop, spoken to through plain sockets (http_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_harness.h"

static void test_answered_later(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /defer?x=1 HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	assert_true(nothing_sent(c, 50));
	answer_deferred(f);
	expect_response(c, 200, "{\"deferred\": \"/defer\"}");
	/* kept alive */
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

static void test_pipelined_requests_wait_their_turn(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /first HTTP/1.1\r\n\r\n"
		    "PUT /defer HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
		    "GET /after HTTP/1.1\r\n\r\n"
		    "GET /last HTTP/1.1\r\n\r\n");
	expect_response(c, 200, "/first"); /* the one before is not held back */
	wait_deferred(f, 1);
	assert_true(nothing_sent(c, 50));
	assert_int_equal(requests_handled(f), 2); /* /after is not even parsed yet */
	answer_deferred(f);
	expect_response(c, 200, "{\"deferred\": \"/defer\"}");
	expect_response(c, 200, "/after");
	expect_response(c, 200, "/last");
	assert_int_equal(requests_handled(f), 4);
	client_close(c);
}

static void test_two_deferred_in_a_row(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /defer HTTP/1.1\r\n\r\nGET /defer?2 HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	answer_deferred(f);
	expect_response(c, 200, "/defer");
	wait_deferred(f, 2);
	assert_true(nothing_sent(c, 20));
	answer_deferred(f);
	expect_response(c, 200, "/defer");
	client_close(c);
}

static void test_other_connections_served_meanwhile(void **state)
{
	struct fixture *f = *state;
	struct client *waiting = client_open(f->path);
	struct client *other = client_open(f->path);

	send_str(waiting, "PUT /defer HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	wait_deferred(f, 1);
	send_str(other, get_vm);
	expect_response(other, 200, "/v1/vm");
	send_str(other, get_vm);
	expect_response(other, 200, "/v1/vm");
	assert_true(nothing_sent(waiting, 0));
	answer_deferred(f);
	expect_response(waiting, 200, "/defer");
	client_close(other);
	client_close(waiting);
}

static void test_answered_before_the_handler_returns(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /defer-now HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	expect_response(c, 200, "{\"deferred\": \"/defer-now\"}");
	expect_response(c, 200, "/after");
	client_close(c);
}

static void test_continue_sent_before_the_answer(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "PUT /defer HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	expect_response(c, 100, NULL);
	send_str(c, "{}");
	wait_deferred(f, 1);
	assert_true(nothing_sent(c, 20));
	answer_deferred(f);
	expect_response(c, 200, "/defer");
	client_close(c);
}

static void test_connection_close_after_the_answer(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c,
		 "GET /defer HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	answer_deferred(f);
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Connection: close"));
	free(r.body);
	assert_true(server_closed(c));
	assert_int_equal(requests_handled(f), 1);
	client_close(c);
}

static void test_answer_after_the_peer_left(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /defer HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	client_close(c);
	usleep(20 * 1000);
	assert_int_equal(connections_served(f), 1); /* not noticed yet: nothing is read */
	answer_deferred(f);			    /* sending it finds the peer gone */
	wait_served(f, 0);
	c = served_client(f->path); /* and the server goes on */
	client_close(c);
}

/* ---- a descriptor with the answer ---- */

static void test_fd_with_a_deferred_answer(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	c->take_fds = true;
	send_str(c, "GET /defer HTTP/1.1\r\n\r\nGET /fd?after HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	assert_true(nothing_sent(c, 20));
	answer_deferred_fd(f, memfd_with("later"));
	r = expect_answer_fd(c, 200, "later");
	assert_string_equal(r.body, "{\"deferred\": \"/defer\"}\n");
	free(r.body);
	r = expect_answer_fd(c, 200, "after");
	free(r.body);
	assert_int_equal(c->nr_fds, 2);
	client_close(c);
}

/* A client whose GET /defer is deferred; @p a new pipe, for the answer's descriptor. */
static struct client *deferred_with_pipe(struct fixture *f, int p[2])
{
	struct client *c = client_open(f->path);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_str(c, "GET /defer HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	return c;
}

static void test_fd_closed_when_the_peer_left(void **state)
{
	struct fixture *f = *state;
	int p[2];

	client_close(deferred_with_pipe(f, p));
	answer_deferred_fd(f, p[1]); /* sending it finds the peer gone */
	assert_true(pipe_closed_within_5s(p[0]));
	wait_served(f, 0);
	close(p[0]);
}

static void test_fd_closed_when_the_answer_comes_too_late(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct client *c = deferred_with_pipe(f, p);

	http_server_close(&f->srv);  /* waits its second, then lets go */
	answer_deferred_fd(f, p[1]); /* dropped */
	assert_true(pipe_closed_within_5s(p[0]));
	close(p[0]);
	client_close(c);
}

static void *close_server(void *arg)
{
	struct fixture *f = arg;

	http_server_close(&f->srv);
	return NULL;
}

struct closing {
	struct http_server *srv;
	bool closing;
};

static void read_closing(void *arg)
{
	struct closing *c = arg;

	c->closing = c->srv->closing;
}

static void test_close_waits_for_the_answer(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct closing state_now = { &f->srv, false };
	pthread_t closer;
	int tries;

	send_str(c, "GET /defer HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	assert_int_equal(pthread_create(&closer, NULL, close_server, f), 0);
	for (tries = 0; tries < 5000 && !state_now.closing; tries++) {
		usleep(1000);
		assert_int_equal(ev_loop_call(&f->loop, read_closing, &state_now), 0);
	}
	assert_true(state_now.closing); /* and waiting for the answer */
	answer_deferred(f);
	expect_response(c, 200, "/defer");
	assert_true(server_closed(c));
	assert_int_equal(pthread_join(closer, NULL), 0);
	client_close(c);
}

static void test_answer_after_close(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct timespec t0;
	struct response r;

	send_str(c, "GET /defer HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_server_close(&f->srv); /* waits its second, then lets go */
	assert_true(seconds_since(&t0) >= 0.9);
	assert_null(f->srv.conns);
	r = read_response(c);
	assert_int_equal(r.status, 0); /* closed without an answer */
	free(r.body);
	answer_deferred(f); /* the loop still runs: the answer is dropped */
	client_close(c);
}

static void test_answer_after_close_with_the_loop_stopped(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /defer HTTP/1.1\r\n\r\n");
	wait_deferred(f, 1);
	ev_loop_stop(&f->loop);
	http_server_close(&f->srv); /* frees the connection at once */
	assert_null(f->srv.conns);
	assert_true(server_closed(c));
	answer_deferred(f); /* dropped */
	client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SERVER_TEST(test_answered_later),
		SERVER_TEST(test_pipelined_requests_wait_their_turn),
		SERVER_TEST(test_two_deferred_in_a_row),
		SERVER_TEST(test_other_connections_served_meanwhile),
		SERVER_TEST(test_answered_before_the_handler_returns),
		SERVER_TEST(test_continue_sent_before_the_answer),
		SERVER_TEST(test_connection_close_after_the_answer),
		SERVER_TEST(test_answer_after_the_peer_left),
		SERVER_TEST(test_close_waits_for_the_answer),
		SERVER_TEST(test_answer_after_close),
		SERVER_TEST(test_answer_after_close_with_the_loop_stopped),
		SERVER_TEST(test_fd_with_a_deferred_answer),
		SERVER_TEST(test_fd_closed_when_the_peer_left),
		SERVER_TEST(test_fd_closed_when_the_answer_comes_too_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
