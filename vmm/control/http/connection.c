// SPDX-License-Identifier: GPL-2.0-only
/*
 * One connection to the control socket: receive, parse, answer, send.
 *
 * Each connection has at most one io_uring operation in flight: recv, then
 * parse everything received, answering each complete request in order,
 * then send every queued response, then recv again (or close). Requests
 * pipelined in one recv are thus answered in order without any queueing
 * beyond one output buffer, and a client that never reads its answers
 * only stalls itself (until its send times out: timeouts.c). A handler
 * that defers its answer stops the parsing until the answer comes
 * (http_deferred_answer()): what the client sent after that request
 * waits in the input buffer, so answers keep their order; meanwhile the
 * connection has nothing in flight, so no deadline, and notices a peer
 * that left only when it sends the answer.
 *
 * http-parser pauses at the end of each head and of each message, so that
 * the limits, 100-continue and the handler run between two calls of
 * http_parser_execute(), with the exact byte counts the parser consumed.
 *
 * An answer that carries a descriptor starts a send of its own, a sendmsg
 * with SCM_RIGHTS (see internal.h); every other send is a plain one.
 * Pipelined requests wait while OUT_FDS_MAX descriptors wait to be sent,
 * so that a client asking for many and reading none holds few.
 */
#include "vmm/control/http/internal.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_CHUNK     (16 * 1024)
#define OUT_HIGH_WATER (64 * 1024) /* stop parsing pipelined requests past this */
#define OUT_KEEP       (64 * 1024) /* an output buffer larger is freed once sent */

/* ---- http-parser callbacks: collect the request, pause where we act ---- */

static void request_reset(struct http_conn *c)
{
	strbuf_reset(&c->url);
	strbuf_reset(&c->content_type);
	strbuf_reset(&c->expect);
	strbuf_reset(&c->body);
	c->field_len = 0;
	c->after_value = true;
	c->header = HDR_OTHER;
	c->head_request = false;
}

