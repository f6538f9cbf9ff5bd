// SPDX-License-Identifier: GPL-2.0-only
/*
 * The console's output (vmm/hw/console_out.h), fed through the 16550 as a
 * guest feeds it, into a pipe: runs, not bytes, per write(); nothing lost
 * to a slow reader; a stuck one costs the guest a bounded wait.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
#include "vmm/hw/console.h"
#include "vmm/hw/console_out.h"
#include "vmm/hw/uart_16550.h"
#include "vmm/util/log.h"

#define THR	 0
#define LSR	 5
#define LSR_THRE 0x20
#define MAX_OUT	 (256 * 1024)

static struct uart_16550 uart;
static int pipe_fds[2];

/* What the reader got: the bytes, and how many write()s they came in. */
static struct {
	uint8_t data[MAX_OUT];
	size_t len;
	size_t reads;
	useconds_t pause_us; /* between reads: a slow reader */
	pthread_t thread;
} got;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *reader(void *arg)
{
	ssize_t n;

	(void)arg;
	while ((n = read(pipe_fds[0], got.data + got.len, 4096)) > 0) {
		got.len += (size_t)n;
		got.reads++;
		if (got.pause_us)
			usleep(got.pause_us);
	}
	return NULL;
}

/*
 * A packet pipe (O_DIRECT): each write() is one read(), so the reader
 * counts writes. @pipe_size: the pipe's capacity, 0 to leave it.
 */
static void start(int flags, int pipe_size)
{
	struct uart_16550_ops ops = { .tx = console_tx };

	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC | flags), 0);
	if (pipe_size)
		assert_true(fcntl(pipe_fds[1], F_SETPIPE_SZ, pipe_size) >= pipe_size);
	memset(&got, 0, sizeof(got));
	uart_16550_init(&uart, &ops);
	assert_int_equal(console_out_start(&uart, pipe_fds[1]), 0);
}

static void start_reader(useconds_t pause_us)
{
	got.pause_us = pause_us;
	assert_int_equal(pthread_create(&got.thread, NULL, reader, NULL), 0);
}

/* Stop the output, close the pipe, wait for the reader to read all of it. */
static void finish(void)
{
	console_out_stop();
	close(pipe_fds[1]);
	pthread_join(got.thread, NULL);
	close(pipe_fds[0]);
	uart_16550_destroy(&uart);
}

static uint8_t lsr(void)
{
	uint8_t v;

	uart_16550_mmio(&uart, LSR, &v, 1, false);
	return v;
}

/*
 * As Linux's 8250 driver: wait for THRE before each byte (@polled), or
 * write on regardless (its console does, after 10 ms). Returns the
 * longest one write to THR took: the time a vCPU spent in cmavm.
 */
static double guest_write(const uint8_t *p, size_t n, bool polled, size_t *busy_seen)
{
	double longest = 0, t;

	for (size_t i = 0; i < n; i++) {
		while (polled && !(lsr() & LSR_THRE)) {
			++*busy_seen;
			usleep(50);
		}
		t = now_ms();
		uart_16550_mmio(&uart, THR, (uint8_t *)&p[i], 1, true);
		t = now_ms() - t;
		longest = t > longest ? t : longest;
	}
	return longest;
}

static uint8_t *text(size_t n, size_t line)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = line && i % line == line - 1 ? '\n' : (uint8_t)('a' + i % 26);
	return p;
}

/*
 * @n bytes of text (a newline every @line bytes; 0: none) through the UART
 * into a packet pipe, the guest waiting on THRE: all arrive, in order.
 * Returns the number of write()s they came in.
 */
static size_t writes_for(size_t n, size_t line)
{
	uint8_t *p = text(n, line);
	size_t busy = 0;

	start(O_DIRECT, 0);
	start_reader(0);
	guest_write(p, n, true, &busy);
	finish();
	assert_int_equal(got.len, n);
	assert_memory_equal(got.data, p, n);
	free(p);
	return got.reads;
}

static void test_a_long_run_goes_out_in_few_writes(void **state)
{
	size_t writes = writes_for(64 * 1024, 0);

	print_message("64 KiB without a newline in %zu writes\n", writes);
	assert_true(writes * 512 <= 64 * 1024);
}

static void test_lines_go_out_a_line_or_more_per_write(void **state)
{
	size_t writes = writes_for(500 * 80, 80);

	print_message("500 lines in %zu writes\n", writes);
	assert_true(writes <= 500);
}

