// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's client (vmm/control/client.h): the default socket
 * path, and ctl_request() against the real HTTP server on an event loop
 * (an answer it defers too, bytes that are not JSON, descriptors passed
 * with answers) and against a small server thread that answers canned
 * bytes (not HTTP, an interim 1xx, a cut-off answer, answers around
 * CTL_REPLY_MAX, a descriptor announced that never comes) or sends two
 * descriptors with one answer; how long it waits for which answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/lib/canned_server.h"
#include "tests/unit/lib/capture.h"
#include "vmm/control/client.h"
#include "vmm/control/http_server.h"
#include "vmm/hw/event_loop.h"

/* ---- what the client prints ---- */

static void expect_printed(char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("printed '%s', which lacks '%s'", text, needle);
	free(text);
}

/* ---- ctl_default_socket() ---- */

static int clear_env(void **state)
{
	unsetenv("CMAVM_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	return 0;
}

static void test_default_socket_from_env(void **state)
{
	char buf[HTTP_SOCKET_PATH_MAX];

	setenv("CMAVM_SOCKET", "/run/vm1/api.sock", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_ptr_equal(ctl_default_socket(buf, sizeof(buf)), buf);
	assert_string_equal(buf, "/run/vm1/api.sock");
}

static void test_default_socket_in_runtime_dir(void **state)
{
	char buf[HTTP_SOCKET_PATH_MAX];

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_non_null(ctl_default_socket(buf, sizeof(buf)));
	assert_string_equal(buf, "/run/user/1000/" CTL_SOCKET_NAME);
	setenv("CMAVM_SOCKET", "", 1); /* empty: as if unset */
	assert_non_null(ctl_default_socket(buf, sizeof(buf)));
	assert_string_equal(buf, "/run/user/1000/cmavm.sock");
}

static void test_default_socket_in_tmp(void **state)
{
	char buf[HTTP_SOCKET_PATH_MAX];

	assert_non_null(ctl_default_socket(buf, sizeof(buf)));
	assert_string_equal(buf, "/tmp/cmavm.sock");
	setenv("XDG_RUNTIME_DIR", "", 1);
	assert_non_null(ctl_default_socket(buf, sizeof(buf)));
	assert_string_equal(buf, "/tmp/cmavm.sock");
}

static void test_default_socket_too_long(void **state)
{
	char buf[sizeof("/run/user/1000/cmavm.sock")];
	struct capture cap;

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_non_null(ctl_default_socket(buf, sizeof(buf))); /* just fits */
	capture_start(&cap, stderr);
	assert_null(ctl_default_socket(buf, sizeof(buf) - 1));
	expect_printed(captured(&cap, stderr),
		       "the API socket path /run/user/1000/cmavm.sock is too "
		       "long; set CMAVM_SOCKET to a shorter path");
	setenv("CMAVM_SOCKET", "/a/rather/longer/path/than/that.sock", 1);
	capture_start(&cap, stderr);
	assert_null(ctl_default_socket(buf, sizeof(buf)));
	expect_printed(captured(&cap, stderr),
		       "the API socket path /a/rather/longer/path/than/that.sock "
		       "is too long");
}

/* ctl_request() of GET /v1/vm to a server answering @answer and @filler. */
static int request_canned(const char *answer, size_t filler, struct ctl_reply *reply)
{
	struct canned_server *c = canned_server_start(answer, filler);
	int ret = ctl_request(c->path, "GET", "/v1/vm", NULL, reply);

	canned_server_stop(c);
	return ret;
}

/* ---- against the HTTP server ---- */

struct server {
	char dir[64];
	char path[128];
	struct ev_loop loop;
	struct http_server srv;
};

static struct http_deferred *later; /* /later's answer, to come */

/* /png's body: a PNG's signature and the start of its IHDR, NUL bytes among them. */
static const unsigned char png[] = { 0x89, 'P',	 'N', 'G',  '\r', '\n', 0x1a, '\n', 0, 0,
				     0,	   '\r', 'I', 'H',  'D',  'R',	0,    0,    5, 0,
				     0,	   0,	 3,   0x20, 8,	  6,	0,    0,    0 };

#define BIG_EXPORT (6u << 20) /* /big-export's bytes: many sends */

/* /big-export's body: mostly NUL bytes, a counter every 4093rd. */
static char *big_export_body(void)
{
	char *data = calloc(1, BIG_EXPORT);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < BIG_EXPORT; i += 4093)
		data[i] = (char)(1 + i / 4093 % 255);
	return data;
}

/* The write end of the pipe the next /export and /big-export send a copy of. */
static int export_fd = -1;

static void *copy_of(const void *data, size_t len)
{
	void *copy = malloc(len);

	assert_non_null(copy);
	return memcpy(copy, data, len);
}

/* /png, /export and /big-export; false for other paths. */
static bool gpu_like_answer(const struct http_request *req, struct http_response *resp)
{
	if (!strcmp(req->path, "/png")) {
		http_response_data(resp, 200, "image/png", copy_of(png, sizeof(png)), sizeof(png));
	} else if (!strcmp(req->path, "/export")) {
		http_response_json(resp, 200, json_pack("{s:i}", "stride", 5120));
		http_response_attach_fd(resp, fcntl(export_fd, F_DUPFD_CLOEXEC, 0));
	} else if (!strcmp(req->path, "/big-export")) {
		http_response_attach_fd(resp, fcntl(export_fd, F_DUPFD_CLOEXEC, 0));
		http_response_data(resp, 200, "application/octet-stream", big_export_body(),
				   BIG_EXPORT);
	} else {
		return false;
	}
	return true;
}

static void handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	if (gpu_like_answer(req, resp))
		return;
	if (!strcmp(req->path, "/later"))
		__atomic_store_n(&later, http_response_defer(resp), __ATOMIC_RELEASE);
	else if (!strcmp(req->path, "/v1/vm"))
		http_response_json(resp, 200, json_pack("{s:s}", "state", "running"));
	else if (!strcmp(req->path, "/echo"))
		http_response_json(resp, 200,
				   json_pack("{s:s, s:s, s:s%}", "method", req->method,
					     "content_type", req->content_type, "body", req->body,
					     req->body_len));
	else if (!strcmp(req->path, "/empty"))
		http_response_json(resp, 204, NULL);
	else
		http_response_error(resp, 404, "no endpoint %s; try /v1/vm", req->path);
}

