// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the control socket's HTTP server (vmm/control/http/) with
 * every API route (vmm/control/api/), in front of the unit tests' fake VM
 * (tests/unit/vmm/control/fake_vm.c). The input is the raw bytes a client
 * sends on one connection: one request or several, pipelined, then the
 * end of its stream.
 *
 * One server per process, on a socket in a temporary directory removed at
 * exit, its loop run on the fuzzing thread (inline_loop.h). Each input
 * connects, sends, shuts its side down and reads every answer until the
 * server closes; the server must then have no connection left. The fake
 * VM's CMA commands answer at once, or pend and finish once the loop is
 * otherwise idle, or finish before their callback returns: which, the
 * input's length decides.
 *
 * Beyond the sanitizers: what comes back parses as HTTP/1.1 responses, a
 * JSON body after each Content-Length but a HEAD's (the input's requests,
 * read with the same parser, tell which answer is to a HEAD), and the
 * server lets go of the connection within 5 s. With
 * FUZZ_LOG=1 the answers are printed too.
 */
#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/fuzz/inline_loop.h"
#include "tests/unit/vmm/control/fake_vm.h"
#include "vmm/control/api.h"

/*
 * A connection that stops moving: this many turns of the loop in a row
 * with nothing to do, each a wait of a millisecond (about 5 s on an idle
 * machine). Counted in turns, not time, so that a loaded machine, which
 * makes every turn slower, does not make it look stuck.
 */
#define IDLE_TURNS_MAX 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ev_loop loop;
static bool show_answers; /* FUZZ_LOG=1 */
static struct http_server srv;
static char dir[64], path[128];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_http_api: %s\n", what);
		abort();
	}
}

static void remove_socket_dir(void)
{
	unlink(path);
	rmdir(dir);
}

static void open_server(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/cmavm-fuzz-XXXXXX", tmp);
	check(mkdtemp(dir) != NULL, "no temporary directory");
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	atexit(remove_socket_dir);
	show_answers = getenv("FUZZ_LOG") && !strcmp(getenv("FUZZ_LOG"), "1");
	inline_loop_init(&loop);
	check(!http_server_open(&srv, &loop, path, ctl_api_handle, (void *)&ops),
	      "the server does not open");
}

/* ---- what the server answers: HTTP/1.1 responses with JSON bodies ---- */

#define REQUESTS_MAX 1024

/*
 * The input's own requests, read with the same http-parser: whether the
 * answer to each is to a HEAD (no body follows its Content-Length). A
 * request is a HEAD once its method is whole (its URL has begun): one the
 * parser refuses before that is none, and its 400 has a body.
 */
struct requests {
	http_parser parser;
	unsigned int count;
	bool head[REQUESTS_MAX];
};

static int request_begins(http_parser *p)
{
	struct requests *r = p->data;

	if (r->count < REQUESTS_MAX)
		r->head[r->count] = false;
	r->count++;
	return 0;
}

static int request_url(http_parser *p, const char *at, size_t n)
{
	struct requests *r = p->data;

	if (r->count <= REQUESTS_MAX)
		r->head[r->count - 1] = p->method == HTTP_HEAD;
	return 0;
}

static const http_parser_settings request_settings = {
	.on_message_begin = request_begins,
	.on_url = request_url,
};

static void read_requests(struct requests *r, const uint8_t *data, size_t size)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	http_parser_execute(&r->parser, &request_settings, (const char *)data, size);
}

struct answers {
	http_parser parser;
	const struct requests *requests;
	char *body;
	size_t body_len;
	unsigned int count; /* final answers, 1xx not counted */
	/* the answer's Content-Type, its header gathered across reads */
	char field[16], type[64];
	size_t field_len, type_len;
	bool in_value, is_type;
};

/* 1: this answer has no body, being to a HEAD. */
static int answer_head(http_parser *p)
{
	struct answers *a = p->data;

	return p->status_code >= 200 && a->count < a->requests->count && a->count < REQUESTS_MAX &&
	       a->requests->head[a->count];
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct answers *a = p->data;

	a->body = realloc(a->body, a->body_len + n + 1);
	check(a->body != NULL, "out of memory");
	memcpy(a->body + a->body_len, at, n);
	a->body_len += n;
	return 0;
}

/* Append @n bytes at @at to @buf (of @size, *@len used), as many as fit. */
static void gather(char *buf, size_t size, size_t *len, const char *at, size_t n)
{
	n = n < size - 1 - *len ? n : size - 1 - *len;
	memcpy(buf + *len, at, n);
	*len += n;
	buf[*len] = '\0';
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct answers *a = p->data;

	if (a->in_value) /* a new header begins */
		a->field_len = 0;
	a->in_value = false;
	gather(a->field, sizeof(a->field), &a->field_len, at, n);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct answers *a = p->data;

	if (!a->in_value) {
		a->in_value = true;
		a->is_type = !strcasecmp(a->field, "Content-Type");
		if (a->is_type)
			a->type_len = 0;
	}
	if (a->is_type)
		gather(a->type, sizeof(a->type), &a->type_len, at, n);
	return 0;
}

