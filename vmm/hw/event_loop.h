/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop: one io_uring and the one thread that waits on it.
 *
 * Owns: the ring, the device-worker thread, and the dispatch of every
 * completion to the operation that asked for it. Device work (queue
 * notifications, block I/O) and the control socket all run here, one
 * callback at a time, so their state needs no lock against each other.
 * SQEs may only be taken on the loop thread; other threads reach the loop
 * through ev_loop_call().
 */
#ifndef VMM_HW_EVENT_LOOP_H
#define VMM_HW_EVENT_LOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdbool.h>

struct ev_op;
typedef void (*ev_done_fn)(struct ev_op *op, int res, unsigned int cqe_flags);

/* One outstanding submission: embed it, set @done, pass it to ev_sqe(). */
struct ev_op {
	ev_done_fn done;
};

/* The struct an ev_op (or anything else) is embedded in, from a pointer to it. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct ev_call;

struct ev_loop {
	struct io_uring ring;
	pthread_t thread;
	pthread_mutex_t lock;
	struct ev_call *calls; /* pending ev_loop_call()s, under @lock */
	int wake_fd;	       /* eventfd: calls pending or stop */
	struct ev_op wake_op;
	bool stopping;
	bool running;
	bool dead;		  /* the thread has ended (under @lock): calls fail */
	bool park_wanted, parked; /* ev_loop_park(), under @lock */
	pthread_cond_t park_cond;
	unsigned int inflight;
};

int ev_loop_init(struct ev_loop *loop, unsigned int entries);
void ev_loop_destroy(struct ev_loop *loop);
int ev_loop_start(struct ev_loop *loop);
/* Stop the thread after the callback under way; waits for it to end. */
void ev_loop_stop(struct ev_loop *loop);

/*
 * An SQE whose completion calls @op->done on the loop thread. Loop thread
 * only. Flushes the submission queue when it is full; NULL if the ring is
 * broken (the error is printed).
 */
struct io_uring_sqe *ev_sqe(struct ev_loop *loop, struct ev_op *op);

/* Watch @fd for @mask (POLLIN...) once; @op->done gets the revents. */
int ev_poll_once(struct ev_loop *loop, struct ev_op *op, int fd, unsigned int mask);

/*
 * Run @fn(@arg) on the loop thread and wait for it to return, from any
 * other thread; on the loop thread itself it runs at once. Returns 0, or
 * -1 if the loop is not running.
 */
int ev_loop_call(struct ev_loop *loop, void (*fn)(void *arg), void *arg);

bool ev_on_loop_thread(const struct ev_loop *loop);

/*
 * Stop the loop thread between two callbacks, from another thread: once
 * this returns 0 it runs nothing (completions wait in the ring) until
 * ev_loop_unpark(). For moments when no device may touch guest memory.
 * -1: the loop is not running (nothing runs on it either).
 */
int ev_loop_park(struct ev_loop *loop);
void ev_loop_unpark(struct ev_loop *loop);

/*
 * One completion of @loop's ring to its operation's done(), as the loop
 * thread does; for code that runs the ring itself (the fuzz targets).
 */
struct io_uring_cqe;
void ev_loop_dispatch(struct ev_loop *loop, struct io_uring_cqe *cqe);

#endif
