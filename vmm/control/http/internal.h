/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/control/http/connection.c, response.c, socket.c and
 * timeouts.c: the connection they share and the calls between them.
 * Everyone else goes through vmm/control/http_server.h.
 *
 * A connection has at most one io_uring operation in flight: recv, then
 * parse everything received, answering each complete request in order,
 * then send every queued response, then recv again (or close). A request
 * whose answer is deferred stops the parsing: until the answer comes, the
 * connection sends what it had queued and then has nothing in flight.
 *
 * Each recv and send has a deadline; one timer per server (timeouts.c)
 * looks at them now and then, and cancels the operation of a connection
 * past its own, marking it expired (left unmarked if no cancel could be
 * queued: the next look tries again). The cancelled operation's
 * completion, like any other, then decides what is sent (408, 503 or
 * nothing) before the close, and logs why; the mark is then gone, so that
 * last answer has its send deadline like any other. A connection with
 * nothing in flight (awaiting its deferred answer) has no deadline and
 * never expires.
 *
 * A descriptor attached to an answer waits beside the output buffer with
 * the offset of that answer's first byte. The send that starts there is a
 * sendmsg carrying it (the kernel ties it to that first byte), and no send
 * runs past the next such offset, so each goes with its own answer. Once a
 * send carrying it has sent a byte, the peer has it and our copy is closed;
 * a connection that ends first closes the ones still waiting.
 */
#ifndef VMM_CONTROL_HTTP_INTERNAL_H
#define VMM_CONTROL_HTTP_INTERNAL_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "vmm/control/http_server.h"
#include "vmm/util/strbuf.h"

#define FIELD_NAME_MAX 32 /* longer header names are none we look at */
#define OUT_FDS_MAX    8  /* descriptors queued to send; then pipelined requests wait */

enum wanted_header { HDR_OTHER, HDR_CONTENT_TYPE, HDR_EXPECT };
enum pause_point { PAUSED_AT_HEAD, PAUSED_AT_MESSAGE };

/* Why the server ends a connection that the client did not end. */
enum http_expiry {
	EXPIRY_NONE,
	EXPIRED_HEAD,	 /* no whole request head in time: 408 */
	EXPIRED_BODY,	 /* no whole body in time: 408 */
	EXPIRED_IDLE,	 /* kept alive, unused: closed quietly */
	EXPIRED_SEND,	 /* the client does not read its answer: closed */
	EXPIRY_DISPLACED /* the oldest idle, closed to admit a new connection */
};
_Static_assert(EXPIRY_DISPLACED == HTTP_LOG_GATES, "one log gate per kind of expiry");

/*
 * An answer the handler gives later. It outlives its connection when that
 * goes first (the server closed, a send failed): @conn is then NULL.
 */
struct http_deferred {
	struct http_conn *conn;
	bool keep_alive;	   /* as the request it answers asked */
	bool answered;		   /* @resp holds the answer, not yet queued */
	struct http_response resp; /* the answer, while the connection is busy */
};

/* A descriptor to send with the byte at offset @at of the output buffer. */
struct http_out_fd {
	size_t at;
	int fd;
};

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

	/* the request being parsed; each piece has its limit (413 or 431) */
	bool in_body; /* its head is complete */
	size_t head_bytes;
	struct strbuf url, content_type, expect, body;
	char field[FIELD_NAME_MAX];
	size_t field_len;
	bool after_value; /* the next header-field piece starts a new name */
	enum wanted_header header;

	/* responses not yet sent, in request order */
	struct strbuf out;
	size_t out_sent;
	bool close_after_send;
	struct http_out_fd out_fds[OUT_FDS_MAX]; /* by offset; the first not yet sent */
	unsigned int nr_out_fds;
	/* a sendmsg's, which the kernel may read until it completes */
	struct msghdr send_msg;
	struct iovec send_iov;
	_Alignas(struct cmsghdr) char send_control[CMSG_SPACE(sizeof(int))];

	bool head_request;		/* the method read whole is HEAD: answers carry no body */
	bool in_handler;		/* the handler runs for this connection */
	struct http_deferred *deferred; /* the answer the last request awaits */

	/* timeouts.c's: CLOCK_MONOTONIC milliseconds */
	bool had_request;	  /* a request has completed on this connection */
	uint64_t head_start_ms;	  /* the request head's first byte (or the accept) */
	uint64_t body_start_ms;	  /* the end of the request head */
	uint64_t deadline_ms;	  /* for the recv or send in flight */
	uint64_t idle_seq;	  /* when it last fell idle, in the server's order */
	enum http_expiry expired; /* its operation is being cancelled, and why */
};

/* ---- connection.c ---- */

/* A new connection on @fd, in @s's list; not yet served nor started. */
struct http_conn *http_conn_new(struct http_server *s, int fd);
/* Count @c against HTTP_MAX_CONNS and give it a receive buffer; -ENOMEM. */
int http_conn_serve(struct http_conn *c);
/* Send what is queued, else parse what is left, else read more or close. */
void http_conn_next(struct http_conn *c);
/* The loop is stopped: close @c's descriptor, if still ours, and free it. */
void http_conn_drop(struct http_conn *c);
/* The server closes and cannot wait longer for @c's deferred answer. */
void http_conn_give_up(struct http_conn *c);
/* Close the descriptors @c has not sent: its output is thrown away. */
void http_conn_drop_fds(struct http_conn *c);

/* ---- response.c ---- */

/* A response's bytes, after any earlier ones; takes what @resp holds. */
void http_queue_response(struct http_conn *c, struct http_response *resp, bool keep_alive);
/* The client sent Expect: 100-continue and a body: tell it to go on. */
void http_answer_expect(struct http_conn *c);

/* Answer with an error, then close: the rest of the stream cannot be trusted. */
void http_refuse(struct http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void http_refuse_malformed(struct http_conn *c, enum http_errno err);
void http_refuse_head_too_big(struct http_conn *c);
void http_refuse_body_too_big(struct http_conn *c);

/* ---- timeouts.c ---- */

uint64_t http_now_ms(void);
/* @c starts a recv, or a send: its deadline for it. */
void http_conn_recv_deadline(struct http_conn *c);
void http_conn_send_deadline(struct http_conn *c);
/* Watch the deadlines while @s has connections; loop thread. */
void http_sweep_arm(struct http_server *s);
/*
 * @s serves HTTP_MAX_CONNS: end the connection idle the longest, counting
 * it out at once. False when none is idle (or its recv cannot be cancelled).
 */
bool http_make_room(struct http_server *s);
/*
 * @c's operation, cancelled as @c->expired, has completed: log why @c
 * ends, queue what its client is told (@request_came: bytes of a request
 * were received; a connection idle between requests is closed without a
 * word, as HTTP allows), and mark @c to close once that is sent. Clears
 * @c->expired: that last send is timed like any other.
 */
void http_conn_end_expired(struct http_conn *c, bool request_came);

/* ---- socket.c ---- */

/*
 * Cancel @op, one of @s's, if it is still in flight; it completes as usual.
 * False when no SQE could be had for the cancel (the ring is in trouble).
 */
bool http_cancel(struct http_server *s, struct ev_op *op);
/* Wake http_server_close() once nothing of @s is in flight. */
void http_server_note_drained(struct http_server *s);

#endif
