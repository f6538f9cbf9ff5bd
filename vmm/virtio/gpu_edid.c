// SPDX-License-Identifier: GPL-2.0-only
/*
 * The EDID of a virtio-gpu scanout, byte by byte as VESA E-EDID 1.4's base
 * block lays it out; the offsets in the comments are the standard's.
 */
#include "vmm/virtio/gpu_edid.h"

#include <string.h>

#define EDID_REFRESH_HZ	   60
#define EDID_DPI	   96
#define EDID_MAX_CLOCK_10K 0xffff /* 16 bits of 10 kHz */

/* Descriptor tags (display descriptors, bytes 54..125 in 18-byte slots) */
#define EDID_TAG_NAME  0xfc
#define EDID_TAG_RANGE 0xfd
#define EDID_TAG_DUMMY 0x10

/*
 * CVT reduced blanking (VESA CVT 1.1): a fixed 160-pixel horizontal blank
 * and at least 460 us of vertical blank, which suits a display that needs
 * no time for a beam to fly back.
 */
#define CVT_RB_H_BLANK	  160
#define CVT_RB_H_FRONT	  48
#define CVT_RB_H_SYNC	  32
#define CVT_RB_V_FRONT	  3
#define CVT_RB_V_BACK_MIN 6
#define CVT_RB_MIN_VBI_NS 460000

struct edid_timing {
	uint32_t hactive, hblank, hfront, hsync;
	uint32_t vactive, vblank, vfront, vsync;
	uint32_t clock_10khz;
};

/* CVT's vertical sync width tells the aspect ratio to a monitor that cares. */
static uint32_t cvt_vsync_lines(uint32_t w, uint32_t h)
{
	uint64_t w64 = w;

	if (w64 * 3 == (uint64_t)h * 4)
		return 4;
	if (w64 * 9 == (uint64_t)h * 16)
		return 5;
	if (w64 * 10 == (uint64_t)h * 16)
		return 6;
	if (w64 * 4 == (uint64_t)h * 5 || w64 * 9 == (uint64_t)h * 15)
		return 7;
	return 10;
}

/* 0, or -1 when the pixel clock does not fit a detailed timing. */
static int cvt_rb_timing(uint32_t w, uint32_t h, struct edid_timing *t)
{
	uint64_t frame_ns = 1000000000 / EDID_REFRESH_HZ;
	uint64_t line_ns = (frame_ns - CVT_RB_MIN_VBI_NS) / h; /* an estimate, as CVT's */
	uint32_t vbi = CVT_RB_MIN_VBI_NS / line_ns + 1;
	uint64_t hz;

	*t = (struct edid_timing){
		.hactive = w,
		.hblank = CVT_RB_H_BLANK,
		.hfront = CVT_RB_H_FRONT,
		.hsync = CVT_RB_H_SYNC,
		.vactive = h,
		.vfront = CVT_RB_V_FRONT,
		.vsync = cvt_vsync_lines(w, h),
	};
	if (vbi < t->vfront + t->vsync + CVT_RB_V_BACK_MIN)
		vbi = t->vfront + t->vsync + CVT_RB_V_BACK_MIN;
	t->vblank = vbi;
	/* to the nearest 10 kHz rather than CVT's 250: closer to 60 Hz for small sizes */
	hz = (uint64_t)EDID_REFRESH_HZ * (w + t->hblank) * (h + t->vblank);
	if ((hz + 5000) / 10000 > EDID_MAX_CLOCK_10K)
		return -1;
	t->clock_10khz = (hz + 5000) / 10000;
	return 0;
}

static uint32_t px_to_mm(uint32_t px)
{
	uint32_t mm = (px * 254 + EDID_DPI * 5) / (EDID_DPI * 10);

	return mm ? mm : 1;
}

static uint8_t px_to_cm(uint32_t px)
{
	uint32_t cm = (px * 254 + EDID_DPI * 50) / (EDID_DPI * 100);

	return cm ? cm : 1;
}

/* Bytes 0..19: header, vendor and product, EDID version. */
static void edid_put_identity(uint8_t *e)
{
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	/* "CMV": three 5-bit letters, 'A' = 1, big-endian */
	uint16_t vendor = ('C' - '@') << 10 | ('M' - '@') << 5 | ('V' - '@');

	memcpy(e, header, sizeof(header));
	e[8] = vendor >> 8;
	e[9] = vendor & 0xff;
	e[10] = 0x01; /* product code 1, little-endian */
	e[11] = 0x00;
	/* 12..15: serial number 0, none */
	e[16] = 0;	     /* week of manufacture: not given */
	e[17] = 2024 - 1990; /* year of manufacture */
	e[18] = 1;	     /* EDID 1.4 */
	e[19] = 4;
}

/* Bytes 20..24: basic display parameters. */
static void edid_put_basics(uint8_t *e, uint32_t w, uint32_t h)
{
	e[20] = 0x80 | 0x20; /* digital input, 8 bits per colour, interface undefined */
	e[21] = px_to_cm(w);
	e[22] = px_to_cm(h);
	e[23] = 220 - 100; /* gamma 2.2 */
	/* RGB 4:4:4, sRGB the default colour space, the preferred timing is native */
	e[24] = 0x04 | 0x02;
}

