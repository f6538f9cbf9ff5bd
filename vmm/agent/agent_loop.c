// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent client on the event loop: its one timer, and the wake-up
 * that sends the next command after a reply.
 *
 * The timer is set for what is due next: a reply's deadline while a
 * command awaits one, the next cycle's start between cycles. When
 * something earlier becomes due while it waits for a later one (the port
 * opens between cycles), it is cancelled, and its completion, like every
 * other, runs agent_run() and sets it again. With the port closed and no
 * cycle under way nothing is due and the timer is not set: a guest with
 * no agent never wakes the loop.
 */
#include "vmm/agent/internal.h"
#include "vmm/util/log.h"

#include <stddef.h>
#include <time.h>

uint64_t agent_now_ms(const struct guest_agent *a)
{
	struct timespec ts;

	if (a->t.now_ms)
		return a->t.now_ms(a->t.opaque);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void timer_done(struct ev_op *op, int res, unsigned int flags)
{
	struct guest_agent *a = container_of(op, struct guest_agent, timer_op);

	a->timer_armed = false;
	agent_run(a);
}

static void cancel_done(struct ev_op *op, int res, unsigned int flags)
{
	container_of(op, struct guest_agent, cancel_op)->cancelling = false;
}

static void kick_done(struct ev_op *op, int res, unsigned int flags)
{
	struct guest_agent *a = container_of(op, struct guest_agent, kick_op);

	a->kicking = false;
	agent_run(a);
}

static struct io_uring_sqe *agent_sqe(struct guest_agent *a, struct ev_op *op, ev_done_fn done)
{
	struct io_uring_sqe *sqe = ev_sqe(a->loop, op);

	if (!sqe)
		pr_err("guest agent: the event loop is broken; the guest's CMA figures stop here");
	else
		op->done = done;
	return sqe;
}

static void cancel_timer(struct guest_agent *a)
{
	struct io_uring_sqe *sqe;

	if (a->cancelling)
		return;
	sqe = agent_sqe(a, &a->cancel_op, cancel_done);
	if (!sqe)
		return;
	io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&a->timer_op, 0);
	a->cancelling = true;
}

void agent_arm_timer(struct guest_agent *a, uint64_t now)
{
	struct io_uring_sqe *sqe;
	uint64_t ms;

	if (!a->loop || (!a->port_open && a->step == STEP_IDLE))
		return;
	if (a->timer_armed) {
		if (a->timer_due_ms > a->deadline_ms)
			cancel_timer(a);
		return;
	}
	sqe = agent_sqe(a, &a->timer_op, timer_done);
	if (!sqe)
		return;
	ms = a->deadline_ms > now ? a->deadline_ms - now : 0;
	a->timer_ts.tv_sec = (long long)(ms / 1000);
	a->timer_ts.tv_nsec = (long long)(ms % 1000) * 1000000;
	io_uring_prep_timeout(sqe, &a->timer_ts, 0, 0);
	a->timer_due_ms = now + ms;
	a->timer_armed = true;
}

void agent_kick(struct guest_agent *a)
{
	struct io_uring_sqe *sqe;

	if (!a->loop || a->kicking)
		return;
	sqe = agent_sqe(a, &a->kick_op, kick_done);
	if (!sqe)
		return;
	io_uring_prep_nop(sqe);
	a->kicking = true;
}
