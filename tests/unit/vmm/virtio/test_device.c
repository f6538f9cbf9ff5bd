// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic device (vmm/virtio/device.c) whatever its type: feature
 * negotiation and reset, and a hostile driver that breaks a queue, which
 * earns its device DEVICE_NEEDS_RESET while the other devices go on.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

static void test_feature_negotiation(void **state)
{
	struct tdev *t = add_rng();

	(void)state;
	/* A legacy driver (no VERSION_1) is refused FEATURES_OK. */
	assert_false(negotiate(t, 0));
	assert_false(negotiate(t, BIT_ULL(VIRTIO_RING_F_EVENT_IDX)));
	/* So is one that accepts what was not offered (rng offers no bit 0, no bit 40). */
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(0)));
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(40)));
	/* Once refused, setting it again is still refused. */
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	/* After a proper handshake, features written after FEATURES_OK are ignored. */
	handshake(t, 0);
	driver_features(t, 0);
	pthread_mutex_lock(&t->dev.lock);
	assert_true(virtio_has_feature(&t->dev, VIRTIO_F_VERSION_1));
	pthread_mutex_unlock(&t->dev.lock);
	/* A reset takes everything back. */
	reset(t);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void assert_needs_reset(struct tdev *t)
{
	if (!wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET))
		fail_msg("%s: no DEVICE_NEEDS_RESET", t->dev.name);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
}

static void assert_rng_works(struct tdev *t)
{
	struct tbuf b = { galloc(t, 32), 32, true };

	assert_int_equal(request(t, 0, &b, 1), 32);
	assert_false(all_bytes(hp(b.gpa), 0, 32));
}

static void assert_blk_works(struct tdev *t)
{
	uint8_t data[SECTOR];

	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 0, data, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(data[1], pattern(1));
	assert_int_equal(data[SECTOR - 1], pattern(SECTOR - 1));
}

static void test_hostile_loop(void **state)
{
	struct tdev *rng = add_rng(), *blk = add_blk(make_image(0), false);
	uint64_t buf;
	uint16_t used;

	(void)state;
	handshake(rng, 0);
	handshake(blk, 0);
	assert_rng_works(rng);

	/* desc 0 -> 1 -> 0 */
	buf = galloc(rng, 64);
	write_desc(rng->q[0].desc, 0, buf, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	write_desc(rng->q[0].desc, 1, buf + 32, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	used = used_idx(rng, 0);
	offer(rng, 0, 0, true);
	assert_needs_reset(rng);
	assert_int_equal(rd(rng, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_DRIVER_OK |
				 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(used_idx(rng, 0), used);

	/* The other device goes on. */
	assert_blk_works(blk);
	assert_blk_works(blk);

	/* The broken one takes nothing more, even a good request... */
	write_desc(rng->q[0].desc, 2, buf, 16, VRING_DESC_F_WRITE, 0);
	offer(rng, 0, 2, true);
	sleep_ms(20);
	loop_sync();
	assert_int_equal(used_idx(rng, 0), used);
	/* ...the driver cannot clear NEEDS_RESET by writing status... */
	wr(rng, VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(rd(rng, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* ...but a reset and a new handshake bring it back. */
	handshake(rng, 0);
	assert_rng_works(rng);
	assert_rng_works(rng);
	assert_blk_works(blk);
}

static void test_hostile_outside_ram(void **state)
{
	struct tdev *rng = add_rng(), *blk = add_blk(make_image(0), false);
	uint64_t hdr, status;

	(void)state;
	handshake(rng, 0);
	handshake(blk, 0);

	/* A read whose data buffer runs past the end of RAM */
	hdr = blk_header(blk, VIRTIO_BLK_T_IN, 0);
	status = galloc(blk, 1);
	{
		struct tbuf b[3] = { { hdr, 16, false },
				     { RAM_END - SECTOR / 2, SECTOR, true },
				     { status, 1, true } };

		submit(blk, 0, b, 3);
	}
	assert_needs_reset(blk);
	assert_int_equal(used_idx(blk, 0), 0);
	assert_rng_works(rng);

	/* One below RAM, on the rng */
	{
		struct tbuf b = { 0x1000, 64, true };

		submit(rng, 0, &b, 1);
	}
	assert_needs_reset(rng);

	/* Both come back after a reset. */
	handshake(blk, 0);
	assert_blk_works(blk);
	handshake(rng, 0);
	assert_rng_works(rng);

	/* Rings outside RAM break the queue at QueueReady, before DRIVER_OK. */
	assert_true(negotiate(rng, BIT_ULL(VIRTIO_F_VERSION_1)));
	wr(rng, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(rng, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(rng, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	wr(rng, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	wr(rng, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(rng, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(rng, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(irq_edges(rng), 0);
	handshake(rng, 0);
	assert_rng_works(rng);
	assert_blk_works(blk);
}

/* avail->idx racing ahead and an out-of-range head break the queue too. */
static void test_hostile_avail(void **state)
{
	struct tdev *rng = add_rng();
	struct tqueue *tq;

	(void)state;
	handshake(rng, 0);
	tq = &rng->q[0];
	tq->avail_idx = QSIZE; /* 17 entries "available" in a ring of 16 */
	offer(rng, 0, 0, true);
	assert_needs_reset(rng);
	handshake(rng, 0);
	assert_rng_works(rng);
	offer(rng, 0, QSIZE, true); /* head 16 in a queue of 16 */
	assert_needs_reset(rng);
	handshake(rng, 0);
	assert_rng_works(rng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_feature_negotiation),
		T(test_hostile_loop),
		T(test_hostile_outside_ram),
		T(test_hostile_avail),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
