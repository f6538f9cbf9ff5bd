// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP server's test harness (http_harness.h).
 *
 * The client's calls retry EINTR. The test thread creates each test's
 * ring, and when a ring is torn down the kernel notifies every thread that
 * used it with task work (TIF_NOTIFY_SIGNAL, no signal involved); a recv()
 * with a receive timeout is not restarted after that and returns EINTR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_harness.h"
#include "vmm/control/http/internal.h"

const char get_vm[] = "GET /v1/vm?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n";

/* ---- the handler: echo the request back ---- */

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

/* The paths that answer something else than the echo; false for others. */
static bool special_answer(const struct http_request *req, struct http_response *resp)
{
	if (!strcmp(req->path, "/big"))
		http_response_json(resp, 200, json_pack("{s:o}", "big", big_string()));
	else if (!strcmp(req->path, "/missing"))
		http_response_error(resp, 404, "nothing at %s", req->path);
	else if (!strcmp(req->path, "/nocontent"))
		http_response_json(resp, 204, json_pack("{s:s}", "never", "sent"));
	else if (!strcmp(req->path, "/allow")) {
		strcpy(resp->allow, "GET, PUT");
		http_response_error(resp, 405, "/allow takes GET, PUT, not %s", req->method);
	} else if (!strcmp(req->path, "/bad-status"))
		http_response_json(resp, 42, json_pack("{s:s}", "never", "sent"));
	else
		return false;
	return true;
}

/* ---- bodies that are not JSON, descriptors with answers ---- */

unsigned char pattern_byte(size_t i)
{
	return (i * 7) % 251; /* 0 every 251 bytes */
}

bool is_pattern(const char *body, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)body[i] != pattern_byte(i))
			return false;
	return true;
}

static void *pattern(size_t len)
{
	unsigned char *data = malloc(len);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = pattern_byte(i);
	return data;
}

