// SPDX-License-Identifier: GPL-2.0-only
/* The event loop on the fuzzing thread: see inline_loop.h. */
#include "tests/fuzz/inline_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SETTLE_MS 5000

void inline_loop_init(struct ev_loop *loop)
{
	if (ev_loop_init(loop, 256)) {
		fprintf(stderr, "fuzz: no io_uring; the targets that need the event loop cannot "
				"run here\n");
		abort();
	}
	loop->running = true;
	loop->thread = pthread_self();
}

unsigned int inline_loop_run_ready(struct ev_loop *loop)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	io_uring_submit(&loop->ring);
	while (io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
		ev_loop_dispatch(loop, cqe);
		n++;
	}
	return n;
}

unsigned int inline_loop_run_wait(struct ev_loop *loop, unsigned int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;

	io_uring_submit(&loop->ring);
	if (io_uring_wait_cqe_timeout(&loop->ring, &cqe, &ts))
		return 0;
	return inline_loop_run_ready(loop);
}

static void cancelled(struct ev_op *op, int res, unsigned int flags)
{
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void inline_loop_settle(struct ev_loop *loop, unsigned int idle)
{
	static struct ev_op cancel_op = { .done = cancelled };
	struct io_uring_sqe *sqe;
	uint64_t deadline = now_ms() + SETTLE_MS;

	inline_loop_run_ready(loop);
	if (loop->inflight <= idle)
		return;
	sqe = ev_sqe(loop, &cancel_op);
	if (!sqe)
		abort();
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	while (loop->inflight > idle) {
		if (now_ms() > deadline) {
			fprintf(stderr, "fuzz: %u operations still in flight after %d ms\n",
				loop->inflight - idle, SETTLE_MS);
			abort();
		}
		inline_loop_run_wait(loop, 10);
	}
}
