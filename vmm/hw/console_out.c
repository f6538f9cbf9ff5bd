// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/console_out.h"
#include "vmm/hw/console.h"
#include "vmm/hw/uart_16550.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Locks: a vCPU calls console_tx() with the UART's lock held and takes
 * out.lock; the writer never holds out.lock when it takes the UART's.
 */
/* Unused elsewhere in cmavm; its default action is to ignore it. */
#define SIG_WRITER_WAKE SIGURG

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the writer: a run is ready, or the stop */
	pthread_cond_t room; /* a vCPU: the ring has room again */
	struct uart_16550 *uart;
	int fd;
	uint8_t ring[CONSOLE_OUT_RING];
	size_t head, len;
	size_t newlines;	       /* in the ring: each ends a run */
	bool running;		       /* the writer takes bytes; else they go out at once */
	bool stop;		       /* the writer ends once the ring is empty */
	volatile sig_atomic_t give_up; /* past the stop's deadline: write no more */
	bool writer_waits;	       /* and must be woken by whoever gives it a run */
	bool told_busy;		       /* the UART shows THR busy until we say there is room */
	bool dropping;		       /* the ring stayed full: drop until the writer moves */
	uint64_t dropped;
	pthread_t thread;
} out = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/*
 * The terminal the guest's lines share with cmavm's messages: a message
 * waits, up to CONSOLE_OUT_LINE_WAIT_MS, for the guest to end the line it
 * is in the middle of, and no run is written while a message is.
 */
static struct {
	pthread_mutex_t lock; /* held by the writer across each run's write() */
	pthread_cond_t line_end;
	bool mid_line; /* the last byte written was not a newline */
} term = { .lock = PTHREAD_MUTEX_INITIALIZER, .line_end = PTHREAD_COND_INITIALIZER };
static __thread bool term_held;

static struct timespec ms_from_now(clockid_t clock, long ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static bool run_ready(void)
{
	return out.newlines || out.len >= CONSOLE_OUT_RING / 2 || out.stop;
}

static void put(uint8_t byte)
{
	out.ring[(out.head + out.len) % CONSOLE_OUT_RING] = byte;
	out.len++;
	out.newlines += byte == '\n';
	/* At most twice a run: its first byte, and the one that makes it ready. */
	if (out.writer_waits && (out.len == 1 || run_ready())) {
		out.writer_waits = false;
		pthread_cond_signal(&out.wake);
	}
}

/* A full ring: wait a while for the writer, unless it is known to be stuck. */
static void wait_for_room(void)
{
	struct timespec deadline = ms_from_now(CLOCK_MONOTONIC, CONSOLE_OUT_STALL_MS);

	while (!out.dropping && out.running && out.len == CONSOLE_OUT_RING)
		if (pthread_cond_timedwait(&out.room, &out.lock, &deadline) == ETIMEDOUT)
			out.dropping = true;
}

bool console_tx(void *opaque, uint8_t byte)
{
	bool room;
	int fd;

	(void)opaque;
	pthread_mutex_lock(&out.lock);
	if (out.running && out.len == CONSOLE_OUT_RING)
		wait_for_room();
	if (!out.running) {
		/* Before the start, after the stop (a vCPU not yet stopped): one try, unlocked. */
		fd = out.fd;
		pthread_mutex_unlock(&out.lock);
		if (fd >= 0)
			(void)!write(fd, &byte, 1);
		return true;
	}
	if (out.len < CONSOLE_OUT_RING)
		put(byte);
	else
		out.dropped++;
	room = CONSOLE_OUT_RING - out.len >= CONSOLE_OUT_SLACK;
	out.told_busy |= !room;
	pthread_mutex_unlock(&out.lock);
	return room;
}

static int writer_wait(const struct timespec *deadline)
{
	int ret;

	out.writer_waits = true;
	if (deadline)
		ret = pthread_cond_timedwait(&out.wake, &out.lock, deadline);
	else
		ret = pthread_cond_wait(&out.wake, &out.lock);
	out.writer_waits = false;
	return ret;
}

/*
 * Until there is a run to write: a line, half a ring, a pause in the
 * guest's output (no byte for a gathering's time), a run without a newline
 * that has waited long enough, or the stop.
 */
static void wait_for_run(void)
{
	struct timespec deadline;
	unsigned int waited = 0;
	size_t seen;

	while (!out.len && !out.stop)
		writer_wait(NULL);
	do {
		seen = out.len;
		deadline = ms_from_now(CLOCK_MONOTONIC, CONSOLE_OUT_GATHER_MS);
		while (!run_ready())
			if (writer_wait(&deadline) == ETIMEDOUT)
				break;
		waited += CONSOLE_OUT_GATHER_MS;
	} while (!run_ready() && out.len > seen && waited < CONSOLE_OUT_GATHER_MAX_MS);
}

/*
 * All of it, or what a reader takes before it goes away (EPIPE), or until
 * the stop gives up on a reader that takes nothing: its signal
 * (SIG_WRITER_WAKE, no SA_RESTART) ends a write() that waits.
 */
static void write_all(const uint8_t *p, size_t n)
{
	struct pollfd pfd = { .fd = out.fd, .events = POLLOUT };

	while (n && !out.give_up) {
		ssize_t w = write(out.fd, p, n);

		if (w < 0 && errno == EAGAIN) /* a non-blocking stdout */
			poll(&pfd, 1, 100);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* vmm_log()'s gate; realtime deadlines, as pthread_mutex_timedlock() has. */
static void line_gate(bool hold)
{
	struct timespec deadline = ms_from_now(CLOCK_REALTIME, CONSOLE_OUT_LINE_WAIT_MS);

	if (!hold) {
		if (term_held) {
			term.mid_line = false; /* the message ended its line */
			pthread_mutex_unlock(&term.lock);
		}
		term_held = false;
		return;
	}
	/* a writer stuck on its reader does not hold a message back for long */
	term_held = !pthread_mutex_timedlock(&term.lock, &deadline);
	while (term_held && term.mid_line &&
	       !pthread_cond_timedwait(&term.line_end, &term.lock, &deadline))
		;
}

static void write_locked(const uint8_t *p, size_t n)
{
	pthread_mutex_lock(&term.lock);
	write_all(p, n);
	term.mid_line = n && p[n - 1] != '\n';
	pthread_cond_broadcast(&term.line_end);
	pthread_mutex_unlock(&term.lock);
}

/* The run at the ring's head (up to its end: a wrapped run takes two). */
static void write_run(void)
{
	size_t n = out.len < CONSOLE_OUT_RING - out.head ? out.len : CONSOLE_OUT_RING - out.head;
	const uint8_t *run = out.ring + out.head;
	bool ready;

	pthread_mutex_unlock(&out.lock);
	write_locked(run, n);
	pthread_mutex_lock(&out.lock);
	for (const uint8_t *nl = run; (nl = memchr(nl, '\n', run + n - nl)); nl++)
		out.newlines--;
	out.head = (out.head + n) % CONSOLE_OUT_RING;
	out.len -= n;
	out.dropping = false;
	pthread_cond_broadcast(&out.room);
	ready = out.told_busy && CONSOLE_OUT_RING - out.len >= CONSOLE_OUT_SLACK;
	if (ready) {
		out.told_busy = false;
		pthread_mutex_unlock(&out.lock);
		uart_16550_tx_ready(out.uart);
		pthread_mutex_lock(&out.lock);
	}
}

static void *writer_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&out.lock);
	for (;;) {
		wait_for_run();
		if (!out.len)
			break; /* the stop, with nothing left */
		write_run();
	}
	out.running = false;
	pthread_mutex_unlock(&out.lock);
	return NULL;
}

/* Timed waits on the monotonic clock: the wall clock may jump. */
static void init_conds(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&out.wake, &attr);
	pthread_cond_init(&out.room, &attr);
	pthread_condattr_destroy(&attr);
}

