// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/console.h"
#include "vmm/hw/console_out.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"
#include "vmm/hw/uart_16550.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

static struct {
	struct uart_16550 *uart;
	void (*quit)(void *opaque);
	void *opaque;
	struct termios saved;
	bool raw;
	pthread_t thread;
	bool started;
	int stop_fd; /* eventfd: the stdin thread must end */
} con = { .stop_fd = -1 };

void console_restore(void)
{
	if (con.raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &con.saved);
		con.raw = false;
	}
}

static void enter_raw_mode(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &con.saved))
		return;
	t = con.saved;
	cfmakeraw(&t);
	/* Keep output post-processing off too: the guest sends its own CR LF. */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t))
		return;
	con.raw = true;
	atexit(console_restore);
	pr_info("console: the guest has this terminal; type Ctrl-a x to stop the VM");
}

/* Returns false when the escape sequence asked to quit. */
static bool feed(const uint8_t *buf, size_t n, bool *escaped)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (con.raw && *escaped) {
			*escaped = false;
			if (c == 'x' || c == 'X')
				return false;
			if (c != CONSOLE_ESCAPE)
				uart_16550_receive(con.uart, (const uint8_t[]){ CONSOLE_ESCAPE },
						   1);
		} else if (con.raw && c == CONSOLE_ESCAPE) {
			*escaped = true;
			continue;
		}
		uart_16550_receive(con.uart, &c, 1);
	}
	return true;
}

static void *stdin_thread(void *arg)
{
	struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				 { .fd = con.stop_fd, .events = POLLIN } };
	uint8_t buf[256];
	bool escaped = false;

	(void)arg;
	for (;;) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (fds[1].revents)
			return NULL;
		if (!fds[0].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return NULL; /* EOF: the guest keeps running without input */
		if (!feed(buf, (size_t)n, &escaped)) {
			pr_info("console: Ctrl-a x typed, stopping the VM");
			con.quit(con.opaque);
			return NULL;
		}
	}
}

int console_start(struct uart_16550 *uart, void (*quit)(void *opaque), void *opaque)
{
	int err;

	con.uart = uart;
	con.quit = quit;
	con.opaque = opaque;
	if (console_out_start(uart, STDOUT_FILENO))
		return -1;
	con.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (con.stop_fd < 0) {
		pr_errno("eventfd for the console");
		return -1;
	}
	enter_raw_mode();
	err = sandbox_thread_create(&con.thread, SANDBOX_CONSOLE, "console", stdin_thread, NULL);
	if (err) {
		errno = err;
		pr_errno("starting the console thread");
		return -1;
	}
	con.started = true;
	return 0;
}

void console_stop(void)
{
	if (con.started) {
		eventfd_write(con.stop_fd, 1);
		uart_16550_shutdown(con.uart); /* wakes a stdin thread waiting for FIFO room */
		pthread_join(con.thread, NULL);
		con.started = false;
	}
	if (con.stop_fd >= 0)
		close(con.stop_fd);
	con.stop_fd = -1;
	console_out_stop(); /* the last output while the terminal is still raw */
	console_restore();
}
