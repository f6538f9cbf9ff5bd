// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CMA engine's commands answered when they are done
 * (vmm/control/api/cma.c with struct ctl_pending): through the real HTTP
 * server on a real event loop (http_harness.h), the fake VM (fake_vm.h)
 * holding each command until the test finishes it on the loop thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_vm.h"
#include "http_harness.h"

#define COMMIT_HUGE "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"length\": \"32M\"}"

static int start_api(void **state)
{
	reset_vm(state);
	vm.pend = FAKE_PEND;
	*state = fixture_open(ctl_api_handle, (void *)&ops);
	return 0;
}

static int stop_api(void **state)
{
	fixture_close(*state);
	return 0;
}

#define PENDING_TEST(fn) cmocka_unit_test_setup_teardown(fn, start_api, stop_api)

static void put_text(char *buf, size_t len, const char *path, const char *json)
{
	snprintf(buf, len,
		 "PUT %s HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: "
		 "%zu\r\n\r\n%s",
		 path, strlen(json), json);
}

static void send_put(struct client *c, const char *path, const char *json)
{
	char text[512];

	put_text(text, sizeof(text), path, json);
	send_str(c, text);
}

static void read_pending(void *arg)
{
	*(bool *)arg = vm.pended.pending != NULL;
}

/* Wait (up to 5 s) until the fake VM holds a command. */
static void wait_pending(struct fixture *f)
{
	bool pending = false;
	int tries;

	for (tries = 0; tries < 5000 && !pending; tries++) {
		assert_int_equal(ev_loop_call(&f->loop, read_pending, &pending), 0);
		if (!pending)
			usleep(1000);
	}
	assert_true(pending);
}

/* The engine is done with the command: on the loop thread, as the glue would. */
static void finish(struct fixture *f)
{
	assert_int_equal(ev_loop_call(&f->loop, finish_pending, NULL), 0);
}

/* The next answer on @c: @status, with its JSON. */
static json_t *read_json(struct client *c, int status)
{
	struct response r = read_response(c);
	json_error_t err;
	json_t *json;

	if (r.status != status)
		fail_msg("status %d, not %d: %s", r.status, status, r.body);
	json = json_loads(r.body, 0, &err);
	if (!json)
		fail_msg("not JSON (%s): %s", err.text, r.body);
	free(r.body);
	return json;
}

static void expect_committed(json_t *w, unsigned int id)
{
	assert_int_equal(json_object_size(w), 17);
	assert_int_equal(int_at(w, "id"), id);
	assert_string_equal(str_at(w, "pool"), "linux,cma");
	assert_int_equal(int_at(w, "length"), 32 << 20);
	assert_string_equal(str_at(w, "level"), "huge");
	assert_string_equal(str_at(w, "state"), "committed");
	assert_int_equal(int_at(w, "done_bytes"), 0);
	assert_int_equal(int_at(w, "pause_ns_max"), 412345);
}

static void test_commit_answered_when_done(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	json_t *w;

	send_put(c, "/v1/cma/windows", COMMIT_HUGE);
	wait_pending(f);
	assert_true(nothing_sent(c, 50));
	assert_int_equal(vm.nr_windows, 0);
	finish(f);
	w = read_json(c, 200);
	expect_committed(w, 1);
	json_decref(w);
	assert_int_equal(vm.cma_calls, 1);
	client_close(c);
}

static void test_commit_refused_when_done(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_put(c, "/v1/cma/windows", COMMIT_HUGE);
	wait_pending(f);
	vm.cma_fail = -EBUSY; /* the loop thread reads it only in finish() */
	finish(f);
	assert_int_equal(expect_response(c, 409, "{\"error\": \"the engine is busy; retry\"}"),
			 409);
	/* and one the engine refuses for its request: the sentence names the pool */
	vm.cma_fail = 0;
	send_put(c, "/v1/cma/windows", "{\"pool\": \"dsp\", \"level\": \"huge\"}");
	wait_pending(f);
	finish(f);
	expect_response(c, 404, "no CMA pool 'dsp'; GET /v1/cma/pools lists them");
	client_close(c);
}

