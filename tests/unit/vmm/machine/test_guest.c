// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which kernel the guest runs (vmm/machine/guest.h): the page size from
 * the Image header settled against --guest-page-size, the version from
 * the banner, the series of a version; and the test-only pools
 * (vmm/machine/test_pools.h) added to a DTB.
 */
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cma/size.h"
#include "fdt/dtb_check.h"
#include "tests/unit/lib/capture.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/loader.h"
#include "vmm/machine/test_pools.h"

#define IMAGE_SIZE (3u << 20)

/* An Image whose header has @flags, with @banner at @at (NULL: none). */
static uint8_t *fake_image(uint64_t flags, const char *banner, size_t at)
{
	uint8_t *img = calloc(1, IMAGE_SIZE);
	uint64_t image_size = IMAGE_SIZE;
	uint32_t magic = 0x644d5241;

	memcpy(img + 16, &image_size, 8);
	memcpy(img + 24, &flags, 8);
	memcpy(img + 56, &magic, 4);
	if (banner)
		memcpy(img + at, banner, strlen(banner));
	return img;
}

static void write_file(char path[64], const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/cmavm-guest-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_page_size_bits(void **state)
{
	static const uint64_t want[] = { 0, SZ_4K, 16 * 1024, SZ_64K };
	uint8_t header[64] = { 0 };

	(void)state;
	for (uint64_t bits = 0; bits < 4; bits++) {
		/* bit 0 (big-endian) and bit 3 (physical placement) do not change it */
		uint64_t flags = bits << 1 | 1 | 1 << 3;

		memcpy(header + 24, &flags, 8);
		assert_int_equal(arm64_image_page_size(header), want[bits]);
	}
}

/* Settle a kernel whose header says @bits with --guest-page-size @flag; the message. */
static int settle(uint64_t bits, uint64_t flag, uint64_t *page_size, char **said)
{
	uint8_t *img = fake_image(bits << 1, NULL, 0);
	struct kernel_image k;
	struct capture out, err;
	char path[64], *text;
	int ret;

	write_file(path, img, IMAGE_SIZE);
	assert_int_equal(kernel_image_probe(path, &k), 0);
	capture_start(&out, stdout);
	capture_start(&err, stderr);
	ret = guest_page_size_settle(&k, "--guest-page-size", flag, page_size);
	text = captured(&err, stderr);
	*said = captured(&out, stdout);
	*said = realloc(*said, strlen(*said) + strlen(text) + 1);
	strcat(*said, text);
	free(text);
	boot_file_free(&k.file);
	unlink(path);
	free(img);
	return ret;
}

static void test_settle(void **state)
{
	uint64_t size = 0;
	char *said;

	(void)state;
	assert_int_equal(settle(2, 0, &size, &said), 0); /* the header's 16 KiB */
	assert_int_equal(size, 16 * 1024);
	free(said);
	assert_int_equal(settle(0, SZ_64K, &size, &said), 0); /* header silent: the flag */
	assert_int_equal(size, SZ_64K);
	free(said);
	assert_int_equal(settle(0, 0, &size, &said), 0); /* neither: 4 KiB, said so */
	assert_int_equal(size, SZ_4K);
	assert_non_null(strstr(said, "assuming 4 KiB pages (pass --guest-page-size"));
	free(said);
	assert_int_equal(settle(2, SZ_4K, &size, &said), -1); /* a flag against the header */
	assert_non_null(strstr(said, "--guest-page-size 4 KiB: the kernel"));
	assert_non_null(strstr(said, "its pages are 16 KiB; drop --guest-page-size"));
	free(said);
}

static void test_page_size_parse(void **state)
{
	uint64_t size;

	(void)state;
	assert_int_equal(guest_page_size_from_text("16K", &size), 0);
	assert_int_equal(size, 16 * 1024);
	assert_int_equal(guest_page_size_from_text("4KiB", &size), 0);
	assert_int_equal(size, SZ_4K);
	assert_int_equal(guest_page_size_from_text("65536", &size), 0);
	assert_int_equal(size, SZ_64K);
	assert_int_equal(guest_page_size_from_text("8K", &size), -1);
	assert_int_equal(guest_page_size_from_text("2M", &size), -1);
	assert_int_equal(guest_page_size_from_text("", &size), -1);
}

/* The version of an Image with @banner at @at, or the return code when there is none. */
static int version_of(const char *banner, size_t at, char *out, size_t len)
{
	uint8_t *img = fake_image(0, banner, at);
	char path[64];
	int ret;

	write_file(path, img, IMAGE_SIZE);
	ret = kernel_image_version(path, out, len);
	unlink(path);
	free(img);
	return ret;
}

static void test_version(void **state)
{
	const char *b612 = "Linux version 6.12.117+deb12-arm64 (debian-kernel@lists.debian.org)";
	char v[64];

	(void)state;
	assert_int_equal(version_of(b612, 1234567, v, sizeof(v)), 0);
	assert_string_equal(v, "6.12.117+deb12-arm64");
	/* across the boundary of the 1 MiB pieces the file is read in */
	assert_int_equal(version_of(b612, (1u << 20) - 20, v, sizeof(v)), 0);
	assert_string_equal(v, "6.12.117+deb12-arm64");
	/* a format string is not the banner; the real one after it is */
	assert_int_equal(version_of("Linux version %s (%s) Linux version 6.1.0-57-arm64 (x)", 4096,
				    v, sizeof(v)),
			 0);
	assert_string_equal(v, "6.1.0-57-arm64");
	assert_int_equal(version_of(NULL, 0, v, sizeof(v)), KERNEL_VERSION_NONE);
	/* a version longer than the room given is no version */
	assert_int_equal(version_of(b612, 4096, v, 8), KERNEL_VERSION_NONE);
}

/* NUL bytes end a version, and a version must end in a space: "6.12\0\0 (" is none. */
static void test_version_stops_at_nul(void **state)
{
	static const char banner[] = "Linux version 6.12\0\0 (x)";
	uint8_t *img = fake_image(0, NULL, 0);
	char path[64], v[64];

	(void)state;
	memcpy(img + 4096, banner, sizeof(banner));
	write_file(path, img, IMAGE_SIZE);
	assert_int_equal(kernel_image_version(path, v, sizeof(v)), KERNEL_VERSION_NONE);
	unlink(path);
	free(img);
}

static void test_version_of_gzip_and_missing(void **state)
{
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	struct capture err;
	char path[64], v[64], *text;

	(void)state;
	write_file(path, gz, sizeof(gz));
	assert_int_equal(kernel_image_version(path, v, sizeof(v)), KERNEL_VERSION_GZIP);
	unlink(path);
	capture_start(&err, stderr);
	assert_int_equal(kernel_image_version("/nonexistent/Image", v, sizeof(v)), -1);
	text = captured(&err, stderr);
	assert_non_null(strstr(text, "/nonexistent/Image"));
	free(text);
}

static void test_series_of_version(void **state)
{
	enum guest_series s;

	(void)state;
	assert_int_equal(guest_series_of_version("6.1.0-57-arm64", &s), 0);
	assert_int_equal(s, GUEST_LINUX_6_1);
	assert_int_equal(guest_series_of_version("6.12.117+deb12-arm64", &s), 0);
	assert_int_equal(s, GUEST_LINUX_6_12);
	assert_int_equal(guest_series_of_version("6.6.30", &s), 1);
	assert_int_equal(s, GUEST_LINUX_6_1);
	assert_int_equal(guest_series_of_version("6.16.3", &s), 1);
	assert_int_equal(s, GUEST_LINUX_6_12);
	assert_int_equal(guest_series_of_version("7.0", &s), 1);
	assert_int_equal(s, GUEST_LINUX_6_12);
	assert_int_equal(guest_series_of_version("6.10", &s), 1);
	assert_int_equal(s, GUEST_LINUX_6_1);
	assert_int_equal(guest_series_of_version("5.18.2", &s), 1);
	assert_int_equal(s, GUEST_LINUX_6_1);
	assert_int_equal(guest_series_of_version("5.10.209", &s), -1); /* 4 MiB CMA alignment */
	assert_int_equal(guest_series_of_version("4.19", &s), -1);
	assert_int_equal(guest_series_of_version("linux", &s), -1);
}

static void test_pools_parse_errors(void **state)
{
	struct raw_pool p[TEST_POOLS_MAX];
	char err[256];

	(void)state;
	assert_int_equal(test_pools_parse("a@0x90000000+16M:reusable b@0xa0000000+2M:no-map", p,
					  err, sizeof(err)),
			 2);
	assert_string_equal(p[0].name, "a");
	assert_int_equal(p[0].base, 0x90000000);
	assert_int_equal(p[0].size, 16 * SZ_1M);
	assert_int_equal(p[0].flags, DTB_F_REUSABLE);
	assert_int_equal(p[1].flags, DTB_F_NO_MAP);
	assert_int_equal(test_pools_parse("a+16M", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "write NAME@ADDRESS+SIZE"));
	assert_int_equal(test_pools_parse("a@0x9+16Q", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pool 'a'"));
	assert_int_equal(test_pools_parse("a@0x9+16M:shared", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown 'shared'"));
	assert_int_equal(test_pools_parse("@0x9+16M", p, err, sizeof(err)), -1);
	assert_int_equal(test_pools_parse("a/b@0x9+16M", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "letters, digits"));
	assert_int_equal(test_pools_parse("a@0x90000000+2M a@0x90000000+4M", p, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "two pools named 'a' at 0x90000000"));
	assert_int_equal(test_pools_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@0x9+2M", p, err,
					  sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "a name of at most 31 characters"));
	assert_int_equal(test_pools_parse("", p, err, sizeof(err)), 0);
}

/* A DTB with only a root node, malloc()ed as the boot plan keeps its own. */
static uint8_t *empty_dtb(size_t *size)
{
	uint8_t *dtb = malloc(4096);

	assert_int_equal(fdt_create_empty_tree(dtb, 4096), 0);
	assert_int_equal(fdt_pack(dtb), 0);
	*size = fdt_totalsize(dtb);
	return dtb;
}

static void test_pools_added(void **state)
{
	size_t size;
	uint8_t *dtb = empty_dtb(&size);
	const fdt64_t *reg;
	int node, len;

	(void)state;
	unsetenv(TEST_POOLS_ENV);
	assert_int_equal(test_pools_add(&dtb, &size, 65536), 0);
	setenv(TEST_POOLS_ENV,
	       "bad@0x90200000+2M:reusable:no-map cma@0xa0000000+32M:reusable:default", 1);
	assert_int_equal(test_pools_add(&dtb, &size, 65536), 2);
	assert_int_equal(fdt_check_header(dtb), 0);
	assert_int_equal(size, fdt_totalsize(dtb));
	node = fdt_path_offset(dtb, "/reserved-memory/bad@90200000");
	assert_true(node >= 0);
	assert_non_null(fdt_getprop(dtb, node, "reusable", NULL));
	assert_non_null(fdt_getprop(dtb, node, "no-map", NULL));
	reg = fdt_getprop(dtb, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(fdt64_to_cpu(reg[0]), 0x90200000);
	assert_int_equal(fdt64_to_cpu(reg[1]), 2 * SZ_1M);
	/* in the order given: the guest runs handlers in DT order */
	assert_int_equal(
		fdt_next_subnode(dtb, fdt_path_offset(dtb, "/reserved-memory/bad@90200000")),
		fdt_path_offset(dtb, "/reserved-memory/cma@a0000000"));
	node = fdt_path_offset(dtb, "/reserved-memory/cma@a0000000");
	assert_non_null(fdt_getprop(dtb, node, "linux,cma-default", NULL));
	assert_null(fdt_getprop(dtb, node, "no-map", NULL));
	assert_non_null(fdt_getprop(dtb, fdt_path_offset(dtb, "/reserved-memory"), "ranges", NULL));
	/* too little room: refused, the DTB kept */
	assert_int_equal(test_pools_add(&dtb, &size, size + 10), -1);
	assert_int_equal(fdt_check_header(dtb), 0);
	unsetenv(TEST_POOLS_ENV);
	free(dtb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_size_bits),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_page_size_parse),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_version_stops_at_nul),
		cmocka_unit_test(test_version_of_gzip_and_missing),
		cmocka_unit_test(test_series_of_version),
		cmocka_unit_test(test_pools_parse_errors),
		cmocka_unit_test(test_pools_added),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
