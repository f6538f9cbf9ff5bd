// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boot images (vmm/machine/loader.h): the arm64 Image header, gzip, bad
 * files, and loading straight into (a fake) guest RAM.
 */
#include <endian.h>
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

#include "tests/unit/lib/capture.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/machine/loader.h"

#define IMAGE_SIZE (3 * 1024 * 1024 + 4096)
#define RAM_BASE   0x80000000ULL
#define RAM_SIZE   (8ULL << 20)

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

static void write_file(char path[64], const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/cmavm-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* @data as a kernel file at @path, probed into @k. */
static void probe_kernel(char path[64], const void *data, size_t len, struct kernel_image *k)
{
	write_file(path, data, len);
	assert_int_equal(kernel_image_probe(path, k), 0);
}

/* What a test made: the probed kernel, its file and up to three buffers. */
static void clean_up(struct kernel_image *k, const char *path, void *a, void *b, void *c)
{
	boot_file_free(&k->file);
	unlink(path);
	free(a);
	free(b);
	free(c);
}

static void rewrite_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "r+b");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
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

/* Guest RAM as the loader sees it, on the heap; poisoned, so that gaps show. */
static struct guest_ram fake_ram(void)
{
	struct guest_ram ram = { .memfd = -1, .gpa = RAM_BASE, .size = RAM_SIZE };

	ram.host = malloc(RAM_SIZE);
	memset(ram.host, 0xa5, RAM_SIZE);
	return ram;
}