static void test_release_and_migrate_answered_when_done(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	json_t *a;

	vm.pend = FAKE_NOW;
	send_put(c, "/v1/cma/windows", COMMIT_HUGE);
	json_decref(read_json(c, 200));
	vm.pend = FAKE_PEND;
	send_put(c, "/v1/cma/windows/release", "{\"id\": 1}");
	wait_pending(f);
	assert_true(nothing_sent(c, 20));
	finish(f);
	a = read_json(c, 200);
	assert_int_equal(int_at(a, "released"), 1);
	json_decref(a);
	send_put(c, "/v1/cma/migrate", "{\"pool\": \"linux,cma\", \"block\": 3}");
	wait_pending(f);
	assert_true(nothing_sent(c, 20));
	finish(f);
	a = read_json(c, 200);
	assert_int_equal(int_at(a, "gpa"), 0x9c600000);
	assert_int_equal(int_at(a, "pause_ns"), 85300);
	json_decref(a);
	assert_false(vm.last_migrate.by_gpa);
	assert_int_equal(vm.last_migrate.block, 3);
	client_close(c);
}

static void test_pipelined_get_answered_after_the_commit(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);
	char text[1024];
	json_t *a;

	put_text(text, sizeof(text), "/v1/cma/windows", COMMIT_HUGE);
	strcat(text, "GET /v1/cma/windows HTTP/1.1\r\n\r\n");
	send_str(c, text);
	wait_pending(f);
	assert_true(nothing_sent(c, 50));
	finish(f);
	a = read_json(c, 200);
	expect_committed(a, 1);
	json_decref(a);
	/* the GET ran after the commit: it lists the window done */
	a = read_json(c, 200);
	assert_int_equal(json_array_size(a), 1);
	expect_committed(json_array_get(a, 0), 1);
	json_decref(a);
	client_close(c);
}

static void test_other_connection_served_while_the_commit_moves(void **state)
{
	struct fixture *f = *state;
	struct client *mover = client_open(f->path), *other = client_open(f->path);
	json_t *list, *w;

	vm.pend_done_bytes = 12 << 20;
	send_put(mover, "/v1/cma/windows", COMMIT_HUGE);
	wait_pending(f);
	send_str(other, "GET /v1/cma/windows HTTP/1.1\r\n\r\n");
	list = read_json(other, 200);
	assert_int_equal(json_array_size(list), 1);
	w = json_array_get(list, 0);
	assert_string_equal(str_at(w, "state"), "committing");
	assert_int_equal(int_at(w, "done_bytes"), 12 << 20);
	assert_int_equal(int_at(w, "length"), 32 << 20);
	json_decref(list);
	send_str(other, "GET /v1/vm HTTP/1.1\r\n\r\n");
	expect_response(other, 200, "\"state\": \"running\"");
	assert_true(nothing_sent(mover, 0));
	finish(f);
	w = read_json(mover, 200);
	expect_committed(w, 1);
	json_decref(w);
	client_close(other);
	client_close(mover);
}

static void test_done_after_the_client_left(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_put(c, "/v1/cma/windows", COMMIT_HUGE);
	wait_pending(f);
	client_close(c);
	usleep(20 * 1000);
	finish(f); /* the answer finds nobody */
	assert_int_equal(vm.nr_windows, 1);
	c = client_open(f->path);
	send_str(c, "GET /v1/cma/windows HTTP/1.1\r\n\r\n");
	expect_response(c, 200, "\"state\": \"committed\"");
	client_close(c);
}

static void test_done_after_the_server_closed(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_open(f->path);

	send_put(c, "/v1/cma/windows", COMMIT_HUGE);
	wait_pending(f);
	http_server_close(&f->srv); /* gives up on the answer after its second */
	assert_true(server_closed(c));
	finish(f); /* the loop still runs, as while cmavm stops */
	assert_int_equal(vm.nr_windows, 1);
	client_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		PENDING_TEST(test_commit_answered_when_done),
		PENDING_TEST(test_commit_refused_when_done),
		PENDING_TEST(test_release_and_migrate_answered_when_done),
		PENDING_TEST(test_pipelined_get_answered_after_the_commit),
		PENDING_TEST(test_other_connection_served_while_the_commit_moves),
		PENDING_TEST(test_done_after_the_client_left),
		PENDING_TEST(test_done_after_the_server_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
