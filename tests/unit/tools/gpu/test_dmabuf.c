// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-dmabuf (tools/gpu/): its reading of a buffer (dmabuf.c) and the
 * program whole, run as cmavm ctl runs it (fd 3, CMAVM_DMABUF_*). A memfd
 * stands for the dma-buf: it maps like one, but has no DMA_BUF_IOCTL_SYNC
 * (ENOTTY), which is accepted only because it is not a dma-buf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "tools/gpu/dmabuf.h"

/* The picture: 64x16, rows of 320 bytes (64 of padding), from byte 128. */
#define W	64
#define H	16
#define STRIDE	320
#define OFFSET	128
#define BUFSIZE 8192
#define PAD	0xee

static uint8_t pixel_byte(uint32_t x, uint32_t y, unsigned int i)
{
	return (uint8_t)(x * 7 + y * 13 + i * 61);
}

/* The visible pixels, rows packed: what --expect takes. */
static uint8_t *packed_pixels(void)
{
	uint8_t *p = malloc(W * H * 4);
	uint32_t x, y, i;

	assert_non_null(p);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (i = 0; i < 4; i++)
				p[(y * W + x) * 4 + i] = pixel_byte(x, y, i);
	return p;
}

/* A memfd holding the picture, padding and all. */
static int picture_fd(void)
{
	uint8_t *buf = malloc(BUFSIZE), *packed = packed_pixels();
	int fd = memfd_create("picture", MFD_CLOEXEC);
	uint32_t y;

	assert_non_null(buf);
	assert_true(fd >= 0);
	memset(buf, PAD, BUFSIZE);
	for (y = 0; y < H; y++)
		memcpy(buf + OFFSET + y * STRIDE, packed + y * W * 4, W * 4);
	assert_int_equal(write(fd, buf, BUFSIZE), BUFSIZE);
	free(packed);
	free(buf);
	return fd;
}

static struct dmabuf picture(int fd, const char *fourcc)
{
	struct dmabuf b = { .fd = fd, .width = W, .height = H, .stride = STRIDE, .offset = OFFSET };
	char err[DMABUF_ERR_MAX];

	assert_int_equal(dmabuf_layout(&b, fourcc, NULL, err, sizeof(err)), 0);
	return b;
}

/* ---- the layout ---- */

static void expect_layout(const char *fourcc, const char *format, int r, int g, int b, int unused)
{
	struct dmabuf buf = { 0 };
	char err[DMABUF_ERR_MAX] = "";

	if (dmabuf_layout(&buf, fourcc, format, err, sizeof(err)))
		fail_msg("%s/%s: %s", fourcc, format, err);
	assert_int_equal(buf.r, r);
	assert_int_equal(buf.g, g);
	assert_int_equal(buf.b, b);
	assert_int_equal(buf.unused, unused);
}

static void test_fourccs_and_virtio_formats(void **state)
{
	expect_layout("XR24", NULL, 2, 1, 0, 3);
	expect_layout("AR24", NULL, 2, 1, 0, -1);
	expect_layout("XB24", NULL, 0, 1, 2, 3);
	expect_layout("AB24", NULL, 0, 1, 2, -1);
	expect_layout("RX24", NULL, 3, 2, 1, 0);
	expect_layout("BA24", NULL, 1, 2, 3, -1);
	/* virtio names bytes in memory order: B8G8R8X8 is XR24 */
	expect_layout(NULL, "B8G8R8X8", 2, 1, 0, 3);
	expect_layout(NULL, "X8B8G8R8", 3, 2, 1, 0);
	expect_layout(NULL, "R8G8B8A8", 0, 1, 2, -1);
	/* the fourcc wins */
	expect_layout("XB24", "B8G8R8X8", 0, 1, 2, 3);
}

