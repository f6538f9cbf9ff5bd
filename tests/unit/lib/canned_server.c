// SPDX-License-Identifier: GPL-2.0-only
#include "tests/unit/lib/canned_server.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The head and as much body as its Content-Length says. */
static void read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, body;
	const char *end, *cl;
	ssize_t n;

	while (len < size - 1) {
		n = recv(fd, buf + len, size - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strstr(buf, "Content-Length: ");
		body = cl ? strtoul(cl + 16, NULL, 10) : 0;
		if (len >= (size_t)(end + 4 - buf) + body)
			return;
	}
}

/* Whole, unless the client has had enough and closed. */
static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void send_filler(int fd, size_t left)
{
	static char filler[64 * 1024];

	memset(filler, 'x', sizeof(filler));
	while (left) {
		size_t n = left < sizeof(filler) ? left : sizeof(filler);
		ssize_t sent = send(fd, filler, n, MSG_NOSIGNAL);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return;
		left -= (size_t)sent;
	}
}

static void *answer_once(void *arg)
{
	struct canned_server *c = arg;
	int fd = accept(c->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL; /* stopped before anybody came */
	read_request(fd, c->request, sizeof(c->request));
	send_all(fd, c->answer, strlen(c->answer));
	send_filler(fd, c->filler);
	close(fd);
	return NULL;
}

struct canned_server *canned_server_start(const char *answer, size_t filler)
{
	struct canned_server *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	assert_non_null(c);
	strcpy(c->dir, "/tmp/cmavm-canned-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/api.sock", c->dir);
	strcpy(sa.sun_path, c->path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->listen_fd >= 0);
	assert_int_equal(bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(c->listen_fd, 1), 0);
	c->answer = answer;
	c->filler = filler;
	assert_int_equal(pthread_create(&c->thread, NULL, answer_once, c), 0);
	return c;
}

void canned_server_stop(struct canned_server *c)
{
	shutdown(c->listen_fd, SHUT_RDWR); /* wakes an accept() nobody answered */
	assert_int_equal(pthread_join(c->thread, NULL), 0);
	close(c->listen_fd);
	unlink(c->path);
	rmdir(c->dir);
	free(c);
}
