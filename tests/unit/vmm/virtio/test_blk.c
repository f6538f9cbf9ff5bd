// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (vmm/virtio/blk.c) on a raw image: config space, reads and
 * writes checked against the image byte for byte, discard and write
 * zeroes, read-only images, malformed and split requests, batches, a
 * reset with I/O in flight, and the fence that holds reads back from guest
 * RAM being moved.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

static void test_blk_config(void **state)
{
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t f = device_features(t), cap;
	uint32_t lo, hi;

	(void)state;
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_true(f & BIT_ULL(VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & BIT_ULL(VIRTIO_BLK_F_FLUSH));
	assert_true(f & BIT_ULL(VIRTIO_BLK_F_DISCARD));
	assert_true(f & BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(f & BIT_ULL(VIRTIO_BLK_F_RO));
	cfg_read(t, 0, &cap, 8);
	assert_int_equal(le64toh(cap), IMAGE_SIZE / SECTOR);
	lo = cfg_read32(t, 0);
	hi = cfg_read32(t, 4);
	assert_int_equal(((uint64_t)hi << 32) | lo, IMAGE_SIZE / SECTOR);
	assert_int_equal(cfg_read32(t, 20), SECTOR);
	assert_int_equal(cfg_read32(t, 40), 1); /* max_discard_seg */
	assert_int_equal(cfg_read32(t, 44), PAGE / SECTOR);
	/* Past the end of config space: zeroes, no crash. */
	lo = 0xffffffff;
	cfg_read(t, 58, &lo, 4);
	assert_int_equal(lo, 0);
	assert_int_equal(cfg_read32(t, 0x100 - 4), 0);

	/* The image is locked: a second writer is refused. */
	{
		struct virtio_device other;
		struct virtio_env e = env();
		struct blk_options o = { .path = images[0], .index = 1 };

		memset(&other, 0, sizeof(other));
		assert_int_equal(virtio_blk_create(&other, &e, &o), -1);
		o.readonly = true;
		assert_int_equal(virtio_blk_create(&other, &e, &o), -1);
	}
}

static void test_blk_read_write(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[2 * SECTOR];
	uint32_t used;

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_BLK_F_FLUSH) | BIT_ULL(VIRTIO_BLK_F_BLK_SIZE));
	read_image(images[0], before);

	/* Read sector 2 */
	memset(data, 0, sizeof(data));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 2, data, SECTOR, true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	assert_memory_equal(data, before + 2 * SECTOR, SECTOR);

	/* Write sector 3: exactly those 512 bytes change. */
	for (unsigned int i = 0; i < SECTOR; i++)
		data[i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 3, data, SECTOR, false, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	memcpy(before + 3 * SECTOR, data, SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	/* and reads back */
	memset(data, 0, sizeof(data));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 3, data, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, before + 3 * SECTOR, SECTOR);

	/* The last sector is readable; sector == capacity is not. */
	assert_int_equal(
		blk_req(t, VIRTIO_BLK_T_IN, IMAGE_SIZE / SECTOR - 1, data, SECTOR, true, NULL),
		VIRTIO_BLK_S_OK);
	assert_memory_equal(data, before + IMAGE_SIZE - SECTOR, SECTOR);
	assert_int_equal(
		blk_req(t, VIRTIO_BLK_T_IN, IMAGE_SIZE / SECTOR, data, SECTOR, true, &used),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* A write straddling the end, one far past it, one whose sector overflows */
	memset(data, 0x77, sizeof(data));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, IMAGE_SIZE / SECTOR - 1, data, 2 * SECTOR,
				 false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 1ULL << 40, data, SECTOR, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, UINT64_MAX, data, SECTOR, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(
		blk_req(t, VIRTIO_BLK_T_IN, UINT64_MAX / SECTOR + 1, data, SECTOR, true, NULL),
		VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors */
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 5, data, 100, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* GET_ID, FLUSH, and a type nobody knows */
	{
		char id[20];

		memset(id, 'x', sizeof(id));
		assert_int_equal(blk_req(t, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), true, &used),
				 VIRTIO_BLK_S_OK);
		assert_int_equal(used, 21);
		assert_string_equal(id, "cmavm-blk0");
		assert_true(all_bytes(id + 10, 0, 10));
	}
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(blk_req(t, 99, 0, NULL, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_req(t, 99, 0, data, SECTOR, true, NULL), VIRTIO_BLK_S_UNSUPP);

	assert_int_equal(counter(t, "reads"), 3);
	assert_int_equal(counter(t, "writes"), 1);
	assert_int_equal(counter(t, "flushes"), 1);
	assert_int_equal(counter(t, "get_ids"), 1);
	assert_int_equal(counter(t, "bytes_read"), 3 * SECTOR);
	assert_int_equal(counter(t, "bytes_written"), SECTOR);
	assert_int_equal(counter(t, "errors"), 6);
	assert_int_equal(counter(t, "unsupported"), 2);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
}

static void test_blk_discard_write_zeroes(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[8 * SECTOR];

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_BLK_F_DISCARD) | BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	read_image(images[0], before);

	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 8, 8, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 24, 8, 1),
			 VIRTIO_BLK_S_OK); /* unmap */
	memset(before + 8 * SECTOR, 0, 24 * SECTOR);
	for (unsigned int s = 8; s < 32; s += 8) {
		memset(data, 0xee, sizeof(data));
		assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, s, data, sizeof(data), true, NULL),
				 VIRTIO_BLK_S_OK);
		assert_true(all_bytes(data, 0, sizeof(data)));
	}
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* 5.2.6.2: discard takes no flags; out of range, empty or malformed segments fail. */
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 40, 8, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, IMAGE_SIZE / SECTOR - 8, 16, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX - 3, 8, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 40, 0, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_DISCARD, 0, data, 8, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "discards"), 1);
	assert_int_equal(counter(t, "write_zeroes"), 2);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: write zeroes must still work there. */