static int start_server(void **state)
{
	struct server *s = calloc(1, sizeof(*s));

	strcpy(s->dir, "/tmp/cmavm-client-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/api.sock", s->dir);
	assert_int_equal(ev_loop_init(&s->loop, 64), 0);
	assert_int_equal(http_server_open(&s->srv, &s->loop, s->path, handler, NULL), 0);
	assert_int_equal(ev_loop_start(&s->loop), 0);
	*state = s;
	return 0;
}

static int stop_server(void **state)
{
	struct server *s = *state;

	http_server_close(&s->srv);
	ev_loop_destroy(&s->loop);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* ctl_request() of GET @path, answered 200 with a body of @content_type. */
static void request_ok(const char *socket, const char *path, const char *content_type,
		       struct ctl_reply *reply)
{
	assert_int_equal(ctl_request(socket, "GET", path, NULL, reply), 0);
	assert_int_equal(reply->status, 200);
	assert_string_equal(reply->content_type, content_type);
}

static void test_request_status_and_body(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;

	request_ok(s->path, "/v1/vm", "application/json", &reply);
	assert_string_equal(reply.body, "{\"state\": \"running\"}\n");
	assert_int_equal(reply.body_len, strlen(reply.body));
	assert_int_equal(reply.fd, -1);
	ctl_reply_free(&reply);
	assert_null(reply.body);
	assert_int_equal(reply.body_len, 0);
}

static void test_request_sends_json(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;
	json_t *echo;

	assert_int_equal(ctl_request(s->path, "PUT", "/echo", "{\"target_mib\": 64}", &reply), 0);
	assert_int_equal(reply.status, 200);
	echo = json_loads(reply.body, 0, NULL);
	assert_non_null(echo);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "PUT");
	assert_string_equal(json_string_value(json_object_get(echo, "content_type")),
			    "application/json");
	assert_string_equal(json_string_value(json_object_get(echo, "body")),
			    "{\"target_mib\": 64}");
	json_decref(echo);
	ctl_reply_free(&reply);
}