/* A prompt has no newline: it goes out a moment later, not at the next line. */
static void test_a_partial_line_goes_out_after_a_moment(void **state)
{
	struct pollfd pfd;
	uint8_t buf[64];
	size_t busy = 0;

	start(O_DIRECT, 0);
	guest_write((const uint8_t *)"login: ", 7, true, &busy);
	pfd = (struct pollfd){ .fd = pipe_fds[0], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(read(pipe_fds[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "login: ", 7);
	start_reader(0);
	finish();
}

static void *log_hello(void *arg)
{
	(void)arg;
	pr_info("hello");
	return NULL;
}

/*
 * cmavm's message while the guest is half-way through a line (gone out
 * after a pause), into the same pipe as the console: after the line's
 * end, or, if the line never ends, after a bounded wait. @rest: the end
 * of the guest's line, or NULL. Returns what the pipe got, NUL-ended.
 */
static const char *message_mid_line(const char *rest, double *took_ms)
{
	int saved = dup(STDERR_FILENO);
	size_t busy = 0;
	pthread_t t;
	double t0;

	start(O_DIRECT, 0);
	start_reader(0);
	dup2(pipe_fds[1], STDERR_FILENO);
	guest_write((const uint8_t *)"gu", 2, true, &busy);
	usleep(30 * 1000); /* past CONSOLE_OUT_GATHER_MS: "gu" is out */
	t0 = now_ms();
	assert_int_equal(pthread_create(&t, NULL, log_hello, NULL), 0);
	usleep(30 * 1000);
	if (rest)
		guest_write((const uint8_t *)rest, strlen(rest), true, &busy);
	pthread_join(t, NULL);
	*took_ms = now_ms() - t0;
	dup2(saved, STDERR_FILENO);
	close(saved);
	finish();
	got.data[got.len] = 0;
	return (const char *)got.data;
}

static void test_a_message_does_not_cut_the_guests_line(void **state)
{
	double took;

	assert_string_equal(message_mid_line("est: dmesg\n", &took),
			    "guest: dmesg\ncmavm: hello\r\n");
}

static void test_a_line_never_ended_holds_a_message_a_moment(void **state)
{
	double took;

	assert_string_equal(message_mid_line(NULL, &took), "gucmavm: hello\r\n");
	assert_true(took >= CONSOLE_OUT_LINE_WAIT_MS - 5);
	assert_true(took < CONSOLE_OUT_LINE_WAIT_MS + 1000);
}

/* A slow guest typing out a line (nested virtualisation is slow): not a write per byte. */
static void test_a_slowly_written_line_is_not_cut_at_each_byte(void **state)
{
	size_t busy = 0;

	start(O_DIRECT, 0);
	start_reader(0);
	for (int i = 0; i < 20; i++) {
		guest_write((const uint8_t *)"x", 1, true, &busy);
		usleep(1000);
	}
	finish();
	assert_int_equal(got.len, 20);
	print_message("20 bytes a millisecond apart in %zu writes\n", got.reads);
	assert_true(got.reads <= 3);
}

static void test_the_stop_writes_what_is_left(void **state)
{
	size_t busy = 0;

	start(O_DIRECT, 0);
	start_reader(0);
	guest_write((const uint8_t *)"bye", 3, true, &busy);
	console_out_stop();
	/* After the stop, a straggling vCPU's byte goes out at once. */
	assert_true(console_tx(NULL, '!'));
	finish();
	assert_int_equal(got.len, 4);
	assert_memory_equal(got.data, "bye!", 4);
}

/* The guest waits on THRE, as a slow line makes it: no byte lost, no vCPU held. */
static void test_a_slow_reader_loses_nothing(void **state)
{
	const size_t n = 32 * 1024;
	uint8_t *p = text(n, 0);
	size_t busy = 0;
	double longest;

	start(0, 4096);
	start_reader(1000);
	longest = guest_write(p, n, true, &busy);
	finish();
	assert_int_equal(got.len, n);
	assert_memory_equal(got.data, p, n);
	assert_true(busy > 0); /* THR did show busy */
	assert_int_equal(console_out_dropped(), 0);
	print_message("THR busy %zu times; the longest write to THR took %.3f ms\n", busy, longest);
	assert_true(longest < CONSOLE_OUT_STALL_MS / 2);
	free(p);
}

/*
 * Nobody reads, and the guest writes on regardless: one bounded wait for
 * room, then its bytes are dropped (and counted) at once; the stop gives
 * up on the last run. What did go out is the output's start, in order.
 */
static void test_a_stuck_reader_costs_a_bounded_wait(void **state)
{
	const size_t n = 20000;
	uint8_t *p = text(n, 0);
	struct capture cap;
	double t, longest;
	size_t busy = 0;
	char *said;

	start(0, 4096);
	t = now_ms();
	longest = guest_write(p, n, false, &busy);
	t = now_ms() - t;
	assert_int_equal(lsr() & LSR_THRE, 0);
	assert_true(longest < CONSOLE_OUT_STALL_MS + 500);
	assert_true(t < CONSOLE_OUT_STALL_MS + 1000);
	capture_start(&cap, stderr);
	t = now_ms();
	console_out_stop();
	t = now_ms() - t;
	said = captured(&cap, stderr);
	print_message("%zu bytes written in a stall of %.0f ms; the stop took %.0f ms\n", n,
		      longest, t);
	assert_true(t < CONSOLE_OUT_EXIT_MS + 1000);
	assert_int_equal(lsr() & LSR_THRE, LSR_THRE); /* bytes go straight out now */
	assert_true(console_out_dropped() > n - 2 * 4096 - CONSOLE_OUT_RING);
	assert_non_null(strstr(said, "bytes of the guest's output were dropped"));
	start_reader(0);
	finish();
	assert_true(got.len >= 4096);
	assert_memory_equal(got.data, p, got.len);
	free(said);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_long_run_goes_out_in_few_writes),
		cmocka_unit_test(test_lines_go_out_a_line_or_more_per_write),
		cmocka_unit_test(test_a_partial_line_goes_out_after_a_moment),
		cmocka_unit_test(test_a_slowly_written_line_is_not_cut_at_each_byte),
		cmocka_unit_test(test_a_message_does_not_cut_the_guests_line),
		cmocka_unit_test(test_a_line_never_ended_holds_a_message_a_moment),
		cmocka_unit_test(test_the_stop_writes_what_is_left),
		cmocka_unit_test(test_a_slow_reader_loses_nothing),
		cmocka_unit_test(test_a_stuck_reader_costs_a_bounded_wait),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
