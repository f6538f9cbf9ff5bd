// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/util/png.h"
#include "vmm/util/strbuf.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <zlib.h>

/* The PNG as it grows, and the row being converted. */
struct png_sink {
	struct strbuf out;
	uint8_t *row;
};

/* libpng would print to stderr and abort: the sandbox has no stderr to spare. */
static void png_fail(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void png_sink_write(png_structp png, png_bytep data, size_t n)
{
	struct png_sink *s = png_get_io_ptr(png);

	if (strbuf_add(&s->out, data, n))
		png_error(png, "out of memory");
}

/* The default flush is fflush() on the io pointer: nothing to flush in memory. */
static void png_sink_flush(png_structp png)
{
	(void)png;
}

static int png_pixels_valid(const struct png_pixels *px)
{
	if (!px->data || px->r > 3 || px->g > 3 || px->b > 3)
		return 0;
	if (!px->width || px->width > PNG_ENCODE_MAX_SIDE)
		return 0;
	if (!px->height || px->height > PNG_ENCODE_MAX_SIDE)
		return 0;
	return px->stride >= (uint64_t)px->width * 4;
}

static void png_pack_row(const struct png_pixels *px, uint32_t y, uint8_t *row)
{
	const uint8_t *src = px->data + (size_t)y * px->stride;
	uint32_t x;

	for (x = 0; x < px->width; x++, src += 4, row += 3) {
		row[0] = src[px->r];
		row[1] = src[px->g];
		row[2] = src[px->b];
	}
}

static void png_write_all(png_structp png, png_infop info, const struct png_pixels *px,
			  struct png_sink *s)
{
	uint32_t y;

	png_set_write_fn(png, s, png_sink_write, png_sink_flush);
	png_set_IHDR(png, info, px->width, px->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/*
	 * Speed over size: one cheap filter (SUB suits the flat areas of a
	 * desktop) instead of trying all five on every row, and the fastest
	 * deflate level.
	 */
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
	png_set_compression_level(png, Z_BEST_SPEED);
	png_write_info(png, info);
	for (y = 0; y < px->height; y++) {
		png_pack_row(px, y, s->row);
		png_write_row(png, s->row);
	}
	png_write_end(png, info);
}

/* Every libpng error long-jumps back here; nothing on this frame changes after setjmp(). */
static int png_write_guarded(png_structp png, png_infop info, const struct png_pixels *px,
			     struct png_sink *s)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_write_all(png, info, px, s);
	return 0;
}

int png_encode(const struct png_pixels *px, uint8_t **out, size_t *len)
{
	struct png_sink s = { .out = STRBUF_INIT(SIZE_MAX) };
	png_structp png;
	png_infop info;
	int ret;

	if (!png_pixels_valid(px))
		return -1;
	s.row = malloc((size_t)px->width * 3);
	if (!s.row)
		return -1;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_ignore_warning);
	info = png ? png_create_info_struct(png) : NULL;
	ret = info ? png_write_guarded(png, info, px, &s) : -1;
	png_destroy_write_struct(&png, &info);
	free(s.row);
	if (ret) {
		strbuf_release(&s.out);
		return -1;
	}
	*out = (uint8_t *)s.out.data;
	*len = strbuf_len(&s.out);
	return 0;
}
