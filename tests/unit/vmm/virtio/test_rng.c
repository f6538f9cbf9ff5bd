// SPDX-License-Identifier: GPL-2.0-only
/* virtio-rng (vmm/virtio/rng.c), and interrupt suppression with EVENT_IDX on it. */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

static void test_rng(void **state)
{
	struct tdev *t = add_rng();
	uint64_t a, b;
	struct tbuf buf;

	(void)state;
	handshake(t, 0);
	a = galloc(t, 64);
	b = galloc(t, 64);
	buf = (struct tbuf){ a, 64, true };
	assert_int_equal(request(t, 0, &buf, 1), 64);
	assert_false(all_bytes(hp(a), 0, 64));
	buf.gpa = b;
	assert_int_equal(request(t, 0, &buf, 1), 64);
	assert_false(all_bytes(hp(b), 0, 64));
	assert_memory_not_equal(hp(a), hp(b), 64);
	assert_int_equal(counter(t, "requests"), 2);
	assert_int_equal(counter(t, "bytes"), 128);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* Two writable buffers in one chain */
	{
		uint64_t c = galloc(t, 16), d = galloc(t, 32);
		struct tbuf chain[2] = { { c, 16, true }, { d, 32, true } };

		assert_int_equal(request(t, 0, chain, 2), 48);
		assert_false(all_bytes(hp(c), 0, 16));
		assert_false(all_bytes(hp(d), 0, 32));
	}
	assert_int_equal(counter(t, "requests"), 3);
	assert_int_equal(counter(t, "bytes"), 176);
}

/*
 * 5.4.6.1: the driver MUST NOT offer a device-readable buffer. No answer
 * fits (an empty one breaks 5.4.6.2's "one or more random bytes"): the
 * device needs a reset, and fills none of the chain's buffers.
 */
static void test_rng_readable_buffer(void **state)
{
	struct tdev *t = add_rng();
	uint64_t in, c;

	(void)state;
	handshake(t, 0);
	in = galloc(t, 8);
	c = galloc(t, 16);
	memset(hp(in), 0x5a, 8);
	{
		struct tbuf chain[2] = { { in, 8, false }, { c, 16, true } };

		submit(t, 0, chain, 2);
	}
	assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
	assert_true(wait_irq(t));
	assert_int_equal(take_interrupt(t), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(used_idx(t, 0), 0);
	assert_true(all_bytes(hp(in), 0x5a, 8));
	assert_true(all_bytes(hp(c), 0, 16));
	assert_int_equal(counter(t, "requests"), 0);
}

/* With EVENT_IDX the device interrupts only when used->idx passes used_event. */
static void test_rng_event_idx(void **state)
{
	struct tdev *t = add_rng();
	uint64_t used_event;
	struct tbuf buf;

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	used_event = t->q[0].avail + 4 + 2 * QSIZE;
	buf = (struct tbuf){ galloc(t, 16), 16, true };
	put16(used_event, 0);
	assert_int_equal(request(t, 0, &buf, 1), 16); /* 0 -> 1 crosses 0 */
	put16(used_event, 5);
	assert_int_equal(next_used(t, 0, submit(t, 0, &buf, 1)), 16); /* 1 -> 2: no */
	loop_sync();
	assert_int_equal(irq_edges(t), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The device asked to be notified for the next entry (avail_event). */
	assert_int_equal(le16toh(__atomic_load_n((uint16_t *)hp(t->q[0].used + 4 + 8 * QSIZE),
						 __ATOMIC_RELAXED)),
			 t->q[0].avail_idx);
	for (unsigned int i = 0; i < 3; i++) /* 2 -> 5: not yet past 5 */
		next_used(t, 0, submit(t, 0, &buf, 1));
	loop_sync();
	assert_int_equal(irq_edges(t), 0);
	next_used(t, 0, submit(t, 0, &buf, 1)); /* 5 -> 6 */
	assert_true(wait_irq(t));
	assert_int_equal(take_interrupt(t), VIRTIO_MMIO_INT_VRING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rng),
		T(test_rng_readable_buffer),
		T(test_rng_event_idx),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
