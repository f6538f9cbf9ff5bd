/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket's HTTP/1.1 server, on the event loop.
 *
 * Owns: the UNIX socket file (created 0600, replaced when stale, removed on
 * close), accepting connections and vetting their peer (same uid as cmavm,
 * or root), parsing requests with http-parser, the limits that keep one
 * client from hurting the VMM (head 8 KiB, body 64 KiB, 32 connections)
 * or locking the others out (timeouts; the oldest idle connection makes
 * room for a new one), keep-alive and pipelining, answers a handler gives
 * later (deferred), and turning each handler's response into bytes on the
 * wire: a JSON body or any other (a PNG), and a file descriptor passed
 * with the answer (SCM_RIGHTS). Every error it sends is JSON:
 * {"error": "..."}.
 *
 * Everything but http_server_open() and http_server_close() runs on the
 * loop thread, one callback at a time, and never blocks.
 */
#ifndef VMM_CONTROL_HTTP_SERVER_H
#define VMM_CONTROL_HTTP_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "vmm/hw/event_loop.h"

#define HTTP_HEAD_MAX	     (8 * 1024)	 /* request line + headers; more: 431 */
#define HTTP_BODY_MAX	     (64 * 1024) /* more: 413 */
#define HTTP_MAX_CONNS	     32		 /* past this, see http_server_open() */
#define HTTP_SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* One request, valid only during the handler call. Strings are never NULL. */
struct http_request {
	const char *method;	  /* "GET", "PUT", ... */
	const char *path;	  /* "/v1/vm": the URL's path, without the query */
	const char *query;	  /* what follows '?', "" when none */
	const char *content_type; /* the header's value, "" when absent */
	const char *body;	  /* @body_len bytes, NUL-terminated for convenience */
	size_t body_len;
};

struct http_conn;

/*
 * What the handler answers. The server starts it as 200 with no body; the
 * handler sets @status and gives @body (the server takes the reference and
 * sends it as application/json) or other bytes (http_response_data()),
 * and may attach a descriptor (http_response_attach_fd()). A 204 is sent
 * without a body. A response zeroed holds no data and no descriptor.
 */
struct http_response {
	int status;
	json_t *body;
	char allow[64]; /* for a 405: the Allow header, e.g. "GET, PUT"; "" otherwise */
	/* set through http_response_data(): sent instead of @body */
	void *data;
	size_t data_len;
	char content_type[64];
	/* set through http_response_attach_fd(): @fd is meaningful when @has_fd */
	bool has_fd;
	int fd;
	/*
	 * The server's own: the connection that asked. A response made
	 * elsewhere (a test's) has none and cannot be deferred.
	 */
	struct http_conn *conn;
};

/*
 * Called on the loop thread for each complete request, in arrival order.
 * It answers in @resp before returning, or defers (http_response_defer()).
 */
typedef void (*http_handler_fn)(void *opaque, const struct http_request *req,
				struct http_response *resp);

/*
 * The header that tells a client a descriptor comes with the answer, on
 * its first bytes: "X-Cmavm-Fd: 1".
 */
#define HTTP_FD_HEADER "X-Cmavm-Fd"

/*
 * Set @resp to @status with @body (a new reference the response takes).
 * Data given before is freed; an attached descriptor stays.
 */
void http_response_json(struct http_response *resp, int status, json_t *body);

/*
 * Set @resp to @status with @len bytes of @data (malloc()ed; the response
 * takes it; NULL when @len is 0) sent as @content_type, e.g. "image/png"
 * (NULL, or one that is no header value or has 64 bytes or more:
 * application/octet-stream). A JSON body given before is dropped; an
 * attached descriptor stays. No limit but what the sender builds.
 */
void http_response_data(struct http_response *resp, int status, const char *content_type,
			void *data, size_t len);

/*
 * Send @fd to the client with this answer (SCM_RIGHTS, on the answer's
 * first bytes, with the header HTTP_FD_HEADER). The response owns @fd from
 * here on: it is closed once sent, or when the answer is dropped
 * (connection gone, error); an answer whose status is not 2xx closes it
 * unsent. One per answer: a second replaces (closes) the first. A client
 * that does not read ancillary data (curl) just never sees it; the kernel
 * closes it for them.
 */
void http_response_attach_fd(struct http_response *resp, int fd);

/*
 * Free what @resp holds without sending it (body, data, descriptor): for
 * an answer nobody will get. @resp is then an answer without a body.
 */
void http_response_release(struct http_response *resp);

/*
 * Set @resp to @status with {"error": "<message>"}; the message is a
 * sentence naming the problem and the fix.
 */
