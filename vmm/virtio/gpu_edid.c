// SPDX-License-Identifier: GPL-2.0-only
/*
 * The EDID of a virtio-gpu scanout, byte by byte as VESA E-EDID 1.4's base
 * block lays it out; the offsets in the comments are the standard's.
 *
 * Beside the preferred mode the block lists the usual smaller sizes, as
 * QEMU's does (hw/display/edid-generate.c): with the preferred mode alone,
 * a guest's fbdev console goes dark when the display grows (gpu_edid.h).
 */
#include "vmm/virtio/gpu_edid.h"

#include <stdbool.h>
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

/*
 * The usual sizes below the preferred one, at 60 Hz, with the pixel clock
 * and line length of VESA DMT's timing for each (the one Linux's
 * drm_edid.c gives an established or standard timing) for the range
 * limits. The first three are established timings (a bit each), the rest
 * standard timings (two bytes each, eight at most).
 */
struct edid_usual_mode {
	uint16_t width, height;
	uint8_t est_byte, est_bit; /* est_byte 0: a standard timing */
	uint8_t aspect;		   /* a standard timing's: 0 16:10, 1 4:3, 2 5:4, 3 16:9 */
	uint32_t clock_khz;
	uint32_t htotal;
};

static const struct edid_usual_mode usual_modes[] = {
	{ 640, 480, 35, 5, 0, 25175, 800 },    { 800, 600, 35, 0, 0, 40000, 1056 },
	{ 1024, 768, 36, 3, 0, 65000, 1344 },  { 1280, 720, 0, 0, 3, 74250, 1650 },
	{ 1280, 800, 0, 0, 0, 83500, 1680 },   { 1280, 1024, 0, 0, 2, 108000, 1688 },
	{ 1440, 900, 0, 0, 0, 106500, 1904 },  { 1600, 1200, 0, 0, 1, 162000, 2160 },
	{ 1680, 1050, 0, 0, 0, 146250, 2240 }, { 1920, 1080, 0, 0, 3, 148500, 2200 },
	{ 1920, 1200, 0, 0, 0, 193250, 2592 },
};

#define NR_USUAL_MODES (sizeof(usual_modes) / sizeof(usual_modes[0]))
#define EDID_STD_FIRST 38 /* bytes 38..53: eight standard timings */
#define EDID_STD_END   54

/* What the range limits must hold: the modes the block lists. */
struct edid_span {
	uint64_t min_line_hz, max_line_hz, max_clock_hz;
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

/* Is @w x @h listed beside the preferred @pw x @ph: not larger either way, and not it? */
static bool below(uint32_t w, uint32_t h, uint32_t pw, uint32_t ph)
{
	return w <= pw && h <= ph && (w != pw || h != ph);
}

static bool shown_listed(const struct gpu_edid_monitor *m)
{
	return m->shown_width && m->shown_height &&
	       below(m->shown_width, m->shown_height, m->width, m->height);
}

/* A usual mode of the shown size gives way to the shown size's own timing. */
static bool usual_listed(const struct edid_usual_mode *u, const struct gpu_edid_monitor *m)
{
	if (!below(u->width, u->height, m->width, m->height))
		return false;
	return !shown_listed(m) || u->width != m->shown_width || u->height != m->shown_height;
}

static void span_add(struct edid_span *s, uint64_t clock_hz, uint32_t htotal)
{
	uint64_t line_hz = clock_hz / htotal;

	if (line_hz < s->min_line_hz)
		s->min_line_hz = line_hz;
	if (line_hz > s->max_line_hz)
		s->max_line_hz = line_hz;
	if (clock_hz > s->max_clock_hz)
		s->max_clock_hz = clock_hz;
}

static void span_add_timing(struct edid_span *s, const struct edid_timing *t)
{
	span_add(s, (uint64_t)t->clock_10khz * 10000, t->hactive + t->hblank);
}

/* Bytes 35..53: the usual modes listed, as established and standard timings. */
static void edid_put_usual_modes(uint8_t *e, const struct gpu_edid_monitor *m,
				 struct edid_span *span)
{
	unsigned int std = EDID_STD_FIRST;

	memset(e + 35, 0, 3);
	memset(e + EDID_STD_FIRST, 0x01, EDID_STD_END - EDID_STD_FIRST);
	for (size_t i = 0; i < NR_USUAL_MODES; i++) {
		const struct edid_usual_mode *u = &usual_modes[i];

		if (!usual_listed(u, m))
			continue;
		if (u->est_byte) {
			e[u->est_byte] |= 1u << u->est_bit;
		} else {
			e[std] = u->width / 8 - 31;
			e[std + 1] = u->aspect << 6; /* refresh: 60 Hz + the low six bits */
			std += 2;
		}
		span_add(span, (uint64_t)u->clock_khz * 1000, u->htotal);
	}
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

/* Every mode listed, with room either side of 60 Hz whichever way a reader rounds its rates. */
static void edid_put_range_limits(uint8_t *d, const struct edid_span *s)
{
	uint64_t min_khz = s->min_line_hz * 50 / 60 / 1000;
	uint64_t max_khz = (s->max_line_hz * 75 / 60 + 999) / 1000;

	edid_put_descriptor_head(d, EDID_TAG_RANGE);
	d[5] = 50; /* vertical Hz */
	d[6] = 75;
	d[7] = min_khz ? (min_khz < 255 ? min_khz : 255) : 1;
	d[8] = max_khz < 255 ? max_khz : 255;
	d[9] = (s->max_clock_hz + 9999999) / 10000000; /* in 10 MHz */
	d[10] = 0x01; /* range limits only: no GTF or CVT formula */
	memcpy(d + 11, "\n      ", 7);
}

/*
 * Bytes 108..125: the shown size's timing, else a dummy. The same timing
 * the guest had when that size was preferred: a guest that keeps its mode
 * finds it unchanged and needs no modeset, in which Linux's virtio_gpu
 * turns the scanout off until the plane's next update.
 */
static void edid_put_shown(uint8_t *d, const struct gpu_edid_monitor *m, struct edid_span *span)
{
	struct edid_timing t;

	if (!shown_listed(m) || cvt_rb_timing(m->shown_width, m->shown_height, &t)) {
		edid_put_descriptor_head(d, EDID_TAG_DUMMY);
		return;
	}
	edid_put_detailed_timing(d, &t);
	span_add_timing(span, &t);
}

size_t gpu_edid_build(uint8_t out[GPU_EDID_SIZE], const struct gpu_edid_monitor *m)
{
	struct edid_timing t;
	struct edid_span span;
	uint8_t sum = 0;
	int i;

	if (!m->width || !m->height || m->width > GPU_EDID_MAX_SIDE ||
	    m->height > GPU_EDID_MAX_SIDE)
		return 0;
	if (cvt_rb_timing(m->width, m->height, &t))
		return 0;
	memset(out, 0, GPU_EDID_SIZE);
	span = (struct edid_span){ UINT64_MAX, 0, 0 };
	span_add_timing(&span, &t);
	edid_put_identity(out);
	edid_put_basics(out, m->width, m->height);
	edid_put_chromaticity(out);
	edid_put_usual_modes(out, m, &span);
	edid_put_detailed_timing(out + 54, &t);
	edid_put_name(out + 72, m->name);
	edid_put_shown(out + 108, m, &span);
	edid_put_range_limits(out + 90, &span);
	out[126] = 0; /* no extension blocks */
	for (i = 0; i < GPU_EDID_SIZE - 1; i++)
		sum += out[i];
	out[127] = (uint8_t)-sum;
	return GPU_EDID_SIZE;
}