static void test_blk_write_zeroes_on_tmpfs(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t;

	(void)state;
	if (access("/dev/shm", W_OK))
		skip();
	t = add_blk(make_image_in(0, "/dev/shm"), false);
	handshake(t, BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	read_image(images[0], before);
	/* 160 KiB: more than one 64 KiB buffer of zeroes. */
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 64, 320, 0), VIRTIO_BLK_S_OK);
	memset(before + 64 * SECTOR, 0, 320 * SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "errors"), 0);
}

static void test_blk_readonly(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), true);
	uint64_t f = device_features(t);
	uint8_t data[SECTOR];

	(void)state;
	assert_true(f & BIT_ULL(VIRTIO_BLK_F_RO));
	assert_false(f & BIT_ULL(VIRTIO_BLK_F_DISCARD));
	assert_false(f & BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	/* Accepting DISCARD, which a read-only device does not offer, is refused. */
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_BLK_F_DISCARD)));
	handshake(t, BIT_ULL(VIRTIO_BLK_F_RO));
	read_image(images[0], before);

	memset(data, 0x42, sizeof(data));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 3, data, SECTOR, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* A driver that ignores RO gets nowhere with discard or write zeroes either. */
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 8, 8, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 1), VIRTIO_BLK_S_IOERR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 3, data, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, before + 3 * SECTOR, SECTOR);
	assert_int_equal(counter(t, "readonly"), 1);
	assert_int_equal(counter(t, "writes"), 0);

	/* Read-only images can be shared. */
	{
		struct tdev *t2 = add_blk(images[0], true);

		handshake(t2, 0);
		assert_int_equal(blk_req(t2, VIRTIO_BLK_T_IN, 7, data, SECTOR, true, NULL),
				 VIRTIO_BLK_S_OK);
		assert_memory_equal(data, before + 7 * SECTOR, SECTOR);
	}
}