int memfd_with(const char *text)
{
	int fd = memfd_create("cmavm-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* /binary, /fd, /big-fd and /fd-refused; false for other paths. */
static bool data_answer(const struct http_request *req, struct http_response *resp)
{
	if (!strcmp(req->path, "/binary")) {
		http_response_data(resp, 200, "application/octet-stream", pattern(BINARY_LEN),
				   BINARY_LEN);
	} else if (!strcmp(req->path, "/fd")) {
		http_response_attach_fd(resp, memfd_with(req->query));
		http_response_json(resp, 200, json_pack("{s:s}", "fd", req->query));
	} else if (!strcmp(req->path, "/big-fd")) {
		http_response_data(resp, 200, "application/octet-stream", pattern(BIG_DATA),
				   BIG_DATA);
		http_response_attach_fd(resp, memfd_with("big"));
	} else if (!strcmp(req->path, "/fd-refused")) {
		http_response_attach_fd(resp, memfd_with("refused"));
		http_response_error(resp, 409, "an error carries no descriptor");
	} else {
		return false;
	}
	return true;
}

/* ---- deferred answers: the loop thread's, read by the test through ev_loop_call() ---- */

#define DEFERRED_MAX 16

static struct {
	unsigned int handled;
	unsigned int nr, nr_answered;
	struct http_deferred *d[DEFERRED_MAX];
	char path[DEFERRED_MAX][64];
} deferred;

/* @fd: a descriptor to attach, or NULL. */
static void answer_next(void *fd)
{
	unsigned int i = deferred.nr_answered++;
	struct http_response resp = { 0 };

	assert_true(i < deferred.nr);
	if (fd)
		http_response_attach_fd(&resp, *(int *)fd);
	http_response_json(&resp, 200, json_pack("{s:s}", "deferred", deferred.path[i]));
	http_deferred_answer(deferred.d[i], &resp);
	deferred.d[i] = NULL;
}

/* /defer and /defer-now; false for other paths. */
static bool defer(const struct http_request *req, struct http_response *resp)
{
	struct http_deferred *d;

	if (strcmp(req->path, "/defer") && strcmp(req->path, "/defer-now"))
		return false;
	assert_true(deferred.nr < DEFERRED_MAX);
	d = http_response_defer(resp);
	assert_non_null(d);
	assert_null(http_response_defer(resp)); /* once */
	snprintf(deferred.path[deferred.nr], sizeof(deferred.path[0]), "%s", req->path);
	deferred.d[deferred.nr++] = d;
	if (!strcmp(req->path, "/defer-now"))
		answer_next(NULL);
	return true;
}

static void answer_with(struct fixture *f, int *fd)
{
	if (f->loop.running)
		assert_int_equal(ev_loop_call(&f->loop, answer_next, fd), 0);
	else /* nothing else runs the loop's callbacks now */
		answer_next(fd);
}

void answer_deferred(struct fixture *f)
{
	answer_with(f, NULL);
}

void answer_deferred_fd(struct fixture *f, int fd)
{
	answer_with(f, &fd);
}

static void count_deferred(void *n)
{
	*(unsigned int *)n = deferred.nr;
}

void wait_deferred(struct fixture *f, unsigned int n)
{
	unsigned int now = 0;
	int tries;

	for (tries = 0; tries < 5000; tries++) {
		assert_int_equal(ev_loop_call(&f->loop, count_deferred, &now), 0);
		if (now >= n)
			return;
		usleep(1000);
	}
	fail_msg("%u answers deferred, not %u", now, n);
}

static void count_handled(void *n)
{
	*(unsigned int *)n = deferred.handled;
}

unsigned int requests_handled(struct fixture *f)
{
	unsigned int n = 0;

	assert_int_equal(ev_loop_call(&f->loop, count_handled, &n), 0);
	return n;
}

struct served_count {
	struct http_server *srv;
	unsigned int n;
};

static void count_served(void *arg)
{
	struct served_count *sc = arg;

	sc->n = sc->srv->nr_served;
}

unsigned int connections_served(struct fixture *f)
{
	struct served_count sc = { &f->srv, 0 };

	assert_int_equal(ev_loop_call(&f->loop, count_served, &sc), 0);
	return sc.n;
}

void wait_served(struct fixture *f, unsigned int n)
{
	int tries;

	for (tries = 0; tries < 5000 && connections_served(f) != n; tries++)
		usleep(1000);
	assert_int_equal(connections_served(f), n);
}

/* The server's own view: what its connections have received. */
static void count_mid_request(void *arg)
{
	struct served_count *sc = arg;
	const struct http_conn *c;

	sc->n = 0;
	for (c = sc->srv->conns; c; c = c->next)
		sc->n += c->in_body || c->head_bytes;
}

void wait_mid_request(struct fixture *f, unsigned int n)
{
	struct served_count sc = { &f->srv, 0 };
	int tries;

	for (tries = 0; tries < 5000; tries++) {
		assert_int_equal(ev_loop_call(&f->loop, count_mid_request, &sc), 0);
		if (sc.n == n)
			return;
		usleep(1000);
	}
	fail_msg("%u connections have part of a request in, not %u", sc.n, n);
}

bool nothing_sent(struct client *c, int ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return c->len == 0 && poll(&p, 1, ms) == 0;
}

struct timeouts_for {
	struct http_server *srv;
	struct http_timeouts t;
};

static void write_timeouts(void *arg)
{
	struct timeouts_for *tf = arg;

	tf->srv->timeouts = tf->t;
}

void set_timeouts(struct fixture *f, unsigned int head_ms, unsigned int body_ms,
		  unsigned int idle_ms, unsigned int send_ms)
{
	struct timeouts_for tf = { &f->srv, { head_ms, body_ms, idle_ms, send_ms } };

	assert_int_equal(ev_loop_call(&f->loop, write_timeouts, &tf), 0);
}

struct buffer_state {
	struct http_server *srv;
	bool full;
};

/* The socket of the newest connection takes no more until its client reads. */
static void check_send_buffer(void *arg)
{
	struct buffer_state *bs = arg;
	int queued = 0, size = 0;
	socklen_t len = sizeof(size);

	assert_non_null(bs->srv->conns);
	assert_int_equal(ioctl(bs->srv->conns->fd, SIOCOUTQ, &queued), 0);
	assert_int_equal(getsockopt(bs->srv->conns->fd, SOL_SOCKET, SO_SNDBUF, &size, &len), 0);
	bs->full = queued >= size;
}

bool send_buffer_full(struct fixture *f)
{
	struct buffer_state bs = { &f->srv, false };

	assert_int_equal(ev_loop_call(&f->loop, check_send_buffer, &bs), 0);
	return bs.full;
}

double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

void echo_handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	deferred.handled++;
	if (special_answer(req, resp) || data_answer(req, resp) || defer(req, resp))
		return;
	http_response_json(resp, 200,
			   json_pack("{s:s, s:s, s:s, s:s, s:s%}", "method", req->method, "path",
				     req->path, "query", req->query, "content_type",
				     req->content_type, "body", req->body, req->body_len));
}

/* ---- the fixture ---- */

static struct fixture *fixture_new(http_handler_fn handler, void *opaque)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/cmavm-http-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(ev_loop_init(&f->loop, 256), 0);
	assert_int_equal(http_server_open(&f->srv, &f->loop, f->path, handler, opaque), 0);
	return f;
}

struct fixture *fixture_open(http_handler_fn handler, void *opaque)
{
	struct fixture *f = fixture_new(handler, opaque);

	assert_int_equal(ev_loop_start(&f->loop), 0);
	return f;
}

void fixture_close(struct fixture *f)
{
	http_server_close(&f->srv);
	ev_loop_destroy(&f->loop);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is gone */
	rmdir(f->dir);
	free(f);
}

int start_server(void **state)
{
	memset(&deferred, 0, sizeof(deferred));
	*state = fixture_open(echo_handler, NULL);
	return 0;
}

int start_server_stopped(void **state)
{
	memset(&deferred, 0, sizeof(deferred));
	*state = fixture_new(echo_handler, NULL);
	return 0;
}

int stop_server(void **state)
{
	fixture_close(*state);
	return 0;
}

/* ---- the client ---- */

int connect_to(const char *path)
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

