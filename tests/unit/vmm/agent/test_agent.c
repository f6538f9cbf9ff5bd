// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest agent's client (vmm/agent/agent.h) against a fake qemu-ga
 * (fake_qga.c). Most tests run it with no event loop, on a fake clock:
 * the test moves the clock, delivers the agent's replies (in pieces of
 * any size) and calls agent_run() as the loop's timer and wake-ups
 * would. The last ones run it on a real event loop thread and clock: the
 * timer and the wake-ups themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/lib/capture.h"
#include "tests/unit/vmm/agent/fake_qga.h"
#include "vmm/agent/agent.h"
#include "vmm/hw/event_loop.h"

#define INTERVAL_MS (AGENT_DEFAULT_INTERVAL_S * 1000)

struct rig {
	struct fake_qga qga;
	struct guest_agent *agent;
	uint64_t now;
	size_t piece;	    /* replies are delivered in pieces of this many bytes */
	size_t send_limit;  /* the port takes at most this much of a command (0: all) */
	unsigned int sends; /* commands the agent sent */
};

static struct rig rig;

static size_t fake_send(void *opaque, const void *data, size_t len)
{
	struct rig *r = opaque;

	r->sends++;
	if (r->send_limit && len > r->send_limit)
		len = r->send_limit;
	fake_qga_input(&r->qga, data, len);
	return len;
}

static uint64_t fake_now(void *opaque)
{
	return ((struct rig *)opaque)->now;
}

static int setup(void **state)
{
	struct agent_transport t = { .opaque = &rig, .send = fake_send, .now_ms = fake_now };

	(void)state;
	memset(&rig, 0, sizeof(rig));
	fake_qga_init(&rig.qga);
	rig.now = 1000000;
	rig.piece = SIZE_MAX;
	rig.agent = agent_create(NULL, &t, 0);
	return rig.agent ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	agent_destroy(rig.agent);
	fake_qga_release(&rig.qga);
	return 0;
}

/* Hand the agent what the fake agent wrote, then let it act, until both are quiet. */
static void pump(void)
{
	for (int round = 0; round < 1000; round++) {
		struct strbuf *out = &rig.qga.out;
		unsigned int sends = rig.sends;
		size_t len = strbuf_len(out);

		for (size_t off = 0; off < len; off += rig.piece)
			agent_received(rig.agent, (const uint8_t *)out->data + off,
				       len - off < rig.piece ? len - off : rig.piece);
		strbuf_reset(out);
		agent_run(rig.agent);
		if (!len && rig.sends == sends)
			return;
	}
	fail_msg("the agent and its fake never went quiet");
}

static struct agent_cma figures(void)
{
	struct agent_cma f;

	agent_figures(rig.agent, &f);
	return f;
}

static void advance(uint64_t ms)
{
	rig.now += ms;
	pump();
}

static void open_port(void)
{
	agent_port_opened(rig.agent, true);
	pump();
}

/* ---- readings ---- */

static void test_nothing_without_port(void **state)
{
	struct agent_cma f;

	(void)state;
	advance(3 * INTERVAL_MS);
	assert_int_equal(rig.sends, 0);
	f = figures();
	assert_false(f.agent);
	assert_string_equal(f.state, "waiting");
	assert_int_equal(f.interval_s, AGENT_DEFAULT_INTERVAL_S);
	assert_int_equal(f.readings, 0);
}

/* A 16 KiB-page guest: vmstat's page counts are four times the bytes of 4 KiB ones. */
static void test_vmstat_in_guest_pages(void **state)
{
	(void)state;
	agent_set_page_size(rig.agent, 16384);
	open_port();
	assert_int_equal(figures().nr_free_cma_bytes, 16288ull * 16384);
	assert_int_equal(figures().cma_free_bytes, 65152ull * 1024); /* meminfo: kB anyway */
}

