/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host side of the guest console: cmavm's stdin and stdout.
 *
 * Owns: the terminal mode (raw while the guest runs, restored on every
 * exit path), the thread that feeds typed bytes to the UART, and the
 * escape sequence Ctrl-a x that ends the VM from a terminal. When stdin is
 * not a terminal (a pipe, a test harness) bytes pass through untouched.
 * The guest's output goes to stdout through console_out.h, in runs.
 */
#ifndef VMM_HW_CONSOLE_H
#define VMM_HW_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

struct uart_16550;

#define CONSOLE_ESCAPE 0x01 /* Ctrl-a */

/* Start feeding stdin to @uart; @quit runs when the user types Ctrl-a x. */
int console_start(struct uart_16550 *uart, void (*quit)(void *opaque), void *opaque);
/* End the stdin thread (joined) and give the terminal back. */
void console_stop(void);
void console_restore(void);

/*
 * UART transmit callback: one byte towards stdout (console_out.h says how);
 * false while the output is backed up (THR shows busy until it drains).
 */
bool console_tx(void *opaque, uint8_t byte);

#endif
