// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-gpu EDID (vmm/virtio/gpu_edid.h), decoded here by VESA
 * E-EDID 1.4's bit layout, the way Linux's drm_edid.c reads it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/virtio/gpu_edid.h"

/* A detailed timing descriptor, decoded. */
struct dtd {
	uint32_t clock_khz;
	uint32_t hactive, hblank, hfront, hsync;
	uint32_t vactive, vblank, vfront, vsync;
	uint32_t width_mm, height_mm;
	uint8_t flags;
};

static void decode_dtd(const uint8_t *d, struct dtd *t)
{
	t->clock_khz = (d[0] | d[1] << 8) * 10;
	t->hactive = d[2] | (d[4] >> 4) << 8;
	t->hblank = d[3] | (d[4] & 0xf) << 8;
	t->vactive = d[5] | (d[7] >> 4) << 8;
	t->vblank = d[6] | (d[7] & 0xf) << 8;
	t->hfront = d[8] | (d[11] >> 6) << 8;
	t->hsync = d[9] | ((d[11] >> 4) & 3) << 8;
	t->vfront = d[10] >> 4 | ((d[11] >> 2) & 3) << 4;
	t->vsync = (d[10] & 0xf) | (d[11] & 3) << 4;
	t->width_mm = d[12] | (d[14] >> 4) << 8;
	t->height_mm = d[13] | (d[14] & 0xf) << 8;
	t->flags = d[17];
}

static double refresh_hz(const struct dtd *t)
{
	return t->clock_khz * 1000.0 / ((t->hactive + t->hblank) * (t->vactive + t->vblank));
}

static void build(uint8_t *e, uint32_t w, uint32_t h, const char *name)
{
	memset(e, 0xAA, GPU_EDID_SIZE);
	assert_int_equal(gpu_edid_build(e, w, h, name), GPU_EDID_SIZE);
}

static void test_header_checksum_and_identity(void **state)
{
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	uint8_t e[GPU_EDID_SIZE];
	unsigned int sum = 0, vendor, i;

	(void)state;
	build(e, 1024, 768, "x");
	for (i = 0; i < GPU_EDID_SIZE; i++)
		sum += e[i];
	assert_int_equal(sum % 256, 0);
	assert_memory_equal(e, header, 8);
	vendor = e[8] << 8 | e[9];
	assert_int_equal('@' + (vendor >> 10 & 31), 'C');
	assert_int_equal('@' + (vendor >> 5 & 31), 'M');
	assert_int_equal('@' + (vendor & 31), 'V');
	assert_int_equal(e[18], 1);
	assert_int_equal(e[19], 4);
	assert_true(e[20] & 0x80);    /* digital */
	assert_int_equal(e[23], 120); /* gamma 2.2 */
	assert_true(e[24] & 0x02);    /* preferred timing mode */
	assert_true(e[24] & 0x04);    /* sRGB */
	assert_int_equal(e[126], 0);  /* no extension blocks */
	for (i = 35; i < 38; i++)
		assert_int_equal(e[i], 0);
	for (i = 38; i < 54; i++)
		assert_int_equal(e[i], 0x01);
}

/* Ten bits each, high eight in bytes 27..34, low two packed in 25 and 26. */
static double chroma(const uint8_t *e, int i)
{
	int lo = (e[25 + i / 4] >> (6 - 2 * (i % 4))) & 3;

	return ((e[27 + i] << 2) | lo) / 1024.0;
}

static void test_chromaticity_is_srgb(void **state)
{
	static const double srgb[8] = { 0.640, 0.330, 0.300, 0.600, 0.150, 0.060, 0.3127, 0.3290 };
	uint8_t e[GPU_EDID_SIZE];
	int i;

	(void)state;
	build(e, 800, 600, NULL);
	for (i = 0; i < 8; i++)
		assert_true(fabs(chroma(e, i) - srgb[i]) < 0.001);
}

static void assert_dtd_describes(uint32_t w, uint32_t h)
{
	uint8_t e[GPU_EDID_SIZE];
	struct dtd t;

	build(e, w, h, "cmavm");
	decode_dtd(e + 54, &t);
	assert_true(t.clock_khz > 0); /* a pixel clock: a timing, not a display descriptor */
	assert_int_equal(t.hactive, w);
	assert_int_equal(t.vactive, h);
	/* the sync pulse lies inside the blank, and neither width is 0 (drm rejects that) */
	assert_true(t.hsync > 0 && t.hfront + t.hsync < t.hblank);
	assert_true(t.vsync > 0 && t.vfront + t.vsync < t.vblank);
	/* the clock is 60 frames' worth, to the 10 kHz a timing holds... */
	assert_true(fabs(t.clock_khz * 1000.0 - 60.0 * (w + t.hblank) * (h + t.vblank)) <= 5000);
	/* ...which is close to 60 Hz except for the smallest clocks */
	if (w >= 640 && h >= 480)
		assert_true(fabs(refresh_hz(&t) - 60) < 0.05);
	else if (w >= 64 && h >= 64)
		assert_true(fabs(refresh_hz(&t) - 60) < 0.5);
	assert_int_equal(t.flags, 0x1a); /* progressive, digital separate sync, +h -v */
	/* about 96 dots per inch */
	assert_true(fabs(t.width_mm - w * 25.4 / 96) <= 1);
	assert_true(fabs(t.height_mm - h * 25.4 / 96) <= 1);
	assert_true(fabs(e[21] - w * 2.54 / 96) <= 1);
	assert_true(fabs(e[22] - h * 2.54 / 96) <= 1);
}