static void on_writer_wake(int sig)
{
	(void)sig; /* only to end the write() it interrupts */
}

int console_out_start(struct uart_16550 *uart, int fd)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sigaction wake = { .sa_handler = on_writer_wake }; /* no SA_RESTART */
	int err;

	pthread_once(&once, init_conds);
	sigemptyset(&wake.sa_mask);
	sigaction(SIG_WRITER_WAKE, &wake, NULL);
	pthread_mutex_lock(&out.lock);
	out.uart = uart;
	out.fd = fd;
	out.head = out.len = out.newlines = 0;
	out.stop = out.dropping = out.told_busy = false;
	out.give_up = 0;
	out.dropped = 0;
	out.running = true;
	pthread_mutex_unlock(&out.lock);
	term.mid_line = false;
	vmm_log_set_gate(line_gate);
	err = sandbox_thread_create(&out.thread, SANDBOX_CONSOLE, "console-out", writer_thread,
				    NULL);
	if (err) {
		vmm_log_set_gate(NULL);
		pthread_mutex_lock(&out.lock);
		out.running = false;
		pthread_mutex_unlock(&out.lock);
		errno = err;
		pr_errno("starting the console output thread");
		return -1;
	}
	return 0;
}

/*
 * Wait for the writer's last run; past the deadline, interrupt its write()
 * until it ends (a signal may land just before the write begins).
 */
static void end_writer(void)
{
	struct timespec deadline = ms_from_now(CLOCK_REALTIME, CONSOLE_OUT_EXIT_MS);

	if (!pthread_timedjoin_np(out.thread, NULL, &deadline))
		return;
	out.give_up = 1;
	do {
		pthread_kill(out.thread, SIG_WRITER_WAKE);
		deadline = ms_from_now(CLOCK_REALTIME, 10);
	} while (pthread_timedjoin_np(out.thread, NULL, &deadline));
}

void console_out_stop(void)
{
	uint64_t dropped;
	bool was_busy;

	pthread_mutex_lock(&out.lock);
	if (!out.running || out.stop) {
		pthread_mutex_unlock(&out.lock);
		return;
	}
	out.stop = true;
	pthread_cond_signal(&out.wake);
	pthread_mutex_unlock(&out.lock);
	end_writer();
	vmm_log_set_gate(NULL);
	term.mid_line = false;
	pthread_mutex_lock(&out.lock);
	out.running = false;
	out.dropped += out.len; /* left by a writer given up on */
	out.len = 0;
	dropped = out.dropped;
	was_busy = out.told_busy;
	out.told_busy = false;
	pthread_cond_broadcast(&out.room);
	pthread_mutex_unlock(&out.lock);
	if (was_busy) /* bytes go straight out from now on: THR is empty again */
		uart_16550_tx_ready(out.uart);
	if (dropped)
		pr_warn("console: %llu bytes of the guest's output were dropped: nothing read "
			"cmavm's output for %d ms or more",
			(unsigned long long)dropped, CONSOLE_OUT_STALL_MS);
}

uint64_t console_out_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&out.lock);
	n = out.dropped;
	pthread_mutex_unlock(&out.lock);
	return n;
}
