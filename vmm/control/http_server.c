// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's HTTP/1.1 server.
 *
 * Each connection has at most one io_uring operation in flight: recv, then
 * parse everything received, answering each complete request in order,
 * then send every queued response, then recv again (or close). Requests
 * pipelined in one recv are thus answered in order without any queueing
 * beyond one output buffer, and a client that never reads its answers
 * only stalls itself.
 *
 * http-parser pauses at the end of each head and of each message, so that
 * the limits, 100-continue and the handler run between two calls of
 * http_parser_execute(), with the exact byte counts the parser consumed.
 */
#include "vmm/control/http_server.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define RECV_CHUNK     (16 * 1024)
#define OUT_HIGH_WATER (64 * 1024) /* stop parsing pipelined requests past this */
#define LISTEN_BACKLOG 64
#define FIELD_NAME_MAX 32 /* longer header names are none we look at */
#define CLOSE_GRACE_S  1  /* for responses under way at http_server_close() */

/* A growable string, always NUL-terminated once it holds anything. */
struct buf {
	char *data;
	size_t len, alloc;
};

enum wanted_header { HDR_OTHER, HDR_CONTENT_TYPE, HDR_EXPECT };
enum pause_point { PAUSED_AT_HEAD, PAUSED_AT_MESSAGE };

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	int fd;
	bool served; /* counted in nr_served; false: a 403 or 503 on its way */
	struct ev_op recv_op, send_op, close_op;
	struct ev_op *busy; /* the one operation in flight, or NULL */

	http_parser parser;
	enum pause_point paused_at;
	char *in; /* RECV_CHUNK bytes, only for served connections */
	size_t in_off, in_len;

	/* the request being parsed */
	bool in_body; /* its head is complete */
	size_t head_bytes;
	struct buf url, content_type, expect, body;
	char field[FIELD_NAME_MAX];
	size_t field_len;
	bool after_value; /* the next header-field piece starts a new name */
	enum wanted_header header;

	/* responses not yet sent, in request order */
	struct buf out;
	size_t out_sent;
	bool close_after_send;
};

/* Shared by every server's cancel requests: their completions need nothing. */
static void cancel_completed(struct ev_op *op, int res, unsigned int flags)
{
}

static struct ev_op cancel_op = { .done = cancel_completed };