static void test_request_error_sentence(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;
	char msg[256];

	assert_int_equal(ctl_request(s->path, "GET", "/v1/vms", NULL, &reply), 0);
	assert_int_equal(reply.status, 404);
	assert_ptr_equal(ctl_reply_error(&reply, msg, sizeof(msg)), msg);
	assert_string_equal(msg, "no endpoint /v1/vms; try /v1/vm");
	ctl_reply_free(&reply);
}

static void test_request_without_body(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;

	assert_int_equal(ctl_request(s->path, "PUT", "/empty", NULL, &reply), 0);
	assert_int_equal(reply.status, 204);
	assert_non_null(reply.body);
	assert_string_equal(reply.body, "");
	assert_int_equal(reply.body_len, 0);
	ctl_reply_free(&reply);
}

static void test_reply_error_without_json(void **state)
{
	struct ctl_reply reply = { .status = 502, .body = "<html>bad gateway</html>", .fd = -1 };
	char msg[256];

	reply.body_len = strlen(reply.body);
	assert_string_equal(ctl_reply_error(&reply, msg, sizeof(msg)),
			    "the API answered 502 Bad Gateway");
	reply = (struct ctl_reply){
		.status = 409, .body = "{\"error\": 3}", .body_len = 12, .fd = -1
	};
	assert_string_equal(ctl_reply_error(&reply, msg, sizeof(msg)),
			    "the API answered 409 Conflict");
}

/* ---- bodies that are not JSON, descriptors ---- */

static void test_request_binary_body(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;

	request_ok(s->path, "/png", "image/png", &reply);
	assert_int_equal(reply.body_len, sizeof(png));
	assert_memory_equal(reply.body, png, sizeof(png));
	assert_int_equal(reply.body[sizeof(png)], '\0'); /* still ends in one */
	assert_int_equal(reply.fd, -1);
	ctl_reply_free(&reply);
}

static bool write_end_closed(int read_fd, int ms)
{
	struct pollfd p = { .fd = read_fd, .events = POLLIN };
	char byte;

	return poll(&p, 1, ms) == 1 && read(read_fd, &byte, 1) == 0;
}

/* @fd is a write end of the pipe that @read_fd reads. */
static void expect_writes_to(int fd, int read_fd)
{
	char byte = 0;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "w", 1), 1);
	assert_int_equal(read(read_fd, &byte, 1), 1);
	assert_int_equal(byte, 'w');
}

/*
 * request_ok() of @path, whose answer comes with a copy of a new pipe's
 * write end; @read_fd its read end.
 */
static void request_export(struct server *s, const char *path, const char *content_type,
			   struct ctl_reply *reply, int *read_fd)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	export_fd = p[1];
	request_ok(s->path, path, content_type, reply);
	close(p[1]); /* the server's copy is closed once sent: the reply has the last one */
	export_fd = -1;
	*read_fd = p[0];
}

static void test_request_with_fd(void **state)
{
	struct ctl_reply reply;
	int read_fd;

	request_export(*state, "/export", "application/json", &reply, &read_fd);
	assert_string_equal(reply.body, "{\"stride\": 5120}\n");
	expect_writes_to(reply.fd, read_fd);
	assert_int_equal(fcntl(reply.fd, F_GETFD), FD_CLOEXEC);
	ctl_reply_free(&reply);
	assert_int_equal(reply.fd, -1);
	assert_true(write_end_closed(read_fd, 1000)); /* closed by ctl_reply_free() */
	close(read_fd);
}

