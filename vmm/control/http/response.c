// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's answers as bytes: the status line, the headers,
 * the JSON body (every error one: {"error": "..."}), the interim
 * 100 Continue, and the refusals that end a connection.
 */
#include "vmm/control/http/internal.h"
#include "vmm/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MESSAGE_MAX 1024

void http_response_json(struct http_response *resp, int status, json_t *body)
{
	json_decref(resp->body);
	resp->status = status;
	resp->body = body;
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

static int queue_head(struct http_conn *c, const struct http_response *resp, size_t body_len,
		      bool keep_alive)
{
	struct strbuf *out = &c->out;
	int err;

	err = strbuf_addf(out, "HTTP/1.1 %d %s\r\n", resp->status,
			  http_status_str((enum http_status)resp->status));
	if (!err && status_has_body(resp->status))
		err = strbuf_addf(out, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
				  body_len);
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

/* The body as sent: the JSON and the newline that ends it; NULL for none. */
static char *body_text(struct http_response *resp, size_t *len)
{
	char *text = NULL;

	*len = 0;
	if (!status_has_body(resp->status) || !resp->body)
		return NULL;
	text = json_dumps(resp->body, 0);
	if (!text) {
		http_response_json(resp, 500, NULL);
		pr_err("out of memory writing an API response");
		return NULL;
	}
	*len = strlen(text) + 1;
	return text;
}

void http_queue_response(struct http_conn *c, struct http_response *resp, bool keep_alive)
{
	bool head_only = c->head_request;
	size_t len;
	char *text;
	int err;

	if (resp->status < 100 || resp->status > 599) {
		pr_err("internal error: the control API answered status %d", resp->status);
		http_response_error(resp, 500,
				    "internal error: cmavm's API produced no valid answer");
	}
	c->head_request = false; /* one answer per request */
	text = body_text(resp, &len);
	err = queue_head(c, resp, len, keep_alive);
	if (!err && text && !head_only)
		err = strbuf_add(&c->out, text, len - 1);
	if (!err && text && !head_only)
		err = strbuf_add(&c->out, "\n", 1);
	free(text);
	json_decref(resp->body);
	resp->body = NULL;
	if (err) {
		pr_err("out of memory queueing an API response; closing the connection");
		strbuf_reset(&c->out);
		c->out_sent = 0;
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
