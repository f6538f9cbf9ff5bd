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
#include <stdlib.h>
#include <sys/stat.h>
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
	/* 1- and 2-byte reads (the driver's cread8/16) see what 4-byte ones do, at any offset. */
	{
		uint8_t whole[60], piece[2];

		for (uint32_t off = 0; off < sizeof(whole); off += 4)
			cfg_read(t, off, whole + off, 4);
		assert_int_equal(le32toh(*(uint32_t *)(whole + 20)), SECTOR);
		for (uint32_t len = 1; len <= 2; len++) {
			for (uint32_t off = 0; off + len <= sizeof(whole); off++) {
				memset(piece, 0xee, sizeof(piece));
				cfg_read(t, off, piece, len);
				assert_memory_equal(piece, whole + off, len);
			}
		}
	}

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
	/* Not one whole segment (max_discard_seg is 1): the driver's error */
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_DISCARD, 0, data, 8, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, data, 32, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* 5.2.6.2: a write zeroes flag the device does not know is UNSUPP. */
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 40, 8, 2), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 40, 8, 1u << 31),
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
	/* Discard and write zeroes are not even offered: unsupported. */
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 8, 8, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 1), VIRTIO_BLK_S_UNSUPP);
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

/* The status byte a request was answered with, or 0xff if none; checks the used length. */
static uint8_t answer(struct tdev *t, const struct tbuf *b, unsigned int n, uint32_t used_len)
{
	uint64_t status = b[n - 1].gpa + b[n - 1].len - 1;

	*(uint8_t *)hp(status) = 0xff;
	assert_int_equal(request(t, 0, b, n), used_len);
	return *(uint8_t *)hp(status);
}

/*
 * A header shorter than 16 device-readable bytes is the driver's error:
 * IOERR in the status byte, which is there (5.2.6), and nothing read.
 */
static void test_blk_short_header(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t hdr, data, status;
	uint8_t buf[SECTOR];

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);
	/* The header is the first 16 readable bytes whatever the descriptors (2.6.4). */
	hdr = blk_header(t, VIRTIO_BLK_T_IN, 3);
	data = galloc(t, SECTOR);
	status = galloc(t, 1);
	memset(hp(data), 0x99, SECTOR);
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { data, SECTOR, true },
				     { status, 1, true } };

		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
	}
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { hdr + 8, 4, false },
				     { status, 1, true } };

		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
	}
	/* Only device-writable buffers: the header is on the wrong side. */
	{
		struct tbuf b[2] = { { data, SECTOR, true }, { status, 1, true } };

		assert_int_equal(answer(t, b, 2, 1), VIRTIO_BLK_S_IOERR);
	}
	assert_true(all_bytes(hp(data), 0x99, SECTOR));
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "reads"), 0);
	assert_int_equal(counter(t, "errors"), 3);
	assert_int_equal(counter(t, "bad_requests"), 3);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 3, buf, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, before + 3 * SECTOR, SECTOR);
}

/*
 * No device-writable status byte at the end: no answer fits (5.2.6), so
 * the device needs a reset, and reads and writes nothing.
 */
static void test_blk_no_status_byte(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t data;
	uint8_t buf[SECTOR];

	(void)state;
	read_image(images[0], before);
	for (uint32_t type = VIRTIO_BLK_T_IN; type <= VIRTIO_BLK_T_OUT; type++) {
		handshake(t, 0);
		data = galloc(t, SECTOR);
		memset(hp(data), 0x99, SECTOR);
		{
			struct tbuf b[2] = { { blk_header(t, type, 3), 16, false },
					     { data, SECTOR, false } };

			submit(t, 0, b, 2);
		}
		assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
		assert_true(wait_irq(t));
		assert_int_equal(take_interrupt(t), VIRTIO_MMIO_INT_CONFIG);
		assert_int_equal(used_idx(t, 0), 0);
		assert_true(all_bytes(hp(data), 0x99, SECTOR));
	}
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "writes") + counter(t, "reads"), 0);
	handshake(t, 0);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 3, buf, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, before + 3 * SECTOR, SECTOR);
}

/*
 * The outside attack: a write whose data lies in device-writable buffers
 * (and its mirror images). Data on the wrong side is the driver's error,
 * IOERR, with only the status byte written: the image and guest memory
 * stay as they were.
 */
