// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QEMU guest agent's protocol: see qga.h.
 *
 * Framing is done here rather than by jansson: a reply arrives in pieces,
 * and re-parsing the gathered bytes at every piece would cost the square
 * of its length. The scanner only follows strings and nesting to find
 * where an object ends; jansson then parses that object whole.
 */
#include "vmm/agent/qga.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const command_names[] = {
	[QGA_SYNC] = "guest-sync-delimited",
	[QGA_FILE_OPEN] = "guest-file-open",
	[QGA_FILE_READ] = "guest-file-read",
	[QGA_FILE_CLOSE] = "guest-file-close",
};

const char *qga_command_name(enum qga_command cmd)
{
	return cmd <= QGA_FILE_CLOSE ? command_names[cmd] : "?";
}

/* ---- commands ---- */

static json_t *arguments(const struct qga_request *req)
{
	switch (req->cmd) {
	case QGA_SYNC:
		return json_pack("{s:I}", "id", (json_int_t)req->id);
	case QGA_FILE_OPEN:
		return json_pack("{s:s,s:s}", "path", req->path ? req->path : "", "mode", "r");
	case QGA_FILE_READ:
		return json_pack("{s:I,s:I}", "handle", (json_int_t)req->handle, "count",
				 (json_int_t)req->count);
	case QGA_FILE_CLOSE:
		return json_pack("{s:I}", "handle", (json_int_t)req->handle);
	}
	return NULL;
}

