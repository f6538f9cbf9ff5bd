// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's HTTP server (vmm/control/http_server.h), on a real
 * event loop, spoken to through plain sockets with http-parser reading the
 * answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/hw/event_loop.h"
#include "vmm/control/http_server.h"

struct fixture {
	char dir[64];
	char path[128];
	struct ev_loop loop;
	struct http_server srv;
};

/* ---- the handler: echo the request back ---- */

#define BIG_BODY (1u << 20) /* more than a socket buffer: sent in pieces */

static json_t *big_string(void)
{
	char *text = malloc(BIG_BODY + 1);
	json_t *s;

	memset(text, 'x', BIG_BODY);
	text[BIG_BODY] = '\0';
	s = json_string(text);
	free(text);
	return s;
}

static void echo_handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	if (!strcmp(req->path, "/big")) {
		http_response_json(resp, 200, json_pack("{s:o}", "big", big_string()));
		return;
	}
	if (!strcmp(req->path, "/missing")) {
		http_response_error(resp, 404, "nothing at %s", req->path);
		return;
	}
	http_response_json(resp, 200,
			   json_pack("{s:s, s:s, s:s, s:s, s:s%}", "method", req->method, "path",
				     req->path, "query", req->query, "content_type",
				     req->content_type, "body", req->body, req->body_len));
}

/*
 * ---- a blocking client that reads one response at a time ----
 *
 * Its calls retry EINTR. This thread creates each test's ring, and when a
 * ring is torn down the kernel notifies every thread that used it with
 * task work (TIF_NOTIFY_SIGNAL, no signal involved); a recv() with a
 * receive timeout is not restarted after that and returns EINTR.
 */

struct client {
	int fd;
	char buf[BIG_BODY + 4096];
	size_t len;
};

struct response {
	int status;
	char headers[1024]; /* "name: value\n"... */
	char *body;
	size_t body_len;
	bool complete;
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval timeout = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct client *client_open(const char *path)
{
	struct client *c = calloc(1, sizeof(*c));

	c->fd = connect_to(path);
	assert_true(c->fd >= 0);
	return c;
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c);
}

static void send_text(struct client *c, const char *text, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		text += n;
		len -= n;
	}
}

static void send_str(struct client *c, const char *text)
{
	send_text(c, text, strlen(text));
}

