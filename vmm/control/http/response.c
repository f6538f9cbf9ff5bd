// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's answers as bytes: the status line, the headers,
 * the body (JSON, every error one: {"error": "..."}, or the handler's
 * bytes), the place of a descriptor sent with it, the interim
 * 100 Continue, and the refusals that end a connection.
 */
#include "vmm/control/http/internal.h"
#include "vmm/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MESSAGE_MAX  1024
#define JSON_TYPE    "application/json"
#define OCTET_STREAM "application/octet-stream"

static void drop_data(struct http_response *resp)
{
	free(resp->data);
	resp->data = NULL;
	resp->data_len = 0;
	resp->content_type[0] = '\0';
}

void http_response_json(struct http_response *resp, int status, json_t *body)
{
	json_decref(resp->body);
	drop_data(resp);
	resp->status = status;
	resp->body = body;
}

/* Text we may put in a header as it is: no control characters, and it fits. */
static bool header_value_fits(const char *value, size_t size)
{
	size_t i, len = strnlen(value, size);

	if (!len || len == size)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return false;
	return true;
}

void http_response_data(struct http_response *resp, int status, const char *content_type,
			void *data, size_t len)
{
	if (content_type && !header_value_fits(content_type, sizeof(resp->content_type))) {
		pr_err("internal error: an API answer's content type is no header value of at "
		       "most %zu bytes; sent as " OCTET_STREAM,
		       sizeof(resp->content_type) - 1);
		content_type = NULL;
	}
	json_decref(resp->body);
	resp->body = NULL;
	if (resp->data != data)
		free(resp->data);
	resp->status = status;
	resp->data = data;
	resp->data_len = data ? len : 0;
	strcpy(resp->content_type, content_type ? content_type : OCTET_STREAM);
}

void http_response_attach_fd(struct http_response *resp, int fd)
{
	if (resp->has_fd && resp->fd != fd)
		close(resp->fd);
	resp->has_fd = fd >= 0;
	resp->fd = fd;
}

void http_response_release(struct http_response *resp)
{
	http_response_json(resp, resp->status, NULL);
	http_response_attach_fd(resp, -1);
}

static void response_verror(struct http_response *resp, int status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void response_verror(struct http_response *resp, int status, const char *fmt, va_list ap)
{
	char msg[MESSAGE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	http_response_json(resp, status, json_pack("{s:s}", "error", msg));
}

void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	response_verror(resp, status, fmt, ap);
	va_end(ap);
}

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* The body as sent: the JSON and the newline that ends it, or the data. */
struct body {
	const char *type;
	const char *bytes;
	size_t len;
	char *text; /* the JSON's, to free */
};

static void body_of(struct http_response *resp, struct body *b)
{
	*b = (struct body){ .type = JSON_TYPE };
	if (!status_has_body(resp->status))
		return;
	if (resp->content_type[0]) {
		b->type = resp->content_type;
		b->bytes = resp->data;
		b->len = resp->data_len;
		return;
	}
	if (!resp->body)
		return;
	b->text = json_dumps(resp->body, 0);
	if (!b->text) {
		http_response_json(resp, 500, NULL);
		pr_err("out of memory writing an API response");
		return;
	}
	b->len = strlen(b->text) + 1;
	b->text[b->len - 1] = '\n'; /* in the NUL's place */
	b->bytes = b->text;
}

/*
 * @resp's descriptor, if any, to go with the answer about to be queued:
 * true when it will. Only a success carries one; the caller closes the
 * rest with the response.
 */
static bool queue_fd(struct http_conn *c, struct http_response *resp)
{
	if (!resp->has_fd || resp->status < 200 || resp->status > 299)
		return false;
	if (c->nr_out_fds == OUT_FDS_MAX) { /* conn_parse() stops before this */
		pr_err("internal error: more than %d descriptors to send on one connection; "
		       "one is dropped",
		       OUT_FDS_MAX);
		return false;
	}
	c->out_fds[c->nr_out_fds++] = (struct http_out_fd){ strbuf_len(&c->out), resp->fd };
	resp->has_fd = false;
	return true;
}

static int queue_head(struct http_conn *c, const struct http_response *resp, const struct body *b,
		      bool keep_alive, bool with_fd)
{
	struct strbuf *out = &c->out;
	int err;

	err = strbuf_addf(out, "HTTP/1.1 %d %s\r\n", resp->status,
			  http_status_str((enum http_status)resp->status));
	if (!err && status_has_body(resp->status))
		err = strbuf_addf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n", b->type,
				  b->len);
	if (!err && with_fd)
		err = strbuf_addf(out, HTTP_FD_HEADER ": 1\r\n");
	if (!err && resp->allow[0])
		err = strbuf_addf(out, "Allow: %s\r\n", resp->allow);
	/* HTTP/1.0 closes unless told otherwise; HTTP/1.1 keeps alive unless told. */
	if (!err && !keep_alive)
		err = strbuf_addf(out, "Connection: close\r\n");
	else if (!err && c->parser.http_minor == 0)
		err = strbuf_addf(out, "Connection: keep-alive\r\n");
	if (!err)
		err = strbuf_addf(out, "\r\n");
	return err;
}

