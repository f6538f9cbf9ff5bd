// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/event_loop.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ev_call {
	void (*fn)(void *arg);
	void *arg;
	bool done;
	pthread_cond_t cond;
	struct ev_call *next;
};

bool ev_on_loop_thread(const struct ev_loop *loop)
{
	return loop->running && pthread_equal(pthread_self(), loop->thread);
}

struct io_uring_sqe *ev_sqe(struct ev_loop *loop, struct ev_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	if (!sqe) {
		int ret = io_uring_submit(&loop->ring);

		if (ret < 0) {
			errno = -ret;
			pr_errno("io_uring_submit");
			return NULL;
		}
		sqe = io_uring_get_sqe(&loop->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, op);
	loop->inflight++;
	return sqe;
}

int ev_poll_once(struct ev_loop *loop, struct ev_op *op, int fd, unsigned int mask)
{
	struct io_uring_sqe *sqe = ev_sqe(loop, op);

	if (!sqe)
		return -1;
	io_uring_prep_poll_add(sqe, fd, mask);
	return 0;
}

static void run_calls(struct ev_loop *loop)
{
	struct ev_call *call;

	pthread_mutex_lock(&loop->lock);
	while ((call = loop->calls)) {
		loop->calls = call->next;
		pthread_mutex_unlock(&loop->lock);
		call->fn(call->arg);
		pthread_mutex_lock(&loop->lock);
		call->done = true;
		pthread_cond_signal(&call->cond);
	}
	pthread_mutex_unlock(&loop->lock);
}

/* Asked to park: wait, running nothing, until unparked. */
static void park_if_wanted(struct ev_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	if (loop->park_wanted) {
		loop->parked = true;
		pthread_cond_broadcast(&loop->park_cond);
		while (loop->park_wanted)
			pthread_cond_wait(&loop->park_cond, &loop->lock);
		loop->parked = false;
	}
	pthread_mutex_unlock(&loop->lock);
}

static void wake_done(struct ev_op *op, int res, unsigned int flags)
{
	struct ev_loop *loop = (struct ev_loop *)((char *)op - offsetof(struct ev_loop, wake_op));
	uint64_t v;

	(void)res;
	(void)flags;
	if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_errno("reading the event loop's wake-up eventfd");
	run_calls(loop);
	park_if_wanted(loop);
	if (!loop->stopping)
		ev_poll_once(loop, &loop->wake_op, loop->wake_fd, POLLIN);
}

void ev_loop_dispatch(struct ev_loop *loop, struct io_uring_cqe *cqe)
{
	struct ev_op *op = io_uring_cqe_get_data(cqe);
	int res = cqe->res;
	unsigned int flags = cqe->flags;

	/* A multishot request stays in flight while IORING_CQE_F_MORE is set. */
	if (!(flags & IORING_CQE_F_MORE))
		loop->inflight--;
	io_uring_cqe_seen(&loop->ring, cqe);
	if (op && op->done)
		op->done(op, res, flags);
}

static void *loop_thread(void *arg)
{
	struct ev_loop *loop = arg;
	struct io_uring_cqe *cqe;

	while (!loop->stopping) {
		int ret = io_uring_submit_and_wait(&loop->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			errno = -ret;
			pr_errno("io_uring_submit_and_wait");
			break;
		}
		while (!loop->stopping && io_uring_peek_cqe(&loop->ring, &cqe) == 0)
			ev_loop_dispatch(loop, cqe);
	}
	/* Nobody will run calls queued from now on: make them fail, then run the rest. */
	pthread_mutex_lock(&loop->lock);
	loop->dead = true;
	pthread_cond_broadcast(&loop->park_cond);
	pthread_mutex_unlock(&loop->lock);
	run_calls(loop);
	return NULL;
}

int ev_loop_init(struct ev_loop *loop, unsigned int entries)
{
	int ret;

	memset(loop, 0, sizeof(*loop));
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->park_cond, NULL);
	ret = io_uring_queue_init(entries, &loop->ring, 0);
	if (ret < 0) {
		errno = -ret;
		pr_errno("io_uring_queue_init (is io_uring enabled? see "
			 "/proc/sys/kernel/io_uring_disabled)");
		return -1;
	}
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		pr_errno("eventfd");
		io_uring_queue_exit(&loop->ring);
		return -1;
	}
	loop->wake_op.done = wake_done;
	return ev_poll_once(loop, &loop->wake_op, loop->wake_fd, POLLIN);
}

int ev_loop_start(struct ev_loop *loop)
{
	int err;

	loop->running = true;
	err = sandbox_thread_create(&loop->thread, SANDBOX_LOOP, "loop", loop_thread, loop);
	if (err) {
		loop->running = false;
		errno = err;
		pr_errno("starting the event loop thread");
		return -1;
	}
	return 0;
}

static void wake(struct ev_loop *loop)
{
	uint64_t one = 1;

	if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_errno("waking the event loop");
}

static void set_stopping(void *arg)
{
	((struct ev_loop *)arg)->stopping = true;
}

void ev_loop_stop(struct ev_loop *loop)
{
	if (!loop->running)
		return;
	if (ev_on_loop_thread(loop)) {
		loop->stopping = true;
		return;
	}
	ev_loop_call(loop, set_stopping, loop); /* fails harmlessly if the thread has ended */
	pthread_join(loop->thread, NULL);
	loop->running = false;
}

int ev_loop_call(struct ev_loop *loop, void (*fn)(void *arg), void *arg)
{
	struct ev_call call = { .fn = fn, .arg = arg };

	if (ev_on_loop_thread(loop)) {
		fn(arg);
		return 0;
	}
	if (!loop->running)
		return -1;
	pthread_cond_init(&call.cond, NULL);
	pthread_mutex_lock(&loop->lock);
	if (loop->dead) {
		pthread_mutex_unlock(&loop->lock);
		pthread_cond_destroy(&call.cond);
		return -1;
	}
	call.next = loop->calls;
	loop->calls = &call;
	wake(loop);
	while (!call.done)
		pthread_cond_wait(&call.cond, &loop->lock);
	pthread_mutex_unlock(&loop->lock);
	pthread_cond_destroy(&call.cond);
	return 0;
}

void ev_loop_destroy(struct ev_loop *loop)
{
	ev_loop_stop(loop);
	io_uring_queue_exit(&loop->ring);
	close(loop->wake_fd);
	pthread_cond_destroy(&loop->park_cond);
	pthread_mutex_destroy(&loop->lock);
}

int ev_loop_park(struct ev_loop *loop)
{
	int ret = 0;

	if (!loop->running || ev_on_loop_thread(loop))
		return -1;
	pthread_mutex_lock(&loop->lock);
	loop->park_wanted = true;
	wake(loop);
	while (!loop->parked && !loop->dead)
		pthread_cond_wait(&loop->park_cond, &loop->lock);
	if (!loop->parked) {
		loop->park_wanted = false;
		ret = -1;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

void ev_loop_unpark(struct ev_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->park_wanted = false;
	pthread_cond_broadcast(&loop->park_cond);
	pthread_mutex_unlock(&loop->lock);
}
