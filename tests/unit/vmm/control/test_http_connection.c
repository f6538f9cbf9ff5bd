// SPDX-License-Identifier: GPL-2.0-only
/*
 * One connection to the HTTP server (vmm/control/http/connection.c): a
 * request parsed whole however it arrives, keep-alive, pipelining, the
 * head and body limits, garbage, and a peer that leaves mid-request. A
 * real event loop, spoken to through plain sockets (http_harness.h).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_harness.h"

static void test_simple_get(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, get_vm);
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Content-Type: application/json"));
	assert_non_null(strstr(r.body, "\"path\": \"/v1/vm\""));
	assert_non_null(strstr(r.body, "\"query\": \"verbose=1\""));
	assert_non_null(strstr(r.body, "\"method\": \"GET\""));
	assert_null(strstr(r.headers, "Connection: close"));
	free(r.body);
	client_close(c);
}

static void test_keep_alive(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /one HTTP/1.1\r\n\r\n");
	expect_response(c, 200, "/one");
	send_str(c, "PUT /two HTTP/1.1\r\nContent-Type: application/json\r\n"
		    "Content-Length: 2\r\n\r\n{}");
	expect_response(c, 200, "\"body\": \"{}\"");
	client_close(c);
}

static void test_pipelined(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /first HTTP/1.1\r\n\r\n"
		    "PUT /second HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
		    "GET /third HTTP/1.1\r\n\r\n");
	expect_response(c, 200, "/first");
	expect_response(c, 200, "\"body\": \"hello\"");
	expect_response(c, 200, "/third");
	client_close(c);
}

static void test_byte_by_byte(void **state)
{
	static const char req[] = "PUT /slow?q=1 HTTP/1.1\r\nContent-Type: application/json\r\n"
				  "Content-Length: 11\r\n\r\n{\"a\": true}";
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	size_t i;

	for (i = 0; i < sizeof(req) - 1; i++) {
		send_text(c, req + i, 1);
		usleep(200);
	}
	expect_echo(c, "PUT", "/slow", "q=1", "application/json", "{\"a\": true}");
	client_close(c);
}

static void test_repeated_header_last_counts(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "PUT /twice HTTP/1.1\r\nContent-Type: text/plain\r\n"
		    "content-type: application/json\r\nContent-Length: 2\r\n\r\n{}");
	expect_echo(c, "PUT", "/twice", "", "application/json", "{}");
	client_close(c);
}

static void test_large_response_sent_whole(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "GET /big HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_true(r.body_len > BIG_BODY);
	assert_string_equal(r.body + r.body_len - 4, "x\"}\n");
	free(r.body);
	expect_response(c, 200, "/after");
	client_close(c);
}

static void test_headers_too_big(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char *req = malloc(HTTP_HEAD_MAX + 100);

	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + strlen(req), 'a', HTTP_HEAD_MAX);
	strcpy(req + strlen("GET / HTTP/1.1\r\nX-Big: ") + HTTP_HEAD_MAX, "\r\n\r\n");
	send_str(c, req);
	expect_response(c, 431, "8192 bytes");
	assert_true(server_closed(c));
	free(req);
	client_close(c);
}

static void test_headers_at_limit(void **state)
{
	static const char start[] = "GET / HTTP/1.1\r\nX-Pad: ";
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char *req = malloc(HTTP_HEAD_MAX + 1);
	size_t pad = HTTP_HEAD_MAX - strlen(start) - 4; /* exactly HTTP_HEAD_MAX in all */

	strcpy(req, start);
	memset(req + strlen(start), 'a', pad);
	strcpy(req + strlen(start) + pad, "\r\n\r\n");
	assert_int_equal(strlen(req), HTTP_HEAD_MAX);
	send_str(c, req);
	expect_response(c, 200, "\"path\": \"/\"");
	free(req);
	client_close(c);
}