static void test_request_fd_taken(void **state)
{
	struct ctl_reply reply;
	int read_fd, fd;

	request_export(*state, "/export", "application/json", &reply, &read_fd);
	fd = reply.fd;
	reply.fd = -1; /* the caller's now */
	ctl_reply_free(&reply);
	expect_writes_to(fd, read_fd);
	close(fd);
	close(read_fd);
}

static void test_request_big_body_with_fd(void **state)
{
	char *want = big_export_body();
	struct ctl_reply reply;
	int read_fd;

	request_export(*state, "/big-export", "application/octet-stream", &reply, &read_fd);
	assert_int_equal(reply.body_len, BIG_EXPORT);
	assert_memory_equal(reply.body, want, BIG_EXPORT);
	expect_writes_to(reply.fd, read_fd);
	ctl_reply_free(&reply);
	assert_true(write_end_closed(read_fd, 1000));
	close(read_fd);
	free(want);
}

/* A listener answering its first request with two descriptors at once. */
struct two_fds {
	char path[160];
	int listen_fd;
	int fds[2];
	pthread_t thread;
};

static void *send_two_fds(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				     "X-Cmavm-Fd: 1\r\nConnection: close\r\n\r\n{}";
	_Alignas(struct cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
	struct two_fds *t = arg;
	struct iovec iov = { .iov_base = (void *)answer, .iov_len = sizeof(answer) - 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int fd = accept(t->listen_fd, NULL, NULL);
	char request[1024];

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(cmsg), t->fds, 2 * sizeof(int));
	recv(fd, request, sizeof(request), 0); /* a GET: its head in one piece */
	sendmsg(fd, &msg, MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

static void two_fds_start(struct two_fds *t, const char *dir, int fd0, int fd1)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(t->path, sizeof(t->path), "%s/two.sock", dir);
	strcpy(sa.sun_path, t->path);
	t->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(t->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(t->listen_fd, 1), 0);
	t->fds[0] = fd0;
	t->fds[1] = fd1;
	assert_int_equal(pthread_create(&t->thread, NULL, send_two_fds, t), 0);
}

static void test_only_the_first_fd_kept(void **state)
{
	struct server *s = *state;
	int first[2], second[2];
	struct ctl_reply reply;
	struct two_fds t;

	assert_int_equal(pipe2(first, O_CLOEXEC), 0);
	assert_int_equal(pipe2(second, O_CLOEXEC), 0);
	two_fds_start(&t, s->dir, first[1], second[1]);
	assert_int_equal(ctl_request(t.path, "GET", "/v1/gpu/export", NULL, &reply), 0);
	assert_int_equal(pthread_join(t.thread, NULL), 0);
	close(t.listen_fd);
	unlink(t.path);
	close(first[1]);
	close(second[1]);
	assert_string_equal(reply.body, "{}");
	assert_true(write_end_closed(second[0], 1000)); /* the one not kept */
	assert_false(write_end_closed(first[0], 0));
	expect_writes_to(reply.fd, first[0]); /* the first one it is */
	ctl_reply_free(&reply);
	assert_true(write_end_closed(first[0], 1000));
	close(first[0]);
	close(second[0]);
}

static void test_fd_announced_but_missing(void **state)
{
	struct ctl_reply reply;
	struct capture cap;

	capture_start(&cap, stderr);
	assert_int_equal(request_canned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
					"X-Cmavm-Fd: 1\r\n\r\n{}",
					0, &reply),
			 -1);
	expect_printed(captured(&cap, stderr), "came without the file descriptor it announced");
	assert_null(reply.body);
	assert_int_equal(reply.fd, -1);
}

static void test_no_server(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;
	struct capture cap;
	char path[160];

	snprintf(path, sizeof(path), "%s/nobody.sock", s->dir);
	capture_start(&cap, stderr);
	assert_int_equal(ctl_request(path, "GET", "/v1/vm", NULL, &reply), -1);
	expect_printed(captured(&cap, stderr),
		       "No such file or directory; is a VM running with it? "
		       "Start one with 'cmavm run --api-socket");
	assert_null(reply.body);
}

static void test_stale_socket(void **state)
{
	struct server *s = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct ctl_reply reply;
	struct capture cap;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", s->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
	capture_start(&cap, stderr);
	assert_int_equal(ctl_request(sa.sun_path, "GET", "/v1/vm", NULL, &reply), -1);
	expect_printed(captured(&cap, stderr), "Connection refused; is a VM running with it?");
	unlink(sa.sun_path);
}

static void test_socket_path_too_long(void **state)
{
	char path[HTTP_SOCKET_PATH_MAX + 8];
	struct ctl_reply reply;
	struct capture cap;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	capture_start(&cap, stderr);
	assert_int_equal(ctl_request(path, "GET", "/v1/vm", NULL, &reply), -1);
	expect_printed(captured(&cap, stderr), "is too long (at most 107 bytes)");
}

/* ---- against a server thread that answers canned bytes ---- */

static void test_answer_not_http(void **state)
{
	struct ctl_reply reply;
	struct capture cap;

	char *printed;

	capture_start(&cap, stderr);
	assert_int_equal(request_canned("SSH-2.0-OpenSSH_9.2\r\n", 0, &reply), -1);
	printed = captured(&cap, stderr);
	assert_non_null(strstr(printed, "is not HTTP ("));
	expect_printed(printed, "); is this a cmavm API socket?");
	assert_null(reply.body);
}

static void test_interim_answer_skipped(void **state)
{
	struct ctl_reply reply;

	assert_int_equal(request_canned("HTTP/1.1 100 Continue\r\n\r\n"
					"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
					0, &reply),
			 0);
	assert_int_equal(reply.status, 200);
	assert_string_equal(reply.body, "{}");
	ctl_reply_free(&reply);
}

static void test_answer_ended_by_close(void **state)
{
	struct ctl_reply reply;

	assert_int_equal(
		request_canned("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", 0, &reply), 0);
	assert_int_equal(reply.status, 200);
	assert_string_equal(reply.body, "hello");
	assert_int_equal(reply.body_len, 5);
	ctl_reply_free(&reply);
}

static void test_answer_cut_short(void **state)
{
	struct ctl_reply reply;
	struct capture cap;

	capture_start(&cap, stderr);
	assert_int_equal(
		request_canned("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", 0, &reply), -1);
	expect_printed(captured(&cap, stderr), "is not HTTP (stream ended at an unexpected time)");
	assert_null(reply.body);
}

static void test_closed_without_answer(void **state)
{
	struct ctl_reply reply;
	struct capture cap;

	capture_start(&cap, stderr);
	assert_int_equal(request_canned("", 0, &reply), -1);
	expect_printed(captured(&cap, stderr), "closed the connection before answering in full");
	assert_null(reply.body);
}

static void test_reply_max(void **state)
{
	char head[128];
	struct ctl_reply reply;
	struct capture cap;

	/* the largest answer taken: CTL_REPLY_MAX with the NUL that ends it */
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
		 CTL_REPLY_MAX - 1);
	assert_int_equal(request_canned(head, CTL_REPLY_MAX - 1, &reply), 0);
	assert_int_equal(reply.body_len, CTL_REPLY_MAX - 1);
	assert_int_equal(strlen(reply.body), CTL_REPLY_MAX - 1);
	ctl_reply_free(&reply);

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
		 CTL_REPLY_MAX);
	capture_start(&cap, stderr);
	assert_int_equal(request_canned(head, CTL_REPLY_MAX, &reply), -1);
	expect_printed(captured(&cap, stderr), "is larger than 16777216 bytes; not reading it");
	assert_null(reply.body);
}