int qga_write(struct strbuf *sb, const struct qga_request *req)
{
	json_t *args = arguments(req), *cmd;
	char *text;
	int ret;

	if (!args)
		return -ENOMEM;
	cmd = json_pack("{s:s,s:o,s:I}", "execute", qga_command_name(req->cmd), "arguments", args,
			"id", (json_int_t)req->id);
	if (!cmd)
		return -ENOMEM;
	text = json_dumps(cmd, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(cmd);
	if (!text)
		return -ENOMEM;
	ret = strbuf_addf(sb, "%s%s\n", req->cmd == QGA_SYNC ? "\xff" : "", text);
	free(text);
	return ret;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/* One quad into @out; the bytes it gives (1 to 3), or -1. @last: padding allowed. */
static int b64_quad(const char *q, bool last, uint8_t *out)
{
	int v[4], pad = 0;

	for (int i = 0; i < 4; i++) {
		v[i] = b64_value((unsigned char)q[i]);
		if (v[i] >= 0 && !pad)
			continue;
		if (q[i] != '=' || !last || i < 2)
			return -1;
		pad++;
		v[i] = 0;
	}
	out[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
	out[1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
	out[2] = (uint8_t)(v[2] << 6 | v[3]);
	return 3 - pad;
}

long qga_base64_decode(const char *in, size_t len, uint8_t *out)
{
	size_t n = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int got = b64_quad(in + i, i + 4 == len, out + n);

		if (got < 0)
			return -1;
		n += (size_t)got;
	}
	return (long)n;
}

/* ---- the parser's states ---- */

void qga_parser_init(struct qga_parser *p, size_t max_reply)
{
	memset(p, 0, sizeof(*p));
	p->max = max_reply;
	strbuf_init(&p->obj, max_reply);
}

void qga_parser_release(struct qga_parser *p)
{
	strbuf_release(&p->obj);
	free(p->data);
	p->data = NULL;
	p->data_alloc = 0;
}

static void reset_framing(struct qga_parser *p)
{
	strbuf_reset(&p->obj);
	p->depth = 0;
	p->in_string = p->escaped = false;
}

void qga_parser_expect(struct qga_parser *p, const struct qga_request *req)
{
	p->want = *req;
	p->awaiting = true;
	if (req->cmd == QGA_SYNC) {
		p->synced = false;
		reset_framing(p);
	}
}

void qga_parser_desync(struct qga_parser *p)
{
	p->awaiting = false;
	p->synced = false;
	reset_framing(p);
}

static void refuse(struct qga_parser *p, struct qga_reply *out, const char *why)
{
	out->event = QGA_REFUSED;
	out->why = why;
	qga_parser_desync(p);
}

/* A reply to an older sync: wait for the next 0xFF, still awaiting ours. */
static void stale(struct qga_parser *p, struct qga_reply *out)
{
	out->event = QGA_STALE;
	out->cmd = QGA_SYNC;
	p->synced = false;
	reset_framing(p);
}

static void answered(struct qga_parser *p, struct qga_reply *out, enum qga_event event)
{
	out->event = event;
	out->cmd = p->want.cmd;
	p->awaiting = false;
}

/* ---- what a reply says ---- */

static bool decode_read(struct qga_parser *p, json_t *ret, struct qga_reply *out)
{
	json_t *count = json_object_get(ret, "count"), *eof = json_object_get(ret, "eof");
	const char *b64 = json_string_value(json_object_get(ret, "buf-b64"));
	size_t b64_len = json_string_length(json_object_get(ret, "buf-b64"));
	long got;

	if (!json_is_integer(count) || !json_is_boolean(eof) || !b64)
		return false;
	if (b64_len / 4 * 3 > p->data_alloc) {
		uint8_t *data = realloc(p->data, b64_len / 4 * 3);

		if (!data)
			return false;
		p->data = data;
		p->data_alloc = b64_len / 4 * 3;
	}
	got = qga_base64_decode(b64, b64_len, p->data);
	if (got < 0 || got != json_integer_value(count) || (unsigned long)got > p->want.count)
		return false;
	out->read.data = p->data;
	out->read.len = (size_t)got;
	out->read.eof = json_is_true(eof);
	return true;
}

/* Does @ret answer the awaited command? Fills @out's union if so. */
static bool decode_return(struct qga_parser *p, json_t *ret, struct qga_reply *out)
{
	switch (p->want.cmd) {
	case QGA_SYNC:
		return json_is_integer(ret) && json_integer_value(ret) == (json_int_t)p->want.id;
	case QGA_FILE_OPEN:
		if (!json_is_integer(ret) || json_integer_value(ret) < 0)
			return false;
		out->handle = json_integer_value(ret);
		return true;
	case QGA_FILE_READ:
		return json_is_object(ret) && decode_read(p, ret, out);
	case QGA_FILE_CLOSE:
		return json_is_object(ret);
	}
	return false;
}

static void decode_error(struct qga_parser *p, json_t *err, struct qga_reply *out)
{
	const char *cls = json_string_value(json_object_get(err, "class"));
	const char *desc = json_string_value(json_object_get(err, "desc"));

	if (!cls || !desc) {
		refuse(p, out, "an error without its class and description");
		return;
	}
	snprintf(out->err_class, sizeof(out->err_class), "%s", cls);
	snprintf(out->err_desc, sizeof(out->err_desc), "%s", desc);
	answered(p, out, QGA_ERROR);
}

static bool id_matches(const struct qga_parser *p, json_t *id)
{
	return !id || (json_is_integer(id) && json_integer_value(id) == (json_int_t)p->want.id);
}

/* An awaited sync takes only its own answer; anything else is stale. */
static void decode(struct qga_parser *p, json_t *root, struct qga_reply *out)
{
	json_t *err = json_object_get(root, "error"), *ret = json_object_get(root, "return");
	bool sync = p->want.cmd == QGA_SYNC;

	if (!p->awaiting)
		refuse(p, out, "a reply to no command");
	else if (!id_matches(p, json_object_get(root, "id")) || (sync && (err || !ret)))
		sync ? stale(p, out) : refuse(p, out, "a reply to another command");
	else if (err && !ret)
		decode_error(p, err, out);
	else if (ret && !err && decode_return(p, ret, out))
		answered(p, out, QGA_REPLY);
	else
		sync ? stale(p, out) : refuse(p, out, "a reply that does not fit the command");
}

/* ---- framing ---- */

/* An object ended: what it says. */
static void finish(struct qga_parser *p, struct qga_reply *out)
{
	json_error_t error;
	json_t *root = json_loadb(strbuf_str(&p->obj), strbuf_len(&p->obj), JSON_REJECT_DUPLICATES,
				  &error);

	reset_framing(p);
	if (!root) {
		refuse(p, out, "bytes that are not JSON");
		return;
	}
	decode(p, root, out);
	json_decref(root);
}

/*
 * Follow strings and nesting through @data until the object ends (that
 * byte included), a 0xFF (excluded) or the end; returns the bytes taken.
 */
static size_t scan(struct qga_parser *p, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && data[i] != QGA_SENTINEL; i++) {
		uint8_t c = data[i];

		if (p->in_string) {
			if (p->escaped)
				p->escaped = false;
			else if (c == '\\')
				p->escaped = true;
			else if (c == '"')
				p->in_string = false;
		} else if (c == '"') {
			p->in_string = true;
		} else if (c == '{' || c == '[') {
			p->depth++;
		} else if ((c == '}' || c == ']') && --p->depth == 0) {
			return i + 1;
		}
	}
	return i;
}

/*
 * A 0xFF: the stream starts afresh, if a command awaits its reply; with
 * none (after a timeout or a refusal), what follows is a late answer to
 * something given up on, dropped until the next sync. True if the byte
 * cut an awaited reply short.
 */
static bool sentinel(struct qga_parser *p, struct qga_reply *out)
{
	bool cut = p->synced && p->depth && p->awaiting && p->want.cmd != QGA_SYNC;

	reset_framing(p);
	if (cut) {
		refuse(p, out, "a reply cut short by a 0xFF byte");
		return true;
	}
	if (p->awaiting)
		p->synced = true;
	return false;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Skip to the next 0xFF (or the end). */
static size_t skip(const uint8_t *data, size_t len)
{
	const uint8_t *ff = memchr(data, QGA_SENTINEL, len);

	return ff ? (size_t)(ff - data) : len;
}

size_t qga_parser_feed(struct qga_parser *p, const uint8_t *data, size_t len, struct qga_reply *out)
{
	size_t i = 0, n;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		if (data[i] == QGA_SENTINEL) {
			if (sentinel(p, out))
				return i + 1;
			i++;
		} else if (!p->synced) {
			i += skip(data + i, len - i);
		} else if (!p->depth && is_space(data[i])) {
			i++;
		} else if (!p->depth && data[i] != '{') {
			refuse(p, out, "bytes that are not JSON");
			return i + 1;
		} else {
			n = scan(p, data + i, len - i);
			if (strbuf_add(&p->obj, data + i, n)) {
				refuse(p, out,
				       strbuf_len(&p->obj) + n > p->max
					       ? "a reply longer than its limit"
					       : "a reply there was no memory for");
				return i + n;
			}
			i += n;
			if (!p->depth) {
				finish(p, out);
				if (out->event != QGA_NEED_MORE)
					return i;
			}
		}
	}
	return i;
}
