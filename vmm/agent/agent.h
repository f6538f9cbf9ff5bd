/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The client of the QEMU guest agent in the guest, on the event loop:
 * the guest's own CMA figures, read every few seconds.
 *
 * Owns: the reading cycle and the agent's state. Every interval_s seconds
 * (while the guest holds the port open) it sends a guest-sync-delimited,
 * then opens, reads and closes /proc/meminfo and /proc/vmstat, and keeps
 * the figures they give, the peak of CmaTotal - CmaFree, and how it went:
 *   "waiting"    no reading yet (no agent on the port, or it has not answered)
 *   "answering"  the last cycle gave a reading
 *   "silent"     a command went unanswered for AGENT_REPLY_TIMEOUT_MS
 *   "garbled"    a reply was not JSON, too long, or not the one awaited
 *   "refusing"   the agent answered a command with an error (its policy
 *                may block guest-file-*)
 * Each kind of trouble is logged once, when the state turns to it; the
 * next cycle starts with a sync, which also resynchronises the stream.
 * A handle left open by a cycle cut short is closed by the next one.
 *
 * Nothing here blocks or opens a file: it runs on the loop thread inside
 * its sandbox. Its timer and its wake-ups are io_uring operations; the
 * clock is CLOCK_MONOTONIC unless the transport gives one (tests).
 */
#ifndef VMM_AGENT_AGENT_H
#define VMM_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ev_loop;

#define AGENT_DEFAULT_INTERVAL_S 5
#define AGENT_DEFAULT_PAGE_SIZE	 4096  /* until agent_set_page_size() */
#define AGENT_REPLY_TIMEOUT_MS	 3000  /* or the interval, if shorter */
#define AGENT_READ_COUNT	 16384 /* bytes per guest-file-read: a reply well under 64 KiB */
#define AGENT_FILE_MAX		 65536 /* a /proc file longer than this is not read further */

struct agent_transport {
	void *opaque;
	/*
	 * Send @len bytes to the guest's agent; returns the bytes the port
	 * took (fewer: the port is closed or full; the command is then given
	 * up as unanswered). Called on the loop thread, never from inside
	 * agent_received() or agent_port_opened(): the glue takes the console
	 * device's lock around console_port_send().
	 */
	size_t (*send)(void *opaque, const void *data, size_t len);
	/* CLOCK_MONOTONIC in milliseconds; NULL: the real clock. */
	uint64_t (*now_ms)(void *opaque);
};

/* What struct ctl_guest_cma (vmm/control/api.h) shows of the agent. */
struct agent_cma {
	bool agent;	   /* an agent has answered: the figures are real */
	const char *state; /* see above; a string that lives as long as the program */
	unsigned int interval_s;
	struct timespec updated; /* CLOCK_MONOTONIC of the last reading; 0: none */
	uint64_t cma_total_bytes;
	uint64_t cma_free_bytes;
	uint64_t nr_free_cma_bytes;
	uint64_t alloc_success;
	uint64_t alloc_fail;
	uint64_t peak_used_bytes; /* the largest CmaTotal - CmaFree of any reading */
	uint64_t readings;
	uint64_t agent_errors; /* commands unanswered, replies refused or answered with an error */
};

/*
 * An agent client sending through @t (copied) every @interval_s seconds
 * (0: AGENT_DEFAULT_INTERVAL_S). Call before the loop thread starts, or
 * on it, from a thread that may still open files: it seeds jansson's hash
 * function, which reads /dev/urandom once. @loop NULL: no timer and no
 * wake-ups; the caller runs agent_run() itself (tests). NULL on ENOMEM.
 */
struct guest_agent *agent_create(struct ev_loop *loop, const struct agent_transport *t,
				 unsigned int interval_s);
/* After the loop has stopped (ev_loop_stop()), or with no loop. */
void agent_destroy(struct guest_agent *a);
/*
 * The guest's page size in bytes, which /proc/vmstat counts in (4 KiB
 * until told: a 16 KiB-page guest's nr_free_cma is four times fewer pages).
 */
void agent_set_page_size(struct guest_agent *a, unsigned int page_size);

/*
 * The console port's callbacks, on the loop thread (with the device lock
 * held, which is why they never send: a wake-up on the loop sends next).
 * The guest opened or closed the port: a cycle starts at once on opening
 * (opening again while open counts as a close first), and one under way
 * stops on closing.
 */
void agent_port_opened(struct guest_agent *a, bool open);
/* Bytes from the guest's agent, as they come. */
void agent_received(struct guest_agent *a, const uint8_t *data, size_t len);

/*
 * Do what is due now: the next command of a cycle, a timeout, the start
 * of a cycle. The agent's timer and wake-ups call it; with no loop the
 * caller does (after agent_received(), agent_port_opened(), or moving its
 * clock on).
 */
void agent_run(struct guest_agent *a);

/* Loop thread. */
void agent_figures(const struct guest_agent *a, struct agent_cma *out);

#endif