static int buf_add(struct buf *b, const char *p, size_t n, size_t max)
{
	size_t alloc;
	char *data;

	if (n > max || b->len > max - n)
		return -ENOSPC;
	if (b->len + n + 1 > b->alloc) {
		for (alloc = b->alloc ? b->alloc : 256; alloc < b->len + n + 1; alloc *= 2)
			;
		data = realloc(b->data, alloc);
		if (!data)
			return -ENOMEM;
		b->data = data;
		b->alloc = alloc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int buf_addf(struct buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENOSPC;
	return buf_add(b, line, n, SIZE_MAX);
}

static void buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

static void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

void http_response_json(struct http_response *resp, int status, json_t *body)
{
	json_decref(resp->body);
	resp->status = status;
	resp->body = body;
}

void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_response_json(resp, status, json_pack("{s:s}", "error", msg));
}

/* ---- responses ---- */

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static int queue_head(struct http_conn *c, const struct http_response *resp, size_t body_len,
		      bool keep_alive)
{
	struct buf *out = &c->out;
	int err;

	err = buf_addf(out, "HTTP/1.1 %d %s\r\n", resp->status,
		       http_status_str((enum http_status)resp->status));
	if (!err && status_has_body(resp->status))
		err = buf_addf(out, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			       body_len);
	if (!err && resp->allow[0])
		err = buf_addf(out, "Allow: %s\r\n", resp->allow);
	/* HTTP/1.0 closes unless told otherwise; HTTP/1.1 keeps alive unless told. */
	if (!err && !keep_alive)
		err = buf_addf(out, "Connection: close\r\n");
	else if (!err && c->parser.http_minor == 0)
		err = buf_addf(out, "Connection: keep-alive\r\n");
	if (!err)
		err = buf_addf(out, "\r\n");
	return err;
}

/* A response's bytes, after any earlier ones; takes @resp->body. */
static void queue_response(struct http_conn *c, struct http_response *resp, bool keep_alive)
{
	bool head_only = c->parser.method == HTTP_HEAD;
	char *text = NULL;
	size_t len = 0;
	int err;

	if (resp->status < 100 || resp->status > 599) {
		pr_err("internal error: the control API answered status %d", resp->status);
		http_response_error(resp, 500,
				    "internal error: cmavm's API produced no valid answer");
	}
	if (status_has_body(resp->status) && resp->body) {
		text = json_dumps(resp->body, 0);
		if (!text) {
			http_response_json(resp, 500, NULL);
			pr_err("out of memory writing an API response");
		}
		len = text ? strlen(text) + 1 : 0; /* + the newline that ends it */
	}
	err = queue_head(c, resp, len, keep_alive);
	if (!err && text && !head_only)
		err = buf_add(&c->out, text, len - 1, SIZE_MAX);
	if (!err && text && !head_only)
		err = buf_add(&c->out, "\n", 1, SIZE_MAX);
	free(text);
	json_decref(resp->body);
	resp->body = NULL;
	if (err) {
		pr_err("out of memory queueing an API response; closing the connection");
		buf_clear(&c->out);
		c->out_sent = 0;
		c->close_after_send = true;
	}
}

/* Answer with an error, then close: the rest of the stream cannot be trusted. */
static void refuse(struct http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct http_conn *c, int status, const char *fmt, ...)
{
	struct http_response resp = { 0 };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_response_error(&resp, status, "%s", msg);
	queue_response(c, &resp, false);
	c->close_after_send = true;
}

static void refuse_malformed(struct http_conn *c, enum http_errno err)
{
	refuse(c, 400,
	       "malformed HTTP request: %s (%s); send HTTP/1.1 requests, e.g. "
	       "curl --unix-socket %s http://localhost/v1/vm",
	       http_errno_name(err), http_errno_description(err), c->srv->path);
}

static void refuse_head_too_big(struct http_conn *c)
{
	refuse(c, 431,
	       "the request line and headers are larger than %d bytes; send a shorter path and "
	       "fewer or smaller headers",
	       HTTP_HEAD_MAX);
}

static void refuse_body_too_big(struct http_conn *c)
{
	if (c->parser.flags & F_CONTENTLENGTH)
		refuse(c, 413,
		       "the body is %llu bytes (Content-Length); the API takes at most %d bytes, "
		       "send a smaller body",
		       (unsigned long long)c->parser.content_length, HTTP_BODY_MAX);
	else
		refuse(c, 413,
		       "the body is larger than %d bytes; the API takes no more, send a "
		       "smaller body",
		       HTTP_BODY_MAX);
}

/* ---- http-parser callbacks: collect the request, pause where we act ---- */

static void request_reset(struct http_conn *c)
{
	buf_clear(&c->url);
	buf_clear(&c->content_type);
	buf_clear(&c->expect);
	buf_clear(&c->body);
	c->field_len = 0;
	c->after_value = true;
	c->header = HDR_OTHER;
}

/* Keep one piece of the request; one over @max refuses it (413 or 431). */
static int collect(struct http_conn *c, struct buf *b, const char *at, size_t n, size_t max)
{
	int err = buf_add(b, at, n, max);

	if (err == -ENOSPC && b == &c->body)
		refuse_body_too_big(c);
	else if (err == -ENOSPC)
		refuse_head_too_big(c); /* every head piece is part of the head */
	else if (err)
		refuse(c, 500, "cmavm is out of memory; retry later");
	return err;
}

static int on_message_begin(http_parser *p)
{
	request_reset(p->data);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;

	return collect(c, &c->url, at, n, HTTP_HEAD_MAX);
}

static bool field_is(const struct http_conn *c, const char *name)
{
	return c->field_len == strlen(name) && !strncasecmp(c->field, name, c->field_len);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;

	if (c->after_value) {
		c->field_len = 0;
		c->after_value = false;
	}
	if (c->field_len + n <= sizeof(c->field))
		memcpy(c->field + c->field_len, at, n);
	c->field_len += n; /* past sizeof(field): a name we do not want */
	return 0;
}

static struct buf *wanted_value(struct http_conn *c)
{
	switch (c->header) {
	case HDR_CONTENT_TYPE:
		return &c->content_type;
	case HDR_EXPECT:
		return &c->expect;
	default:
		return NULL;
	}
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	struct buf *value;

	if (!c->after_value) {
		c->after_value = true;
		c->header = field_is(c, "content-type") ? HDR_CONTENT_TYPE
			    : field_is(c, "expect")	? HDR_EXPECT
							: HDR_OTHER;
		value = wanted_value(c);
		if (value)
			buf_clear(value); /* a repeated header: the last one counts */
	}
	value = wanted_value(c);
	return value ? collect(c, value, at, n, HTTP_HEAD_MAX) : 0;
}

static int on_headers_complete(http_parser *p)
{
	((struct http_conn *)p->data)->paused_at = PAUSED_AT_HEAD;
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;

	return collect(c, &c->body, at, n, HTTP_BODY_MAX);
}

static int on_message_complete(http_parser *p)
{
	((struct http_conn *)p->data)->paused_at = PAUSED_AT_MESSAGE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- acting on requests ---- */

static bool expects_continue(const struct http_conn *c)
{
	const http_parser *p = &c->parser;
	bool has_body =
		(p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);

	return has_body && p->http_minor >= 1 && !strcasecmp(buf_str(&c->expect), "100-continue");
}

/* The head is in; the parser holds its final LF, hence the + 1. */
static void head_done(struct http_conn *c)
{
	const http_parser *p = &c->parser;

	c->in_body = true;
	if (c->head_bytes + 1 > HTTP_HEAD_MAX)
		refuse_head_too_big(c);
	else if (p->http_major != 1) /* http-parser takes any digit */
		refuse_malformed(c, HPE_INVALID_VERSION);
	else if ((p->flags & F_CONTENTLENGTH) && p->content_length > HTTP_BODY_MAX)
		refuse_body_too_big(c);
	else if (expects_continue(c) && buf_addf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n"))
		refuse(c, 500, "cmavm is out of memory; retry later");
}

/* Cut the URL in place into its path and query, as http-parser sees them. */
static int split_url(struct http_conn *c, const char **path, const char **query)
{
	struct http_parser_url u;
	char *url = c->url.data;

	http_parser_url_init(&u);
	if (!url || http_parser_parse_url(url, c->url.len, c->parser.method == HTTP_CONNECT, &u))
		return -1;
	*path = "";
	*query = "";
	if (u.field_set & (1 << UF_QUERY)) {
		url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = '\0';
		*query = url + u.field_data[UF_QUERY].off;
	}
	if (u.field_set & (1 << UF_PATH)) {
		url[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] = '\0';
		*path = url + u.field_data[UF_PATH].off;
	}
	return 0;
}

static void message_done(struct http_conn *c)
{
	bool keep_alive = http_should_keep_alive(&c->parser) && !c->parser.upgrade;
	struct http_response resp = { .status = 200 };
	struct http_request req = {
		.method = http_method_str((enum http_method)c->parser.method),
		.content_type = buf_str(&c->content_type),
		.body = buf_str(&c->body),
		.body_len = c->body.len,
	};

	if (split_url(c, &req.path, &req.query)) {
		refuse(c, 400, "the request target '%s' is not a URL path; ask for e.g. /v1/vm",
		       buf_str(&c->url));
		return;
	}
	c->srv->handler(c->srv->opaque, &req, &resp);
	queue_response(c, &resp, keep_alive);
	if (!keep_alive) /* and after an Upgrade, what follows is not HTTP */
		c->close_after_send = true;
	c->in_body = false;
	c->head_bytes = 0;
}

static bool out_pending(const struct http_conn *c)
{
	return c->out_sent < c->out.len;
}

/* Feed what has arrived to the parser, answering each request it completes. */
static void conn_parse(struct http_conn *c)
{
	while (c->in_off < c->in_len && !c->close_after_send &&
	       c->out.len - c->out_sent < OUT_HIGH_WATER) {
		bool in_head = !c->in_body;
		size_t n = http_parser_execute(&c->parser, &parser_settings, c->in + c->in_off,
					       c->in_len - c->in_off);
		enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

		c->in_off += n;
		if (in_head)
			c->head_bytes += n;
		if (c->close_after_send) /* a callback refused the request */
			return;
		if (err == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			if (c->paused_at == PAUSED_AT_HEAD)
				head_done(c);
			else
				message_done(c);
		} else if (err != HPE_OK) {
			refuse_malformed(c, err);
		} else if (in_head && c->head_bytes > HTTP_HEAD_MAX) {
			refuse_head_too_big(c);
		} else if (n == 0) { /* never expected; do not spin on it */
			refuse_malformed(c, HPE_UNKNOWN);
		}
	}
}

/* ---- connections: one io_uring operation at a time ---- */

static void note_drained(struct http_server *s);

static void conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->served) {
		s->nr_served--;
		s->full_warned = false;
	}
	buf_free(&c->url);
	buf_free(&c->content_type);
	buf_free(&c->expect);
	buf_free(&c->body);
	buf_free(&c->out);
	free(c->in);
	free(c);
	note_drained(s);
}

static void close_done(struct ev_op *op, int res, unsigned int flags)
{
	conn_free(container_of(op, struct http_conn, close_op));
}

static void conn_close(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ev_sqe(c->srv->loop, &c->close_op);

	if (!sqe) {
		close(c->fd);
		conn_free(c);
		return;
	}
	io_uring_prep_close(sqe, c->fd);
	c->fd = -1; /* io_uring owns it now: never close it twice */
	c->busy = &c->close_op;
}

static void conn_next(struct http_conn *c);

static void recv_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_conn *c = container_of(op, struct http_conn, recv_op);

	c->busy = NULL;
	if (res <= 0) { /* the peer is gone (0), mid-request or not, or cancelled */
		conn_close(c);
		return;
	}
	c->in_off = 0;
	c->in_len = res;
	conn_next(c);
}

