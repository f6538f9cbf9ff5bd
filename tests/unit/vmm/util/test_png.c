// SPDX-License-Identifier: GPL-2.0-only
/* PNG encoding (vmm/util/png.h): every picture is decoded back with libpng and compared pixel by
 * pixel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <png.h>

#include "vmm/util/png.h"

/* A picture in GPU layout, and the RGB it should decode to. */
struct picture {
	struct png_pixels px;
	uint8_t *mem;
	uint8_t *rgb; /* width * height * 3 */
};

static uint32_t rng_state = 12345;

static uint8_t noise(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (uint8_t)rng_state;
}

static uint8_t pattern(uint32_t x, uint32_t y, int c)
{
	return (uint8_t)((x * 7 + y * 13 + (uint32_t)c * 85) ^ (x * y));
}

/*
 * @w x @h pixels, @pad bytes after each row, channels at @r, @g, @b. The
 * fourth byte of each pixel and the padding hold garbage that must not
 * show. @random: noise (incompressible) rather than a pattern.
 */
static void picture_make(struct picture *p, uint32_t w, uint32_t h, uint32_t pad, uint8_t r,
			 uint8_t g, uint8_t b, int random)
{
	uint32_t stride = w * 4 + pad, x, y;
	uint8_t off[3] = { r, g, b };
	int c;

	p->mem = malloc((size_t)stride * h);
	p->rgb = malloc((size_t)w * h * 3);
	assert_non_null(p->mem);
	assert_non_null(p->rgb);
	memset(p->mem, 0xEE, (size_t)stride * h);
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			uint8_t *src = p->mem + (size_t)y * stride + x * 4;
			uint8_t *dst = p->rgb + ((size_t)y * w + x) * 3;

			for (c = 0; c < 3; c++) {
				dst[c] = random ? noise() : pattern(x, y, c);
				src[off[c]] = dst[c];
			}
		}
	}
	p->px = (struct png_pixels){
		.data = p->mem, .width = w, .height = h, .stride = stride, .r = r, .g = g, .b = b
	};
}

static void picture_free(struct picture *p)
{
	free(p->mem);
	free(p->rgb);
}

/* Decode @png with libpng's reader and compare with what @p should show. */
static void assert_decodes_to(const uint8_t *png, size_t len, const struct picture *p)
{
	png_image img;
	uint8_t *rgb;
	size_t size = (size_t)p->px.width * p->px.height * 3;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_memory(&img, png, len));
	assert_int_equal(img.width, p->px.width);
	assert_int_equal(img.height, p->px.height);
	/* 8-bit RGB as stored: no alpha, no palette, not 16-bit */
	assert_int_equal(img.format, PNG_FORMAT_RGB);
	rgb = malloc(size);
	assert_non_null(rgb);
	assert_true(png_image_finish_read(&img, NULL, rgb, 0, NULL));
	assert_memory_equal(rgb, p->rgb, size);
	free(rgb);
}

static void round_trip(uint32_t w, uint32_t h, uint32_t pad, uint8_t r, uint8_t g, uint8_t b,
		       int random)
{
	static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	struct picture p;
	uint8_t *png = NULL;
	size_t len = 0;

	picture_make(&p, w, h, pad, r, g, b, random);
	assert_int_equal(png_encode(&p.px, &png, &len), 0);
	assert_non_null(png);
	assert_true(len > sizeof(signature));
	assert_memory_equal(png, signature, sizeof(signature));
	assert_decodes_to(png, len, &p);
	free(png);
	picture_free(&p);
}

static void test_one_pixel_bgrx(void **state)
{
	(void)state;
	round_trip(1, 1, 0, 2, 1, 0, 0);
}

static void test_odd_size_rgbx_with_row_padding(void **state)
{
	(void)state;
	round_trip(7, 5, 12, 0, 1, 2, 0);
	round_trip(13, 1, 3, 0, 1, 2, 0);
	round_trip(1, 9, 4, 0, 1, 2, 0);
}

static void test_alpha_first_layouts(void **state)
{
	(void)state;
	round_trip(33, 17, 0, 3, 2, 1, 0); /* XBGR */
	round_trip(31, 19, 8, 1, 2, 3, 0); /* XRGB */
	/* green and blue swapped: each channel must come from its own offset */
	round_trip(5, 3, 0, 0, 2, 1, 0);
}

/* Noise does not compress: the PNG outgrows the first output allocation. */
static void test_large_noise_grows_the_buffer(void **state)
{
	(void)state;
	round_trip(640, 480, 64, 2, 1, 0, 1);
}

static void test_largest_side_accepted(void **state)
{
	(void)state;
	round_trip(PNG_ENCODE_MAX_SIDE, 1, 0, 2, 1, 0, 0);
	round_trip(1, PNG_ENCODE_MAX_SIDE, 0, 2, 1, 0, 0);
}

static void assert_rejected(const struct png_pixels *px)
{
	uint8_t *png = (uint8_t *)"untouched";
	size_t len = 77;

	assert_int_equal(png_encode(px, &png, &len), -1);
	assert_string_equal((char *)png, "untouched");
	assert_int_equal(len, 77);
}

static void test_rejects_bad_pictures(void **state)
{
	static uint8_t mem[4 * 4];
	const struct png_pixels good = {
		.data = mem, .width = 2, .height = 2, .stride = 8, .r = 2, .g = 1, .b = 0
	};
	struct png_pixels px;
	uint8_t *png;
	size_t len;

	(void)state;
	assert_int_equal(png_encode(&good, &png, &len), 0);
	free(png);
	px = good, px.width = 0;
	assert_rejected(&px);
	px = good, px.height = 0;
	assert_rejected(&px);
	px = good, px.width = PNG_ENCODE_MAX_SIDE + 1, px.stride = px.width * 4;
	assert_rejected(&px);
	px = good, px.height = PNG_ENCODE_MAX_SIDE + 1;
	assert_rejected(&px);
	px = good, px.stride = 7;
	assert_rejected(&px);
	px = good, px.r = 4;
	assert_rejected(&px);
	px = good, px.b = 200;
	assert_rejected(&px);
	px = good, px.data = NULL;
	assert_rejected(&px);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A 1920x1080 desktop-like screen (pattern) and the worst case (noise), timed. */
static void test_full_hd_round_trip_and_timing(void **state)
{
	int random;

	(void)state;
	for (random = 0; random <= 1; random++) {
		struct picture p;
		uint8_t *png;
		size_t len;
		double t;

		picture_make(&p, 1920, 1080, 0, 2, 1, 0, random);
		t = now_ms();
		assert_int_equal(png_encode(&p.px, &png, &len), 0);
		t = now_ms() - t;
		print_message("1920x1080 %s: %.1f ms, %zu bytes\n", random ? "noise" : "pattern", t,
			      len);
		assert_decodes_to(png, len, &p);
		free(png);
		picture_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_pixel_bgrx),
		cmocka_unit_test(test_odd_size_rgbx_with_row_padding),
		cmocka_unit_test(test_alpha_first_layouts),
		cmocka_unit_test(test_large_noise_grows_the_buffer),
		cmocka_unit_test(test_largest_side_accepted),
		cmocka_unit_test(test_rejects_bad_pictures),
		cmocka_unit_test(test_full_hd_round_trip_and_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
