/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the HTTP server's tests (test_http_connection.c,
 * test_http_response.c, test_http_socket.c): a server on a real event
 * loop with a handler that echoes each request back as JSON, and a
 * blocking client that reads one response at a time with http-parser.
 */
#ifndef TESTS_VMM_CONTROL_HTTP_HARNESS_H
#define TESTS_VMM_CONTROL_HTTP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/control/http_server.h"
#include "vmm/hw/event_loop.h"

#define BIG_BODY (1u << 20) /* more than a socket buffer: sent in pieces */

struct fixture {
	char dir[64];
	char path[128];
	struct ev_loop loop;
	struct http_server srv;
};

/*
 * The handler: GET /big answers a BIG_BODY string, /missing a 404,
 * /nocontent a 204, /allow a 405 with Allow: GET, PUT, /bad-status the
 * impossible status 42; everything else 200 with the request's method,
 * path, query, content_type and body.
 */
void echo_handler(void *opaque, const struct http_request *req, struct http_response *resp);

/* cmocka setup and teardown: a server at @f->path, and its end. */
int start_server(void **state);
int stop_server(void **state);

#define SERVER_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_server, stop_server)

extern const char get_vm[]; /* GET /v1/vm?verbose=1 HTTP/1.1 */

struct client {
	int fd;
	char buf[BIG_BODY + 4096];
	size_t len;
};

struct response {
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

/* A served connection: one that has had an answer. */
struct client *served_client(const char *path);

#endif
