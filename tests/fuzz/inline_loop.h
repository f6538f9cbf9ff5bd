/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the fuzz targets in tests/fuzz/: the event loop
 * (vmm/hw/event_loop.h) run on the fuzzing thread itself.
 *
 * One ring per process, made once and reused by every input: a ring per
 * input would cost a few milliseconds each and, torn down while requests
 * still ran, would leave them to complete into freed memory. With no loop
 * thread, what runs is decided by the input alone: the target calls the
 * device or server (which takes SQEs, as on the loop thread), then runs
 * the completions itself. ev_on_loop_thread() is true on this thread, so
 * ev_loop_call() runs its function at once, as on the loop thread.
 */
#ifndef TESTS_FUZZ_INLINE_LOOP_H
#define TESTS_FUZZ_INLINE_LOOP_H

#include "vmm/hw/event_loop.h"

/* What ev_loop_init() leaves in flight: its wake-up poll. */
#define INLINE_LOOP_IDLE 1

/* ev_loop_init() and this thread as the loop thread; aborts if io_uring cannot be had. */
void inline_loop_init(struct ev_loop *loop);
/* Submit what is queued and run the completions that are ready; returns how many ran. */
unsigned int inline_loop_run_ready(struct ev_loop *loop);
/* The same, first waiting up to @ms milliseconds for one. */
unsigned int inline_loop_run_wait(struct ev_loop *loop, unsigned int ms);
/*
 * Cancel everything in flight (the loop's own poll is armed again) and run
 * completions until only @idle operations are left. Aborts after 5 s: an
 * operation that neither completes nor cancels is a bug worth a crash file.
 */
void inline_loop_settle(struct ev_loop *loop, unsigned int idle);

#endif