/* @ret must be -1, with @needle in what the loader printed. */
static void expect_failure(int ret, struct capture *cap, const char *needle)
{
	char *text = captured(cap, stderr);

	assert_int_equal(ret, -1);
	if (!strstr(text, needle))
		fail_msg("expected \"%s\" in the message; it printed:\n%s", needle, text);
	free(text);
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

/* The probe reads the header only; the load puts the file where it is told. */
static void test_raw_image_loads_into_guest_ram(void **state)
{
	uint8_t *img = fake_image(0, 4 << 20, 0);
	struct guest_ram ram = fake_ram();
	struct kernel_image k;
	char path[64];

	probe_kernel(path, img, IMAGE_SIZE, &k);
	assert_false(k.compressed);
	assert_int_equal(k.file.size, IMAGE_SIZE);
	assert_int_equal(k.image_size, 4 << 20);
	assert_int_equal(kernel_image_load(&k, &ram, RAM_BASE + 4096, k.image_size), 0);
	assert_memory_equal(ram.host + 4096, img, IMAGE_SIZE);
	assert_int_equal(ram.host[4095], 0xa5); /* nothing before its place */
	clean_up(&k, path, ram.host, img, NULL);
}

static void test_gzip_image_inflates_into_guest_ram(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	struct guest_ram ram = fake_ram();
	struct kernel_image k;
	char path[64];

	probe_kernel(path, gz, gz_len, &k);
	assert_true(k.compressed);
	assert_int_equal(k.file.size, gz_len);
	assert_int_equal(k.image_size, 0x2010000);
	assert_memory_equal(k.header, img, ARM64_IMAGE_HEADER_SIZE);
	assert_int_equal(kernel_image_load(&k, &ram, RAM_BASE, IMAGE_SIZE), 0);
	assert_memory_equal(ram.host, img, IMAGE_SIZE);
	assert_int_equal(ram.host[IMAGE_SIZE], 0xa5); /* and not a byte more */
	clean_up(&k, path, ram.host, gz, img);
}

/* Before 3.17, image_size is 0: the gzip trailer sizes the Image. */
static void test_legacy_gzip_is_sized_by_its_trailer(void **state)
{
	uint8_t *img = fake_image(0, 0, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	struct kernel_image k;
	char path[64];

	probe_kernel(path, gz, gz_len, &k);
	assert_int_equal(k.text_offset, 0x80000);
	assert_int_equal(k.image_size, (4 << 20) + (32 << 20));
	clean_up(&k, path, gz, img, NULL);
}

/* A cut-off gzip file must fail, not spin (it once did), and say so. */
static void test_truncated_gzip_fails(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	struct guest_ram ram = fake_ram();
	struct kernel_image k;
	struct capture cap;
	char path[64];

	probe_kernel(path, gz, gz_len / 2, &k); /* the header is in the first half */
	capture_start(&cap, stderr);
	expect_failure(kernel_image_load(&k, &ram, RAM_BASE, IMAGE_SIZE), &cap,
		       "does not inflate: the file is truncated");
	boot_file_free(&k.file);
	unlink(path);
	write_file(path, gz, 40); /* too short even for the header */
	capture_start(&cap, stderr);
	expect_failure(kernel_image_probe(path, &k), &cap, "truncated");
	unlink(path);
	free(ram.host);
	free(gz);
	free(img);
}

/* A lying trailer and header: inflating stops at the room the plan gave. */
static void test_gzip_inflating_past_its_room_fails(void **state)
{
	uint8_t *img = fake_image(0, 1 << 20, 0), *gz;
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz);
	uint32_t isize = htole32(1 << 20);
	struct guest_ram ram = fake_ram();
	struct kernel_image k;
	struct capture cap;
	char path[64];

	memcpy(gz + gz_len - 4, &isize, 4);
	probe_kernel(path, gz, gz_len, &k);
	assert_int_equal(k.image_size, 1 << 20);
	capture_start(&cap, stderr);
	expect_failure(kernel_image_load(&k, &ram, RAM_BASE, k.image_size), &cap,
		       "inflates to more than the 1 MiB its Image header asks for");
	for (size_t i = 1 << 20; i < RAM_SIZE; i++)
		if (ram.host[i] != 0xa5)
			fail_msg("byte 0x%zx past the room was written", i);
	clean_up(&k, path, ram.host, gz, img);
}

/* The fuzzing entry: buffer to buffer, exact fits, overflows, garbage. */
static void test_gzip_inflate_buffer(void **state)
{
	uint8_t *img = fake_image(0, 0x2010000, 0), *gz, *out = malloc(IMAGE_SIZE + 1);
	size_t gz_len = gzip(img, IMAGE_SIZE, &gz), n;

	assert_null(gzip_inflate(gz, gz_len, out, IMAGE_SIZE, &n));
	assert_int_equal(n, IMAGE_SIZE);
	assert_memory_equal(out, img, IMAGE_SIZE);
	assert_string_equal(gzip_inflate(gz, gz_len, out, IMAGE_SIZE - 1, &n),
			    "it inflates to more than the room given to it");
	assert_int_equal(n, IMAGE_SIZE - 1);
	assert_string_equal(gzip_inflate(gz, gz_len - 1, out, IMAGE_SIZE, &n),
			    "the file is truncated");
	memset(gz + gz_len, 0x5a, 8); /* bytes after the stream are ignored */
	assert_null(gzip_inflate(gz, gz_len + 8, out, IMAGE_SIZE, &n));
	gz[gz_len - 8] ^= 1; /* the CRC */
	assert_string_equal(gzip_inflate(gz, gz_len, out, IMAGE_SIZE, &n), "incorrect data check");
	assert_non_null(gzip_inflate(img, 4096, out, IMAGE_SIZE, &n)); /* not gzip at all */
	assert_string_equal(gzip_inflate(gz, 0, out, IMAGE_SIZE, &n), "the file is truncated");
	free(out);
	free(gz);
	free(img);
}

static void test_missing_file(void **state)
{
	struct kernel_image k;

	assert_int_equal(kernel_image_probe("/nonexistent/Image", &k), -1);
}

/* A FIFO (or a directory) is refused at once: nothing waits for a writer. */
static void test_not_a_regular_file(void **state)
{
	char dir[] = "/tmp/cmavm-test-XXXXXX", fifo[64];
	struct boot_file f;
	struct kernel_image k;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10); /* a hang fails the test instead of stopping it */
	assert_int_equal(boot_file_probe(fifo, "initrd", &f), -1);
	assert_int_equal(boot_file_probe(dir, "kernel", &f), -1);
	assert_int_equal(kernel_image_probe(fifo, &k), -1);
	alarm(0);
	unlink(fifo);
	rmdir(dir);
}

