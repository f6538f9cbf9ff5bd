// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-mmio transport (vmm/virtio/mmio.c): the registers that say
 * who the device is, the queue registers, and what the register window
 * does with accesses it has nothing behind.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "tests/unit/vmm/virtio/harness.h"

static void test_identity(void **state)
{
	struct tdev *t = add_rng();
	uint64_t f = device_features(t);
	uint8_t odd[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(rd(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(t, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(rd(t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_true(f & BIT_ULL(VIRTIO_F_VERSION_1));
	assert_true(f & BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(f & BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	assert_false(f & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	/* 4.2.2: control registers are 32-bit; anything else reads as 0. */
	virtio_mmio_access(&t->m, VIRTIO_MMIO_MAGIC_VALUE, odd, 2, false);
	assert_true(all_bytes(odd, 0, 2));
	virtio_mmio_access(&t->m, VIRTIO_MMIO_MAGIC_VALUE + 2, odd, 4, false);
	assert_true(all_bytes(odd, 0, 4));
}

static uint64_t queue_gpa(struct tdev *t, const uint64_t *field)
{
	uint64_t v;

	pthread_mutex_lock(&t->dev.lock);
	v = *field;
	pthread_mutex_unlock(&t->dev.lock);
	return v;
}

/* Each ring address is two halves; they land where they belong, and only while not ready. */
static void test_queue_registers(void **state)
{
	struct tdev *t = add_balloon(0);
	struct virtqueue *vq = &t->dev.vq[1];

	(void)state;
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1)));
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x11112000);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x1);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x22223000);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0x2);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, 0x33334000);
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x3);
	assert_int_equal(queue_gpa(t, &vq->desc_gpa), 0x111112000ULL);
	assert_int_equal(queue_gpa(t, &vq->avail_gpa), 0x222223000ULL);
	assert_int_equal(queue_gpa(t, &vq->used_gpa), 0x333334000ULL);
	assert_int_equal(vq->size, 8);
	/* The low half again leaves the high half alone. */
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x44445000);
	assert_int_equal(queue_gpa(t, &vq->desc_gpa), 0x144445000ULL);
	/* Queue 0 kept its own. */
	assert_int_equal(queue_gpa(t, &t->dev.vq[0].desc_gpa), 0);

	/*
	 * Once the queue is ready its size and addresses are not the driver's
	 * to write (4.2.2): they stay as they were, and the device, whose
	 * rings the driver now believes elsewhere, needs a reset.
	 */
	for (unsigned int i = 0; i < 3; i++) {
		static const uint64_t reg[3] = { VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_DESC_LOW,
						 VIRTIO_MMIO_QUEUE_USED_HIGH };

		handshake(t, 0);
		wr(t, VIRTIO_MMIO_QUEUE_SEL, 1);
		assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
		wr(t, reg[i], i == 0 ? 4 : 0x5);
		assert_int_equal(queue_gpa(t, &vq->desc_gpa), t->q[1].desc);
		assert_int_equal(queue_gpa(t, &vq->used_gpa), t->q[1].used);
		assert_int_equal(vq->size, QSIZE);
		assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
		assert_true(irq_edges(t) > 0);
		assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
		assert_true(strstr(vq->broken_reason, "written while the queue is ready"));
	}
	handshake(t, 0);

	/* A queue the device does not have: no size, never ready, writes go nowhere. */
	wr(t, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MAX_QUEUES + 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Registers with nothing behind them, and writes to read-only ones. */
static void test_unbacked_registers(void **state)
{
	struct tdev *t = add_rng();
	uint16_t half = htole16(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	uint32_t v = 0xffffffff;

	(void)state;
	/* 4.2.2: no shared memory regions reads as a length of all ones. */
	assert_int_equal(rd(t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(t, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	assert_int_equal(rd(t, VIRTIO_MMIO_SHM_SEL), 0);
	assert_int_equal(rd(t, 0x0f8), 0);
	/* Feature words past the second are 0. */
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Identity registers do not take writes. */
	wr(t, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(t, VIRTIO_MMIO_DEVICE_ID, VIRTIO_ID_BLOCK);
	assert_int_equal(rd(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	/* A 16-bit write to Status is dropped, as is one that is not 32-bit aligned. */
	virtio_mmio_access(&t->m, VIRTIO_MMIO_STATUS, (uint8_t *)&half, 2, true);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_access(&t->m, VIRTIO_MMIO_STATUS + 2, (uint8_t *)&v, 4, true);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
	/* virtio-rng has no config space: it reads as zeroes. */
	cfg_read(t, 0, &v, 4);
	assert_int_equal(v, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_queue_registers),
		T(test_unbacked_registers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
