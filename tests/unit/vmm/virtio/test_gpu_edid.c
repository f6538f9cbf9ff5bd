// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-gpu EDID (vmm/virtio/gpu_edid.h), decoded here by VESA
 * E-EDID 1.4's bit layout, the way Linux's drm_edid.c reads it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

static size_t build_monitor(uint8_t *e, uint32_t w, uint32_t h, uint32_t sw, uint32_t sh,
			    const char *name)
{
	struct gpu_edid_monitor m = { w, h, sw, sh, name };

	memset(e, 0xAA, GPU_EDID_SIZE);
	return gpu_edid_build(e, &m);
}

/* A monitor of @w x @h with nothing shown on it */
static void build(uint8_t *e, uint32_t w, uint32_t h, const char *name)
{
	assert_int_equal(build_monitor(e, w, h, 0, 0, name), GPU_EDID_SIZE);
}

static void build_shown(uint8_t *e, uint32_t w, uint32_t h, uint32_t sw, uint32_t sh)
{
	assert_int_equal(build_monitor(e, w, h, sw, sh, "cmavm"), GPU_EDID_SIZE);
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
	/* 640x480 and 800x600 at 60 Hz; 1024x768 is the preferred mode, not listed again */
	assert_int_equal(e[35], 0x21);
	assert_int_equal(e[36], 0);
	assert_int_equal(e[37], 0);
	for (i = 38; i < 54; i++) /* no standard timing fits: all eight unused */
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

/* A mode the block lists, with what the range limits must hold of it. */
struct listed {
	uint32_t w, h;
	uint32_t clock_khz, htotal;
	bool detailed; /* a detailed timing, else established or standard */
};

/* VESA DMT's 60 Hz timings, the ones drm_edid.c gives established and standard timings. */
static const struct listed dmt60[] = {
	{ 640, 480, 25175, 800, false },     { 800, 600, 40000, 1056, false },
	{ 1024, 768, 65000, 1344, false },   { 1280, 720, 74250, 1650, false },
	{ 1280, 800, 83500, 1680, false },   { 1280, 1024, 108000, 1688, false },
	{ 1440, 900, 106500, 1904, false },  { 1600, 1200, 162000, 2160, false },
	{ 1680, 1050, 146250, 2240, false }, { 1920, 1080, 148500, 2200, false },
	{ 1920, 1200, 193250, 2592, false },
};

#define NR_DMT60 (sizeof(dmt60) / sizeof(dmt60[0]))

static struct listed dmt(uint32_t w, uint32_t h)
{
	for (size_t i = 0; i < NR_DMT60; i++)
		if (dmt60[i].w == w && dmt60[i].h == h)
			return dmt60[i];
	fail_msg("%ux%u at 60 Hz is not a DMT timing", w, h);
	return dmt60[0];
}

/*
 * Established timings as drm_edid.c numbers them: bits of byte 35, then of
 * byte 36. Only the 60 Hz ones may be set.
 */
static unsigned int decode_established(const uint8_t *e, struct listed *out)
{
	unsigned int bits = e[35] | e[36] << 8, n = 0;

	assert_int_equal(bits & ~(1u << 5 | 1u << 0 | 1u << 11), 0);
	assert_int_equal(e[37], 0); /* no manufacturer's timings */
	if (bits & 1u << 5)
		out[n++] = dmt(640, 480);
	if (bits & 1u << 0)
		out[n++] = dmt(800, 600);
	if (bits & 1u << 11)
		out[n++] = dmt(1024, 768);
	return n;
}

/* Standard timings as drm_mode_std() reads them from an EDID 1.3 or later. */
static unsigned int decode_standard(const uint8_t *e, struct listed *out)
{
	unsigned int n = 0;

	for (unsigned int b = 38; b < 54; b += 2) {
		uint32_t w = e[b] * 8 + 248, aspect = e[b + 1] >> 6, h;

		if (e[b] == 0x01 && e[b + 1] == 0x01)
			continue;
		assert_int_equal(e[b + 1] & 0x3f, 0); /* 60 Hz */
		h = aspect == 0	  ? w * 10 / 16
		    : aspect == 1 ? w * 3 / 4
		    : aspect == 2 ? w * 4 / 5
				  : w * 9 / 16;
		out[n++] = dmt(w, h);
	}
	return n;
}

/* Every mode of the block: its detailed timings first, as Linux adds them. */
static unsigned int decode_all(const uint8_t *e, struct listed *out)
{
	unsigned int n = 0;

	for (unsigned int d = 54; d < 126; d += 18) {
		struct dtd t;

		if (!e[d] && !e[d + 1])
			continue; /* a display descriptor */
		decode_dtd(e + d, &t);
		out[n++] = (struct listed){ t.hactive, t.vactive, t.clock_khz, t.hactive + t.hblank,
					    true };
	}
	n += decode_established(e, out + n);
	return n + decode_standard(e, out + n);
}

static bool has_size(const struct listed *m, unsigned int n, uint32_t w, uint32_t h)
{
	for (unsigned int i = 0; i < n; i++)
		if (m[i].w == w && m[i].h == h)
			return true;
	return false;
}

/*
 * The usual sizes that fit in the preferred mode and are not its size, each
 * once, and nothing else: what a guest's fbdev console falls back to when
 * the display grows past its framebuffer.
 */
static void assert_usual_modes(uint32_t w, uint32_t h, unsigned int want)
{
	uint8_t e[GPU_EDID_SIZE];
	struct listed m[32];
	unsigned int n, fits = 0;

	build(e, w, h, NULL);
	n = decode_all(e, m);
	assert_true(m[0].detailed);
	assert_int_equal(m[0].w, w);
	assert_int_equal(m[0].h, h);
	for (unsigned int i = 1; i < n; i++) {
		assert_false(m[i].detailed); /* no second timing: nothing shown */
		assert_true(m[i].w <= w && m[i].h <= h);
		assert_false(has_size(m, i, m[i].w, m[i].h));
	}
	for (size_t i = 0; i < NR_DMT60; i++) {
		bool fit = dmt60[i].w <= w && dmt60[i].h <= h;

		fits += fit && (dmt60[i].w != w || dmt60[i].h != h);
		assert_true(has_size(m, n, dmt60[i].w, dmt60[i].h) == fit);
	}
	assert_int_equal(n - 1, fits);
	assert_int_equal(fits, want);
}

static void test_usual_modes_below_the_preferred(void **state)
{
	(void)state;
	assert_usual_modes(640, 480, 0);
	assert_usual_modes(639, 480, 0);
	assert_usual_modes(1000, 1000, 2);
	assert_usual_modes(1280, 800, 4); /* the demo's resize: 640x480 is among them */
	assert_usual_modes(1280, 1024, 5);
	assert_usual_modes(1920, 1200, 10);
	assert_usual_modes(4095, 2160, 11); /* eight standard timings: every slot */
}

/*
 * The shown size, offered: the last slot holds the very timing the block
 * for that size as the preferred mode has (the one a guest keeping its
 * mode has), and no other timing of that size is listed.
 */
static void assert_shown_offered(uint32_t w, uint32_t h, uint32_t sw, uint32_t sh)
{
	uint8_t e[GPU_EDID_SIZE], as_preferred[GPU_EDID_SIZE];
	struct listed m[32];
	unsigned int n, same = 0;

	build_shown(e, w, h, sw, sh);
	build(as_preferred, sw, sh, NULL);
	assert_memory_equal(e + 108, as_preferred + 54, 18);
	n = decode_all(e, m);
	for (unsigned int i = 0; i < n; i++)
		same += m[i].w == sw && m[i].h == sh;
	assert_int_equal(same, 1);
}

/* Not offered: a dummy descriptor in the last slot, and the usual modes as with nothing shown. */
static void assert_shown_not_offered(uint32_t w, uint32_t h, uint32_t sw, uint32_t sh)
{
	uint8_t e[GPU_EDID_SIZE], alone[GPU_EDID_SIZE];

	build_shown(e, w, h, sw, sh);
	build(alone, w, h, "cmavm");
	assert_int_equal(e[108] | e[109] | e[110], 0);
	assert_int_equal(e[111], 0x10);
	assert_memory_equal(e, alone, GPU_EDID_SIZE);
}

static void test_shown_size_is_offered(void **state)
{
	(void)state;
	/* below the preferred size, in one direction or both */
	assert_shown_offered(1280, 800, 1000, 700);
	assert_shown_offered(1280, 800, 320, 240);
	assert_shown_offered(640, 480, 600, 480);
	assert_shown_offered(1920, 1080, 1280, 801);
	assert_shown_offered(1000, 1000, 1000, 768);
	/* a usual size: the shown timing takes its place (the demo's 640x480 console) */
	assert_shown_offered(1280, 800, 640, 480);
	assert_shown_offered(800, 600, 640, 480);
	assert_shown_offered(1280, 800, 1280, 720);
	assert_shown_offered(1900, 1200, 1440, 900);
	/* the preferred size itself, or larger than it either way */
	assert_shown_not_offered(1280, 800, 1280, 800);
	assert_shown_not_offered(640, 480, 1280, 800);
	assert_shown_not_offered(1280, 800, 1280, 801);
	assert_shown_not_offered(1280, 800, 1281, 600);
	/* nothing shown */
	assert_shown_not_offered(1280, 800, 0, 0);
	assert_shown_not_offered(1280, 800, 1000, 0);
}

static void assert_range_holds(uint32_t w, uint32_t h, uint32_t sw, uint32_t sh)
{
	uint8_t e[GPU_EDID_SIZE];
	const uint8_t *d = e + 90;
	struct listed m[32];
	unsigned int n;

	build_shown(e, w, h, sw, sh);
	n = decode_all(e, m);
	assert_int_equal(d[0] | d[1] | d[2], 0);
	assert_int_equal(d[3], 0xfd);
	assert_int_equal(d[4], 0); /* no +255 offsets */
	assert_int_equal(d[5], 50);
	assert_int_equal(d[6], 75);
	assert_int_equal(d[10], 0x01); /* range limits only */
	assert_memory_equal(d + 11, "\n      ", 7);
	for (unsigned int i = 0; i < n; i++) {
		double khz = (double)m[i].clock_khz / m[i].htotal;

		assert_true(d[7] <= khz && khz <= d[8]);
		assert_true(m[i].clock_khz <= d[9] * 10000u);
	}
}

static void test_range_limits_hold_every_mode(void **state)
{
	static const uint32_t cases[][4] = {
		{ 1024, 768, 0, 0 },	    { 3840, 2160, 0, 0 },     { 257, 4095, 0, 0 },
		{ 640, 480, 0, 0 },	    { 1920, 1200, 320, 240 }, { 1280, 800, 1000, 700 },
		{ 640, 480, 64, 64 },	    { 4095, 2160, 16, 16 },   { 1280, 1024, 1, 1 },
		{ 4095, 2160, 4000, 2100 },
	};
	uint8_t e[GPU_EDID_SIZE];
	struct dtd t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_range_holds(cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
	/* the preferred mode's own rates, as before the usual modes: nothing else to hold */
	build(e, 640, 480, NULL);
	decode_dtd(e + 54, &t);
	assert_int_equal(e[90 + 9], (t.clock_khz + 9999) / 10000);
}

static void test_rejects_what_a_timing_cannot_hold(void **state)
{
	uint8_t e[GPU_EDID_SIZE];

	(void)state;
	assert_int_equal(build_monitor(e, 0, 768, 0, 0, "x"), 0);
	assert_int_equal(build_monitor(e, 1024, 0, 0, 0, "x"), 0);
	assert_int_equal(build_monitor(e, 4096, 768, 0, 0, "x"), 0);
	assert_int_equal(build_monitor(e, 1024, 4096, 0, 0, "x"), 0);
	assert_int_equal(build_monitor(e, UINT32_MAX, UINT32_MAX, 0, 0, "x"), 0);
	/* each side fits 12 bits, but 60 Hz needs over 655.35 MHz */
	assert_int_equal(build_monitor(e, 4095, 4095, 0, 0, "x"), 0);
	assert_int_equal(build_monitor(e, 4095, 2160, 0, 0, "x"), GPU_EDID_SIZE);
	/* the shown size is only ever offered below the preferred one: no say in this */
	assert_int_equal(build_monitor(e, 4095, 4095, 1024, 768, "x"), 0);
	assert_int_equal(build_monitor(e, 1024, 768, 4095, 4095, "x"), GPU_EDID_SIZE);
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
		cmocka_unit_test(test_usual_modes_below_the_preferred),
		cmocka_unit_test(test_shown_size_is_offered),
		cmocka_unit_test(test_range_limits_hold_every_mode),
		cmocka_unit_test(test_rejects_what_a_timing_cannot_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