void http_queue_response(struct http_conn *c, struct http_response *resp, bool keep_alive)
{
	bool head_only = c->head_request;
	struct body b;
	bool with_fd;
	int err;

	if (resp->status < 100 || resp->status > 599) {
		pr_err("internal error: the control API answered status %d", resp->status);
		http_response_error(resp, 500,
				    "internal error: cmavm's API produced no valid answer");
	}
	c->head_request = false; /* one answer per request */
	body_of(resp, &b);
	with_fd = queue_fd(c, resp);
	err = queue_head(c, resp, &b, keep_alive, with_fd);
	if (!err && b.len && !head_only)
		err = strbuf_add(&c->out, b.bytes, b.len);
	free(b.text);
	http_response_release(resp);
	if (err) {
		pr_err("out of memory queueing an API response; closing the connection");
		strbuf_reset(&c->out);
		c->out_sent = 0;
		http_conn_drop_fds(c);
		c->close_after_send = true;
	}
}

static bool expects_continue(const struct http_conn *c)
{
	const http_parser *p = &c->parser;
	bool has_body =
		(p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);

	return has_body && p->http_minor >= 1 &&
	       !strcasecmp(strbuf_str(&c->expect), "100-continue");
}

void http_answer_expect(struct http_conn *c)
{
	if (expects_continue(c) && strbuf_addf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n"))
		http_refuse(c, 500, "cmavm is out of memory; retry later");
}

/* ---- refusals ---- */

void http_refuse(struct http_conn *c, int status, const char *fmt, ...)
{
	struct http_response resp = { 0 };
	va_list ap;

	va_start(ap, fmt);
	response_verror(&resp, status, fmt, ap);
	va_end(ap);
	http_queue_response(c, &resp, false);
	c->close_after_send = true;
}

void http_refuse_malformed(struct http_conn *c, enum http_errno err)
{
	http_refuse(c, 400,
		    "malformed HTTP request: %s (%s); send HTTP/1.1 requests, e.g. "
		    "curl --unix-socket %s http://localhost/v1/vm",
		    http_errno_name(err), http_errno_description(err), c->srv->path);
}

void http_refuse_head_too_big(struct http_conn *c)
{
	http_refuse(c, 431,
		    "the request line and headers are larger than %d bytes; send a shorter path "
		    "and fewer or smaller headers",
		    HTTP_HEAD_MAX);
}

void http_refuse_body_too_big(struct http_conn *c)
{
	if (c->parser.flags & F_CONTENTLENGTH)
		http_refuse(c, 413,
			    "the body is %llu bytes (Content-Length); the API takes at most %d "
			    "bytes, send a smaller body",
			    (unsigned long long)c->parser.content_length, HTTP_BODY_MAX);
	else
		http_refuse(c, 413,
			    "the body is larger than %d bytes; the API takes no more, send a "
			    "smaller body",
			    HTTP_BODY_MAX);
}
