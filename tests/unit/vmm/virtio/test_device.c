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
#include <pthread.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

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

/* Up to FEATURES_OK, without the reset negotiate() starts with. */
static bool negotiate_kept(struct tdev *t, uint64_t features)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, s);
	driver_features(t, features);
	wr(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

/* NEEDS_RESET before DRIVER_OK: no interrupt, the driver reads it in the status. */
static void assert_needs_reset_quiet(struct tdev *t)
{
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(irq_edges(t), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

/* A buffer offered to @t's rng queue stays untouched and unused. */
static void assert_rng_stopped(struct tdev *t)
{
	struct tbuf b = { galloc(t, 32), 32, true };
	uint16_t used = used_idx(t, 0);

	submit(t, 0, &b, 1);
	sleep_ms(10);
	loop_sync();
	assert_int_equal(used_idx(t, 0), used);
	assert_true(all_bytes(hp(b.gpa), 0, 32));
}

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

	/* A feature word past the second names features nobody offered. */
	reset(t);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	assert_false(negotiate_kept(t, BIT_ULL(VIRTIO_F_VERSION_1)));
	/* A reset forgets it. */
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1)));

	/* After a proper handshake, the same features written again change nothing. */
	handshake(t, 0);
	driver_features(t, BIT_ULL(VIRTIO_F_VERSION_1));
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_rng_works(t);
	/* Different ones (3.1.1: no new features after FEATURES_OK) need a reset; not taken. */
	driver_features(t, 0);
	assert_needs_reset(t);
	pthread_mutex_lock(&t->dev.lock);
	assert_true(virtio_has_feature(&t->dev, VIRTIO_F_VERSION_1));
	pthread_mutex_unlock(&t->dev.lock);
	/* A reset takes everything back. */
	reset(t);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
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
	/* A driver that goes on to DRIVER_OK all the same hears of it then. */
	wr(rng, VIRTIO_MMIO_STATUS, rd(rng, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(irq_edges(rng) > 0);
	assert_int_equal(rd(rng, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_rng_stopped(rng);
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

/* The outside attack: INDIRECT in a chain without VIRTIO_F_INDIRECT_DESC negotiated. */
static void test_indirect_needs_feature(void **state)
{
	struct tdev *t = add_rng();
	uint64_t table, buf;

	(void)state;
	for (unsigned int negotiated = 0; negotiated < 2; negotiated++) {
		handshake(t, negotiated ? BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) : 0);
		table = galloc(t, 16);
		buf = galloc(t, 64);
		write_desc(table, 0, buf, 64, VRING_DESC_F_WRITE, 0);
		write_desc(t->q[0].desc, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
		offer(t, 0, 0, true);
		if (negotiated) {
			assert_int_equal(next_used(t, 0, 0), 64);
			assert_false(all_bytes(hp(buf), 0, 64));
			break;
		}
		assert_needs_reset(t);
		assert_int_equal(used_idx(t, 0), 0);
		assert_true(all_bytes(hp(buf), 0, 64));
	}
}

/* 2.1.1: the driver MUST NOT clear a status bit; the device keeps its own view. */
static void test_status_bits_cleared(void **state)
{
	struct tdev *t = add_rng();
	const uint32_t live = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	(void)state;
	handshake(t, 0);
	/* Without FEATURES_OK the features could be written anew under a live device. */
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_needs_reset(t);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), live | VIRTIO_CONFIG_S_NEEDS_RESET);
	driver_features(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	pthread_mutex_lock(&t->dev.lock);
	assert_false(virtio_has_feature(&t->dev, VIRTIO_RING_F_EVENT_IDX));
	pthread_mutex_unlock(&t->dev.lock);
	assert_rng_stopped(t);
	/* Before DRIVER_OK as well */
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1)));
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_needs_reset_quiet(t);
	handshake(t, 0);
	assert_rng_works(t);
}