/* Requests without a header or a status byte come back unanswered, length 0. */
static void test_blk_malformed(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t hdr, data, status;
	uint8_t buf[SECTOR];

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);

	/*
	 * An 8-byte header (a read of sector 3, cut short). The header is the
	 * first 16 readable bytes whatever the descriptors (2.6.4), so short
	 * means fewer than 16 readable bytes in all.
	 */
	hdr = blk_header(t, VIRTIO_BLK_T_IN, 3);
	data = galloc(t, SECTOR);
	status = galloc(t, 1);
	memset(hp(data), 0x99, SECTOR);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { data, SECTOR, true },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 3), 0);
	}
	assert_int_equal(*(uint8_t *)hp(status), 0xff);
	assert_true(all_bytes(hp(data), 0x99, SECTOR));
	/* The header split 8 + 4 is still short. */
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { hdr + 8, 4, false },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 3), 0);
	}
	/* No status byte: nothing device-writable at all */
	{
		struct tbuf b[2] = { { blk_header(t, VIRTIO_BLK_T_OUT, 3), 16, false },
				     { data, SECTOR, false } };

		assert_int_equal(request(t, 0, b, 2), 0);
	}
	/* A read without a status byte does not read. */
	{
		uint64_t h = blk_header(t, VIRTIO_BLK_T_IN, 3);
		struct tbuf b[2] = { { h, 16, false }, { data, SECTOR, false } };

		assert_int_equal(request(t, 0, b, 2), 0);
		assert_true(all_bytes(hp(data), 0x99, SECTOR));
	}
	/* Only device-writable buffers: no header to read */
	{
		struct tbuf b[2] = { { data, SECTOR, true }, { status, 1, true } };

		assert_int_equal(request(t, 0, b, 2), 0);
		assert_true(all_bytes(hp(data), 0x99, SECTOR));
		assert_int_equal(*(uint8_t *)hp(status), 0xff);
	}
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "writes"), 0);
	assert_int_equal(counter(t, "reads"), 0);
	assert_int_equal(counter(t, "errors"), 5);
	/* The queue is not broken: a good request works. */
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 3, buf, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, before + 3 * SECTOR, SECTOR);
}

/* Any framing (2.6.4): header, data and status split across descriptors, or indirect. */
static void test_blk_split(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t hdr, d1, d2, status;
	uint8_t data[2 * SECTOR];

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC));
	read_image(images[0], before);

	/* Read sectors 4-5 into 300 + 724 bytes */
	hdr = blk_header(t, VIRTIO_BLK_T_IN, 4);
	d1 = galloc(t, 300);
	d2 = galloc(t, 724);
	status = galloc(t, 1);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[4] = { { hdr, 16, false },
				     { d1, 300, true },
				     { d2, 724, true },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 4), 2 * SECTOR + 1);
	}
	assert_int_equal(*(uint8_t *)hp(status), VIRTIO_BLK_S_OK);
	assert_memory_equal(hp(d1), before + 4 * SECTOR, 300);
	assert_memory_equal(hp(d2), before + 4 * SECTOR + 300, 724);

	/* Write sectors 6-7 from 1000 + 24 bytes, the header itself split 10 + 6 */
	hdr = blk_header(t, VIRTIO_BLK_T_OUT, 6);
	d1 = galloc(t, 1000);
	d2 = galloc(t, 24);
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + 11);
	memcpy(hp(d1), data, 1000);
	memcpy(hp(d2), data + 1000, 24);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[5] = { { hdr, 10, false },
				     { hdr + 10, 6, false },
				     { d1, 1000, false },
				     { d2, 24, false },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 5), 1);
	}
	assert_int_equal(*(uint8_t *)hp(status), VIRTIO_BLK_S_OK);
	memcpy(before + 6 * SECTOR, data, sizeof(data));
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* Data and status in one 513-byte buffer */
	hdr = blk_header(t, VIRTIO_BLK_T_IN, 9);
	d1 = galloc(t, SECTOR + 1);
	memset(hp(d1), 0xee, SECTOR + 1);
	{
		struct tbuf b[2] = { { hdr, 16, false }, { d1, SECTOR + 1, true } };

		assert_int_equal(request(t, 0, b, 2), SECTOR + 1);
	}
	assert_memory_equal(hp(d1), before + 9 * SECTOR, SECTOR);
	assert_int_equal(*((uint8_t *)hp(d1) + SECTOR), VIRTIO_BLK_S_OK);

	/* The same read of sector 4-5 through an indirect table */
	{
		uint64_t table = galloc(t, 3 * 16);
		struct tbuf ind = { table, 3 * 16, false };
		struct tqueue *tq = &t->q[0];
		uint16_t head;

		hdr = blk_header(t, VIRTIO_BLK_T_IN, 4);
		d1 = galloc(t, 2 * SECTOR);
		*(uint8_t *)hp(status) = 0xff;
		write_desc(table, 0, hdr, 16, VRING_DESC_F_NEXT, 1);
		write_desc(table, 1, d1, 2 * SECTOR, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
		write_desc(table, 2, status, 1, VRING_DESC_F_WRITE, 0);
		head = build_chain(t, 0, &ind, 1);
		put16(tq->desc + 16ULL * head + 12, VRING_DESC_F_INDIRECT);
		offer(t, 0, head, true);
		assert_int_equal(next_used(t, 0, head), 2 * SECTOR + 1);
		assert_true(wait_irq(t));
		take_interrupt(t);
	}
	assert_int_equal(*(uint8_t *)hp(status), VIRTIO_BLK_S_OK);
	assert_memory_equal(hp(d1), before + 4 * SECTOR, 2 * SECTOR);
}