/* Bytes 25..34: sRGB's primaries and D65 white point, 10-bit fractions. */
static void edid_put_chromaticity(uint8_t *e)
{
	/* red x, y; green x, y; blue x, y; white x, y; in 1/1024 */
	static const uint16_t srgb[8] = { 655, 338, 307, 614, 154, 61, 320, 337 };
	int i;

	e[25] = (srgb[0] & 3) << 6 | (srgb[1] & 3) << 4 | (srgb[2] & 3) << 2 | (srgb[3] & 3);
	e[26] = (srgb[4] & 3) << 6 | (srgb[5] & 3) << 4 | (srgb[6] & 3) << 2 | (srgb[7] & 3);
	for (i = 0; i < 8; i++)
		e[27 + i] = srgb[i] >> 2;
}

/* Bytes 35..53: no established timings, eight unused standard timings. */
static void edid_put_no_standard_timings(uint8_t *e)
{
	memset(e + 35, 0, 3);
	memset(e + 38, 0x01, 16);
}

static void edid_put_detailed_timing(uint8_t *d, const struct edid_timing *t)
{
	uint32_t wmm = px_to_mm(t->hactive), hmm = px_to_mm(t->vactive);

	d[0] = t->clock_10khz & 0xff;
	d[1] = t->clock_10khz >> 8;
	d[2] = t->hactive & 0xff;
	d[3] = t->hblank & 0xff;
	d[4] = (t->hactive >> 8) << 4 | t->hblank >> 8;
	d[5] = t->vactive & 0xff;
	d[6] = t->vblank & 0xff;
	d[7] = (t->vactive >> 8) << 4 | t->vblank >> 8;
	d[8] = t->hfront & 0xff;
	d[9] = t->hsync & 0xff;
	d[10] = (t->vfront & 0xf) << 4 | (t->vsync & 0xf);
	d[11] = (t->hfront >> 8) << 6 | (t->hsync >> 8) << 4 | (t->vfront >> 4) << 2 |
		t->vsync >> 4;
	d[12] = wmm & 0xff;
	d[13] = hmm & 0xff;
	d[14] = (wmm >> 8) << 4 | hmm >> 8;
	d[15] = 0; /* no borders */
	d[16] = 0;
	/* progressive, digital separate sync, CVT-RB's +hsync -vsync */
	d[17] = 0x18 | 0x02;
}

/* An 18-byte display descriptor: zero pixel clock, then the tag. */
static void edid_put_descriptor_head(uint8_t *d, uint8_t tag)
{
	memset(d, 0, 18);
	d[3] = tag;
}

/* Up to 13 characters, ended by a line feed and padded with spaces when shorter. */
static void edid_put_name(uint8_t *d, const char *name)
{
	size_t i = 0;

	edid_put_descriptor_head(d, EDID_TAG_NAME);
	memset(d + 5, ' ', 13);
	for (; name && name[i] && i < 13; i++)
		d[5 + i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	if (i < 13)
		d[5 + i] = '\n';
}

/* The one mode with room either side of 60 Hz, whichever way a reader rounds its rates. */
static void edid_put_range_limits(uint8_t *d, const struct edid_timing *t)
{
	uint64_t hz = (uint64_t)t->clock_10khz * 10000;
	uint64_t htotal = t->hactive + t->hblank;
	uint64_t min_khz = hz * 50 / 60 / htotal / 1000;
	uint64_t max_khz = (hz * 75 / 60 / htotal + 999) / 1000;

	edid_put_descriptor_head(d, EDID_TAG_RANGE);
	d[5] = 50; /* vertical Hz */
	d[6] = 75;
	d[7] = min_khz ? (min_khz < 255 ? min_khz : 255) : 1;
	d[8] = max_khz < 255 ? max_khz : 255;
	d[9] = (t->clock_10khz + 999) / 1000; /* in 10 MHz */
	d[10] = 0x01;			      /* range limits only: no GTF or CVT formula */
	memcpy(d + 11, "\n      ", 7);
}

size_t gpu_edid_build(uint8_t out[GPU_EDID_SIZE], uint32_t width, uint32_t height, const char *name)
{
	struct edid_timing t;
	uint8_t sum = 0;
	int i;

	if (!width || !height || width > GPU_EDID_MAX_SIDE || height > GPU_EDID_MAX_SIDE)
		return 0;
	if (cvt_rb_timing(width, height, &t))
		return 0;
	memset(out, 0, GPU_EDID_SIZE);
	edid_put_identity(out);
	edid_put_basics(out, width, height);
	edid_put_chromaticity(out);
	edid_put_no_standard_timings(out);
	edid_put_detailed_timing(out + 54, &t);
	edid_put_name(out + 72, name);
	edid_put_range_limits(out + 90, &t);
	edid_put_descriptor_head(out + 108, EDID_TAG_DUMMY);
	out[126] = 0; /* no extension blocks */
	for (i = 0; i < GPU_EDID_SIZE - 1; i++)
		sum += out[i];
	out[127] = (uint8_t)-sum;
	return GPU_EDID_SIZE;
}