static void test_body_too_big(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	/* no body sent: the Content-Length alone is enough */
	send_str(c, "PUT /v1/balloon HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	expect_response(c, 413, "100000 bytes");
	assert_true(server_closed(c));
	client_close(c);
}

static void test_chunked_body_too_big(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char chunk[16 * 1024 + 16];
	int i;

	send_str(c, "PUT /v1/balloon HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	snprintf(chunk, sizeof(chunk), "4000\r\n");
	memset(chunk + 6, 'a', 0x4000);
	strcpy(chunk + 6 + 0x4000, "\r\n");
	for (i = 0; i < 5; i++)
		if (send(c->fd, chunk, strlen(chunk), MSG_NOSIGNAL) <= 0)
			break; /* the server may have closed on us already */
	expect_response(c, 413, "larger than 65536");
	client_close(c);
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_text(c, "\x00\xff\xfe garbage\r\n\r\n", 14);
	expect_response(c, 400, "HPE_INVALID_METHOD");
	assert_true(server_closed(c));
	client_close(c);
}

/*
 * Found by the http_api fuzz target: http-parser takes a refused request's
 * first 'H' for HEAD; the 400 must still carry the body it announces.
 */
static void test_refused_request_starting_with_h(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "Hx / HTTP/1.1\r\n\r\n");
	expect_response(c, 400, "HPE_INVALID_METHOD");
	assert_true(server_closed(c));
	client_close(c);
}

/* Everything the server sends until it closes (or 5 s pass). */
static size_t read_to_close(struct client *c, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n = 1;

	while (n > 0 && got + 1 < len && poll(&pfd, 1, 5000) == 1) {
		n = recv(c->fd, buf + got, len - 1 - got, 0);
		got += n > 0 ? (size_t)n : 0;
	}
	buf[got] = '\0';
	return got;
}

/*
 * The fuzz target again: a HEAD request line whose version is garbage. The
 * client sent HEAD and frames the 400 as an answer to HEAD: it must carry no
 * body, or the client reads the body as the next answer.
 */
static void test_refused_head_request_has_no_body(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char buf[4096];
	const char *end;

	send_str(c, "HEAD /v1/vm HT!!\r\n\r\n");
	read_to_close(c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 400 "));
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_string_equal(end + 4, "");
	client_close(c);
}

static void test_bad_version(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET / HTTP/9.9\r\n\r\n");
	expect_response(c, 400, "HPE_INVALID_VERSION (invalid HTTP version)");
	assert_true(server_closed(c));
	client_close(c);
}

static void test_connection_close(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "GET /bye HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "Connection: close"));
	free(r.body);
	assert_true(server_closed(c));
	client_close(c);
}

static void test_http10(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	expect_response(c, 200, "/old");
	send_str(c, "GET /old HTTP/1.0\r\n\r\n");
	expect_response(c, 200, "/old");
	assert_true(server_closed(c));
	client_close(c);
}

static void test_peer_leaves_mid_request(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "PUT /v1/balloon HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"tar");
	client_close(c);
	c = client_open(f->path);
	send_str(c, "GET /v1/vm HTTP/1.1\r\nX-Half");
	client_close(c);
	c = client_open(f->path);
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SERVER_TEST(test_simple_get),
		SERVER_TEST(test_keep_alive),
		SERVER_TEST(test_pipelined),
		SERVER_TEST(test_byte_by_byte),
		SERVER_TEST(test_repeated_header_last_counts),
		SERVER_TEST(test_large_response_sent_whole),
		SERVER_TEST(test_headers_too_big),
		SERVER_TEST(test_headers_at_limit),
		SERVER_TEST(test_body_too_big),
		SERVER_TEST(test_chunked_body_too_big),
		SERVER_TEST(test_garbage),
		SERVER_TEST(test_refused_request_starting_with_h),
		SERVER_TEST(test_refused_head_request_has_no_body),
		SERVER_TEST(test_bad_version),
		SERVER_TEST(test_connection_close),
		SERVER_TEST(test_http10),
		SERVER_TEST(test_peer_leaves_mid_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
