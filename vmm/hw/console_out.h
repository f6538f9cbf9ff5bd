/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest console's output, for console.c (and its tests).
 *
 * Owns: the bytes the UART transmits on their way to cmavm's output. They
 * gather in a small ring and a thread of their own writes them in runs,
 * one write() each: at a newline, when half the ring is full, when the
 * guest stops writing for a moment (a prompt), and at the stop. A vCPU
 * never waits on a write(): when the ring runs low, the UART shows its
 * transmitter busy, which a guest's 8250 driver waits for; a guest that
 * writes on regardless waits a bounded time for room, and past it its
 * bytes are dropped and counted until the reader reads again. At the stop
 * the last run is written, or given up on a reader that takes nothing for
 * a second. cmavm's own messages share the terminal: one waits for the
 * guest to end the line it is in the middle of (vmm_log_set_gate()), up
 * to CONSOLE_OUT_LINE_WAIT_MS, so that neither cuts the other's lines.
 */
#ifndef VMM_HW_CONSOLE_OUT_H
#define VMM_HW_CONSOLE_OUT_H

#include <stdbool.h>
#include <stdint.h>

struct uart_16550;

#define CONSOLE_OUT_RING	  4096
#define CONSOLE_OUT_SLACK	  256  /* less room than this: THR shows busy */
#define CONSOLE_OUT_GATHER_MS	  5    /* no byte for this long ends a run */
#define CONSOLE_OUT_GATHER_MAX_MS 50   /* a run without a newline waits this long at most */
#define CONSOLE_OUT_STALL_MS	  1000 /* a full ring: how long a vCPU waits for room */
#define CONSOLE_OUT_EXIT_MS	  1000 /* how long the stop waits for the last run */
#define CONSOLE_OUT_LINE_WAIT_MS  200  /* how long a message waits for the guest's line end */

/* Start the writer thread: output to @fd; @uart learns when there is room again. */
int console_out_start(struct uart_16550 *uart, int fd);
/* Write what is left (or give up on a stuck reader), end the thread. */
void console_out_stop(void);
/* Bytes dropped on a stuck reader since the start. */
uint64_t console_out_dropped(void);

#endif