static void answer_later(void *unused)
{
	struct http_response resp = { 0 };

	http_response_json(&resp, 200, json_pack("{s:s}", "done", "later"));
	http_deferred_answer(later, &resp);
	later = NULL;
}

static void *wait_then_answer(void *arg)
{
	struct server *s = arg;
	struct http_deferred *asked = NULL;

	while (!asked) {
		usleep(20 * 1000);
		asked = __atomic_load_n(&later, __ATOMIC_ACQUIRE);
	}
	usleep(100 * 1000); /* the client is waiting */
	ev_loop_call(&s->loop, answer_later, NULL);
	return NULL;
}

static void test_request_answered_later(void **state)
{
	struct server *s = *state;
	struct ctl_reply reply;
	pthread_t answerer;

	later = NULL;
	assert_int_equal(pthread_create(&answerer, NULL, wait_then_answer, s), 0);
	assert_int_equal(ctl_request(s->path, "PUT", "/later", "{}", &reply), 0);
	assert_int_equal(pthread_join(answerer, NULL), 0);
	assert_int_equal(reply.status, 200);
	assert_string_equal(reply.body, "{\"done\": \"later\"}\n");
	ctl_reply_free(&reply);
}

/* The engine's moves are answered when done, however long; the rest soon. */
static void test_answer_timeout(void **state)
{
	assert_int_equal(ctl_answer_timeout_s("PUT", "/v1/cma/windows"), 0);
	assert_int_equal(ctl_answer_timeout_s("PUT", "/v1/cma/windows/release"), 0);
	assert_int_equal(ctl_answer_timeout_s("PUT", "/v1/cma/migrate"), 0);
	assert_int_equal(ctl_answer_timeout_s("GET", "/v1/cma/windows"), CTL_TIMEOUT_S);
	assert_int_equal(ctl_answer_timeout_s("PUT", "/v1/vm/pause"), CTL_TIMEOUT_S);
	assert_int_equal(ctl_answer_timeout_s("PUT", "/v1/balloon"), CTL_TIMEOUT_S);
	assert_int_equal(ctl_answer_timeout_s("GET", "/v1/vm"), CTL_TIMEOUT_S);
}

