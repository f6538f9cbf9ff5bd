/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A 16550A UART: the guest's console.
 *
 * Owns: the register file, the receive FIFO fed from the host terminal,
 * and the interrupt line, which follows the 16550's priority rules
 * (line status, received data, transmitter empty). Transmission is
 * instant: a byte written to THR is handed to the output callback at once,
 * so the transmitter is empty and THRE re-arms on every write, as Linux's
 * 8250 driver expects; unless the host side says it has no room for more,
 * then THR shows busy (no THRE in LSR, no THRE interrupt) until it has:
 * the flow control a real line gives, so that a slow reader of the
 * console slows the guest's output instead of losing it.
 */
#ifndef VMM_HW_UART_16550_H
#define VMM_HW_UART_16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_RX_BUF 4096

struct uart_16550_ops {
	void (*set_irq)(void *opaque, int level);
	/* false: no room for more yet; THR stays busy until uart_16550_tx_ready() */
	bool (*tx)(void *opaque, uint8_t byte);
	void *opaque;
};

struct uart_16550 {
	pthread_mutex_t lock;
	pthread_cond_t rx_space;
	struct uart_16550_ops ops;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending; /* THR empty interrupt not yet acknowledged */
	bool tx_busy;	   /* the host side had no room: THR not empty */
	int irq_level;

	bool shut;		 /* no more input: receive() returns at once */
	uint8_t rx[UART_RX_BUF]; /* host-side FIFO: holds input the guest has not read */
	size_t rx_head, rx_len;
};

void uart_16550_init(struct uart_16550 *u, const struct uart_16550_ops *ops);
void uart_16550_destroy(struct uart_16550 *u);

/* One MMIO access of @len bytes at register @offset (reg-shift 0). */
void uart_16550_mmio(struct uart_16550 *u, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write);

/*
 * Queue input for the guest. Blocks while the host FIFO is full, so that
 * no typed byte is dropped; returns the number queued (@n, unless the UART
 * was shut down meanwhile).
 */
size_t uart_16550_receive(struct uart_16550 *u, const uint8_t *buf, size_t n);

/* Stop taking input: wakes and returns a receive() blocked on a full FIFO. */
void uart_16550_shutdown(struct uart_16550 *u);

/* The host side has room again: THR empty, and its interrupt if enabled. */
void uart_16550_tx_ready(struct uart_16550 *u);

#endif