static void start_recv(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ev_sqe(c->srv->loop, &c->recv_op);

	if (!sqe) {
		conn_close(c);
		return;
	}
	io_uring_prep_recv(sqe, c->fd, c->in, RECV_CHUNK, 0);
	c->busy = &c->recv_op;
}

static void send_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_conn *c = container_of(op, struct http_conn, send_op);

	c->busy = NULL;
	if (res <= 0) { /* EPIPE, ECONNRESET: the peer left without its answer */
		conn_close(c);
		return;
	}
	c->out_sent += res;
	if (!out_pending(c)) {
		buf_clear(&c->out);
		c->out_sent = 0;
	}
	conn_next(c);
}

static void start_send(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ev_sqe(c->srv->loop, &c->send_op);

	if (!sqe) {
		conn_close(c);
		return;
	}
	io_uring_prep_send(sqe, c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
			   MSG_NOSIGNAL);
	c->busy = &c->send_op;
}

/* Send what is queued, else parse what is left, else read more or close. */
static void conn_next(struct http_conn *c)
{
	if (c->srv->closing)
		c->close_after_send = true;
	if (!out_pending(c) && !c->close_after_send)
		conn_parse(c);
	if (out_pending(c))
		start_send(c);
	else if (c->close_after_send)
		conn_close(c);
	else
		start_recv(c);
}