struct client *client_open(const char *path)
{
	struct client *c = calloc(1, sizeof(*c));

	c->fd = connect_to(path);
	assert_true(c->fd >= 0);
	return c;
}

void client_close(struct client *c)
{
	while (c->nr_fds)
		close(c->fds[--c->nr_fds].fd);
	close(c->fd);
	free(c);
}

void send_text(struct client *c, const char *text, size_t len)
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

void send_str(struct client *c, const char *text)
{
	send_text(c, text, strlen(text));
}

void send_maybe_refused(int fd, const char *text)
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

/* The descriptors that came with the bytes [@from, @from + @n) of the stream. */
static void keep_fds(struct client *c, struct msghdr *msg, size_t from, size_t n)
{
	struct cmsghdr *cmsg;
	size_t i, nr;

	assert_false(msg->msg_flags & MSG_CTRUNC);
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		assert_int_equal(cmsg->cmsg_type, SCM_RIGHTS);
		nr = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			assert_true(c->nr_fds < CLIENT_FDS_MAX);
			memcpy(&c->fds[c->nr_fds].fd, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(int));
			c->fds[c->nr_fds].from = from;
			c->fds[c->nr_fds++].to = from + n;
		}
	}
}

/* recv(), or with take_fds recvmsg() keeping the descriptors. */
static ssize_t client_recv(struct client *c, char *buf, size_t len)
{
	_Alignas(struct cmsghdr) char control[CMSG_SPACE(CLIENT_FDS_MAX * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (c->take_fds) {
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
		if (n > 0)
			keep_fds(c, &msg, c->received, n);
	} else { /* as curl does: what came with the bytes is lost */
		n = recv(c->fd, buf, len, 0);
	}
	if (n > 0)
		c->received += n;
	return n;
}

/* Parse one response from what is buffered, keeping what follows it. */
static void parse_buffered(struct client *c, http_parser *p, struct response *r)
{
	size_t n = http_parser_execute(p, &response_settings, c->buf, c->len);

	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	if (HTTP_PARSER_ERRNO(p) == HPE_PAUSED)
		http_parser_pause(p, 0);
}

struct response read_response(struct client *c)
{
	struct response r = { 0 };
	http_parser p;
	ssize_t n = 0;

	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &r;
	r.start = c->received - c->len;
	parse_buffered(c, &p, &r);
	while (!r.complete) {
		n = client_recv(c, c->buf + c->len, sizeof(c->buf) - c->len);
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

int expect_response(struct client *c, int status, const char *needle)
{
	struct response r = read_response(c);

	assert_int_equal(r.status, status);
	if (needle && !strstr(r.body, needle))
		fail_msg("response body %s lacks %s", r.body, needle);
	free(r.body);
	return r.status;
}

static void expect_member(json_t *echo, const char *key, const char *want)
{
	const char *got = json_string_value(json_object_get(echo, key));

	if (!got || strcmp(got, want))
		fail_msg("the handler saw %s \"%s\", not \"%s\"", key, got ? got : "(none)", want);
}

void expect_echo(struct client *c, const char *method, const char *path, const char *query,
		 const char *content_type, const char *body)
{
	struct response r = read_response(c);
	json_error_t err;
	json_t *echo;

	assert_int_equal(r.status, 200);
	echo = json_loads(r.body, 0, &err);
	if (!echo)
		fail_msg("the echo is not JSON (%s): %s", err.text, r.body);
	expect_member(echo, "method", method);
	expect_member(echo, "path", path);
	expect_member(echo, "query", query);
	expect_member(echo, "content_type", content_type);
	expect_member(echo, "body", body);
	assert_int_equal(json_object_size(echo), 5);
	json_decref(echo);
	free(r.body);
}

bool server_closed(struct client *c)
{
	char byte;
	ssize_t n;

	do
		n = recv(c->fd, &byte, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

struct client *served_client(const char *path)
{
	struct client *c = client_open(path);

	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	return c;
}

int response_fd(const struct client *c, const struct response *r)
{
	unsigned int i;

	for (i = 0; i < c->nr_fds; i++)
		if (c->fds[i].from <= r->start && r->start < c->fds[i].to)
			return c->fds[i].fd;
	return -1;
}

void expect_fd_holds(int fd, const char *text)
{
	char buf[256];
	struct stat st;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, strlen(text));
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

struct response expect_answer_fd(struct client *c, int status, const char *fd_text)
{
	struct response r = read_response(c);

	assert_int_equal(r.status, status);
	if (!fd_text) {
		assert_null(strstr(r.headers, HTTP_FD_HEADER));
		return r;
	}
	assert_non_null(strstr(r.headers, "\n" HTTP_FD_HEADER ": 1"));
	if (c->take_fds)
		expect_fd_holds(response_fd(c, &r), fd_text);
	return r;
}

unsigned int open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* not @dir's own */
}

bool pipe_closed_within_5s(int read_fd)
{
	struct pollfd p = { .fd = read_fd, .events = POLLIN };
	char byte;

	return poll(&p, 1, 5000) == 1 && read(read_fd, &byte, 1) == 0;
}
