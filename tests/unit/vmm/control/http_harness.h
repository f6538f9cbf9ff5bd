/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the HTTP server's tests (test_http_*.c) and the API's
 * through it (test_api_pending.c): a server on a real event
 * loop with a handler that echoes each request back as JSON, and a
 * blocking client that reads one response at a time with http-parser.
 */
#ifndef TESTS_VMM_CONTROL_HTTP_HARNESS_H
#define TESTS_VMM_CONTROL_HTTP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "vmm/control/http_server.h"
#include "vmm/hw/event_loop.h"

#define BIG_BODY       (1u << 20) /* more than a socket buffer: sent in pieces */
#define BIG_DATA       (5u << 20) /* /big-fd's bytes: many sends */
#define BINARY_LEN     1000	  /* /binary's bytes */
#define CLIENT_FDS_MAX 16

/* A descriptor the client received, with the stream's bytes [from, to) */
struct client_fd {
	int fd;
	size_t from, to;
};

struct client {
	int fd;
	bool take_fds; /* read with recvmsg(), keeping the descriptors that come */
	unsigned int nr_fds;
	struct client_fd fds[CLIENT_FDS_MAX];
	size_t received; /* bytes of the stream so far */
	char buf[BIG_BODY + 4096];
	size_t len;
};

struct fixture {
	char dir[64];
	char path[128];
	struct ev_loop loop;
	struct http_server srv;
};

/*
 * The handler: GET /big answers a BIG_BODY string, /missing a 404,
 * /nocontent a 204, /allow a 405 with Allow: GET, PUT, /bad-status the
 * impossible status 42; /binary BINARY_LEN bytes of pattern_byte() as
 * application/octet-stream; /fd {"fd": its query} with a memfd holding
 * the query attached, /big-fd BIG_DATA bytes of pattern_byte() with a
 * memfd holding "big", /fd-refused a 409 with a memfd attached; /defer
 * defers its answer (answer_deferred()), /defer-now too but answers
 * before the handler returns; everything else 200 with the request's
 * method, path, query, content_type and body.
 */
void echo_handler(void *opaque, const struct http_request *req, struct http_response *resp);

/* A server at a new path serving with @handler(@opaque, ...), and its end. */
struct fixture *fixture_open(http_handler_fn handler, void *opaque);
void fixture_close(struct fixture *f);

/* cmocka setup and teardown: fixture_open() with echo_handler, and its end. */
int start_server(void **state);
int stop_server(void **state);
/*
 * The same server with its loop never started: the test plays the loop
 * thread, calling the server's functions and completions itself, and the
 * kernel's completions are never seen. stop_server() ends it too.
 */
int start_server_stopped(void **state);

/* How many requests echo_handler has seen since start_server(). */
unsigned int requests_handled(struct fixture *f);
/* Wait (up to 5 s) until @n answers have been deferred since start_server(). */
void wait_deferred(struct fixture *f, unsigned int n);
/*
 * Answer the oldest deferred request not yet answered: 200 with
 * {"deferred": its path}. On the loop thread, as the server wants; here
 * when the loop is stopped.
 */
void answer_deferred(struct fixture *f);
/* The same with @fd attached (the server owns it from here on). */
void answer_deferred_fd(struct fixture *f, int fd);
/* How many connections the server serves (HTTP_MAX_CONNS counts them). */
unsigned int connections_served(struct fixture *f);
/* Wait (up to 5 s) until the server serves @n connections. */
void wait_served(struct fixture *f, unsigned int n);
/* Wait (up to 5 s) until @n connections have part of a request in. */
void wait_mid_request(struct fixture *f, unsigned int n);
/* Whether the server sends nothing within @ms milliseconds. */
bool nothing_sent(struct client *c, int ms);
/*
 * Whether the server's socket of its newest connection holds all it may
 * (SIOCOUTQ, what its client has not read, reaches SO_SNDBUF): the next
 * send waits until the client reads.
 */
bool send_buffer_full(struct fixture *f);
/* The server's timeouts from now on (the loop thread's, set there). */
void set_timeouts(struct fixture *f, unsigned int head_ms, unsigned int body_ms,
		  unsigned int idle_ms, unsigned int send_ms);
/* Seconds of CLOCK_MONOTONIC since @t0. */
double seconds_since(const struct timespec *t0);

#define SERVER_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_server, stop_server)

extern const char get_vm[]; /* GET /v1/vm?verbose=1 HTTP/1.1 */

struct response {
	size_t start; /* its first byte's offset in the stream */
	int status;
	char headers[1024]; /* "\nname: value"... */
	char *body;
	size_t body_len;
	bool complete;
};

/* A connected socket with a 5 s receive timeout, or -1. */
int connect_to(const char *path);
struct client *client_open(const char *path);
void client_close(struct client *c);
void send_text(struct client *c, const char *text, size_t len);
void send_str(struct client *c, const char *text);
/* For a server that may answer (503, 403) and close before reading. */
void send_maybe_refused(int fd, const char *text);

/* The next response; status 0 if the server closed first. Free r->body. */
struct response read_response(struct client *c);
/* The status of the next response, checking its body has @needle. */
int expect_response(struct client *c, int status, const char *needle);
/* The next response is the echo of exactly this request. */
void expect_echo(struct client *c, const char *method, const char *path, const char *query,
		 const char *content_type, const char *body);
/* The server has closed (or reset) the connection. */
bool server_closed(struct client *c);

/* ---- descriptors and bytes ---- */

/* The byte at @i of /binary's and /big-fd's bodies: NUL bytes among them. */
unsigned char pattern_byte(size_t i);
/* @len bytes of @body are pattern_byte()'s. */
bool is_pattern(const char *body, size_t len);
/* A new memfd (close-on-exec) holding @text. */
int memfd_with(const char *text);
/* The file at @fd holds exactly @text. */
void expect_fd_holds(int fd, const char *text);
/*
 * The descriptor that came with @r's first byte, -1 if none did (the
 * client reads with take_fds set).
 */
int response_fd(const struct client *c, const struct response *r);
/*
 * The next response, of @status, announcing (HTTP_FD_HEADER) a descriptor
 * that holds @fd_text; one announcing none when @fd_text is NULL. A client
 * that takes descriptors has it with the response's first byte. Free
 * its body.
 */
struct response expect_answer_fd(struct client *c, int status, const char *fd_text);
/* How many descriptors this process has open. */
unsigned int open_fds(void);
/* The write end of a pipe whose read end is @read_fd gets closed within 5 s. */
bool pipe_closed_within_5s(int read_fd);

/* A served connection: one that has had an answer. */
struct client *served_client(const char *path);

#endif
