/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by unit tests: a server on a new UNIX socket that answers one
 * request with canned bytes, whatever they are (HTTP or not), and keeps
 * what it was sent. For testing clients of the control socket.
 */
#ifndef TESTS_UNIT_LIB_CANNED_SERVER_H
#define TESTS_UNIT_LIB_CANNED_SERVER_H

#include <pthread.h>
#include <stddef.h>

struct canned_server {
	char dir[64];
	char path[128]; /* the socket */
	int listen_fd;
	pthread_t thread;
	const char *answer; /* sent whole, then @filler bytes of 'x', then the connection closes */
	size_t filler;
	char request[4096]; /* what came: the head and as much body as Content-Length says */
};

/* Listen at a new path; the first connection gets @answer and @filler bytes. */
struct canned_server *canned_server_start(const char *answer, size_t filler);
/* Stop (whether or not anybody connected) and remove the socket. */
void canned_server_stop(struct canned_server *c);

#endif
