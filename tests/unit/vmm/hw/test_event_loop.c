// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop (vmm/hw/event_loop.h): calls from other threads run on
 * the loop thread, and a parked loop runs nothing until unparked, with
 * calls and completions that came meanwhile run after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/hw/event_loop.h"

static struct ev_loop loop;

static int setup(void **state)
{
	(void)state;
	if (ev_loop_init(&loop, 16) || ev_loop_start(&loop))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ev_loop_destroy(&loop);
	return 0;
}

static void note_thread(void *arg)
{
	*(pthread_t *)arg = pthread_self();
}

static void test_call_runs_on_the_loop_thread(void **state)
{
	pthread_t ran = pthread_self();

	(void)state;
	assert_int_equal(ev_loop_call(&loop, note_thread, &ran), 0);
	assert_false(pthread_equal(ran, pthread_self()));
	assert_true(pthread_equal(ran, loop.thread));
}

struct caller {
	pthread_t thread;
	volatile int ran;
};

static void count(void *arg)
{
	((struct caller *)arg)->ran++;
}

static void *call_from_thread(void *arg)
{
	ev_loop_call(&loop, count, arg);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A timeout completion, to see whether the parked loop dispatches it. */
struct timer {
	struct ev_op op;
	struct __kernel_timespec ts;
	volatile int fired;
};

static void timer_done(struct ev_op *op, int res, unsigned int flags)
{
	(void)res;
	(void)flags;
	((struct timer *)op)->fired++;
}

static void arm_timer(void *arg)
{
	struct timer *t = arg;
	struct io_uring_sqe *sqe = ev_sqe(&loop, &t->op);

	io_uring_prep_timeout(sqe, &t->ts, 0, 0);
}

static void test_parked_loop_runs_nothing(void **state)
{
	struct caller c = { .ran = 0 };
	struct timer t = { .op.done = timer_done, .ts.tv_nsec = 1000000 };

	(void)state;
	assert_int_equal(ev_loop_call(&loop, arm_timer, &t), 0);
	assert_int_equal(ev_loop_park(&loop), 0);
	assert_int_equal(pthread_create(&c.thread, NULL, call_from_thread, &c), 0);
	sleep_ms(50);
	assert_int_equal(c.ran, 0);   /* the call waits */
	assert_int_equal(t.fired, 0); /* the 1 ms timer's completion too */
	ev_loop_unpark(&loop);
	pthread_join(c.thread, NULL);
	assert_int_equal(c.ran, 1);
	for (int i = 0; i < 100 && !t.fired; i++)
		sleep_ms(5);
	assert_int_equal(t.fired, 1);
}

static void park_self(void *arg)
{
	*(int *)arg = ev_loop_park(&loop);
}

static void test_park_refused_on_loop_thread(void **state)
{
	int ret = 0;

	(void)state;
	/* the loop thread cannot wait for itself to park */
	assert_int_equal(ev_loop_call(&loop, park_self, &ret), 0);
	assert_int_equal(ret, -1);
	assert_false(loop.parked);
}

static void test_park_fails_on_a_stopped_loop(void **state)
{
	struct ev_loop stopped;

	(void)state;
	assert_int_equal(ev_loop_init(&stopped, 4), 0);
	assert_int_equal(ev_loop_park(&stopped), -1);
	ev_loop_destroy(&stopped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_runs_on_the_loop_thread),
		cmocka_unit_test(test_parked_loop_runs_nothing),
		cmocka_unit_test(test_park_refused_on_loop_thread),
		cmocka_unit_test(test_park_fails_on_a_stopped_loop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