static void expect_layout_error(const char *fourcc, const char *format, const char *want)
{
	struct dmabuf buf = { 0 };
	char err[DMABUF_ERR_MAX] = "";

	assert_int_equal(dmabuf_layout(&buf, fourcc, format, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_layouts_refused(void **state)
{
	expect_layout_error("YUYV", NULL,
			    "unknown fourcc 'YUYV'; give one of XR24, AR24, XB24, AB24, RX24, "
			    "RA24, BX24, BA24");
	expect_layout_error(NULL, "B8G8R8",
			    "unknown pixel format 'B8G8R8'; give a virtio format "
			    "such as B8G8R8X8, or a fourcc (--fourcc XR24)");
	expect_layout_error(NULL, "R8R8G8B8",
			    "unknown pixel format 'R8R8G8B8'; give a virtio "
			    "format such as B8G8R8X8, or a fourcc (--fourcc "
			    "XR24)");
	expect_layout_error(NULL, "A8X8G8B8",
			    "unknown pixel format 'A8X8G8B8'; give a virtio "
			    "format such as B8G8R8X8, or a fourcc (--fourcc "
			    "XR24)");
	expect_layout_error(NULL, NULL,
			    "the pixel format is missing; give --fourcc (XR24, ...) or --format "
			    "(B8G8R8X8, ...), or set CMAVM_DMABUF_FOURCC");
}

/* ---- checking and mapping ---- */

static void test_check_reads_the_size_from_the_descriptor(void **state)
{
	int fd = picture_fd();
	struct dmabuf b = picture(fd, "XR24");
	char err[DMABUF_ERR_MAX] = "";

	assert_int_equal(dmabuf_check(&b, err, sizeof(err)), 0);
	assert_int_equal(b.size, BUFSIZE);
	assert_false(b.is_dmabuf);
	close(fd);
}

static void expect_check_error(struct dmabuf b, const char *want)
{
	char err[DMABUF_ERR_MAX] = "";

	assert_int_equal(dmabuf_check(&b, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_descriptions_that_do_not_fit(void **state)
{
	int fd = picture_fd();
	struct dmabuf b = picture(fd, "XR24");
	char want[DMABUF_ERR_MAX];

	b.height = 26; /* 128 + 25 * 320 + 256 = 8384 */
	expect_check_error(b, "64x26 pixels at offset 128 with a stride of 320 end at byte 8384, "
			      "past the buffer's 8192; check --width, --height, --stride and "
			      "--offset");
	b.height = H;
	b.stride = 255;
	expect_check_error(b, "a stride of 255 bytes is less than a row of 64 pixels (256 bytes); "
			      "give the buffer's own with --stride");
	b.stride = STRIDE;
	b.width = 0;
	expect_check_error(b, "the buffer's width or height is 0; give --width and --height");
	close(fd);
	b = picture(fd, "XR24");
	snprintf(want, sizeof(want),
		 "fd %d is not open; run me as 'cmavm ctl gpu export -- cmavm-dmabuf ...', which "
		 "hands the dma-buf over as fd 3",
		 fd);
	expect_check_error(b, want);
}

/* The checked, mapped picture of @fd. */
static struct dmabuf mapped(int fd, const char *fourcc)
{
	struct dmabuf b = picture(fd, fourcc);
	char err[DMABUF_ERR_MAX] = "";

	if (dmabuf_check(&b, err, sizeof(err)) || dmabuf_map(&b, err, sizeof(err)))
		fail_msg("%s", err);
	return b;
}

static void unmap(struct dmabuf *b)
{
	char err[DMABUF_ERR_MAX] = "";

	if (dmabuf_unmap(b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_null(b->map);
}

static void test_the_checksum_is_of_the_visible_pixels(void **state)
{
	uint8_t *packed = packed_pixels();
	int fd = picture_fd();
	struct dmabuf b = mapped(fd, "XR24");

	assert_int_equal(dmabuf_crc32(&b), (uint32_t)crc32(0, packed, W * H * 4));
	assert_memory_equal(dmabuf_row(&b, 1), packed + W * 4, W * 4);
	unmap(&b);
	free(packed);
	close(fd);
}

static void test_a_dma_buf_must_sync(void **state)
{
	int fd = picture_fd();
	struct dmabuf b = picture(fd, "XR24");
	char err[DMABUF_ERR_MAX] = "", want[DMABUF_ERR_MAX];

	assert_int_equal(dmabuf_check(&b, err, sizeof(err)), 0);
	b.is_dmabuf = true; /* what a memfd's ENOTTY would mean of a real one */
	assert_int_equal(dmabuf_map(&b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "DMA_BUF_IOCTL_SYNC (start) on fd %d failed: Inappropriate ioctl for device", fd);
	assert_string_equal(err, want);
	assert_null(b.map);
	close(fd);
}

/* A dma-buf of the picture through /dev/udmabuf, or -1 when this host has none. */
static int udmabuf_of_picture(void)
{
	int mem = memfd_create("picture", MFD_CLOEXEC | MFD_ALLOW_SEALING), pic = picture_fd();
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC), buf;
	struct udmabuf_create create = { .memfd = mem, .size = BUFSIZE };
	static uint8_t bytes[BUFSIZE];

	assert_true(mem >= 0);
	assert_int_equal(pread(pic, bytes, BUFSIZE, 0), BUFSIZE);
	assert_int_equal(pwrite(mem, bytes, BUFSIZE, 0), BUFSIZE);
	assert_int_equal(fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	buf = dev < 0 ? -1 : ioctl(dev, UDMABUF_CREATE, &create);
	if (dev >= 0)
		close(dev);
	close(mem);
	close(pic);
	return buf;
}

static void test_a_real_dma_buf_when_the_host_has_udmabuf(void **state)
{
	uint8_t *packed = packed_pixels();
	int fd = udmabuf_of_picture();
	struct dmabuf b;

	if (fd < 0) {
		free(packed);
		skip(); /* no /dev/udmabuf here: 'modprobe udmabuf' runs this too */
	}
	b = mapped(fd, "XR24");
	assert_true(b.is_dmabuf);
	assert_int_equal(dmabuf_crc32(&b), (uint32_t)crc32(0, packed, W * H * 4));
	unmap(&b);
	free(packed);
	close(fd);
}

/* ---- comparing ---- */

static void test_compare_counts_and_shows_the_first_differences(void **state)
{
	uint8_t *want = packed_pixels();
	int fd = picture_fd();
	struct dmabuf b = mapped(fd, "XR24");
	struct dmabuf_diff d;
	unsigned int i;

	dmabuf_compare(&b, want, &d);
	assert_int_equal(d.pixels, 0);
	assert_int_equal(d.nr_shown, 0);
	for (i = 0; i < 10; i++)
		want[(3 * W + i) * 4 + 2] ^= 0xff; /* red of (i, 3) */
	want[(5 * W + 9) * 4 + 3] ^= 0xff;	   /* X of (9, 5): not compared */
	dmabuf_compare(&b, want, &d);
	assert_int_equal(d.pixels, 10);
	assert_int_equal(d.nr_shown, DMABUF_DIFF_SHOW);
	assert_int_equal(d.shown[0].x, 0);
	assert_int_equal(d.shown[0].y, 3);
	assert_int_equal(d.shown[7].x, 7);
	assert_int_equal(d.shown[0].got ^ d.shown[0].want, 0x0000ff00);
	unmap(&b);

	/* with alpha, the fourth byte counts */
	b = mapped(fd, "AR24");
	dmabuf_compare(&b, want, &d);
	assert_int_equal(d.pixels, 11);
	unmap(&b);
	free(want);
	close(fd);
}

/* ---- the PNG ---- */

static void test_the_png_has_the_colours_in_their_places(void **state)
{
	png_image image = { .version = PNG_IMAGE_VERSION };
	uint8_t *want = packed_pixels(), *png, rgb[W * H * 3];
	int fd = picture_fd();
	struct dmabuf b = mapped(fd, "XB24"); /* bytes R G B X */
	char err[DMABUF_ERR_MAX] = "";
	size_t len, i;

	if (dmabuf_png(&b, &png, &len, err, sizeof(err)))
		fail_msg("%s", err);
	unmap(&b);
	assert_true(png_image_begin_read_from_memory(&image, png, len));
	assert_int_equal(image.width, W);
	assert_int_equal(image.height, H);
	image.format = PNG_FORMAT_RGB;
	assert_true(png_image_finish_read(&image, NULL, rgb, 0, NULL));
	for (i = 0; i < W * H; i++) {
		assert_int_equal(rgb[i * 3], want[i * 4]);
		assert_int_equal(rgb[i * 3 + 1], want[i * 4 + 1]);
		assert_int_equal(rgb[i * 3 + 2], want[i * 4 + 2]);
	}
	free(png);
	free(want);
	close(fd);
}

/* ---- the program ---- */

struct run {
	int status;
	char out[4096], err[1024];
};

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* cmavm-dmabuf @args (up to a NULL) with the picture as fd 3 and @env (up to a NULL). */
static struct run consumer(const char *const *env, const char *const *args)
{
	const char *bin = getenv("CMAVM_DMABUF_BIN");
	char *argv[16] = { "cmavm-dmabuf" };
	FILE *out = tmpfile(), *err = tmpfile();
	int fd = picture_fd(), status, i;
	struct run r;
	pid_t pid;

	assert_non_null(bin);
	for (i = 0; args[i]; i++)
		argv[i + 1] = (char *)args[i];
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		dup2(fd, 3);
		execve(bin, argv, (char **)env);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r.status = WEXITSTATUS(status);
	slurp(out, r.out, sizeof(r.out));
	slurp(err, r.err, sizeof(r.err));
	close(fd);
	return r;
}

/* As cmavm ctl describes the picture (its FORMAT names the same bytes as XR24). */
static const char *const described[] = {
	"CMAVM_DMABUF_FD=3",	   "CMAVM_DMABUF_WIDTH=64",	   "CMAVM_DMABUF_HEIGHT=16",
	"CMAVM_DMABUF_STRIDE=320", "CMAVM_DMABUF_FORMAT=B8G8R8X8", "CMAVM_DMABUF_FOURCC=XR24",
	"CMAVM_DMABUF_OFFSET=128", "CMAVM_DMABUF_SIZE=8192",	   NULL,
};

static const char *const nothing[] = { NULL };

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_the_program_checksums_and_describes(void **state)
{
	uint8_t *packed = packed_pixels();
	char want[64];
	struct run r = consumer(described, ARGS("--checksum"));

	snprintf(want, sizeof(want), "crc32 %08x\n", (uint32_t)crc32(0, packed, W * H * 4));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");
	r = consumer(described, nothing);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "fd 3: 64x16 pixels, stride 320, at offset 128 of 8192 bytes "
				   "(not a dma-buf)\n");
	/* options instead of the environment; the size from the descriptor */
	r = consumer(nothing,
		     ARGS("--fd", "3", "--width", "64", "--height", "16", "--stride", "320",
			  "--offset", "0x80", "--format", "B8G8R8X8", "--checksum"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, want);
	free(packed);
}

/* A file of the picture's packed pixels, with @flip'ed red bytes in its first row. */
static void expected_file(const char *path, unsigned int flip)
{
	uint8_t *packed = packed_pixels();
	FILE *f = fopen(path, "wb");
	unsigned int i;

	assert_non_null(f);
	for (i = 0; i < flip; i++)
		packed[i * 4 + 2] ^= 0x01;
	assert_int_equal(fwrite(packed, 1, W * H * 4, f), W * H * 4);
	fclose(f);
	free(packed);
}

static void test_the_program_compares(void **state)
{
	char path[] = "/tmp/cmavm-dmabuf-expect-XXXXXX", want[512];
	struct run r;

	close(mkstemp(path));
	expected_file(path, 0);
	r = consumer(described, ARGS("--expect", path));
	snprintf(want, sizeof(want), "all 1024 pixels match %s\n", path);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, want);

	expected_file(path, 2);
	r = consumer(described, ARGS("--expect", path));
	snprintf(want, sizeof(want),
		 "pixel (0, 0): 0x003d7ab7, %s has 0x003d7bb7\n"
		 "pixel (1, 0): 0x074481be, %s has 0x074480be\n"
		 "2 of 1024 pixels differ from %s\n",
		 path, path, path);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");

	assert_int_equal(truncate(path, 100), 0);
	r = consumer(described, ARGS("--expect", path));
	snprintf(want, sizeof(want),
		 "cmavm-dmabuf: %s has 100 bytes; the visible pixels are 4096 (width * height * "
		 "4, rows packed)\n",
		 path);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, want);
	unlink(path);
}

static void test_the_program_saves_a_png(void **state)
{
	char dir[] = "/tmp/cmavm-dmabuf-XXXXXX", path[64], want[128];
	unsigned char head[8];
	struct run r;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/shot.png", dir);
	r = consumer(described, ARGS("--save", path, "--checksum"));
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "wrote %s: 64x16 PNG, ", path);
	assert_non_null(strstr(r.out, want));
	assert_int_equal(strncmp(r.out, "crc32 ", 6), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 8, f), 8);
	fclose(f);
	assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
	unlink(path);

	snprintf(path, sizeof(path), "%s/no/shot.png", dir);
	r = consumer(described, ARGS("--save", path));
	snprintf(want, sizeof(want), "cmavm-dmabuf: cannot write %s: No such file or directory\n",
		 path);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, want);
	rmdir(dir);
}

static void test_the_program_s_usage_errors(void **state)
{
	const struct {
		const char *const *env, *const *args;
		const char *err;
	} cases[] = {
		{ nothing, ARGS("--checksum"),
		  "no dma-buf: run me as 'cmavm ctl gpu export -- cmavm-dmabuf ...', or give --fd "
		  "N with --width, --height, --stride and --fourcc" },
		{ described, ARGS("--width", "wide"),
		  "WIDTH 'wide' is not a number from 0 to 4294967295 (CMAVM_DMABUF_WIDTH, or "
		  "--width)" },
		{ described, ARGS("--fd", "9"),
		  "fd 9 is not open; run me as 'cmavm ctl gpu export -- cmavm-dmabuf ...', which "
		  "hands the dma-buf over as fd 3" },
		{ described, ARGS("shot.png"),
		  "takes no arguments, only options: shot.png; see 'cmavm-dmabuf --help'" },
		{ described, ARGS("--frob"), "no such option: --frob; see 'cmavm-dmabuf --help'" },
		{ described, ARGS("--save"),
		  "an option lacks its value: --save; see 'cmavm-dmabuf --help'" },
	};
	char want[512];
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = consumer(cases[i].env, cases[i].args);
		snprintf(want, sizeof(want), "cmavm-dmabuf: %s\n", cases[i].err);
		assert_int_equal(r.status, 2);
		assert_string_equal(r.out, "");
		assert_string_equal(r.err, want);
	}
	r = consumer(nothing, ARGS("--help"));
	assert_int_equal(r.status, 0);
	assert_int_equal(strncmp(r.out, "Usage: cmavm-dmabuf ", 20), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fourccs_and_virtio_formats),
		cmocka_unit_test(test_layouts_refused),
		cmocka_unit_test(test_check_reads_the_size_from_the_descriptor),
		cmocka_unit_test(test_descriptions_that_do_not_fit),
		cmocka_unit_test(test_the_checksum_is_of_the_visible_pixels),
		cmocka_unit_test(test_a_dma_buf_must_sync),
		cmocka_unit_test(test_a_real_dma_buf_when_the_host_has_udmabuf),
		cmocka_unit_test(test_compare_counts_and_shows_the_first_differences),
		cmocka_unit_test(test_the_png_has_the_colours_in_their_places),
		cmocka_unit_test(test_the_program_checksums_and_describes),
		cmocka_unit_test(test_the_program_compares),
		cmocka_unit_test(test_the_program_saves_a_png),
		cmocka_unit_test(test_the_program_s_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