static struct http_conn *conn_new(struct http_server *s, int fd)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = s;
	c->fd = fd;
	c->recv_op.done = recv_done;
	c->send_op.done = send_done;
	c->close_op.done = close_done;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->after_value = true;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	return c;
}

/* ---- accepting ---- */

static bool peer_allowed(const struct ucred *cred)
{
	return cred->uid == geteuid() || cred->uid == 0;
}

/* "root" or "uid 1000 and root": who may talk to this server. */
static const char *allowed_users(char *buf, size_t len)
{
	if (geteuid() == 0)
		return "root";
	snprintf(buf, len, "uid %u and root", geteuid());
	return buf;
}

static void refuse_peer(struct http_conn *c, const struct ucred *cred)
{
	char who[48];

	pr_warn("control socket %s: refused uid %u (pid %d); only %s may control this VM",
		c->srv->path, cred->uid, cred->pid, allowed_users(who, sizeof(who)));
	refuse(c, 403, "only %s may control this VM; you are uid %u",
	       allowed_users(who, sizeof(who)), cred->uid);
}

static void admit(struct http_server *s, int fd)
{
	struct http_conn *c = conn_new(s, fd);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!c) {
		pr_err("out of memory: refusing a connection to the control socket %s", s->path);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		pr_errno("SO_PEERCRED on a connection to %s", s->path);
		refuse(c, 403,
		       "cmavm cannot tell who you are, so it will not take orders from you");
	} else if (!peer_allowed(&cred)) {
		refuse_peer(c, &cred);
	} else if (s->nr_served >= HTTP_MAX_CONNS) {
		if (!s->full_warned) /* once, not once per client retrying */
			pr_warn("control socket %s: %d connections are open; refusing more "
				"with 503 until one closes",
				s->path, HTTP_MAX_CONNS);
		s->full_warned = true;
		refuse(c, 503,
		       "cmavm serves at most %d API connections at once; close idle ones and retry",
		       HTTP_MAX_CONNS);
	} else if (!(c->in = malloc(RECV_CHUNK))) {
		refuse(c, 503, "cmavm is out of memory; retry later");
	} else {
		c->served = true;
		s->nr_served++;
	}
	conn_next(c);
}