void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct http_deferred;
/*
 * Answer this request later (on the loop thread): the handler returns with
 * @resp untouched and the connection sends nothing and reads no further
 * request until http_deferred_answer(). NULL when out of memory: answer now.
 */
struct http_deferred *http_response_defer(struct http_response *resp);
/*
 * The answer to a deferred request, on the loop thread; takes what @resp
 * holds (body, data, descriptor). Dropped (all freed, the descriptor
 * closed) if the connection went away meanwhile. Frees @d.
 */
void http_deferred_answer(struct http_deferred *d, struct http_response *resp);

/*
 * How long a connection may keep its place, in milliseconds; time spent
 * awaiting a deferred answer never counts. A request's head is timed from
 * its first byte, or on a new connection from its accept; its body from
 * the end of its head; an idle kept-alive connection from its last answer;
 * an answer the client does not read from the last progress in sending it,
 * the 408 or 503 that ends a connection too.
 */
struct http_timeouts {
	unsigned int head_ms; /* then 408 and close */
	unsigned int body_ms; /* then 408 and close */
	unsigned int idle_ms; /* then closed quietly */
	unsigned int send_ms; /* then closed */
};

#define HTTP_HEAD_TIMEOUT_MS 5000
#define HTTP_BODY_TIMEOUT_MS 10000
#define HTTP_IDLE_TIMEOUT_MS 60000
#define HTTP_SEND_TIMEOUT_MS 30000

/* A kind of event logged at most once per interval; the rest counted. */
struct http_log_gate {
	uint64_t quiet_until_ms;
	unsigned int suppressed;
};

#define HTTP_LOG_GATES 5 /* one per enum http_expiry (vmm/control/http/internal.h) */

struct http_server {
	struct ev_loop *loop;
	int fd;
	char path[HTTP_SOCKET_PATH_MAX];
	dev_t dev; /* the socket file we made, so close removes only ours */
	ino_t ino;
	http_handler_fn handler;
	void *opaque;
	struct ev_op accept_op;
	struct ev_op retry_op;	   /* a pause before accepting again after EMFILE */
	struct ev_op *accept_busy; /* &accept_op, &retry_op or NULL */
	struct __kernel_timespec retry_delay;
	struct http_conn *conns; /* every open connection, refused ones too */
	unsigned int nr_served;	 /* connections counted against HTTP_MAX_CONNS */
	bool full_warned;	 /* the 503s since the last free place are logged */

	/* Set by http_server_open(); change before the loop starts, or on it. */
	struct http_timeouts timeouts;
	struct ev_op sweep_op; /* a timer, armed while connections are open */
	bool sweep_busy;
	struct __kernel_timespec sweep_delay;
	uint64_t idle_seq; /* the order in which connections fell idle */
	struct http_log_gate log_gates[HTTP_LOG_GATES];

	/* http_server_close() waits for the loop thread to let go of it all */
	bool closing;
	pthread_mutex_t lock;
	pthread_cond_t drained_cond;
	bool drained;
};

/*
 * Listen on a new UNIX socket at @path, mode 0600 from the start, and
 * serve each request with @handler(@opaque, ...) on @loop's thread. Refuses
 * when a server already answers at @path or @path is not a socket; a stale
 * socket file is replaced. With HTTP_MAX_CONNS connections served, a new
 * one closes the connection idle the longest (no request in progress,
 * nothing to send, no deferred answer awaited) to take its place; only
 * when none is idle is it refused with 503. Idle is as far as the server
 * has read: a request that reached the chosen connection just before
 * (received, its completion not yet handled) is not served; its client
 * gets the 503 and may send it again. May be called before
 * ev_loop_start() or from any thread once the loop runs. Returns 0, or -1
 * with the error printed.
 */
int http_server_open(struct http_server *s, struct ev_loop *loop, const char *path,
		     http_handler_fn handler, void *opaque);

/*
 * Whether a server answers at @path (a connect that is not refused): 1;
 * 0 when nobody listens (a stale file, or no file); -1 on another error,
 * printed. A full backlog counts as alive.
 */
int http_socket_answers(const char *path);

/*
 * Stop serving: no new connections, idle ones closed, answers under way
 * sent and deferred ones awaited (for up to a second; a deferred answer
 * that comes later is dropped), then the socket file removed. Best called
 * while the loop still runs, from another thread; it waits for the loop
 * thread to let go of every connection. With the loop stopped, it frees
 * everything at once (the stopped loop delivers no more completions). Not
 * for a server whose loop has not started yet and will be started later.
 */
void http_server_close(struct http_server *s);

#endif
