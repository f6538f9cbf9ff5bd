// SPDX-License-Identifier: GPL-2.0-only
/* The 16550A console (vmm/uart_16550.h), through its registers. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/hw/uart_16550.h"

#define THR 0
#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6

static struct uart_16550 uart;
static int irq_level, irq_edges;
static uint8_t sent[8192];
static size_t nr_sent;
static bool host_full; /* what tx() tells the UART */

static void set_irq(void *opaque, int level)
{
	irq_level = level;
	irq_edges++;
}

static bool tx(void *opaque, uint8_t c)
{
	sent[nr_sent++ % sizeof(sent)] = c;
	return !host_full;
}

static int setup(void **state)
{
	struct uart_16550_ops ops = { .set_irq = set_irq, .tx = tx };

	irq_level = irq_edges = 0;
	nr_sent = 0;
	host_full = false;
	uart_16550_init(&uart, &ops);
	return 0;
}

static int teardown(void **state)
{
	uart_16550_destroy(&uart);
	return 0;
}

static void wr(uint64_t reg, uint8_t v)
{
	uart_16550_mmio(&uart, reg, &v, 1, true);
}

static uint8_t rd(uint64_t reg)
{
	uint8_t v = 0xee;

	uart_16550_mmio(&uart, reg, &v, 1, false);
	return v;
}

static void test_transmit(void **state)
{
	wr(THR, 'h');
	wr(THR, 'i');
	assert_int_equal(nr_sent, 2);
	assert_memory_equal(sent, "hi", 2);
	assert_int_equal(rd(LSR) & 0x60, 0x60); /* THRE | TEMT: always empty */
	assert_int_equal(irq_level, 0);		/* THRI not enabled */
}

static void test_thre_interrupt_cycle(void **state)
{
	wr(IER, 0x02);
	assert_int_equal(irq_level, 1); /* enabling THRI with THR empty raises it */
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
	assert_int_equal(irq_level, 0); /* reading IIR acknowledges it */
	assert_int_equal(rd(IIR) & 0x01, 0x01);
	wr(THR, 'x');
	assert_int_equal(irq_level, 1); /* each byte sent re-arms it */
	wr(IER, 0x00);
	assert_int_equal(irq_level, 0);
	wr(IER, 0x02);
	assert_int_equal(irq_level, 1);
}

/* No room on the host side: THR busy until it has room, then THRE and its interrupt. */
static void test_full_host_side_holds_thre(void **state)
{
	wr(IER, 0x02);
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
	host_full = true;
	wr(THR, 'a');
	assert_int_equal(nr_sent, 1);
	assert_int_equal(rd(LSR) & 0x60, 0); /* neither THRE nor TEMT */
	assert_int_equal(irq_level, 0);
	assert_int_equal(rd(IIR) & 0x0f, 0x01);
	wr(IER, 0x00);
	wr(IER, 0x02); /* re-enabling THRI while busy raises nothing */
	assert_int_equal(irq_level, 0);
	host_full = false;
	uart_16550_tx_ready(&uart);
	assert_int_equal(rd(LSR) & 0x60, 0x60);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
	uart_16550_tx_ready(&uart); /* when not busy: nothing to re-arm */
	assert_int_equal(irq_level, 0);
	wr(THR, 'b');
	assert_int_equal(irq_level, 1);
	assert_memory_equal(sent, "ab", 2);
}

static void test_receive(void **state)
{
	uint8_t in[] = "ls\n";

	wr(IER, 0x01);
	assert_int_equal(rd(LSR) & 0x01, 0);
	uart_16550_receive(&uart, in, 3);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(IIR) & 0x0f, 0x04);
	assert_int_equal(rd(LSR) & 0x01, 1);
	assert_int_equal(rd(RBR), 'l');
	assert_int_equal(rd(RBR), 's');
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(RBR), '\n');
	assert_int_equal(rd(LSR) & 0x01, 0);
	assert_int_equal(irq_level, 0);
	assert_int_equal(rd(RBR), 0); /* empty FIFO reads 0 */
}

static void test_receive_has_priority_over_thre(void **state)
{
	uint8_t c = 'a';

	wr(IER, 0x03);
	uart_16550_receive(&uart, &c, 1);
	assert_int_equal(rd(IIR) & 0x0f, 0x04);
	rd(RBR);
	assert_int_equal(rd(IIR) & 0x0f, 0x02);
	assert_int_equal(rd(IIR) & 0x0f, 0x01);
}

static void test_fifo_bits_and_clear(void **state)
{
	uint8_t in[] = "abc";

	assert_int_equal(rd(IIR) & 0xc0, 0);
	wr(FCR, 0x01);
	assert_int_equal(rd(IIR) & 0xc0, 0xc0);
	uart_16550_receive(&uart, in, 3);
	wr(FCR, 0x03); /* clear the receive FIFO */
	assert_int_equal(rd(LSR) & 0x01, 0);
}

static void test_divisor_latch(void **state)
{
	wr(LCR, 0x83);
	wr(THR, 0x01); /* DLL, not a byte to send */
	wr(IER, 0x00); /* DLM */
	assert_int_equal(rd(THR), 0x01);
	assert_int_equal(nr_sent, 0);
	wr(LCR, 0x03);
	assert_int_equal(rd(LCR), 0x03);
	wr(THR, 'z');
	assert_int_equal(nr_sent, 1);
}

static void test_loopback(void **state)
{
	wr(MCR, 0x10 | 0x03);
	wr(THR, 'q');
	assert_int_equal(nr_sent, 0);
	assert_int_equal(rd(RBR), 'q');
	assert_int_equal(rd(MSR) & 0x30, 0x30);
	wr(MCR, 0x00);
	assert_int_equal(rd(MSR) & 0xb0, 0xb0); /* DCD, DSR, CTS asserted */
}

static void test_out_of_range_access_ignored(void **state)
{
	uint8_t v[4] = { 1, 2, 3, 4 };

	uart_16550_mmio(&uart, 8, v, 4, true);
	uart_16550_mmio(&uart, 0x800, v, 4, false);
	assert_int_equal(nr_sent, 0);
	uart_16550_mmio(&uart, LSR, v, 4, false); /* wide read: one register, rest zero */
	assert_int_equal(v[0] & 0x60, 0x60);
	assert_int_equal(v[1] | v[2] | v[3], 0);
}

static void *typist(void *arg)
{
	uint8_t buf[UART_RX_BUF + 100];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	uart_16550_receive(&uart, buf, sizeof(buf));
	return NULL;
}

/* More input than the host FIFO holds: the typist waits, nothing is lost. */
static void test_no_input_lost_when_full(void **state)
{
	pthread_t t;

	pthread_create(&t, NULL, typist, NULL);
	for (size_t i = 0; i < UART_RX_BUF + 100; i++) {
		while (!(rd(LSR) & 0x01))
			sched_yield();
		assert_int_equal(rd(RBR), (uint8_t)(i * 7));
	}
	pthread_join(t, NULL);
	assert_int_equal(rd(LSR) & 0x01, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_host_side_holds_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_has_priority_over_thre, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fifo_bits_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_access_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_input_lost_when_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