/* Several requests in one notification, completed in any order */
static void test_blk_batch(void **state)
{
	static uint8_t before[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t data[4], status[4];
	uint16_t heads[4];
	bool seen[4] = { false };

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);
	for (unsigned int i = 0; i < 4; i++) {
		struct tbuf b[3];

		data[i] = galloc(t, 4 * SECTOR);
		status[i] = galloc(t, 1);
		*(uint8_t *)hp(status[i]) = 0xff;
		b[0] = (struct tbuf){ blk_header(t, VIRTIO_BLK_T_IN, 100 + 16 * i), 16, false };
		b[1] = (struct tbuf){ data[i], 4 * SECTOR, true };
		b[2] = (struct tbuf){ status[i], 1, true };
		heads[i] = build_chain(t, 0, b, 3);
		offer(t, 0, heads[i], i == 3);
	}
	assert_true(wait_used(t, 0, 4, TIMEOUT_MS));
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t elem = t->q[0].used + 4 + 8ULL * i;

		for (unsigned int j = 0; j < 4; j++)
			if (get32(elem) == heads[j]) {
				assert_false(seen[j]);
				seen[j] = true;
			}
		assert_int_equal(get32(elem + 4), 4 * SECTOR + 1);
	}
	for (unsigned int i = 0; i < 4; i++) {
		assert_true(seen[i]);
		assert_int_equal(*(uint8_t *)hp(status[i]), VIRTIO_BLK_S_OK);
		assert_memory_equal(hp(data[i]), before + (100 + 16 * i) * SECTOR, 4 * SECTOR);
	}
	assert_true(wait_irq(t));
}

/* Out of the page cache: reads of it then really go to the disk, and take a while. */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* 3.3.1: a reset with I/O in flight completes only once no request can touch guest memory. */
static void test_blk_reset_inflight(void **state)
{
	static uint8_t before[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[SECTOR];

	(void)state;
	read_image(images[0], before);
	for (unsigned int round = 0; round < 24; round++) {
		uint64_t bufs[4]; /* 4 reads of 3 descriptors and a flush of 2: 14 of 16 */
		uint16_t used_after;

		handshake(t, 0);
		drop_cache(images[0]);
		for (unsigned int i = 0; i < 4; i++) {
			struct tbuf b[3];

			bufs[i] = galloc(t, 64 * SECTOR);
			b[0] = (struct tbuf){ blk_header(t, VIRTIO_BLK_T_IN, 256 * i + round), 16,
					      false };
			b[1] = (struct tbuf){ bufs[i], 64 * SECTOR, true };
			b[2] = (struct tbuf){ galloc(t, 1), 1, true };
			offer(t, 0, build_chain(t, 0, b, 3), round % 3 != 0);
		}
		{
			struct tbuf b[2] = { { blk_header(t, VIRTIO_BLK_T_FLUSH, 0), 16, false },
					     { galloc(t, 1), 1, true } };

			offer(t, 0, build_chain(t, 0, b, 2), true);
		}
		/* Reset at once, once the loop has taken the requests, or after the first is done.
		 */
		if (round % 3 == 1)
			loop_sync();
		else if (round % 3 == 2)
			wait_used(t, 0, 1, TIMEOUT_MS);
		reset(t);
		/* From here on, nothing may write the rings or the buffers. */
		used_after = used_idx(t, 0);
		for (unsigned int i = 0; i < 4; i++)
			memset(hp(bufs[i]), 0xcd, 64 * SECTOR);
		loop_sync();
		sleep_ms(5);
		loop_sync();
		assert_int_equal(used_idx(t, 0), used_after);
		for (unsigned int i = 0; i < 4; i++)
			assert_true(all_bytes(hp(bufs[i]), 0xcd, 64 * SECTOR));
		irq_edges(t);
	}
	/* and the device works after it */
	handshake(t, 0);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 1, data, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, before + SECTOR, SECTOR);
	assert_int_equal(counter(t, "errors"), 0);
}