/* The port opens: a cycle at once, its commands in order, the figures of both files. */
static void test_first_reading(void **state)
{
	static const char *const order[] = {
		"guest-sync-delimited 0", "guest-file-open 0", "guest-file-read 1000",
		"guest-file-close 1000",  "guest-file-open 0", "guest-file-read 1001",
		"guest-file-close 1001",
	};
	struct agent_cma f;

	(void)state;
	open_port();
	assert_int_equal(rig.qga.nr_asked, 7);
	for (unsigned int i = 0; i < 7; i++)
		assert_string_equal(rig.qga.asked[i], order[i]);
	assert_int_equal(rig.qga.flushes, 1); /* the sync went behind a 0xFF */
	f = figures();
	assert_true(f.agent);
	assert_string_equal(f.state, "answering");
	assert_int_equal(f.readings, 1);
	assert_int_equal(f.agent_errors, 0);
	assert_int_equal(f.cma_total_bytes, 65536ull * 1024);
	assert_int_equal(f.cma_free_bytes, 65152ull * 1024);
	assert_int_equal(f.nr_free_cma_bytes, 16288ull * 4096);
	assert_int_equal(f.alloc_success, 3);
	assert_int_equal(f.alloc_fail, 0);
	assert_int_equal(f.peak_used_bytes, 384 * 1024);
	assert_int_equal(f.updated.tv_sec, rig.now / 1000);
}

/* Replies in pieces of every size from one byte make the same reading. */
static void test_replies_in_pieces(void **state)
{
	(void)state;
	for (size_t piece = 1; piece <= 64; piece = piece * 2 + 1) {
		rig.piece = piece;
		advance(INTERVAL_MS);
		if (!rig.qga.nr_asked)
			open_port();
	}
	assert_int_equal(figures().readings, 6);
	assert_int_equal(figures().agent_errors, 0);
	assert_int_equal(figures().cma_free_bytes, 65152ull * 1024);
}

/* Small reads: a file read over several guest-file-read calls. */
static void test_several_reads(void **state)
{
	(void)state;
	rig.qga.read_max = 100;
	open_port();
	assert_int_equal(fake_qga_count(&rig.qga, "guest-file-read 1000"),
			 strlen(fake_meminfo) / 100 + 1);
	assert_int_equal(figures().cma_total_bytes, 65536ull * 1024);
	assert_int_equal(figures().alloc_success, 3);
}

/* Every interval, not before; the peak keeps the largest use. */
static void test_interval_and_peak(void **state)
{
	(void)state;
	rig.qga.meminfo = "CmaTotal: 1000 kB\nCmaFree: 200 kB\n";
	open_port();
	rig.qga.meminfo = "CmaTotal: 1000 kB\nCmaFree: 900 kB\n";
	advance(INTERVAL_MS - 1);
	assert_int_equal(figures().readings, 1);
	advance(1);
	assert_int_equal(figures().readings, 2);
	assert_int_equal(figures().cma_free_bytes, 900 * 1024);
	assert_int_equal(figures().peak_used_bytes, 800 * 1024);
}

/* ---- an agent that does not answer ---- */

static void test_silent_agent(void **state)
{
	struct capture cap;
	char *log;

	(void)state;
	rig.qga.silent = true;
	capture_start(&cap, stderr);
	open_port();
	assert_int_equal(rig.qga.nr_asked, 1); /* a sync, and nothing more until it is answered */
	assert_string_equal(figures().state, "waiting");
	advance(AGENT_REPLY_TIMEOUT_MS - 1);
	assert_string_equal(figures().state, "waiting");
	advance(1);
	assert_string_equal(figures().state, "silent");
	assert_int_equal(figures().agent_errors, 1);
	/* asked again at the next interval, counted from the cycle's start */
	for (unsigned int cycle = 2; cycle <= 3; cycle++) {
		advance(INTERVAL_MS - AGENT_REPLY_TIMEOUT_MS - 1);
		assert_int_equal(rig.qga.nr_asked, cycle - 1);
		advance(1);
		assert_int_equal(rig.qga.nr_asked, cycle);
		advance(AGENT_REPLY_TIMEOUT_MS);
		assert_int_equal(figures().agent_errors, cycle);
	}
	log = captured(&cap, stderr);
	/* one line, however long it stays silent */
	assert_non_null(strstr(log, "no answer to guest-sync-delimited within 3000 ms"));
	assert_null(strstr(strstr(log, "no answer") + 1, "no answer"));
	free(log);

	rig.qga.silent = false;
	advance(INTERVAL_MS);
	assert_string_equal(figures().state, "answering");
	assert_int_equal(figures().readings, 1);
}