static void arm_accept(struct http_server *s);

static void retry_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_server *s = container_of(op, struct http_server, retry_op);

	s->accept_busy = NULL;
	if (s->closing)
		note_drained(s);
	else
		arm_accept(s);
}

/* Out of file descriptors: accepting again at once would only spin. */
static void arm_accept_later(struct http_server *s)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &s->retry_op);

	if (!sqe)
		return;
	s->retry_delay = (struct __kernel_timespec){ .tv_nsec = 100 * 1000 * 1000 };
	io_uring_prep_timeout(sqe, &s->retry_delay, 0, 0);
	s->accept_busy = &s->retry_op;
}

static void accept_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_server *s = container_of(op, struct http_server, accept_op);

	s->accept_busy = NULL;
	if (s->closing) {
		if (res >= 0)
			close(res);
		note_drained(s);
		return;
	}
	if (res >= 0)
		admit(s, res);
	if (res >= 0 || res == -ECONNABORTED || res == -EINTR || res == -EAGAIN) {
		arm_accept(s);
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		errno = -res;
		pr_errno("accepting on the control socket %s (retrying in 100 ms)", s->path);
		arm_accept_later(s);
	} else {
		errno = -res;
		pr_errno("accepting on the control socket %s; the API is no longer served",
			 s->path);
	}
}

static void arm_accept(struct http_server *s)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &s->accept_op);

	if (!sqe) {
		pr_err("the control socket %s stops accepting: the event loop is broken", s->path);
		return;
	}
	io_uring_prep_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
	s->accept_busy = &s->accept_op;
}

static void arm_accept_cb(void *arg)
{
	arm_accept(arg);
}

/* ---- the socket file ---- */

static void socket_address(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* 1: a server answers at @path; 0: nobody listens (a stale file); -1: error. */
static int server_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa;
	int ret, err;

	if (fd < 0) {
		pr_errno("socket(AF_UNIX)");
		return -1;
	}
	socket_address(&sa, path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	close(fd);
	if (ret == 0 || err == EAGAIN) /* EAGAIN: its backlog is full, but it lives */
		return 1;
	if (err == ECONNREFUSED)
		return 0;
	errno = err;
	pr_errno("cannot tell whether a cmavm listens on %s; remove it or choose another "
		 "socket path",
		 path);
	return -1;
}

/* Make room for our socket at @path, refusing to disturb anything alive. */
static int clear_socket_path(const char *path)
{
	struct stat st;
	int live;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		pr_errno("cannot examine the control socket path %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("%s exists and is not a socket; remove it or choose another control socket "
		       "path (CMAVM_SOCKET)",
		       path);
		return -1;
	}
	live = server_answers(path);
	if (live > 0)
		pr_err("another cmavm already serves its API on %s; stop that VM or choose "
		       "another control socket path (CMAVM_SOCKET)",
		       path);
	if (live)
		return -1;
	if (unlink(path) && errno != ENOENT) {
		pr_errno("cannot remove the stale control socket %s", path);
		return -1;
	}
	return 0;
}

/*
 * umask(0177) around bind() makes the socket 0600 from its first instant,
 * so another user never gets a window to connect (chmod after bind would
 * leave one). The umask is process-wide: open the server before starting
 * threads that create files.
 */
