// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP server's answers as bytes (vmm/control/http/response.c): the
 * JSON body and its headers, error bodies, 204, Allow, HEAD, HTTP/1.0
 * keep-alive, an impossible status, and 100 Continue; bodies that are
 * not JSON, and descriptors sent with answers (SCM_RIGHTS, sent by
 * vmm/control/http/connection.c): each with its own answer, exactly once,
 * after many-MiB bodies and partial sends, to clients that read them and
 * to ones that do not. A real event loop, spoken to through plain sockets
 * (http_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_harness.h"

static void test_error_is_json(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /missing HTTP/1.1\r\n\r\n");
	expect_response(c, 404, "{\"error\": \"nothing at /missing\"}");
	client_close(c);
}

static void test_body_ends_in_newline(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;
	char length[64];

	send_str(c, "GET /missing HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\": \"nothing at /missing\"}\n");
	snprintf(length, sizeof(length), "Content-Length: %zu", r.body_len);
	assert_non_null(strstr(r.headers, length));
	assert_non_null(strstr(r.headers, "Content-Type: application/json"));
	free(r.body);
	client_close(c);
}

static void test_no_content_has_no_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "PUT /nocontent HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 204);
	assert_null(strstr(r.headers, "Content-Type"));
	assert_null(strstr(r.headers, "Content-Length"));
	assert_string_equal(r.body, "");
	free(r.body);
	expect_response(c, 200, "/after"); /* nothing stray came between */
	client_close(c);
}

static void test_allow_header(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "DELETE /allow HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "\nAllow: GET, PUT"));
	assert_non_null(strstr(r.body, "/allow takes GET, PUT, not DELETE"));
	free(r.body);
	send_str(c, get_vm);
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.headers, "Allow"));
	free(r.body);
	client_close(c);
}

static void test_bad_status_is_500(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /bad-status HTTP/1.1\r\n\r\n");
	expect_response(c, 500, "internal error: cmavm's API produced no valid answer");
	send_str(c, get_vm); /* the connection still serves */
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

/* Everything the server sends until it closes, as a string. */
static char *read_until_closed(struct client *c)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, c->buf + len, sizeof(c->buf) - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	c->buf[len] = '\0';
	return c->buf;
}

static void test_head_has_no_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	const char *text, *end;

	send_str(c, "HEAD /v1/vm HTTP/1.1\r\nConnection: close\r\n\r\n");
	text = read_until_closed(c);
	assert_true(!strncmp(text, "HTTP/1.1 200 OK\r\n", 17));
	assert_non_null(strstr(text, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(text, "Content-Length: "));
	assert_null(strstr(text, "Content-Length: 0\r\n")); /* the GET's length */
	end = strstr(text, "\r\n\r\n");
	assert_non_null(end);
	assert_string_equal(end, "\r\n\r\n"); /* and nothing after the head */
	client_close(c);
}

static void test_http10_keep_alive_said(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "\nConnection: keep-alive"));
	free(r.body);
	send_str(c, "GET /old HTTP/1.0\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "\nConnection: close"));
	free(r.body);
	client_close(c);
}

static void test_expect_continue(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "PUT /v1/balloon HTTP/1.1\r\nExpect: 100-continue\r\n"
		    "Content-Length: 7\r\n\r\n");
	expect_response(c, 100, NULL);
	send_str(c, "[1,2,3]");
	expect_response(c, 200, "\"body\": \"[1,2,3]\"");
	client_close(c);
}

static void test_no_continue_without_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	/* nothing to wait for: the answer itself comes first */
	send_str(c, "PUT /empty HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
	expect_echo(c, "PUT", "/empty", "", "", "");
	client_close(c);
}

/* ---- bodies that are not JSON ---- */