static int on_answer_begin(http_parser *p)
{
	struct answers *a = p->data;

	a->field_len = a->type_len = 0;
	a->field[0] = a->type[0] = '\0';
	a->in_value = a->is_type = false;
	return 0;
}

/* A body is what its Content-Type says: JSON, a screenshot's PNG, or the metrics' text. */
static void check_body(const struct answers *a)
{
	json_t *json;

	if (!strcmp(a->type, "image/png")) {
		check(a->body_len >= 8 && !memcmp(a->body, "\x89PNG\r\n\x1a\n", 8),
		      "an image/png body that is not a PNG");
		return;
	}
	if (!strncmp(a->type, "text/plain", 10)) {
		check(!memchr(a->body, '\0', a->body_len), "a text/plain body with a NUL byte");
		return;
	}
	check(!strncmp(a->type, "application/json", 16), "a body of an unexpected Content-Type");
	json = json_loadb(a->body, a->body_len, 0, NULL);
	check(json != NULL, "a response body that is not JSON");
	json_decref(json);
}

static int on_message_complete(http_parser *p)
{
	struct answers *a = p->data;

	check(p->status_code >= 100 && p->status_code <= 599, "a status outside 100-599");
	if (a->body_len)
		check_body(a);
	free(a->body);
	a->body = NULL;
	a->body_len = 0;
	if (p->status_code >= 200)
		a->count++;
	return 0;
}

static const http_parser_settings answer_settings = {
	.on_message_begin = on_answer_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = answer_head,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void parse_answers(struct answers *a, const char *buf, size_t len)
{
	size_t n = http_parser_execute(&a->parser, &answer_settings, buf, len);

	if (HTTP_PARSER_ERRNO(&a->parser) != HPE_OK || n != len) {
		fprintf(stderr, "fuzz_http_api: the server's answer does not parse: %s\n",
			http_errno_description(HTTP_PARSER_ERRNO(&a->parser)));
		abort();
	}
}

/* ---- the client's side of one connection ---- */

static int connect_client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	check(fd >= 0, "no socket");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	check(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)), "cannot connect");
	return fd;
}

/* Read what has come: false once the server has closed. */
static bool read_answers(int fd, struct answers *a)
{
	char buf[16384];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (show_answers)
			fwrite(buf, 1, (size_t)n, stderr);
		parse_answers(a, buf, (size_t)n);
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	/* A server that closes on a refusal may leave our bytes unread: a reset, not an error. */
	check(n == 0 || errno == ECONNRESET, "recv failed");
	return false;
}

/*
 * One turn of the loop: completions, else a pending command, else a short
 * wait. Counts the turns in a row that found nothing to do in *@idle.
 */
static void turn(unsigned int *idle)
{
	if (inline_loop_run_ready(&loop)) {
		*idle = 0;
	} else if (vm.pended.pending) {
		finish_pending(NULL);
		*idle = 0;
	} else {
		*idle = inline_loop_run_wait(&loop, 1) ? 0 : *idle + 1;
	}
}

static void send_all(int fd, const uint8_t *data, size_t size, struct answers *a)
{
	unsigned int idle = 0;

	while (size) {
		ssize_t n = send(fd, data, size, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			size -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return; /* the server closed first: it refused what it had */
		check(idle < IDLE_TURNS_MAX, "the server stopped reading");
		read_answers(fd, a);
		turn(&idle);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fake_pend pend[] = { FAKE_NOW, FAKE_PEND, FAKE_DONE_EARLY };
	static struct requests requests;
	struct answers a = { .requests = &requests };
	unsigned int idle = 0;
	bool open = true;
	int fd;

	if (!srv.loop)
		open_server();
	reset_vm(NULL);
	vm.pend = pend[size % 3];
	read_requests(&requests, data, size);
	http_parser_init(&a.parser, HTTP_RESPONSE);
	a.parser.data = &a;
	fd = connect_client();
	send_all(fd, data, size, &a);
	shutdown(fd, SHUT_WR);
	while (open || srv.conns) {
		check(idle < IDLE_TURNS_MAX, "the connection stopped moving and did not end");
		turn(&idle);
		if (open)
			open = read_answers(fd, &a);
	}
	http_parser_execute(&a.parser, &answer_settings, NULL, 0);
	check(HTTP_PARSER_ERRNO(&a.parser) == HPE_OK, "the server closed in mid-answer");
	free(a.body);
	close(fd);
	return 0;
}