#define ENV_TEST(fn)	cmocka_unit_test_setup_teardown(fn, clear_env, clear_env)
#define SERVER_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_server, stop_server)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ENV_TEST(test_default_socket_from_env),
		ENV_TEST(test_default_socket_in_runtime_dir),
		ENV_TEST(test_default_socket_in_tmp),
		ENV_TEST(test_default_socket_too_long),
		SERVER_TEST(test_request_status_and_body),
		SERVER_TEST(test_request_sends_json),
		SERVER_TEST(test_request_error_sentence),
		SERVER_TEST(test_request_without_body),
		SERVER_TEST(test_request_answered_later),
		SERVER_TEST(test_request_binary_body),
		SERVER_TEST(test_request_with_fd),
		SERVER_TEST(test_request_fd_taken),
		SERVER_TEST(test_request_big_body_with_fd),
		SERVER_TEST(test_only_the_first_fd_kept),
		cmocka_unit_test(test_fd_announced_but_missing),
		cmocka_unit_test(test_answer_timeout),
		cmocka_unit_test(test_reply_error_without_json),
		SERVER_TEST(test_no_server),
		SERVER_TEST(test_stale_socket),
		cmocka_unit_test(test_socket_path_too_long),
		cmocka_unit_test(test_answer_not_http),
		cmocka_unit_test(test_interim_answer_skipped),
		cmocka_unit_test(test_answer_ended_by_close),
		cmocka_unit_test(test_answer_cut_short),
		cmocka_unit_test(test_closed_without_answer),
		cmocka_unit_test(test_reply_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
