// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP server's answers as bytes (vmm/control/http/response.c): the
 * JSON body and its headers, error bodies, 204, Allow, HEAD, HTTP/1.0
 * keep-alive, an impossible status, and 100 Continue. A real event loop,
 * spoken to through plain sockets (http_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
