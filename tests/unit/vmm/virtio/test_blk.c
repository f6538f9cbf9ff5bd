// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (vmm/virtio/blk.c) on a raw image: config space, reads and
 * writes checked against the image byte for byte, discard and write
 * zeroes, read-only images, malformed and split requests, batches, and a
 * reset with I/O in flight.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
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
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