/* Keep one piece of the request; one past its buffer's limit refuses it. */
static int collect(struct http_conn *c, struct strbuf *b, const char *at, size_t n)
{
	int err = strbuf_add(b, at, n);

	if (err == -ENOSPC && b == &c->body)
		http_refuse_body_too_big(c);
	else if (err == -ENOSPC)
		http_refuse_head_too_big(c); /* every head piece is part of the head */
	else if (err)
		http_refuse(c, 500, "cmavm is out of memory; retry later");
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

	/*
	 * The method is whole once the URL starts: only now is a HEAD one the
	 * client will frame its answer by (a refused "Hx" looked like HEAD).
	 */
	c->head_request = p->method == HTTP_HEAD;
	return collect(c, &c->url, at, n);
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

static struct strbuf *wanted_value(struct http_conn *c)
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
	struct strbuf *value;

	if (!c->after_value) {
		c->after_value = true;
		c->header = field_is(c, "content-type") ? HDR_CONTENT_TYPE
			    : field_is(c, "expect")	? HDR_EXPECT
							: HDR_OTHER;
		value = wanted_value(c);
		if (value)
			strbuf_reset(value); /* a repeated header: the last one counts */
	}
	value = wanted_value(c);
	return value ? collect(c, value, at, n) : 0;
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

	return collect(c, &c->body, at, n);
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

/* The head is in; the parser holds its final LF, hence the + 1. */
static void head_done(struct http_conn *c)
{
	const http_parser *p = &c->parser;

	c->in_body = true;
	c->body_start_ms = http_now_ms();
	if (c->head_bytes + 1 > HTTP_HEAD_MAX)
		http_refuse_head_too_big(c);
	else if (p->http_major != 1) /* http-parser takes any digit */
		http_refuse_malformed(c, HPE_INVALID_VERSION);
	else if ((p->flags & F_CONTENTLENGTH) && p->content_length > HTTP_BODY_MAX)
		http_refuse_body_too_big(c);
	else
		http_answer_expect(c);
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

static bool keeps_alive(const struct http_conn *c)
{
	/* and after an Upgrade, what follows is not HTTP */
	return http_should_keep_alive(&c->parser) && !c->parser.upgrade;
}

static void queue_answer(struct http_conn *c, struct http_response *resp, bool keep_alive)
{
	http_queue_response(c, resp, keep_alive);
	if (!keep_alive)
		c->close_after_send = true;
}

/* The deferred answer, once given, after the responses queued before it. */
static void queue_deferred_answer(struct http_conn *c)
{
	struct http_deferred *d = c->deferred;

	if (!d || !d->answered)
		return;
	c->deferred = NULL;
	queue_answer(c, &d->resp, d->keep_alive);
	free(d);
}

static void message_done(struct http_conn *c)
{
	bool keep_alive = keeps_alive(c);
	struct http_response resp = { .status = 200, .conn = c };
	struct http_request req = {
		.method = http_method_str((enum http_method)c->parser.method),
		.content_type = strbuf_str(&c->content_type),
		.body = strbuf_str(&c->body),
		.body_len = strbuf_len(&c->body),
	};

	if (split_url(c, &req.path, &req.query)) {
		http_refuse(c, 400,
			    "the request target '%s' is not a URL path; ask for e.g. /v1/vm",
			    strbuf_str(&c->url));
		return;
	}
	c->in_handler = true;
	c->srv->handler(c->srv->opaque, &req, &resp);
	c->in_handler = false;
	if (c->deferred) {
		pr_debug("control socket: %s %s: answered when done", req.method, req.path);
		http_response_release(&resp); /* empty, unless the handler broke the rule */
		queue_deferred_answer(c);     /* if given already, in the handler */
	} else {
		pr_debug("control socket: %s %s: %d", req.method, req.path, resp.status);
		queue_answer(c, &resp, keep_alive);
	}
	c->in_body = false;
	c->head_bytes = 0;
	c->had_request = true;
}

static bool out_pending(const struct http_conn *c)
{
	return c->out_sent < strbuf_len(&c->out);
}

/* Feed what has arrived to the parser, answering each request it completes. */
static void conn_parse(struct http_conn *c)
{
	while (c->in_off < c->in_len && !c->close_after_send && !c->deferred &&
	       strbuf_len(&c->out) - c->out_sent < OUT_HIGH_WATER && c->nr_out_fds < OUT_FDS_MAX) {
		bool in_head = !c->in_body;
		size_t n = http_parser_execute(&c->parser, &parser_settings, c->in + c->in_off,
					       c->in_len - c->in_off);
		enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

		c->in_off += n;
		/* a head's clock starts at its first byte; a new connection's, at its accept */
		if (in_head && !c->head_bytes && n && c->had_request)
			c->head_start_ms = http_now_ms();
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
			http_refuse_malformed(c, err);
		} else if (in_head && c->head_bytes > HTTP_HEAD_MAX) {
			http_refuse_head_too_big(c);
		} else if (n == 0) { /* never expected; do not spin on it */
			http_refuse_malformed(c, HPE_UNKNOWN);
		}
	}
}

/* ---- one io_uring operation at a time ---- */

/* @c goes: its deferred answer, given or to come, is dropped. */
static void deferred_orphan(struct http_conn *c)
{
	struct http_deferred *d = c->deferred;

	if (!d)
		return;
	if (d->answered) {
		http_response_release(&d->resp);
		free(d);
	} else {
		d->conn = NULL; /* http_deferred_answer() frees it */
	}
	c->deferred = NULL;
}

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
	strbuf_release(&c->url);
	strbuf_release(&c->content_type);
	strbuf_release(&c->expect);
	strbuf_release(&c->body);
	strbuf_release(&c->out);
	http_conn_drop_fds(c);
	deferred_orphan(c);
	free(c->in);
	free(c);
	http_server_note_drained(s);
}

void http_conn_drop(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	conn_free(c);
}

static void close_done(struct ev_op *op, int res, unsigned int flags)
{
	conn_free(container_of(op, struct http_conn, close_op));
}

static void conn_close(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ev_sqe(c->srv->loop, &c->close_op);

	if (!sqe) {
		http_conn_drop(c);
		return;
	}
	io_uring_prep_close(sqe, c->fd);
	c->fd = -1; /* io_uring owns it now: never close it twice */
	c->busy = &c->close_op;
}

static void recv_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_conn *c = container_of(op, struct http_conn, recv_op);

	c->busy = NULL;
	if (res > 0 && c->expired == EXPIRED_IDLE)
		c->expired = EXPIRY_NONE; /* used after all, before the cancel: serve it */
	/* cancelled (-ECANCELED, or -EINTR once in io-wq), or data just too late */
	if (c->expired && res != 0) {
		http_conn_end_expired(c, res > 0 || c->in_body || c->head_bytes);
		http_conn_next(c); /* its last words, then close */
		return;
	}
	if (res <= 0) { /* the peer is gone (0), mid-request or not, or cancelled */
		conn_close(c);
		return;
	}
	c->in_off = 0;
	c->in_len = res;
	http_conn_next(c);
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
	http_conn_recv_deadline(c);
}

/* ---- sending, with the descriptors in their places ---- */

void http_conn_drop_fds(struct http_conn *c)
{
	while (c->nr_out_fds)
		close(c->out_fds[--c->nr_out_fds].fd);
}

/* The descriptor whose answer starts at the next byte to send; -1: none. */
static int fd_due(const struct http_conn *c)
{
	return c->nr_out_fds && c->out_fds[0].at == c->out_sent ? c->out_fds[0].fd : -1;
}