/* ---- the fence: the mover's side, under the device lock as the glue takes it ---- */

static void fence(struct tdev *t, uint64_t gpa, uint64_t len)
{
	assert_non_null(t->dev.ops->fence);
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->fence(&t->dev, hp(gpa), len);
	pthread_mutex_unlock(&t->dev.lock);
}

/* From this thread, not the loop's: the mover's. */
static void unfence_off_loop(struct tdev *t)
{
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->unfence(&t->dev);
	pthread_mutex_unlock(&t->dev.lock);
}

static void unfence_cb(void *arg)
{
	unfence_off_loop(arg);
}

static void unfence_on_loop(struct tdev *t)
{
	assert_int_equal(ev_loop_call(&loop, unfence_cb, t), 0);
}

static unsigned int inflight_into(struct tdev *t, uint64_t gpa, uint64_t len)
{
	unsigned int n;

	pthread_mutex_lock(&t->dev.lock);
	n = t->dev.ops->inflight_into(&t->dev, hp(gpa), len);
	pthread_mutex_unlock(&t->dev.lock);
	return n;
}

/* A read submitted and not waited for: its data buffers are filled with 0xcd first. */
struct pending {
	uint16_t head;
	uint64_t sector, status;
	struct tbuf data[2];
	unsigned int nr;
	uint32_t len;
};

static struct pending read_into(struct tdev *t, uint64_t sector, const struct tbuf *data,
				unsigned int nr)
{
	struct pending p = { .sector = sector, .status = galloc(t, 1), .nr = nr };
	struct tbuf b[4];

	b[0] = (struct tbuf){ blk_header(t, VIRTIO_BLK_T_IN, sector), 16, false };
	for (unsigned int i = 0; i < nr; i++) {
		p.data[i] = data[i];
		p.data[i].dev_writes = true;
		p.len += data[i].len;
		memset(hp(data[i].gpa), 0xcd, data[i].len);
		b[1 + i] = p.data[i];
	}
	b[1 + nr] = (struct tbuf){ p.status, 1, true };
	*(uint8_t *)hp(p.status) = 0xff;
	p.head = submit(t, 0, b, nr + 2);
	return p;
}

static struct pending read_one(struct tdev *t, uint64_t sector, uint64_t gpa, uint32_t len)
{
	struct tbuf b = { gpa, len, true };

	return read_into(t, sector, &b, 1);
}

/* Give the loop time to do what it would; the used ring must stay at @used. */
static void assert_quiet(struct tdev *t, uint16_t used)
{
	loop_sync();
	sleep_ms(5);
	loop_sync();
	assert_int_equal(used_idx(t, 0), used);
}

static void assert_untouched(const struct pending *p)
{
	assert_int_equal(*(uint8_t *)hp(p->status), 0xff);
	for (unsigned int i = 0; i < p->nr; i++)
		assert_true(all_bytes(hp(p->data[i].gpa), 0xcd, p->data[i].len));
}

