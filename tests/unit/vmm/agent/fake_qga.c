// SPDX-License-Identifier: GPL-2.0-only
/* A QEMU guest agent for the agent's tests: see fake_qga.h. */
#include "tests/unit/vmm/agent/fake_qga.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_HANDLE 1000

void fake_base64(struct strbuf *sb, const void *data, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
			     (i + 2 < len ? p[i + 2] : 0);
		char q[4] = { abc[v >> 18], abc[v >> 12 & 63], i + 1 < len ? abc[v >> 6 & 63] : '=',
			      i + 2 < len ? abc[v & 63] : '=' };

		strbuf_add(sb, q, 4);
	}
}

void fake_qga_init(struct fake_qga *f)
{
	memset(f, 0, sizeof(*f));
	f->meminfo = fake_meminfo;
	f->vmstat = fake_vmstat;
	strbuf_init(&f->out, SIZE_MAX);
	strbuf_init(&f->line, SIZE_MAX);
}

void fake_qga_release(struct fake_qga *f)
{
	strbuf_release(&f->out);
	strbuf_release(&f->line);
}

const char *fake_qga_last(const struct fake_qga *f)
{
	return f->nr_asked ? f->asked[f->nr_asked - 1] : "";
}

unsigned int fake_qga_count(const struct fake_qga *f, const char *prefix)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < f->nr_asked; i++)
		n += !strncmp(f->asked[i], prefix, strlen(prefix));
	return n;
}

/* @r with @id, as qemu-ga writes it: "return" or "error" first, non-ASCII escaped. */
static void emit(struct fake_qga *f, json_t *r, json_t *id)
{
	char *text;

	if (id && !f->no_ids)
		json_object_set(r, "id", id);
	text = json_dumps(r, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	strbuf_addf(&f->out, "%s\n", text);
	free(text);
	json_decref(r);
}

static void reply(struct fake_qga *f, json_t *ret, json_t *id)
{
	emit(f, json_pack("{s:o}", "return", ret), id);
}

static void error(struct fake_qga *f, const char *desc, json_t *id)
{
	emit(f, json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError", "desc", desc), id);
}

static int handle_index(struct fake_qga *f, json_t *args)
{
	json_int_t h = json_integer_value(json_object_get(args, "handle")) - FIRST_HANDLE;

	return h >= 0 && h < FAKE_QGA_FILES && f->files[h].open ? (int)h : -1;
}

static void file_open(struct fake_qga *f, json_t *args, json_t *id)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *text = !path			    ? NULL
			   : !strcmp(path, "/proc/meminfo") ? f->meminfo
			   : !strcmp(path, "/proc/vmstat")  ? f->vmstat
							    : NULL;
	int i;

	for (i = 0; i < FAKE_QGA_FILES && (f->files[i].open || f->files[i].text); i++)
		;
	if (!text || i == FAKE_QGA_FILES) {
		error(f, "failed to open file: No such file or directory", id);
		return;
	}
	f->files[i].text = text;
	f->files[i].open = true;
	reply(f, json_integer(FIRST_HANDLE + i), id);
}

static void file_read(struct fake_qga *f, json_t *args, json_t *id)
{
	int i = handle_index(f, args);
	size_t count = (size_t)json_integer_value(json_object_get(args, "count")), left, n;
	struct strbuf b64 = STRBUF_INIT(SIZE_MAX);

	if (i < 0) {
		error(f, "handle has not been found", id);
		return;
	}
	if (f->read_max && count > f->read_max)
		count = f->read_max;
	left = strlen(f->files[i].text) - f->files[i].off;
	n = count < left ? count : left;
	fake_base64(&b64, f->files[i].text + f->files[i].off, n);
	f->files[i].off += n;
	reply(f,
	      json_pack("{s:I,s:s,s:b}", "count", (json_int_t)n, "buf-b64", strbuf_str(&b64), "eof",
			n < count),
	      id);
	strbuf_release(&b64);
}

static void command(struct fake_qga *f, const char *text)
{
	json_t *cmd = json_loads(text, 0, NULL), *args, *id;
	const char *name;

	if (!cmd) {
		error(f, "JSON parse error, invalid keyword", NULL);
		return;
	}
	name = json_string_value(json_object_get(cmd, "execute"));
	args = json_object_get(cmd, "arguments");
	id = json_object_get(cmd, "id");
	if (f->nr_asked < FAKE_QGA_COMMANDS)
		snprintf(f->asked[f->nr_asked++], sizeof(f->asked[0]), "%s %lld", name ? name : "?",
			 (long long)json_integer_value(json_object_get(args, "handle")));
	if (f->silent || !name || (f->answer_limit && f->nr_asked > f->answer_limit)) {
		json_decref(cmd);
		return;
	}
	if (f->refuse && !strcmp(name, f->refuse)) {
		error(f, "The command has been disabled for this instance", id);
	} else if (!strcmp(name, "guest-sync-delimited")) {
		strbuf_add(&f->out, "\xff", 1);
		reply(f, json_incref(json_object_get(args, "id")), id);
	} else if (!strcmp(name, "guest-file-open")) {
		file_open(f, args, id);
	} else if (!strcmp(name, "guest-file-read")) {
		file_read(f, args, id);
	} else if (!strcmp(name, "guest-file-close")) {
		int i = handle_index(f, args);

		if (i < 0) {
			error(f, "handle has not been found", id);
		} else {
			f->files[i].open = false;
			reply(f, json_object(), id);
		}
	}
	json_decref(cmd);
}

void fake_qga_input(struct fake_qga *f, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == 0xff) {
			f->flushes++;
			strbuf_reset(&f->line);
			if (!f->silent)
				error(f, "JSON parse error, stray '\xef\xbf\xbd'", NULL);
		} else if (p[i] == '\n') {
			command(f, strbuf_str(&f->line));
			strbuf_reset(&f->line);
		} else {
			strbuf_add(&f->line, p + i, 1);
		}
	}
}