/* For a server that may answer (503, 403) and close before reading. */
static void send_maybe_refused(int fd, const char *text)
{
	ssize_t n;

	do
		n = send(fd, text, strlen(text), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct response *r = p->data;
	size_t used = strlen(r->headers);

	snprintf(r->headers + used, sizeof(r->headers) - used, "\n%.*s:", (int)n, at);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct response *r = p->data;
	size_t used = strlen(r->headers);

	snprintf(r->headers + used, sizeof(r->headers) - used, " %.*s", (int)n, at);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct response *r = p->data;

	r->body = realloc(r->body, r->body_len + n + 1);
	memcpy(r->body + r->body_len, at, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct response *r = p->data;

	r->status = p->status_code;
	r->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings response_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* Parse one response from what is buffered, keeping what follows it. */
static void parse_buffered(struct client *c, http_parser *p, struct response *r)
{
	size_t n = http_parser_execute(p, &response_settings, c->buf, c->len);

	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED)
		http_parser_pause(p, 0);
}

/* The next response; status 0 if the server closed first. Free r->body. */
static struct response read_response(struct client *c)
{
	struct response r = { 0 };
	http_parser p;
	ssize_t n;

	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &r;
	parse_buffered(c, &p, &r);
	while (!r.complete) {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c->len += n;
		parse_buffered(c, &p, &r);
	}
	if (!r.complete) {
		print_message("no whole response: recv() %zd (%s), %s, %zu bytes left: %.40s\n", n,
			      n < 0 ? strerror(errno) : "end of stream",
			      http_errno_name(HTTP_PARSER_ERRNO(&p)), c->len, c->buf);
		r.status = 0;
	}
	if (!r.body)
		r.body = strdup("");
	return r;
}

/* The status of the next response, checking its body has @needle. */
static int expect_response(struct client *c, int status, const char *needle)
{
	struct response r = read_response(c);

	assert_int_equal(r.status, status);
	if (needle && !strstr(r.body, needle))
		fail_msg("response body %s lacks %s", r.body, needle);
	free(r.body);
	return r.status;
}

static bool server_closed(struct client *c)
{
	char byte;
	ssize_t n;

	do
		n = recv(c->fd, &byte, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- fixture ---- */

static int start_server(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/cmavm-http-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(ev_loop_init(&f->loop, 256), 0);
	assert_int_equal(http_server_open(&f->srv, &f->loop, f->path, echo_handler, NULL), 0);
	assert_int_equal(ev_loop_start(&f->loop), 0);
	*state = f;
	return 0;
}

static int stop_server(void **state)
{
	struct fixture *f = *state;

	http_server_close(&f->srv);
	ev_loop_destroy(&f->loop);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is gone */
	rmdir(f->dir);
	free(f);
	return 0;
}

static const char get_vm[] = "GET /v1/vm?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n";

/* ---- tests ---- */

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

static void test_error_is_json(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_str(c, "GET /missing HTTP/1.1\r\n\r\n");
	expect_response(c, 404, "{\"error\": \"nothing at /missing\"}");
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
	expect_response(c, 200, "\"content_type\": \"application/json\"");
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

/* A served connection: one that has had an answer. */
static struct client *served_client(const char *path)
{
	struct client *c = client_open(path);

	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	return c;
}

static void test_connection_limit(void **state)
{
	struct fixture *f = *state;
	struct client *c[HTTP_MAX_CONNS], *extra;
	int i, tries;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		c[i] = served_client(f->path);
	extra = client_open(f->path);
	expect_response(extra, 503, "at most 32");
	assert_true(server_closed(extra));
	client_close(extra);

	client_close(c[0]); /* frees a place, once the server notices */
	for (tries = 0; tries < 100; tries++) {
		struct response r;

		extra = client_open(f->path);
		send_maybe_refused(extra->fd, get_vm);
		r = read_response(extra);
		free(r.body);
		client_close(extra);
		if (r.status == 200)
			break;
		assert_int_equal(r.status, 503);
		usleep(10 * 1000);
	}
	assert_true(tries < 100);
	for (i = 1; i < HTTP_MAX_CONNS; i++)
		client_close(c[i]);
}

static void test_socket_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_second_server_refused(void **state)
{
	struct fixture *f = *state;
	struct http_server other;
	struct client *c;

	assert_int_equal(http_server_open(&other, &f->loop, f->path, echo_handler, NULL), -1);
	c = client_open(f->path); /* the first one still serves */
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

static void test_not_a_socket_refused(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct http_server other;
	FILE *file;

	snprintf(path, sizeof(path), "%s/file", f->dir);
	file = fopen(path, "w");
	fclose(file);
	assert_int_equal(http_server_open(&other, &f->loop, path, echo_handler, NULL), -1);
	assert_int_equal(access(path, F_OK), 0); /* left alone */
	unlink(path);
}

static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
}

static void test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct ev_loop loop;
	struct http_server other;
	struct client *c;
	char path[160];

	snprintf(path, sizeof(path), "%s/stale.sock", f->dir);
	make_stale_socket(path);
	assert_int_equal(ev_loop_init(&loop, 64), 0);
	assert_int_equal(http_server_open(&other, &loop, path, echo_handler, NULL), 0);
	assert_int_equal(ev_loop_start(&loop), 0);
	c = client_open(path);
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
	http_server_close(&other);
	ev_loop_destroy(&loop);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_other_user_forbidden(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	/* let the other user reach the server at all */
	chmod(f->dir, 0755);
	chmod(f->path, 0666);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) { /* no cmocka asserts here: they would return into the runner */
		struct client *c = calloc(1, sizeof(*c));
		struct response r;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		c->fd = connect_to(f->path);
		if (c->fd < 0)
			_exit(11);
		send_maybe_refused(c->fd, get_vm);
		r = read_response(c);
		_exit(r.status == 403 && strstr(r.body, "only root may") ? 0 : 12);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(f->path, 0600);
	chmod(f->dir, 0700);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void *read_big_answer(void *arg)
{
	struct client *c = arg;
	struct response r = read_response(c);
	bool whole = r.status == 200 && r.body_len > BIG_BODY;

	free(r.body);
	return whole ? c : NULL;
}

static void test_close_while_answering(void **state)
{
	struct fixture *f = *state;
	struct client *idle = client_open(f->path);
	struct client *busy = client_open(f->path);
	pthread_t reader;
	void *whole;

	/* the answer to /big fills the socket: the server is mid-send */
	send_str(busy, "GET /big HTTP/1.1\r\n\r\n");
	usleep(50 * 1000);
	assert_int_equal(pthread_create(&reader, NULL, read_big_answer, busy), 0);
	http_server_close(&f->srv); /* finishes the answer, then closes */
	assert_int_equal(pthread_join(reader, &whole), 0);
	assert_ptr_equal(whole, busy);
	assert_true(server_closed(busy));
	assert_true(server_closed(idle));
	client_close(idle);
	client_close(busy);
	assert_int_equal(connect_to(f->path), -1);
}

#define SERVER_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_server, stop_server)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SERVER_TEST(test_simple_get),
		SERVER_TEST(test_error_is_json),
		SERVER_TEST(test_keep_alive),
		SERVER_TEST(test_pipelined),
		SERVER_TEST(test_byte_by_byte),
		SERVER_TEST(test_expect_continue),
		SERVER_TEST(test_large_response_sent_whole),
		SERVER_TEST(test_headers_too_big),
		SERVER_TEST(test_headers_at_limit),
		SERVER_TEST(test_body_too_big),
		SERVER_TEST(test_chunked_body_too_big),
		SERVER_TEST(test_garbage),
		SERVER_TEST(test_bad_version),
		SERVER_TEST(test_connection_close),
		SERVER_TEST(test_http10),
		SERVER_TEST(test_peer_leaves_mid_request),
		SERVER_TEST(test_connection_limit),
		SERVER_TEST(test_socket_mode),
		SERVER_TEST(test_second_server_refused),
		SERVER_TEST(test_not_a_socket_refused),
		SERVER_TEST(test_stale_socket_replaced),
		SERVER_TEST(test_other_user_forbidden),
		SERVER_TEST(test_close_while_answering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
