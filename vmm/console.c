// SPDX-License-Identifier: GPL-2.0-only
#include "console.h"
#include "log.h"
#include "uart_16550.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

static struct {
	struct uart_16550 *uart;
	void (*quit)(void *opaque);
	void *opaque;
	struct termios saved;
	bool raw;
	pthread_t thread;
} con;

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
				uart_16550_receive(con.uart, (const uint8_t[]){CONSOLE_ESCAPE}, 1);
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
	uint8_t buf[256];
	bool escaped = false;

	(void)arg;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
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
	enter_raw_mode();
	err = pthread_create(&con.thread, NULL, stdin_thread, NULL);
	if (err) {
		errno = err;
		pr_errno("starting the console thread");
		return -1;
	}
	pthread_detach(con.thread);
	return 0;
}

void console_tx(void *opaque, uint8_t byte)
{
	(void)opaque;
	while (write(STDOUT_FILENO, &byte, 1) < 0 && (errno == EINTR || errno == EAGAIN))
		;
}