/* 3.1.1: DRIVER_OK without FEATURES_OK (a legacy driver's way) is not taken. */
static void test_driver_ok_without_features_ok(void **state)
{
	struct tdev *t = add_rng();
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	(void)state;
	reset(t);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, s);
	driver_features(t, BIT_ULL(VIRTIO_F_VERSION_1));
	wr(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), s | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_needs_reset_quiet(t);
	handshake(t, 0);
	assert_rng_works(t);
}

/* Queue 0's registers, the rings where handshake() puts them, with @size entries. */
static void program_queue(struct tdev *t, uint32_t size)
{
	uint64_t desc = t->region;

	memset(hp(desc), 0, 0x4000);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(desc + 0x1000));
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)((desc + 0x1000) >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(desc + 0x2000));
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)((desc + 0x2000) >> 32));
}

/* Negotiated afresh, queue 0 programmed with @size entries and set ready: what QueueReady reads. */
static uint32_t set_up_queue(struct tdev *t, uint32_t size)
{
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1)));
	program_queue(t, size);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(t, VIRTIO_MMIO_QUEUE_READY);
}

/*
 * 3.1.1 and 4.2.2: a queue is set up after FEATURES_OK (EVENT_IDX changes
 * its layout), no larger than QueueNumMax. 512 entries would fit in RAM.
 */
static void test_queue_setup_rules(void **state)
{
	struct tdev *t = add_rng();

	(void)state;
	reset(t);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	program_queue(t, QSIZE);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_needs_reset_quiet(t);

	assert_int_equal(set_up_queue(t, 2 * VIRTIO_QUEUE_SIZE), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_QUEUE_SIZE);
	assert_needs_reset_quiet(t);

	/* In order, and at the maximum, it goes. */
	assert_int_equal(set_up_queue(t, VIRTIO_QUEUE_SIZE), 1);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * 4.2.2: QueueReady reads back what was written. Linux's vm_del_vq() writes
 * 0 and warns unless it reads 0, on a live device too (a probe that fails
 * after DRIVER_OK): the device lets the queue go, takes nothing more from
 * it, and needs no reset. Set up again, the queue starts from index 0.
 */
static void test_queue_stopped_while_live(void **state)
{
	struct tdev *t = add_rng();

	(void)state;
	handshake(t, 0);
	assert_rng_works(t);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(irq_edges(t), 0);
	assert_rng_stopped(t);
	/* Stopped, it may be set up again (its registers would break a ready queue). */
	setup_queue(t, 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_rng_works(t);

	/* Before DRIVER_OK, as when the driver's queue setup fails */
	assert_int_equal(set_up_queue(t, QSIZE), 1);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	handshake(t, 0);
	assert_rng_works(t);
}

/* FAILED: the driver gave up on the device; nothing more is taken until a reset. */
static void test_failed_stops_device(void **state)
{
	struct tdev *t = add_rng();

	(void)state;
	handshake(t, 0);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FAILED);
	assert_rng_stopped(t);
	handshake(t, 0);
	assert_rng_works(t);
}

/*
 * 6: a device MAY fail without VIRTIO_F_ACCESS_PLATFORM. cmavm's devices
 * reach guest memory the same way with or without it, and Linux's balloon
 * driver never accepts it: both ways are accepted.
 */
static void test_access_platform_optional(void **state)
{
	struct tdev *t = add_balloon(0);

	(void)state;
	pthread_mutex_lock(&t->dev.lock);
	t->dev.features_offered |= BIT_ULL(VIRTIO_F_ACCESS_PLATFORM); /* --access-platform */
	pthread_mutex_unlock(&t->dev.lock);
	assert_true(device_features(t) & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	handshake(t, 0);
	handshake(t, BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_feature_negotiation),	       T(test_hostile_loop),
		T(test_hostile_outside_ram),	       T(test_hostile_avail),
		T(test_indirect_needs_feature),	       T(test_status_bits_cleared),
		T(test_driver_ok_without_features_ok), T(test_queue_setup_rules),
		T(test_queue_stopped_while_live),      T(test_failed_stops_device),
		T(test_access_platform_optional),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