/* Its one used entry in [from, to), and the image's bytes in its buffers. */
static void assert_read_done(struct tdev *t, const struct pending *p, const uint8_t *image,
			     uint16_t from, uint16_t to)
{
	uint64_t off = p->sector * SECTOR;
	unsigned int found = 0;

	for (uint16_t i = from; i < to; i++) {
		uint64_t elem = t->q[0].used + 4 + 8ULL * (i % QSIZE);

		if (get32(elem) == p->head) {
			assert_int_equal(get32(elem + 4), p->len + 1);
			found++;
		}
	}
	assert_int_equal(found, 1);
	assert_int_equal(*(uint8_t *)hp(p->status), VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < p->nr; i++) {
		assert_memory_equal(hp(p->data[i].gpa), image + off, p->data[i].len);
		off += p->data[i].len;
	}
}

/*
 * Reads into the fenced range wait, unseen by inflight_into(); reads next
 * to it, writes from it and flushes go on. Unfenced on the loop thread,
 * the held reads complete with the image's bytes.
 */
static void test_blk_fence_holds_reads(void **state)
{
	static uint8_t image[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t outside, below, fenced, above;
	struct pending split, held, beside, late;

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_BLK_F_FLUSH));
	read_image(images[0], image);
	outside = galloc(t, SECTOR);
	below = galloc(t, SECTOR);
	fenced = galloc(t, 8 * SECTOR);
	above = galloc(t, SECTOR);
	assert_int_equal(above - below, 9 * SECTOR); /* the neighbours touch the range */
	fence(t, fenced, 8 * SECTOR);
	{
		/* Only its second data buffer is in the range. */
		struct tbuf b[2] = { { outside, SECTOR, true },
				     { fenced + 2 * SECTOR, SECTOR, true } };

		split = read_into(t, 10, b, 2);
	}
	held = read_one(t, 40, fenced + 6 * SECTOR, 2 * SECTOR);
	{
		/* 16 descriptors in all: none is used twice while its chain is pending. */
		struct tbuf b[2] = { { below, SECTOR, true }, { above, SECTOR, true } };

		beside = read_into(t, 20, b, 2);
	}
	memset(hp(fenced), 0x5a, SECTOR);
	{
		struct tbuf w[3] = { { blk_header(t, VIRTIO_BLK_T_OUT, 30), 16, false },
				     { fenced, SECTOR, false },
				     { galloc(t, 1), 1, true } };
		struct tbuf f[2] = { { blk_header(t, VIRTIO_BLK_T_FLUSH, 0), 16, false },
				     { galloc(t, 1), 1, true } };

		submit(t, 0, w, 3);
		submit(t, 0, f, 2);
	}
	assert_true(wait_used(t, 0, 3, TIMEOUT_MS));
	assert_quiet(t, 3);
	assert_read_done(t, &beside, image, 0, 3);
	memset(image + 30 * SECTOR, 0x5a, SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, image, IMAGE_SIZE);
	assert_untouched(&split);
	assert_untouched(&held);
	/* Held reads write nothing until they start: no move need wait for them. */
	assert_int_equal(inflight_into(t, fenced, 8 * SECTOR), 0);
	assert_int_equal(inflight_into(t, RAM_GPA, RAM_SIZE), 0);
	assert_int_equal(counter(t, "reads"), 3);

	/* On the loop thread unfence starts them itself: no kick goes through the transport. */
	t->dev.transport.kick = NULL;
	unfence_on_loop(t);
	assert_true(wait_used(t, 0, 5, TIMEOUT_MS));
	assert_read_done(t, &split, image, 3, 5);
	assert_read_done(t, &held, image, 3, 5);
	/* The range is open again. */
	late = read_one(t, 50, fenced + 4 * SECTOR, SECTOR);
	assert_true(wait_used(t, 0, 6, TIMEOUT_MS));
	assert_read_done(t, &late, image, 5, 6);
	assert_quiet(t, 6);
	assert_int_equal(counter(t, "errors"), 0);
}

/*
 * The mover unfences from its own thread: a kick has the loop start the
 * held read, unless a new fence covers it by then, which holds it again.
 */