/* What the next send may carry: up to the next descriptor's answer. */
static size_t send_length(const struct http_conn *c)
{
	unsigned int next = fd_due(c) >= 0 ? 1 : 0;

	if (next < c->nr_out_fds)
		return c->out_fds[next].at - c->out_sent;
	return strbuf_len(&c->out) - c->out_sent;
}

/* The peer has the due descriptor once a byte of its send went: ours goes. */
static void fd_sent(struct http_conn *c)
{
	close(c->out_fds[0].fd);
	c->nr_out_fds--;
	memmove(c->out_fds, c->out_fds + 1, c->nr_out_fds * sizeof(c->out_fds[0]));
}

static void sent(struct http_conn *c, size_t n)
{
	if (fd_due(c) >= 0)
		fd_sent(c);
	c->out_sent += n;
	if (out_pending(c))
		return;
	if (c->out.alloc > OUT_KEEP) /* a screenshot's megabytes are not kept */
		strbuf_release(&c->out);
	else
		strbuf_reset(&c->out);
	c->out_sent = 0;
}

static void send_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_conn *c = container_of(op, struct http_conn, send_op);

	c->busy = NULL;
	/* EPIPE, ECONNRESET: the peer left without its answer; or it read none in time */
	if (res <= 0 || c->expired) {
		if (c->expired)
			http_conn_end_expired(c, false); /* logged; nothing more is sent */
		conn_close(c);
		return;
	}
	sent(c, res);
	http_conn_next(c);
}

/* A sendmsg of @len bytes at @at with @fd on the first; the kernel takes @c's msghdr. */
static void prep_sendmsg_fd(struct io_uring_sqe *sqe, struct http_conn *c, char *at, size_t len,
			    int fd)
{
	struct cmsghdr *cmsg;

	c->send_iov = (struct iovec){ .iov_base = at, .iov_len = len };
	c->send_msg = (struct msghdr){
		.msg_iov = &c->send_iov,
		.msg_iovlen = 1,
		.msg_control = c->send_control,
		.msg_controllen = sizeof(c->send_control),
	};
	cmsg = CMSG_FIRSTHDR(&c->send_msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	io_uring_prep_sendmsg(sqe, c->fd, &c->send_msg, MSG_NOSIGNAL);
}

static void start_send(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ev_sqe(c->srv->loop, &c->send_op);
	char *at = c->out.data + c->out_sent;
	size_t len = send_length(c);
	int fd = fd_due(c);

	if (!sqe) {
		conn_close(c);
		return;
	}
	if (fd >= 0)
		prep_sendmsg_fd(sqe, c, at, len, fd);
	else
		io_uring_prep_send(sqe, c->fd, at, len, MSG_NOSIGNAL);
	c->busy = &c->send_op;
	http_conn_send_deadline(c);
}

void http_conn_next(struct http_conn *c)
{
	if (c->srv->closing)
		c->close_after_send = true;
	queue_deferred_answer(c);
	if (!out_pending(c) && !c->close_after_send)
		conn_parse(c);
	if (out_pending(c))
		start_send(c);
	else if (c->deferred)
		return; /* nothing in flight until http_deferred_answer() */
	else if (c->close_after_send)
		conn_close(c);
	else
		start_recv(c);
}

void http_conn_give_up(struct http_conn *c)
{
	if (c->deferred && !c->busy)
		conn_close(c);
}

/* ---- deferred answers ---- */

struct http_deferred *http_response_defer(struct http_response *resp)
{
	struct http_conn *c = resp->conn;
	struct http_deferred *d;

	if (!c || !c->in_handler || c->deferred)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->conn = c;
	d->keep_alive = keeps_alive(c);
	c->deferred = d;
	return d;
}

void http_deferred_answer(struct http_deferred *d, struct http_response *resp)
{
	struct http_conn *c = d->conn;

	if (!c) {
		http_response_release(resp);
		free(d);
		return;
	}
	d->resp = *resp;
	d->answered = true;
	/* @d->resp holds it all now */
	resp->body = NULL;
	resp->data = NULL;
	resp->data_len = 0;
	resp->content_type[0] = '\0';
	resp->has_fd = false;
	/* else the handler's return or the send under way goes on with it */
	if (!c->busy && !c->in_handler)
		http_conn_next(c);
}

struct http_conn *http_conn_new(struct http_server *s, int fd)
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
	c->head_start_ms = http_now_ms();
	strbuf_init(&c->url, HTTP_HEAD_MAX);
	strbuf_init(&c->content_type, HTTP_HEAD_MAX);
	strbuf_init(&c->expect, HTTP_HEAD_MAX);
	strbuf_init(&c->body, HTTP_BODY_MAX);
	strbuf_init(&c->out, SIZE_MAX);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	return c;
}

int http_conn_serve(struct http_conn *c)
{
	c->in = malloc(RECV_CHUNK);
	if (!c->in)
		return -ENOMEM;
	c->served = true;
	c->srv->nr_served++;
	return 0;
}