static void test_binary_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;
	char length[64];

	send_str(c, "GET /binary HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "\nContent-Type: application/octet-stream"));
	snprintf(length, sizeof(length), "\nContent-Length: %u", BINARY_LEN);
	assert_non_null(strstr(r.headers, length));
	assert_null(strstr(r.headers, HTTP_FD_HEADER));
	assert_int_equal(r.body_len, BINARY_LEN);
	assert_true(is_pattern(r.body, r.body_len));
	assert_non_null(memchr(r.body + 1, '\0', r.body_len - 1)); /* NUL bytes went through */
	free(r.body);
	send_str(c, get_vm); /* kept alive, nothing stray after the body */
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

static void test_binary_body_head(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char length[64];
	const char *text;

	send_str(c, "HEAD /binary HTTP/1.1\r\nConnection: close\r\n\r\n");
	text = read_until_closed(c);
	snprintf(length, sizeof(length), "\r\nContent-Length: %u\r\n", BINARY_LEN);
	assert_non_null(strstr(text, length));
	assert_non_null(strstr(text, "\r\nContent-Type: application/octet-stream\r\n"));
	assert_string_equal(strstr(text, "\r\n\r\n"), "\r\n\r\n"); /* no body */
	client_close(c);
}

/* ---- descriptors with answers ---- */

static struct client *fd_client(const char *path)
{
	struct client *c = served_client(path);

	c->take_fds = true;
	return c;
}

/* Bodies with a descriptor end like others: the next answer comes whole. */
static void expect_next_answer(struct client *c)
{
	struct response r;

	send_str(c, get_vm);
	r = expect_answer_fd(c, 200, NULL);
	assert_non_null(strstr(r.body, "/v1/vm"));
	free(r.body);
}

/* The big body, BIG_DATA bytes of the pattern, with @fd_text's descriptor. */
static void expect_big_body(struct client *c, const char *fd_text)
{
	struct response r = expect_answer_fd(c, 200, fd_text);

	assert_int_equal(r.body_len, BIG_DATA);
	assert_true(is_pattern(r.body, r.body_len));
	free(r.body);
}

static void test_fd_with_an_answer(void **state)
{
	struct fixture *f = *state;
	struct client *c = fd_client(f->path);
	unsigned int before = open_fds();
	struct response r;

	send_str(c, "GET /fd?hello HTTP/1.1\r\n\r\n");
	r = expect_answer_fd(c, 200, "hello");
	assert_string_equal(r.body, "{\"fd\": \"hello\"}\n");
	free(r.body);
	expect_next_answer(c);		/* by then the server has let go of its copy */
	assert_int_equal(c->nr_fds, 1); /* exactly one */
	assert_int_equal(open_fds(), before + 1);
	client_close(c);
}

static void test_fds_with_pipelined_answers(void **state)
{
	struct fixture *f = *state;
	struct client *c = fd_client(f->path);
	const char *fd_texts[] = { "one", NULL, "two" };
	struct response r;
	int i;

	send_str(c, "GET /fd?one HTTP/1.1\r\n\r\n"
		    "GET /v1/vm HTTP/1.1\r\n\r\n"
		    "GET /fd?two HTTP/1.1\r\n\r\n");
	for (i = 0; i < 3; i++) {
		r = expect_answer_fd(c, 200, fd_texts[i]);
		free(r.body);
	}
	assert_int_equal(c->nr_fds, 2);
	client_close(c);
}

/* More than the server queues (OUT_FDS_MAX): the rest wait, none is lost. */
static void test_many_fds_pipelined(void **state)
{
	struct fixture *f = *state;
	struct client *c = fd_client(f->path);
	struct response r;
	char request[64], text[16];
	int i;

	for (i = 0; i < CLIENT_FDS_MAX; i++) {
		snprintf(request, sizeof(request), "GET /fd?%d HTTP/1.1\r\n\r\n", i);
		send_str(c, request);
	}
	for (i = 0; i < CLIENT_FDS_MAX; i++) {
		snprintf(text, sizeof(text), "%d", i);
		r = expect_answer_fd(c, 200, text);
		free(r.body);
	}
	assert_int_equal(c->nr_fds, CLIENT_FDS_MAX);
	client_close(c);
}

static void test_fd_after_a_big_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = fd_client(f->path);
	struct response r;
	int tries;

	send_str(c, "GET /big-fd HTTP/1.1\r\n\r\nGET /fd?after HTTP/1.1\r\n\r\n");
	for (tries = 0; tries < 5000 && !send_buffer_full(f); tries++)
		usleep(1000);
	assert_true(send_buffer_full(f)); /* the body goes in many sends */
	expect_big_body(c, "big");
	r = expect_answer_fd(c, 200, "after");
	free(r.body);
	assert_int_equal(c->nr_fds, 2);
	client_close(c);
}

/* curl reads with recv(): the descriptor is lost to it, and nothing else. */
static void test_fd_to_a_plain_reader(void **state)
{
	struct fixture *f = *state;
	struct client *c = served_client(f->path);
	unsigned int before = open_fds();
	struct response r;

	send_str(c, "GET /fd?unread HTTP/1.1\r\n\r\nGET /big-fd HTTP/1.1\r\n\r\n");
	r = expect_answer_fd(c, 200, "unread");
	assert_string_equal(r.body, "{\"fd\": \"unread\"}\n");
	free(r.body);
	expect_big_body(c, "big");
	expect_next_answer(c);
	assert_int_equal(open_fds(), before); /* the server's copies are closed */
	client_close(c);
}

static void test_no_fd_with_an_error(void **state)
{
	struct fixture *f = *state;
	struct client *c = fd_client(f->path);
	unsigned int before = open_fds();
	struct response r;

	send_str(c, "GET /fd-refused HTTP/1.1\r\n\r\n");
	r = expect_answer_fd(c, 409, NULL);
	assert_non_null(strstr(r.body, "an error carries no descriptor"));
	free(r.body);
	expect_next_answer(c);
	assert_int_equal(c->nr_fds, 0);
	assert_int_equal(open_fds(), before); /* closed, not sent */
	client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SERVER_TEST(test_error_is_json),
		SERVER_TEST(test_body_ends_in_newline),
		SERVER_TEST(test_no_content_has_no_body),
		SERVER_TEST(test_allow_header),
		SERVER_TEST(test_bad_status_is_500),
		SERVER_TEST(test_head_has_no_body),
		SERVER_TEST(test_http10_keep_alive_said),
		SERVER_TEST(test_expect_continue),
		SERVER_TEST(test_no_continue_without_body),
		SERVER_TEST(test_binary_body),
		SERVER_TEST(test_binary_body_head),
		SERVER_TEST(test_fd_with_an_answer),
		SERVER_TEST(test_fds_with_pipelined_answers),
		SERVER_TEST(test_many_fds_pipelined),
		SERVER_TEST(test_fd_after_a_big_body),
		SERVER_TEST(test_fd_to_a_plain_reader),
		SERVER_TEST(test_no_fd_with_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
