/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one string buffer: text built up piece by piece.
 *
 * Owns: appending bytes and printf-formatted text, always NUL-terminated,
 * in one of two kinds of storage:
 *   - growable: on the heap, up to a limit the caller sets (an HTTP head
 *     or body, a response under way); past the limit an append fails with
 *     -ENOSPC and the buffer keeps what it had;
 *   - fixed: a char array the caller owns (a message, a table cell);
 *     what does not fit is cut off: that append returns -ENOSPC, and
 *     strbuf_truncated() remembers that something was cut.
 * Every other module appends through here rather than by hand.
 */
#ifndef VMM_UTIL_STRBUF_H
#define VMM_UTIL_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;	/* NUL-terminated, or NULL while a growable one is empty */
	size_t len;	/* bytes before the NUL */
	size_t alloc;	/* bytes at @data */
	size_t max;	/* growable: the most @len may reach */
	bool fixed;	/* @data is the caller's array of @alloc bytes */
	bool truncated; /* fixed: an append did not fit whole */
};

/* A growable buffer that may hold up to @max bytes (SIZE_MAX: no limit). */
#define STRBUF_INIT(max_len) ((struct strbuf){ .max = (max_len) })
void strbuf_init(struct strbuf *sb, size_t max);

/*
 * A fixed buffer over @buf[@size], appending after the text already there
 * (@buf must hold a NUL-terminated string, "" to start empty).
 */
void strbuf_attach(struct strbuf *sb, char *buf, size_t size);

/*
 * 0; -ENOSPC past the limit (growable: nothing added; fixed: what fit was
 * added), -ENOMEM (nothing added), or -EINVAL for a format vsnprintf()
 * refuses (nothing added).
 */
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The text, "" when empty; valid until the next append. */
const char *strbuf_str(const struct strbuf *sb);
static inline size_t strbuf_len(const struct strbuf *sb)
{
	return sb->len;
}
static inline bool strbuf_truncated(const struct strbuf *sb)
{
	return sb->truncated;
}

/* Empty again, storage kept. */
void strbuf_reset(struct strbuf *sb);
/* A growable buffer's storage freed; it is empty and usable again. */
void strbuf_release(struct strbuf *sb);

/*
 * Append printf-formatted text to the NUL-terminated string in @buf[@size],
 * as far as it fits; returns @buf. For messages built in fixed arrays.
 */
char *str_appendf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *str_vappendf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