static void test_blk_unfence_off_loop(void **state)
{
	static uint8_t image[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t fenced;
	struct pending held;

	(void)state;
	handshake(t, 0);
	read_image(images[0], image);
	fenced = galloc(t, 4 * SECTOR);
	fence(t, fenced, 4 * SECTOR);
	held = read_one(t, 7, fenced, 4 * SECTOR);
	assert_quiet(t, 0);
	assert_untouched(&held);

	/* The next move's fence is up before the loop sees the kick. */
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->unfence(&t->dev);
	t->dev.ops->fence(&t->dev, hp(fenced + SECTOR), SECTOR);
	pthread_mutex_unlock(&t->dev.lock);
	assert_quiet(t, 0);
	assert_untouched(&held);

	unfence_off_loop(t);
	assert_true(wait_used(t, 0, 1, TIMEOUT_MS));
	assert_read_done(t, &held, image, 0, 1);
	assert_quiet(t, 1);
}

struct resetter {
	struct tdev *t;
	bool done;
};

static void *reset_thread(void *arg)
{
	struct resetter *r = arg;

	wr(r->t, VIRTIO_MMIO_STATUS, 0);
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A vCPU's reset must not wait for the fence to come down: the mover may take long. */
static void reset_while_fenced(struct tdev *t)
{
	struct resetter r = { .t = t };
	uint64_t end = now_ms() + TIMEOUT_MS;
	pthread_t thread;
	bool done;

	assert_int_equal(pthread_create(&thread, NULL, reset_thread, &r), 0);
	while (!(done = __atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) && now_ms() < end)
		sleep_ms(1);
	if (!done)
		unfence_on_loop(t); /* let the reset end before failing */
	pthread_join(thread, NULL);
	assert_true(done);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
}

/*
 * 3.3.1: a reset drops the held reads, which have written nothing, at
 * once; unfencing later starts none of them. The fence outlives the reset:
 * it is the mover's, not the driver's.
 */
static void test_blk_fence_reset(void **state)
{
	static uint8_t image[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t fenced;
	struct pending held[2], after;

	(void)state;
	handshake(t, 0);
	read_image(images[0], image);
	fenced = galloc(t, 8 * SECTOR);
	fence(t, fenced, 8 * SECTOR);
	held[0] = read_one(t, 3, fenced, 4 * SECTOR);
	held[1] = read_one(t, 9, fenced + 4 * SECTOR, 4 * SECTOR);
	assert_quiet(t, 0);

	reset_while_fenced(t);
	assert_quiet(t, 0);
	assert_untouched(&held[0]);
	assert_untouched(&held[1]);

	/* Driven again, the range still fenced: a new read into it waits. */
	handshake(t, 0);
	fenced = galloc(t, 8 * SECTOR);
	after = read_one(t, 12, fenced + 2 * SECTOR, 2 * SECTOR);
	assert_quiet(t, 0);
	assert_untouched(&after);
	unfence_on_loop(t);
	assert_true(wait_used(t, 0, 1, TIMEOUT_MS));
	/* Only the new read: the dropped ones neither start nor answer. */
	assert_quiet(t, 1);
	assert_read_done(t, &after, image, 0, 1);
	assert_int_equal(counter(t, "errors"), 0);
}

/* Destroyed with reads still held: teardown frees them (valgrind sees no leak). */
static void test_blk_fence_destroy(void **state)
{
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t fenced;
	struct pending held[3];

	(void)state;
	handshake(t, 0);
	fenced = galloc(t, 3 * SECTOR);
	fence(t, fenced, 3 * SECTOR);
	for (unsigned int i = 0; i < 3; i++)
		held[i] = read_one(t, i, fenced + i * SECTOR, SECTOR);
	assert_quiet(t, 0);
	for (unsigned int i = 0; i < 3; i++)
		assert_untouched(&held[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_blk_config),
		T(test_blk_read_write),
		T(test_blk_discard_write_zeroes),
		T(test_blk_write_zeroes_on_tmpfs),
		T(test_blk_readonly),
		T(test_blk_malformed),
		T(test_blk_split),
		T(test_blk_batch),
		T(test_blk_reset_inflight),
		T(test_blk_fence_holds_reads),
		T(test_blk_unfence_off_loop),
		T(test_blk_fence_reset),
		T(test_blk_fence_destroy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
