/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/agent: the client's state, shared by the cycle
 * (agent.c) and its timer and wake-ups on the event loop (agent_loop.c).
 */
#ifndef VMM_AGENT_INTERNAL_H
#define VMM_AGENT_INTERNAL_H

#include "vmm/agent/agent.h"
#include "vmm/agent/cma_figures.h"
#include "vmm/agent/qga.h"
#include "vmm/hw/event_loop.h"
#include "vmm/util/strbuf.h"

/* Where a cycle is: each step is one command and its reply. */
enum agent_step {
	STEP_IDLE, /* between cycles */
	STEP_SYNC,
	STEP_CLOSE_STALE, /* a handle an earlier cycle left open */
	STEP_OPEN,
	STEP_READ,
	STEP_CLOSE,
};

struct guest_agent {
	struct ev_loop *loop;
	struct agent_transport t;
	unsigned int interval_s;
	unsigned int page_size; /* the guest's: vmstat counts pages */
	unsigned int timeout_ms;
	struct qga_parser parser;
	struct strbuf cmd;  /* the command being sent */
	struct strbuf text; /* the file being read */

	bool port_open;
	enum agent_step step;
	bool awaiting;	   /* the step's command is sent; its reply has not come */
	unsigned int file; /* which of the cycle's files */
	int64_t handle, stale_handle;
	bool handle_open, stale_open;
	uint64_t next_id;
	uint64_t deadline_ms; /* the reply's when awaiting, else the next cycle's start */
	uint64_t cycle_start_ms;
	struct cma_figures cycle; /* what this cycle has read so far */

	const char *state;
	struct cma_figures last; /* the last reading */
	uint64_t peak_used, readings, errors, updated_ms;

	/* the event loop: one timer (its expiry in @timer_due_ms), its cancel, one wake-up */
	struct ev_op timer_op, cancel_op, kick_op;
	struct __kernel_timespec timer_ts;
	uint64_t timer_due_ms;
	bool timer_armed, cancelling, kicking;
};

uint64_t agent_now_ms(const struct guest_agent *a);
/* After agent_run(): the timer set for what is due next (agent_loop.c). */
void agent_arm_timer(struct guest_agent *a, uint64_t now);
/* Run agent_run() on the loop soon, outside the callback under way. */
void agent_kick(struct guest_agent *a);

#endif
