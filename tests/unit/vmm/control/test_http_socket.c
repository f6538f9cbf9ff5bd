// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HTTP server's socket (vmm/control/http/socket.c): the file made
 * 0600, a live server or a non-socket left alone, a stale socket replaced,
 * peers vetted, the connection limit when no connection is idle (idle ones
 * make room: test_http_timeouts.c), and closing: answers under way
 * finished, idle connections ended, the file removed only if it is ours.
 * A real event loop, spoken to through plain sockets (http_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_harness.h"

/* A connection in the middle of its request: never displaced. */
static struct client *busy_client(const char *path)
{
	struct client *c = client_open(path);

	send_str(c, "GET /v1/vm HTTP/1.1\r\n");
	return c;
}

static void test_connection_limit(void **state)
{
	struct fixture *f = *state;
	struct client *c[HTTP_MAX_CONNS], *extra;
	int i, tries;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		c[i] = busy_client(f->path);
	wait_mid_request(f, HTTP_MAX_CONNS); /* none idle */
	extra = client_open(f->path);
	expect_response(extra, 503, "at most 32 API connections at once and none is idle");
	assert_true(server_closed(extra));
	client_close(extra);

	client_close(c[0]); /* frees a place, once the server notices */
	for (tries = 0; tries < 100; tries++) {
		struct response r;

		extra = client_open(f->path);
		send_maybe_refused(extra->fd, get_vm);
		r = read_response(extra);
		free(r.body);
		client_close(extra);
		if (r.status == 200)
			break;
		assert_int_equal(r.status, 503);
		usleep(10 * 1000);
	}
	assert_true(tries < 100);
	for (i = 1; i < HTTP_MAX_CONNS; i++) { /* each still served */
		send_str(c[i], "\r\n");
		expect_response(c[i], 200, "/v1/vm");
		client_close(c[i]);
	}
}

static void test_socket_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_second_server_refused(void **state)
{
	struct fixture *f = *state;
	struct http_server other;
	struct client *c;

	assert_int_equal(http_server_open(&other, &f->loop, f->path, echo_handler, NULL), -1);
	c = client_open(f->path); /* the first one still serves */
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
}

static void test_not_a_socket_refused(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct http_server other;
	FILE *file;

	snprintf(path, sizeof(path), "%s/file", f->dir);
	file = fopen(path, "w");
	fclose(file);
	assert_int_equal(http_server_open(&other, &f->loop, path, echo_handler, NULL), -1);
	assert_int_equal(access(path, F_OK), 0); /* left alone */
	unlink(path);
}

static void test_path_too_long_refused(void **state)
{
	struct fixture *f = *state;
	char path[HTTP_SOCKET_PATH_MAX + 1];
	struct http_server other;
	size_t used;

	snprintf(path, sizeof(path), "%s/", f->dir);
	used = strlen(path);
	memset(path + used, 'a', HTTP_SOCKET_PATH_MAX - used);
	path[HTTP_SOCKET_PATH_MAX] = '\0'; /* no room left for sun_path's NUL */
	assert_int_equal(http_server_open(&other, &f->loop, path, echo_handler, NULL), -1);
	path[HTTP_SOCKET_PATH_MAX - 1] = '\0';
	assert_int_equal(access(path, F_OK), -1); /* nothing made, not even cut short */
}

static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
}

/* A second server on its own loop, at a path of its own in the fixture's directory. */
struct second {
	struct ev_loop loop;
	struct http_server srv;
	char path[160];
};

static void second_path(struct second *s, const struct fixture *f, const char *name)
{
	snprintf(s->path, sizeof(s->path), "%s/%s", f->dir, name);
}

static void second_open(struct second *s)
{
	assert_int_equal(ev_loop_init(&s->loop, 64), 0);
	assert_int_equal(http_server_open(&s->srv, &s->loop, s->path, echo_handler, NULL), 0);
	assert_int_equal(ev_loop_start(&s->loop), 0);
}

static void second_close(struct second *s)
{
	http_server_close(&s->srv);
	ev_loop_destroy(&s->loop);
}

static void test_stale_socket_replaced(void **state)
{
	struct second other;
	struct client *c;

	second_path(&other, *state, "stale.sock");
	make_stale_socket(other.path);
	second_open(&other);
	c = client_open(other.path);
	send_str(c, get_vm);
	expect_response(c, 200, "/v1/vm");
	client_close(c);
	second_close(&other);
	assert_int_equal(access(other.path, F_OK), -1);
}

static void test_close_leaves_another_file(void **state)
{
	struct second other;

	second_path(&other, *state, "taken.sock");
	second_open(&other);
	/* someone else's socket now stands where ours was */
	assert_int_equal(unlink(other.path), 0);
	make_stale_socket(other.path);
	second_close(&other);
	assert_int_equal(access(other.path, F_OK), 0);
	unlink(other.path);
}

static void test_close_with_loop_stopped(void **state)
{
	struct second other;
	struct client *c;

	second_path(&other, *state, "stopped.sock");
	second_open(&other);
	c = served_client(other.path);
	ev_loop_stop(&other.loop);
	http_server_close(&other.srv); /* frees the connection at once */
	assert_null(other.srv.conns);
	assert_int_equal(other.srv.nr_served, 0);
	assert_int_equal(access(other.path, F_OK), -1);
	ev_loop_destroy(&other.loop);
	assert_true(server_closed(c));
	client_close(c);
}

static void test_other_user_forbidden(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	/* let the other user reach the server at all */
	chmod(f->dir, 0755);
	chmod(f->path, 0666);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) { /* no cmocka asserts here: they would return into the runner */
		struct client *c = calloc(1, sizeof(*c));
		struct response r;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		c->fd = connect_to(f->path);
		if (c->fd < 0)
			_exit(11);
		send_maybe_refused(c->fd, get_vm);
		r = read_response(c);
		_exit(r.status == 403 && strstr(r.body, "only root may") ? 0 : 12);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(f->path, 0600);
	chmod(f->dir, 0700);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void *read_big_answer(void *arg)
{
	struct client *c = arg;
	struct response r = read_response(c);
	bool whole = r.status == 200 && r.body_len > BIG_BODY;

	free(r.body);
	return whole ? c : NULL;
}

static void test_close_while_answering(void **state)
{
	struct fixture *f = *state;
	struct client *idle = client_open(f->path);
	struct client *busy = client_open(f->path);
	pthread_t reader;
	void *whole;

	/* the answer to /big fills the socket: the server is mid-send */
	send_str(busy, "GET /big HTTP/1.1\r\n\r\n");
	usleep(50 * 1000);
	assert_int_equal(pthread_create(&reader, NULL, read_big_answer, busy), 0);
	http_server_close(&f->srv); /* finishes the answer, then closes */
	assert_int_equal(pthread_join(reader, &whole), 0);
	assert_ptr_equal(whole, busy);
	assert_true(server_closed(busy));
	assert_true(server_closed(idle));
	client_close(idle);
	client_close(busy);
	assert_int_equal(connect_to(f->path), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SERVER_TEST(test_connection_limit),
		SERVER_TEST(test_socket_mode),
		SERVER_TEST(test_second_server_refused),
		SERVER_TEST(test_not_a_socket_refused),
		SERVER_TEST(test_path_too_long_refused),
		SERVER_TEST(test_stale_socket_replaced),
		SERVER_TEST(test_close_leaves_another_file),
		SERVER_TEST(test_close_with_loop_stopped),
		SERVER_TEST(test_other_user_forbidden),
		SERVER_TEST(test_close_while_answering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