static void test_blk_data_on_wrong_side(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t d1, d2;

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_BLK_F_DISCARD));
	read_image(images[0], before);
	d1 = galloc(t, SECTOR);
	d2 = galloc(t, SECTOR);
	memset(hp(d1), 0x42, SECTOR);
	memset(hp(d2), 0x43, SECTOR);
	{
		/* OUT, data device-writable */
		struct tbuf b[3] = { { blk_header(t, VIRTIO_BLK_T_OUT, 3), 16, false },
				     { d1, SECTOR, true },
				     { galloc(t, 1), 1, true } };

		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
	}
	{
		/* OUT, half the data on each side */
		struct tbuf b[4] = { { blk_header(t, VIRTIO_BLK_T_OUT, 3), 16, false },
				     { d1, SECTOR, false },
				     { d2, SECTOR, true },
				     { galloc(t, 1), 1, true } };

		assert_int_equal(answer(t, b, 4, 1), VIRTIO_BLK_S_IOERR);
	}
	{
		/* IN, data device-readable: the device must not write it */
		struct tbuf b[3] = { { blk_header(t, VIRTIO_BLK_T_IN, 3), 16, false },
				     { d1, SECTOR, false },
				     { galloc(t, 1), 1, true } };

		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
	}
	{
		/* GET_ID into a device-readable buffer, and into 8 bytes (5.2.6.1: 20) */
		struct tbuf b[3] = { { blk_header(t, VIRTIO_BLK_T_GET_ID, 0), 16, false },
				     { d1, 20, false },
				     { galloc(t, 1), 1, true } };
		struct tbuf c[3] = { { blk_header(t, VIRTIO_BLK_T_GET_ID, 0), 16, false },
				     { d2, 8, true },
				     { galloc(t, 1), 1, true } };

		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
		assert_int_equal(answer(t, c, 3, 1), VIRTIO_BLK_S_IOERR);
	}
	{
		/* A discard segment in a device-writable buffer */
		struct tbuf b[3] = { { blk_header(t, VIRTIO_BLK_T_DISCARD, 0), 16, false },
				     { d1, 16, true },
				     { galloc(t, 1), 1, true } };

		put64(d1, 0);
		put32(d1 + 8, 8);
		put32(d1 + 12, 0);
		assert_int_equal(answer(t, b, 3, 1), VIRTIO_BLK_S_IOERR);
		memset(hp(d1), 0x42, 16);
	}
	assert_true(all_bytes(hp(d1), 0x42, SECTOR));
	assert_true(all_bytes(hp(d2), 0x43, SECTOR));
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "writes") + counter(t, "reads") + counter(t, "get_ids"), 0);
	assert_int_equal(counter(t, "discards"), 0);
	assert_int_equal(counter(t, "bad_requests"), 6);
	assert_int_equal(counter(t, "errors"), 6);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * DISCARD and WRITE_ZEROES need their features negotiated, or they are
 * UNSUPP (5.2.3); GET_ID has no feature bit. FLUSH is answered OK either
 * way: without its feature the device is writethrough, every answered
 * write stable already (5.2.6.2), and the flush has nothing to do. A flush
 * names sector 0 (5.2.6.1, the driver's MUST): another is the driver's
 * error, counted, but the flush is done all the same.
 */
static void test_blk_requests_need_features(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	char id[20];
	uint32_t used;

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_DISCARD, 8, 8, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 8, 8, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), true, NULL),
			 VIRTIO_BLK_S_OK);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "unsupported"), 2);
	assert_int_equal(counter(t, "flushes"), 1);
	assert_int_equal(counter(t, "discards") + counter(t, "write_zeroes"), 0);
	assert_int_equal(counter(t, "bad_requests") + counter(t, "errors"), 0);

	handshake(t, BIT_ULL(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_FLUSH, 1, NULL, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(counter(t, "bad_requests"), 1);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(counter(t, "flushes"), 3);
	assert_int_equal(counter(t, "bad_requests"), 1);
	assert_int_equal(counter(t, "errors"), 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * 5.2.6.2: when FLUSH is offered but not negotiated the driver may assume
 * a writethrough cache: a write is stable when answered. Each write,
 * discard and write zeroes then ends in an fdatasync; with FLUSH none does.
 */
static void test_blk_writethrough(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[2 * SECTOR];

	(void)state;
	read_image(images[0], before);
	memset(data, 0x3c, sizeof(data));
	handshake(t, BIT_ULL(VIRTIO_BLK_F_DISCARD) | BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 10, data, sizeof(data), false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(counter(t, "writethrough_syncs"), 1);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 20, 2, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(counter(t, "writethrough_syncs"), 2);
	/* Reads and refused writes need none. */
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 10, data, SECTOR, true, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(
		blk_req(t, VIRTIO_BLK_T_OUT, IMAGE_SIZE / SECTOR, data, SECTOR, false, NULL),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(counter(t, "writethrough_syncs"), 2);

	handshake(t, BIT_ULL(VIRTIO_BLK_F_FLUSH) | BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_OUT, 12, data, SECTOR, false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(blk_segment(t, VIRTIO_BLK_T_WRITE_ZEROES, 30, 2, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(counter(t, "writethrough_syncs"), 2);
	memset(before + 10 * SECTOR, 0x3c, 3 * SECTOR);
	memset(before + 20 * SECTOR, 0, 2 * SECTOR);
	memset(before + 30 * SECTOR, 0, 2 * SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
}

/* virtio_blk_create() on @path: its result, and how long it took (ms). */
static int create_on(const char *path, bool readonly, uint64_t *ms)
{
	struct virtio_device dev;
	struct virtio_env e = env();
	struct blk_options o = { .path = path, .readonly = readonly, .index = 3 };
	uint64_t start = now_ms();
	int ret;

	memset(&dev, 0, sizeof(dev));
	alarm(10); /* a blocking open would hang here: SIGALRM fails the test instead */
	ret = virtio_blk_create(&dev, &e, &o);
	alarm(0);
	*ms = now_ms() - start;
	if (!ret)
		virtio_destroy(&dev);
	return ret;
}

/*
 * --disk takes a regular file or a block device. A FIFO (whose open would
 * wait for a writer), a directory or a character device is refused at
 * once, read-only or not.
 */
static void test_blk_disk_kinds(void **state)
{
	char fifo[] = "/tmp/test_virtio_blk_fifo.XXXXXX", dir[] = "/tmp/test_virtio_blk_dir.XXXXXX";
	const char *refused[] = { fifo, dir, "/dev/null", "/dev/zero" };
	uint64_t ms;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(fifo));
	assert_int_equal(rmdir(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	for (unsigned int i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		for (unsigned int ro = 0; ro < 2; ro++) {
			assert_int_equal(create_on(refused[i], ro, &ms), -1);
			assert_true(ms < 1000);
		}
	}
	unlink(fifo);
	rmdir(dir);
	assert_int_equal(create_on("/tmp/test_virtio_blk_no_such_file", false, &ms), -1);
	assert_int_equal(create_on(make_image(0), false, &ms), 0);
	assert_int_equal(create_on(images[0], true, &ms), 0);
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

/* Give the loop time to do what it would; the used ring must stay at @used. */
static void assert_quiet(struct tdev *t, uint16_t used)
{
	loop_sync();
	sleep_ms(5);
	loop_sync();
	assert_int_equal(used_idx(t, 0), used);
}

/* A vCPU taking the queue back: a device reset, or QueueReady = 0 (@queue_only). */
struct resetter {
	struct tdev *t;
	bool queue_only;
	bool done;
};

static void *reset_thread(void *arg)
{
	struct resetter *r = arg;

	if (r->queue_only) {
		wr(r->t, VIRTIO_MMIO_QUEUE_SEL, 0);
		wr(r->t, VIRTIO_MMIO_QUEUE_READY, 0);
	} else {
		wr(r->t, VIRTIO_MMIO_STATUS, 0);
	}
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Take the queue back as the driver does: a reset, or (4.2.2) QueueReady
 * = 0 on the live device, which reads back 0 and needs no reset.
 */
static void take_back(struct tdev *t, bool queue_only)
{
	if (!queue_only) {
		reset(t);
		return;
	}
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * 3.3.1: a reset with I/O in flight completes only once no request can
 * touch guest memory; so does QueueReady = 0, after which the driver frees
 * the rings (Linux's vm_del_vq()).
 */
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

		handshake(t, BIT_ULL(VIRTIO_BLK_F_FLUSH));
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
		/* Take back at once, once the loop has the requests, or after the first is done. */
		if (round % 3 == 1)
			loop_sync();
		else if (round % 3 == 2)
			wait_used(t, 0, 1, TIMEOUT_MS);
		take_back(t, round / 3 % 2);
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

/* The taker's write is under way: the queue is taken back, its I/O waited for. */
static bool taken_back(struct tdev *t, bool queue_only)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while (rd(t, queue_only ? VIRTIO_MMIO_QUEUE_READY : VIRTIO_MMIO_STATUS)) {
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* A write without FLUSH negotiated (written through), offered without a kick. */
static uint64_t offer_write(struct tdev *t)
{
	uint64_t status = galloc(t, 1);
	struct tbuf b[3] = { { blk_header(t, VIRTIO_BLK_T_OUT, 5), 16, false },
			     { galloc(t, SECTOR), SECTOR, false },
			     { status, 1, true } };

	memset(hp(b[1].gpa), 0x6b, SECTOR);
	*(uint8_t *)hp(status) = 0xff;
	offer(t, 0, build_chain(t, 0, b, 3), false);
	return status;
}

/*
 * The queue is taken back while its write is in flight, and the write
 * completes while the vCPU waits for it. That completion is stale at once:
 * it neither answers (status byte, used ring) nor goes on (no fdatasync
 * after it), and the driver's writes meanwhile (another vCPU setting the
 * device up again) are refused, so no queue comes back under it.
 */
static void take_back_during_write(struct tdev *t, bool queue_only)
{
	struct resetter r = { .t = t, .queue_only = queue_only };
	uint32_t live = rd(t, VIRTIO_MMIO_STATUS), status_seen, ready_seen;
	uint64_t status = offer_write(t);
	pthread_t thread;
	bool taken;

	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(ev_loop_park(&loop), 0);
	/* Taken here, the loop parked: the write's SQE waits unsubmitted. */
	virtio_notify_queue(&t->dev, 0);
	assert_int_equal(pthread_create(&thread, NULL, reset_thread, &r), 0);
	taken = taken_back(t, queue_only);
	wr(t, VIRTIO_MMIO_STATUS, queue_only ? 0 : VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	status_seen = rd(t, VIRTIO_MMIO_STATUS);
	ready_seen = rd(t, VIRTIO_MMIO_QUEUE_READY);
	/* The write may complete now; the taker returns once it has. */
	ev_loop_unpark(&loop);
	pthread_join(thread, NULL);
	assert_true(taken);
	assert_int_equal(status_seen, queue_only ? live : 0);
	assert_int_equal(ready_seen, 0);
	assert_true(r.done);
	assert_quiet(t, 0);
	assert_int_equal(*(uint8_t *)hp(status), 0xff);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(counter(t, "writethrough_syncs"), 0);
}

static void test_blk_take_back_during_write(void **state)
{
	static uint8_t image[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[SECTOR];

	(void)state;
	read_image(images[0], image);
	for (unsigned int queue_only = 0; queue_only < 2; queue_only++) {
		handshake(t, 0);
		take_back_during_write(t, queue_only);
	}
	handshake(t, 0);
	assert_int_equal(blk_req(t, VIRTIO_BLK_T_IN, 1, data, SECTOR, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, image + SECTOR, SECTOR);
	assert_int_equal(counter(t, "writes"), 2);
	assert_int_equal(counter(t, "errors") + counter(t, "writethrough_syncs"), 0);
}

/* ---- the fence: the mover's side, under the device lock as the glue takes it ---- */

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
		T(test_blk_short_header),
		T(test_blk_no_status_byte),
		T(test_blk_data_on_wrong_side),
		T(test_blk_requests_need_features),
		T(test_blk_writethrough),
		T(test_blk_disk_kinds),
		T(test_blk_split),
		T(test_blk_batch),
		T(test_blk_reset_inflight),
		T(test_blk_take_back_during_write),
		T(test_blk_fence_holds_reads),
		T(test_blk_unfence_off_loop),
		T(test_blk_fence_reset),
		T(test_blk_fence_destroy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
