/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The QEMU guest agent's wire protocol (qemu-ga: JSON objects, one per
 * command and one per reply), without any I/O.
 *
 * Owns: writing the four commands cmavm sends (guest-sync-delimited,
 * guest-file-open, -read, -close), and a parser that takes the agent's
 * bytes as they come and hands back each reply checked against the one
 * command awaiting it. Every command carries an "id" that qemu-ga echoes;
 * a reply must fit the command's shape too (an agent that drops ids is
 * still understood).
 *
 * Resynchronising: a guest-sync-delimited goes out behind a 0xFF byte
 * (which flushes the agent's own parser: it answers that byte with an
 * error reply) and qemu-ga puts a 0xFF before its answer. From the sync
 * until that byte the parser drops everything unread. After garbage, a
 * reply too long, one it did not ask for, or a command given up on, it
 * drops everything (0xFF bytes included) until the next sync's 0xFF: the
 * client resynchronises by sending a sync.
 */
#ifndef VMM_AGENT_QGA_H
#define VMM_AGENT_QGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util/strbuf.h"

#define QGA_SENTINEL  0xff
#define QGA_REPLY_MAX (64 * 1024) /* the longest reply cmavm takes */
#define QGA_CLASS_MAX 64
#define QGA_DESC_MAX  256
#define QGA_PORT_NAME "org.qemu.guest_agent.0"

enum qga_command {
	QGA_SYNC,	/* guest-sync-delimited */
	QGA_FILE_OPEN,	/* guest-file-open, mode "r" */
	QGA_FILE_READ,	/* guest-file-read */
	QGA_FILE_CLOSE, /* guest-file-close */
};

struct qga_request {
	enum qga_command cmd;
	uint64_t id;	    /* "id"; a sync's argument too. At most 2^53: JSON's safe integers */
	const char *path;   /* FILE_OPEN */
	int64_t handle;	    /* FILE_READ, FILE_CLOSE */
	unsigned int count; /* FILE_READ: bytes asked for */
};

/* "guest-file-read" ... */
const char *qga_command_name(enum qga_command cmd);

/*
 * Append @req as the agent reads it, a sync behind its 0xFF; 0, or
 * -ENOSPC / -ENOMEM (nothing usable was added).
 */
int qga_write(struct strbuf *sb, const struct qga_request *req);

enum qga_event {
	QGA_NEED_MORE, /* every byte taken, no reply complete */
	QGA_REPLY,     /* the reply to the awaited command: see the union */
	QGA_ERROR,     /* the agent refused the awaited command: err_class, err_desc */
	QGA_REFUSED,   /* a reply or bytes the parser refused: why; it now waits for a sync */
	QGA_STALE,     /* a reply to an earlier sync, dropped as the protocol says */
};

struct qga_reply {
	enum qga_event event;
	enum qga_command cmd; /* the command answered (REPLY, ERROR) */
	union {
		int64_t handle; /* FILE_OPEN */
		struct {
			const uint8_t *data; /* decoded; valid until the next feed */
			size_t len;
			bool eof;
		} read; /* FILE_READ */
	};
	char err_class[QGA_CLASS_MAX];
	char err_desc[QGA_DESC_MAX];
	const char
		*why; /* REFUSED: "bytes that are not JSON", "a reply longer than its limit"... */
};

struct qga_parser {
	size_t max;	    /* the longest reply taken */
	struct strbuf obj;  /* the object being gathered */
	unsigned int depth; /* of { and [ in @obj; 0 between objects */
	bool in_string, escaped;
	bool synced;   /* false: drop every byte until a 0xFF */
	bool awaiting; /* @want has been sent and not yet answered */
	struct qga_request want;
	uint8_t *data; /* the last read's decoded bytes */
	size_t data_alloc;
};

/* @max_reply: QGA_REPLY_MAX but in tests. Starts unsynced: send a sync first. */
void qga_parser_init(struct qga_parser *p, size_t max_reply);
void qga_parser_release(struct qga_parser *p);

/*
 * @req has been sent: the next reply must answer it. A sync also makes
 * the parser drop what comes until the agent's 0xFF.
 */
void qga_parser_expect(struct qga_parser *p, const struct qga_request *req);
/* No command awaits an answer (the client gave up on it): drop bytes until the next sync's 0xFF. */
void qga_parser_desync(struct qga_parser *p);

/*
 * Take bytes from @data until one event (or all of them: QGA_NEED_MORE);
 * returns how many were taken. Call again with the rest. Whatever the
 * bytes, it never reads past @len nor holds more than the reply limit.
 */
size_t qga_parser_feed(struct qga_parser *p, const uint8_t *data, size_t len,
		       struct qga_reply *out);

/*
 * Decode base64 (RFC 4648, padded, as qemu-ga's GLib writes it) from
 * @in[@len] into @out, which holds at least len / 4 * 3 bytes; returns the
 * bytes written, or -1 if @in is not base64.
 */
long qga_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