/* A reply that comes after its command was given up is dropped, not taken for the next. */
static void test_late_reply_dropped(void **state)
{
	struct strbuf late = STRBUF_INIT(SIZE_MAX);

	(void)state;
	open_port();
	rig.qga.silent = true;
	advance(INTERVAL_MS); /* a sync, unanswered */
	advance(AGENT_REPLY_TIMEOUT_MS);
	assert_string_equal(figures().state, "silent");
	strbuf_addf(&late, "\xff{\"return\": 5, \"id\": 5}\n{\"return\": 1000}\n");
	agent_received(rig.agent, (const uint8_t *)late.data, late.len);
	assert_int_equal(figures().agent_errors, 1);
	rig.qga.silent = false;
	advance(INTERVAL_MS);
	assert_int_equal(figures().readings, 2);
	strbuf_release(&late);
}

/* The command asked after the last sync. */
static const char *after_last_sync(void)
{
	for (unsigned int i = rig.qga.nr_asked; i-- > 1;)
		if (!strncmp(rig.qga.asked[i - 1], "guest-sync-delimited", 20))
			return rig.qga.asked[i];
	return "";
}

/* Cut short after an open: the next cycle closes that handle after its sync. */
static void test_stale_handle_closed(void **state)
{
	(void)state;
	open_port(); /* handles 1000 and 1001 */
	rig.qga.read_max = 100;
	rig.qga.answer_limit = rig.qga.nr_asked + 3; /* the sync, the open, one read */
	advance(INTERVAL_MS);
	assert_string_equal(fake_qga_last(&rig.qga), "guest-file-read 1002");
	advance(AGENT_REPLY_TIMEOUT_MS);
	assert_string_equal(figures().state, "silent");
	rig.qga.answer_limit = 0;
	advance(INTERVAL_MS - AGENT_REPLY_TIMEOUT_MS);
	assert_string_equal(after_last_sync(), "guest-file-close 1002");
	assert_string_equal(figures().state, "answering");
	assert_int_equal(figures().readings, 2);
	assert_int_equal(figures().agent_errors, 1);
}

/* ---- garbage, errors ---- */

static void test_garbled_then_resync(void **state)
{
	struct capture cap;
	char *log;

	(void)state;
	open_port();
	capture_start(&cap, stderr);
	rig.qga.silent = true;
	advance(INTERVAL_MS); /* the sync, left unanswered for now */
	strbuf_addf(&rig.qga.out, "\xff{\"return\": %s}\n", "nonsense");
	pump();
	assert_string_equal(figures().state, "garbled");
	assert_int_equal(figures().agent_errors, 1);
	rig.qga.silent = false;
	advance(INTERVAL_MS);
	assert_string_equal(figures().state, "answering");
	assert_int_equal(figures().readings, 2);
	log = captured(&cap, stderr);
	assert_non_null(strstr(log, "it sent bytes that are not JSON"));
	assert_non_null(strstr(log, "answering again"));
	free(log);
}

/* Garbage from the agent between commands. */
static void test_unasked_bytes(void **state)
{
	(void)state;
	open_port();
	strbuf_addf(&rig.qga.out, "{\"return\": 1}\n");
	pump();
	assert_string_equal(figures().state, "garbled");
	assert_int_equal(figures().agent_errors, 1);
	advance(INTERVAL_MS);
	assert_string_equal(figures().state, "answering");
}

static void test_refusing_agent(void **state)
{
	struct capture cap;
	char *log;

	(void)state;
	rig.qga.refuse = "guest-file-open";
	capture_start(&cap, stderr);
	open_port();
	advance(INTERVAL_MS);
	log = captured(&cap, stderr);
	assert_string_equal(figures().state, "refusing");
	assert_false(figures().agent);
	assert_int_equal(figures().agent_errors, 2);
	assert_int_equal(fake_qga_count(&rig.qga, "guest-file-read"), 0);
	assert_non_null(strstr(log, "it refused guest-file-open: GenericError: The command has "
				    "been disabled for this instance"));
	assert_null(strstr(strstr(log, "it refused") + 1, "it refused"));
	free(log);
}

