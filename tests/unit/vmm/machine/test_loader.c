// SPDX-License-Identifier: GPL-2.0-only
/* Boot images (vmm/machine/loader.h): the arm64 Image header, gzip, bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "vmm/machine/loader.h"

#define IMAGE_SIZE (3 * 1024 * 1024 + 4096)

static uint8_t *fake_image(uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	uint8_t *img = calloc(1, IMAGE_SIZE);
	uint32_t magic = 0x644d5241;

	memcpy(img + 8, &text_offset, 8);
	memcpy(img + 16, &image_size, 8);
	memcpy(img + 24, &flags, 8);
	memcpy(img + 56, &magic, 4);
	for (size_t i = 64; i < IMAGE_SIZE; i++)
		img[i] = (uint8_t)(i * 31);
	return img;
}

static char *write_file(const void *data, size_t len)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/cmavm-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static size_t gzip(const uint8_t *in, size_t len, uint8_t **out)
{
	z_stream zs = { 0 };
	size_t cap = compressBound(len) + 64;

	*out = malloc(cap);
	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = (uint8_t *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = *out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	deflateEnd(&zs);
	return zs.total_out;
}

static void test_header(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0x2);
	uint64_t off, size;

	assert_null(arm64_image_parse(img, IMAGE_SIZE, &off, &size));
	assert_int_equal(off, 0);
	assert_int_equal(size, 0x2010000);
	free(img);
}

static void test_image_size_never_below_the_file(void **state)
{
	uint8_t *img = fake_image(0, 4096, 0);
	uint64_t off, size;

	assert_null(arm64_image_parse(img, IMAGE_SIZE, &off, &size));
	assert_int_equal(size, IMAGE_SIZE);
	free(img);
}

static void test_legacy_header(void **state)
{
	uint8_t *img = fake_image(0, 0, 0);
	uint64_t off, size;

	assert_null(arm64_image_parse(img, IMAGE_SIZE, &off, &size));
	assert_int_equal(off, 0x80000);
	assert_true(size > IMAGE_SIZE);
	free(img);
}

static void test_rejects(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 1 /* big-endian */);
	uint64_t off, size;

	assert_non_null(strstr(arm64_image_parse(img, IMAGE_SIZE, &off, &size), "big-endian"));
	img[56] = 'X';
	assert_non_null(strstr(arm64_image_parse(img, IMAGE_SIZE, &off, &size), "magic"));
	assert_non_null(strstr(arm64_image_parse(img, 32, &off, &size), "too short"));
	free(img);
}

static void test_gzip_image(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	char *path = write_file(gz, gz_len);
	struct kernel_image k;

	assert_int_equal(kernel_image_read(path, &k), 0);
	assert_true(k.compressed);
	assert_int_equal(k.file.size, IMAGE_SIZE);
	assert_memory_equal(k.file.data, img, IMAGE_SIZE);
	boot_file_free(&k.file);
	unlink(path);
	free(gz);
	free(img);
}

/* A cut-off gzip file must fail, not spin (it once did). */
static void test_truncated_gzip_fails(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	char *path = write_file(gz, gz_len / 2);
	struct kernel_image k;

	assert_int_equal(kernel_image_read(path, &k), -1);
	unlink(path);
	free(gz);
	free(img);
}

static void test_missing_file(void **state)
{
	struct kernel_image k;

	assert_int_equal(kernel_image_read("/nonexistent/Image", &k), -1);
}

/* A FIFO (or a directory) is refused at once: nothing waits for a writer. */
static void test_not_a_regular_file(void **state)
{
	char dir[] = "/tmp/cmavm-test-XXXXXX", fifo[64];
	struct boot_file f;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10); /* a hang fails the test instead of stopping it */
	assert_int_equal(boot_file_read(fifo, "initrd", &f), -1);
	assert_int_equal(boot_file_read(dir, "kernel", &f), -1);
	alarm(0);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_image_size_never_below_the_file),
		cmocka_unit_test(test_legacy_header),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_gzip_image),
		cmocka_unit_test(test_truncated_gzip_fails),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_regular_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