static int bind_private(int fd, const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int ret;

	socket_address(&sa, path);
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret)
		pr_errno("cannot create the control socket %s", path);
	return ret;
}

static int listen_at(struct http_server *s)
{
	struct stat st;

	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		pr_errno("socket(AF_UNIX)");
		return -1;
	}
	if (bind_private(s->fd, s->path))
		return -1;
	if (listen(s->fd, LISTEN_BACKLOG) || stat(s->path, &st)) {
		pr_errno("cannot listen on the control socket %s", s->path);
		unlink(s->path);
		return -1;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int http_server_open(struct http_server *s, struct ev_loop *loop, const char *path,
		     http_handler_fn handler, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->loop = loop;
	s->handler = handler;
	s->opaque = opaque;
	s->accept_op.done = accept_done;
	s->retry_op.done = retry_done;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->drained_cond, NULL);
	if (strlen(path) >= sizeof(s->path)) {
		pr_err("the control socket path %s is %zu bytes; a UNIX socket path has at most "
		       "%zu, choose a shorter one",
		       path, strlen(path), sizeof(s->path) - 1);
		return -1;
	}
	strcpy(s->path, path);
	if (clear_socket_path(path) || listen_at(s)) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return -1;
	}
	/* SQEs are taken on the loop thread only, once it runs. */
	if (!loop->running)
		arm_accept(s);
	else
		ev_loop_call(loop, arm_accept_cb, s);
	return 0;
}

/* ---- closing ---- */

/* Wake http_server_close() once nothing of the server is in flight. */
static void note_drained(struct http_server *s)
{
	if (!s->closing || s->conns || s->accept_busy)
		return;
	pthread_mutex_lock(&s->lock);
	s->drained = true;
	pthread_cond_broadcast(&s->drained_cond);
	pthread_mutex_unlock(&s->lock);
}

static void cancel(struct http_server *s, struct ev_op *op)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &cancel_op);

	if (sqe)
		io_uring_prep_cancel(sqe, op, 0);
}

/*
 * On the loop thread: stop accepting, end idle connections at once; the
 * ones sending finish their answers (a shutdown's, say) and then close.
 */
static void begin_closing(void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c;

	s->closing = true;
	if (s->accept_busy)
		cancel(s, s->accept_busy);
	for (c = s->conns; c; c = c->next)
		if (c->busy == &c->recv_op)
			cancel(s, c->busy);
	note_drained(s);
}

static void cancel_sends(void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c;

	for (c = s->conns; c; c = c->next)
		if (c->busy == &c->send_op)
			cancel(s, c->busy);
}

/* 0 once drained, ETIMEDOUT if @deadline (when given) passed first. */
static int wait_drained(struct http_server *s, const struct timespec *deadline)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->drained && err != ETIMEDOUT) {
		if (deadline)
			err = pthread_cond_timedwait(&s->drained_cond, &s->lock, deadline);
		else
			pthread_cond_wait(&s->drained_cond, &s->lock);
	}
	err = s->drained ? 0 : ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void drain_on_loop(struct http_server *s)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CLOSE_GRACE_S;
	if (ev_loop_call(s->loop, begin_closing, s))
		return;
	if (wait_drained(s, &deadline) && !ev_loop_call(s->loop, cancel_sends, s))
		wait_drained(s, NULL);
}

/* The loop does not run: no completion can come, so free everything now. */
static void drop_connections(struct http_server *s)
{
	while (s->conns) {
		if (s->conns->fd >= 0)
			close(s->conns->fd);
		conn_free(s->conns);
	}
}

/* Remove the socket file, unless another server has put its own there. */
static void remove_socket_file(const struct http_server *s)
{
	struct stat st;

	if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

void http_server_close(struct http_server *s)
{
	if (s->fd < 0)
		return;
	if (ev_on_loop_thread(s->loop)) {
		pr_err("internal error: http_server_close() called on the event loop thread");
		return;
	}
	if (s->loop->running)
		drain_on_loop(s);
	if (!s->drained)
		drop_connections(s);
	close(s->fd);
	s->fd = -1;
	remove_socket_file(s);
	pthread_cond_destroy(&s->drained_cond);
	pthread_mutex_destroy(&s->lock);
}