/* A file that does not exist: the cycle ends without a reading. */
static void test_missing_file(void **state)
{
	(void)state;
	rig.qga.vmstat = NULL;
	open_port();
	assert_string_equal(figures().state, "refusing");
	assert_int_equal(figures().readings, 0);
	assert_int_equal(fake_qga_count(&rig.qga, "guest-file-close 1000"), 1);
}

/* A close that fails loses nothing read. */
static void test_close_error_keeps_reading(void **state)
{
	(void)state;
	rig.qga.refuse = "guest-file-close";
	open_port();
	assert_int_equal(figures().readings, 1);
	assert_int_equal(figures().agent_errors, 2);
	assert_string_equal(figures().state, "answering");
}

/* A /proc file longer than the client takes is refused, not cut into wrong numbers. */
static void test_file_too_long(void **state)
{
	char *big = malloc(AGENT_FILE_MAX + 2);

	(void)state;
	memset(big, 'x', AGENT_FILE_MAX + 1);
	big[AGENT_FILE_MAX + 1] = '\0';
	rig.qga.meminfo = big;
	open_port();
	assert_string_equal(figures().state, "garbled");
	assert_int_equal(figures().readings, 0);
	free(big);
}

/* An older agent that drops ids still gives readings. */
static void test_agent_without_ids(void **state)
{
	(void)state;
	rig.qga.no_ids = true;
	open_port();
	assert_int_equal(figures().readings, 1);
	assert_int_equal(figures().agent_errors, 0);
}

/* ---- the port ---- */

static void test_port_closed_mid_cycle(void **state)
{
	(void)state;
	open_port();
	rig.qga.silent = true;
	advance(INTERVAL_MS);
	agent_port_opened(rig.agent, false);
	assert_string_equal(figures().state, "silent");
	advance(5 * INTERVAL_MS);
	assert_int_equal(rig.qga.nr_asked, 8); /* nothing sent while closed */
	rig.qga.silent = false;
	open_port(); /* at once, and no stale handle to close: the agent's went with it */
	assert_int_equal(figures().readings, 2);
	assert_int_equal(fake_qga_count(&rig.qga, "guest-file-close"), 4);
}

/*
 * Opened again with no close in between (the glue drops a close made on
 * a vCPU thread): a new cycle at once, and the old handle is not closed.
 */
static void test_port_reopened(void **state)
{
	(void)state;
	open_port();
	rig.qga.answer_limit = rig.qga.nr_asked + 2; /* the sync and the open (1002) */
	advance(INTERVAL_MS);
	assert_string_equal(fake_qga_last(&rig.qga), "guest-file-read 1002");
	rig.qga.answer_limit = 0;
	advance(1);
	open_port();
	assert_string_equal(after_last_sync(), "guest-file-open 0");
	assert_int_equal(fake_qga_count(&rig.qga, "guest-file-close 1002"), 0);
	assert_int_equal(figures().readings, 2);
	assert_int_equal(figures().agent_errors, 0);
	assert_string_equal(figures().state, "answering");
}

/* A port that takes half a command: given up as unanswered, tried again. */
static void test_short_send(void **state)
{
	(void)state;
	rig.send_limit = 10;
	open_port();
	advance(AGENT_REPLY_TIMEOUT_MS);
	assert_string_equal(figures().state, "silent");
	rig.send_limit = 0;
	advance(INTERVAL_MS);
	assert_int_equal(figures().readings, 1);
}

static void test_interval_given(void **state)
{
	struct agent_transport t = { .opaque = &rig, .send = fake_send, .now_ms = fake_now };
	struct guest_agent *a = agent_create(NULL, &t, 1);
	struct agent_cma f;

	(void)state;
	agent_figures(a, &f);
	assert_int_equal(f.interval_s, 1);
	agent_destroy(a);
}

/* ---- on a real event loop ---- */

