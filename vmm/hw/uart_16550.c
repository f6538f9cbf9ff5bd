// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/uart_16550.h"

#include <string.h>

/* Registers (offset with DLAB clear unless noted) */
#define UART_RBR_THR 0
#define UART_IER     1
#define UART_IIR_FCR 2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7

#define IER_RDI	 0x01 /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */

#define IIR_NO_INT  0x01
#define IIR_MSI	    0x00
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_FIFO_ON 0xc0

#define FCR_FIFO_EN  0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_LOOP 0x10

#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCD 0x80
#define MSR_DSR 0x20
#define MSR_CTS 0x10

static uint8_t pending_iir(const struct uart_16550 *u)
{
	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	return IIR_NO_INT;
}

/* Called with the lock held, after every state change. */
static void update_irq(struct uart_16550 *u)
{
	int level = pending_iir(u) != IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->ops.set_irq)
			u->ops.set_irq(u->ops.opaque, level);
	}
}

static uint8_t rx_pop(struct uart_16550 *u)
{
	uint8_t c;

	if (!u->rx_len)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_BUF;
	u->rx_len--;
	pthread_cond_signal(&u->rx_space);
	return c;
}

static void rx_clear(struct uart_16550 *u)
{
	u->rx_head = 0;
	u->rx_len = 0;
	pthread_cond_broadcast(&u->rx_space);
}

static void write_thr(struct uart_16550 *u, uint8_t c)
{
	/* Loopback mode keeps the byte inside the UART (8250 self-tests use it). */
	if (u->mcr & MCR_LOOP) {
		if (u->rx_len < UART_RX_BUF) {
			u->rx[(u->rx_head + u->rx_len) % UART_RX_BUF] = c;
			u->rx_len++;
		}
	} else if (u->ops.tx) {
		u->tx_busy = !u->ops.tx(u->ops.opaque, c);
	}
	u->thre_pending = !u->tx_busy;
}

static void write_reg(struct uart_16550 *u, unsigned int reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			u->dll = v;
		else
			write_thr(u, v);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI while the transmitter is empty raises it at once. */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = !u->tx_busy;
		u->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		u->fcr = v;
		if (v & FCR_CLEAR_RX)
			rx_clear(u);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t read_iir(struct uart_16550 *u)
{
	uint8_t iir = pending_iir(u);

	/* Reading IIR acknowledges a THR-empty interrupt (16550 datasheet). */
	if (iir == IIR_THRI)
		u->thre_pending = false;
	return iir | ((u->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0);
}

static uint8_t read_msr(const struct uart_16550 *u)
{
	if (u->mcr & MCR_LOOP) /* DTR->DSR, RTS->CTS, OUT2->DCD */
		return ((u->mcr & 0x01) ? MSR_DSR : 0) | ((u->mcr & 0x02) ? MSR_CTS : 0) |
		       ((u->mcr & 0x08) ? MSR_DCD : 0);
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t read_reg(struct uart_16550 *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return (u->tx_busy ? 0 : LSR_THRE | LSR_TEMT) | (u->rx_len ? LSR_DR : 0);
	case UART_MSR:
		return read_msr(u);
	case UART_SCR:
		return u->scr;
	}
	return 0;
}

void uart_16550_mmio(struct uart_16550 *u, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write)
{
	/* reg-io-width 1: wider accesses touch the first register only. */
	if (offset > UART_SCR || !len) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&u->lock);
	if (is_write) {
		write_reg(u, (unsigned int)offset, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = read_reg(u, (unsigned int)offset);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t uart_16550_receive(struct uart_16550 *u, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && !u->shut; i++) {
		while (u->rx_len == UART_RX_BUF && !u->shut)
			pthread_cond_wait(&u->rx_space, &u->lock);
		if (u->shut)
			break;
		u->rx[(u->rx_head + u->rx_len) % UART_RX_BUF] = buf[i];
		u->rx_len++;
		update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
	return i;
}

void uart_16550_shutdown(struct uart_16550 *u)
{
	pthread_mutex_lock(&u->lock);
	u->shut = true;
	pthread_cond_broadcast(&u->rx_space);
	pthread_mutex_unlock(&u->lock);
}

void uart_16550_tx_ready(struct uart_16550 *u)
{
	pthread_mutex_lock(&u->lock);
	if (u->tx_busy) {
		u->tx_busy = false;
		u->thre_pending = true;
		update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
}

void uart_16550_init(struct uart_16550 *u, const struct uart_16550_ops *ops)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->rx_space, NULL);
	u->ops = *ops;
}

void uart_16550_destroy(struct uart_16550 *u)
{
	pthread_cond_destroy(&u->rx_space);
	pthread_mutex_destroy(&u->lock);
}
