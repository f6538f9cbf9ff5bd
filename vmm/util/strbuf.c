// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/util/strbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRBUF_FIRST_ALLOC 256

void strbuf_init(struct strbuf *sb, size_t max)
{
	*sb = STRBUF_INIT(max);
}

void strbuf_attach(struct strbuf *sb, char *buf, size_t size)
{
	*sb = (struct strbuf){ .data = buf, .alloc = size, .fixed = true };
	sb->len = size ? strnlen(buf, size - 1) : 0;
	if (size)
		buf[sb->len] = '\0';
}

/* Room for @len more bytes and the NUL, growing by doubling. */
static int make_room(struct strbuf *sb, size_t len)
{
	size_t need, alloc = sb->alloc ? sb->alloc : STRBUF_FIRST_ALLOC;
	char *data;

	if (len > sb->max || sb->len > sb->max - len)
		return -ENOSPC;
	if (len > SIZE_MAX - 1 - sb->len)
		return -ENOMEM;
	need = sb->len + len + 1;
	if (need <= sb->alloc)
		return 0;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	data = realloc(sb->data, alloc);
	if (!data)
		return -ENOMEM;
	sb->data = data;
	sb->alloc = alloc;
	return 0;
}

/* A fixed buffer takes what fits: the rest is cut off, and this append says so. */
static int add_fixed(struct strbuf *sb, const void *data, size_t len)
{
	size_t room = sb->alloc ? sb->alloc - 1 - sb->len : 0;
	bool cut = len > room;

	if (cut) {
		len = room;
		sb->truncated = true;
	}
	if (len) {
		memcpy(sb->data + sb->len, data, len);
		sb->len += len;
		sb->data[sb->len] = '\0';
	}
	return cut ? -ENOSPC : 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	int err;

	if (sb->fixed)
		return add_fixed(sb, data, len);
	err = make_room(sb, len);
	if (err)
		return err;
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
	return 0;
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	char small[256], *text = small;
	va_list again;
	int n, err;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		return -EINVAL;
	}
	if ((size_t)n >= sizeof(small)) {
		text = malloc((size_t)n + 1);
		if (!text) {
			va_end(again);
			return -ENOMEM;
		}
		vsnprintf(text, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	err = strbuf_add(sb, text, (size_t)n);
	if (text != small)
		free(text);
	return err;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return err;
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->data && sb->alloc ? sb->data : "";
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->truncated = false;
	if (sb->data && sb->alloc)
		sb->data[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->fixed) {
		strbuf_reset(sb);
		return;
	}
	free(sb->data);
	strbuf_init(sb, sb->max);
}

char *str_vappendf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct strbuf sb;

	strbuf_attach(&sb, buf, size);
	strbuf_vaddf(&sb, fmt, ap);
	return buf;
}

char *str_appendf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}