static struct ev_loop loop;

struct live {
	struct fake_qga qga;
	struct guest_agent *agent;
	struct agent_cma f;
};

static size_t live_send(void *opaque, const void *data, size_t len)
{
	fake_qga_input(&((struct live *)opaque)->qga, data, len);
	return len;
}

/* On the loop thread: the fake's replies to the agent, and the figures back. */
static void live_deliver(void *arg)
{
	struct live *l = arg;
	struct strbuf *out = &l->qga.out;

	if (strbuf_len(out))
		agent_received(l->agent, (const uint8_t *)out->data, out->len);
	strbuf_reset(out);
	agent_figures(l->agent, &l->f);
}

static void live_open(void *arg)
{
	agent_port_opened(((struct live *)arg)->agent, true);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Deliver replies every 5 ms until @readings readings, or @ms pass; returns the ms waited. */
static uint64_t live_wait(struct live *l, uint64_t readings, uint64_t ms)
{
	uint64_t start = mono_ms();

	do {
		assert_int_equal(ev_loop_call(&loop, live_deliver, l), 0);
		if (l->f.readings >= readings)
			break;
		usleep(5000);
	} while (mono_ms() - start < ms);
	return mono_ms() - start;
}

/* The port opens: a reading at once (the wake-ups), the next a second later (the timer). */
static void test_live_readings(void **state)
{
	struct agent_transport t = { .send = live_send };
	struct live l = { 0 };

	(void)state;
	assert_int_equal(ev_loop_init(&loop, 16), 0);
	fake_qga_init(&l.qga);
	t.opaque = &l;
	l.agent = agent_create(&loop, &t, 1);
	assert_int_equal(ev_loop_start(&loop), 0);
	assert_int_equal(ev_loop_call(&loop, live_open, &l), 0);
	assert_true(live_wait(&l, 1, 2000) < 500);
	assert_int_equal(l.f.readings, 1);
	assert_true(live_wait(&l, 2, 3000) >= 700);
	assert_int_equal(l.f.readings, 2);
	assert_string_equal(l.f.state, "answering");
	ev_loop_stop(&loop);
	agent_destroy(l.agent);
	ev_loop_destroy(&loop);
	fake_qga_release(&l.qga);
}

/* A silent agent: the timer gives the command up (timeout capped at the 1 s interval). */
static void test_live_timeout(void **state)
{
	struct agent_transport t = { .send = live_send };
	struct live l = { 0 };
	uint64_t start;

	(void)state;
	assert_int_equal(ev_loop_init(&loop, 16), 0);
	fake_qga_init(&l.qga);
	l.qga.silent = true;
	t.opaque = &l;
	l.agent = agent_create(&loop, &t, 1);
	assert_int_equal(ev_loop_start(&loop), 0);
	start = mono_ms();
	assert_int_equal(ev_loop_call(&loop, live_open, &l), 0);
	do {
		usleep(20000);
		assert_int_equal(ev_loop_call(&loop, live_deliver, &l), 0);
	} while (strcmp(l.f.state, "silent") && mono_ms() - start < 3000);
	assert_string_equal(l.f.state, "silent");
	assert_true(mono_ms() - start >= 900);
	ev_loop_stop(&loop);
	agent_destroy(l.agent);
	ev_loop_destroy(&loop);
	fake_qga_release(&l.qga);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nothing_without_port),
		T(test_first_reading),
		T(test_vmstat_in_guest_pages),
		T(test_replies_in_pieces),
		T(test_several_reads),
		T(test_interval_and_peak),
		T(test_silent_agent),
		T(test_late_reply_dropped),
		T(test_stale_handle_closed),
		T(test_garbled_then_resync),
		T(test_unasked_bytes),
		T(test_refusing_agent),
		T(test_missing_file),
		T(test_close_error_keeps_reading),
		T(test_file_too_long),
		T(test_agent_without_ids),
		T(test_port_closed_mid_cycle),
		T(test_port_reopened),
		T(test_short_send),
		cmocka_unit_test(test_interval_given),
		cmocka_unit_test(test_live_readings),
		cmocka_unit_test(test_live_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