static void test_empty_file(void **state)
{
	struct boot_file f;
	struct capture cap;
	char path[64];

	write_file(path, "", 0);
	capture_start(&cap, stderr);
	expect_failure(boot_file_probe(path, "initrd", &f), &cap, "is 0 bytes");
	unlink(path);
}

static void test_initrd_loads_at_its_place(void **state)
{
	static const char data[] = "070701 an initramfs";
	struct guest_ram ram = fake_ram();
	struct boot_file f;
	struct capture cap;
	char path[64];

	write_file(path, data, sizeof(data));
	assert_int_equal(boot_file_probe(path, "initrd", &f), 0);
	assert_int_equal(f.size, sizeof(data));
	assert_int_equal(boot_file_load(&f, &ram, RAM_BASE + (2 << 20), f.size), 0);
	assert_memory_equal(ram.host + (2 << 20), data, sizeof(data));
	capture_start(&cap, stderr);
	expect_failure(boot_file_load(&f, &ram, RAM_BASE + RAM_SIZE - 4, f.size), &cap,
		       "does not fit in guest RAM");
	boot_file_free(&f);
	unlink(path);
	free(ram.host);
}

/*
 * A sysfs attribute is a regular file whose size (4096) is more than it
 * holds: the read ends early, as a file shrunk during the load would.
 */
static void test_initrd_short_read(void **state)
{
	static const char *const attr = "/sys/kernel/uevent_seqnum";
	struct guest_ram ram = fake_ram();
	struct boot_file f;
	struct capture cap;

	if (access(attr, R_OK)) {
		free(ram.host);
		skip();
	}
	assert_int_equal(boot_file_probe(attr, "initrd", &f), 0);
	capture_start(&cap, stderr);
	expect_failure(boot_file_load(&f, &ram, RAM_BASE, f.size), &cap, "of its 4096 bytes");
	boot_file_free(&f);
	free(ram.host);
}

/* Between plan and load: a file that grew, one replaced, one rewritten. */
static void test_file_changed_between_plan_and_load(void **state)
{
	uint8_t *img = fake_image(0, 4 << 20, 0);
	struct guest_ram ram = fake_ram();
	struct kernel_image k;
	struct capture cap;
	char path[64], other[64];

	probe_kernel(path, img, IMAGE_SIZE, &k);
	img[16] = 1; /* another image_size, same file size */
	rewrite_file(path, img, IMAGE_SIZE);
	capture_start(&cap, stderr);
	expect_failure(kernel_image_load(&k, &ram, RAM_BASE, k.image_size), &cap,
		       "changed after cmavm checked it");
	assert_int_equal(truncate(path, IMAGE_SIZE + 1), 0);
	capture_start(&cap, stderr);
	expect_failure(kernel_image_load(&k, &ram, RAM_BASE, k.image_size), &cap,
		       "changed size between the boot plan and the load");
	write_file(other, img, IMAGE_SIZE);
	assert_int_equal(rename(other, path), 0);
	capture_start(&cap, stderr);
	expect_failure(kernel_image_load(&k, &ram, RAM_BASE, k.image_size), &cap,
		       "was replaced by another file");
	clean_up(&k, path, ram.host, img, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_image_size_never_below_the_file),
		cmocka_unit_test(test_legacy_header),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_raw_image_loads_into_guest_ram),
		cmocka_unit_test(test_gzip_image_inflates_into_guest_ram),
		cmocka_unit_test(test_legacy_gzip_is_sized_by_its_trailer),
		cmocka_unit_test(test_truncated_gzip_fails),
		cmocka_unit_test(test_gzip_inflating_past_its_room_fails),
		cmocka_unit_test(test_gzip_inflate_buffer),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_regular_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_initrd_loads_at_its_place),
		cmocka_unit_test(test_initrd_short_read),
		cmocka_unit_test(test_file_changed_between_plan_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