static void test_detailed_timing_decodes_to_the_size(void **state)
{
	static const uint32_t sizes[][2] = {
		{ 640, 480 },  { 800, 600 },   { 1024, 768 },  { 1280, 720 },  { 1280, 800 },
		{ 1366, 768 }, { 1920, 1080 }, { 1920, 1200 }, { 2560, 1440 }, { 3840, 2160 },
		{ 1234, 567 }, { 257, 4095 },  { 4095, 64 },   { 64, 64 },     { 4095, 2160 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_dtd_describes(sizes[i][0], sizes[i][1]);
}

/* Below 64 x 64 Linux ignores the mode, but the bytes must still be right. */
static void test_tiny_sizes_still_decode(void **state)
{
	(void)state;
	assert_dtd_describes(1, 1);
	assert_dtd_describes(63, 17);
}

/* The CVT 1.1 reduced-blanking timings VESA lists for these two. */
static void test_standard_sizes_match_cvt_rb(void **state)
{
	uint8_t e[GPU_EDID_SIZE];
	struct dtd t;

	(void)state;
	build(e, 1920, 1080, NULL);
	decode_dtd(e + 54, &t);
	assert_int_equal(t.hactive + t.hblank, 2080);
	assert_int_equal(t.hfront, 48);
	assert_int_equal(t.hsync, 32);
	assert_int_equal(t.vactive + t.vblank, 1111);
	assert_int_equal(t.vfront, 3);
	assert_int_equal(t.vsync, 5); /* 16:9 */
	assert_true(t.clock_khz >= 138500 && t.clock_khz <= 138700);

	build(e, 1024, 768, NULL);
	decode_dtd(e + 54, &t);
	assert_int_equal(t.hactive + t.hblank, 1184);
	assert_int_equal(t.vactive + t.vblank, 790);
	assert_int_equal(t.vsync, 4); /* 4:3 */
	assert_true(t.clock_khz >= 56000 && t.clock_khz <= 56250);
}

/* Bytes 5..17 of the descriptor tagged 0xfc. */
static void assert_name(const char *name, const char *want13)
{
	uint8_t e[GPU_EDID_SIZE];
	const uint8_t *d = e + 72;

	build(e, 1024, 768, name);
	assert_int_equal(d[0] | d[1] | d[2] | d[4], 0);
	assert_int_equal(d[3], 0xfc);
	assert_memory_equal(d + 5, want13, 13);
}

static void test_monitor_name(void **state)
{
	(void)state;
	assert_name("cmavm", "cmavm\n       ");
	assert_name("exactly13char", "exactly13char");
	assert_name("a much longer monitor name", "a much longer");
	assert_name("tab\there\x80", "tab?here?\n   ");
	assert_name("", "\n            ");
	assert_name(NULL, "\n            ");
}

static void test_range_limits_hold_the_mode(void **state)
{
	static const uint32_t sizes[][2] = { { 1024, 768 }, { 3840, 2160 }, { 257, 4095 } };
	uint8_t e[GPU_EDID_SIZE];
	const uint8_t *d = e + 90;
	struct dtd t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double hz, khz;

		build(e, sizes[i][0], sizes[i][1], NULL);
		decode_dtd(e + 54, &t);
		hz = refresh_hz(&t);
		khz = (double)t.clock_khz / (t.hactive + t.hblank);
		assert_int_equal(d[0] | d[1] | d[2], 0);
		assert_int_equal(d[3], 0xfd);
		assert_int_equal(d[4], 0); /* no +255 offsets */
		assert_true(d[5] <= hz && hz <= d[6]);
		assert_true(d[7] <= khz && khz <= d[8]);
		assert_true(t.clock_khz <= d[9] * 10000u);
		assert_int_equal(d[10], 0x01); /* range limits only */
		assert_memory_equal(d + 11, "\n      ", 7);
		/* the last slot: a dummy descriptor */
		assert_int_equal(e[108] | e[109] | e[110], 0);
		assert_int_equal(e[111], 0x10);
	}
}

static void test_rejects_what_a_timing_cannot_hold(void **state)
{
	uint8_t e[GPU_EDID_SIZE];

	(void)state;
	assert_int_equal(gpu_edid_build(e, 0, 768, "x"), 0);
	assert_int_equal(gpu_edid_build(e, 1024, 0, "x"), 0);
	assert_int_equal(gpu_edid_build(e, 4096, 768, "x"), 0);
	assert_int_equal(gpu_edid_build(e, 1024, 4096, "x"), 0);
	assert_int_equal(gpu_edid_build(e, UINT32_MAX, UINT32_MAX, "x"), 0);
	/* each side fits 12 bits, but 60 Hz needs over 655.35 MHz */
	assert_int_equal(gpu_edid_build(e, 4095, 4095, "x"), 0);
	assert_int_equal(gpu_edid_build(e, 4095, 2160, "x"), GPU_EDID_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_checksum_and_identity),
		cmocka_unit_test(test_chromaticity_is_srgb),
		cmocka_unit_test(test_detailed_timing_decodes_to_the_size),
		cmocka_unit_test(test_tiny_sizes_still_decode),
		cmocka_unit_test(test_standard_sizes_match_cvt_rb),
		cmocka_unit_test(test_monitor_name),
		cmocka_unit_test(test_range_limits_hold_the_mode),
		cmocka_unit_test(test_rejects_what_a_timing_cannot_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
