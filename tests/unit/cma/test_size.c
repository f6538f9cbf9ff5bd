// SPDX-License-Identifier: GPL-2.0-only
/* Size parsing and printing (cma/size.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cma/size.h"

static uint64_t parse_ok(const char *text)
{
	char err[256] = "";
	uint64_t v = 0;

	assert_int_equal(size_parse(text, &v, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	return v;
}

static const char *parse_err(const char *text)
{
	static char err[256];
	uint64_t v = 12345;

	assert_int_equal(size_parse(text, &v, err, sizeof(err)), -1);
	assert_int_equal(v, 12345); /* untouched on error */
	return err;
}

static void test_units(void **state)
{
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("4096"), 4096);
	assert_int_equal(parse_ok("64K"), 64 << 10);
	assert_int_equal(parse_ok("64k"), 64 << 10);
	assert_int_equal(parse_ok("512M"), 512ULL << 20);
	assert_int_equal(parse_ok("512MiB"), 512ULL << 20);
	assert_int_equal(parse_ok("512mb"), 512ULL << 20);
	assert_int_equal(parse_ok("2G"), 2ULL << 30);
	assert_int_equal(parse_ok("1T"), 1ULL << 40);
	assert_int_equal(parse_ok("0x80000000"), 0x80000000ULL);
	assert_int_equal(parse_ok("0x10M"), 16ULL << 20);
	assert_int_equal(parse_ok("010G"), 10ULL << 30); /* never octal */
	assert_int_equal(parse_ok("0X1f"), 31);
}

static void test_rejects(void **state)
{
	assert_non_null(strstr(parse_err(""), "empty"));
	assert_non_null(strstr(parse_err("M"), "not a size"));
	assert_non_null(strstr(parse_err("-1M"), "not a size"));
	assert_non_null(strstr(parse_err("1.5G"), "1536M"));
	assert_non_null(strstr(parse_err("64Q"), "unknown unit 'Q'"));
	assert_non_null(strstr(parse_err("64 M"), "unknown unit"));
	assert_non_null(strstr(parse_err("99999999999999999999"), "too large"));
	assert_non_null(strstr(parse_err("16777216T"), "too large"));
	assert_non_null(strstr(parse_err("0x"), "no hex digits"));
	assert_non_null(strstr(parse_err("0x-5"), "no hex digits"));
	assert_non_null(strstr(parse_err("0x0x10"), "0x twice"));
	assert_non_null(strstr(parse_err("0X0x10M"), "0x twice"));
	assert_int_equal(parse_ok("0x0"), 0); /* a 0 after 0x is a digit */
	assert_int_equal(parse_ok("0x00010"), 16);
}

static void test_str(void **state)
{
	char b[32];

	assert_string_equal(size_str(0, b), "0 bytes");
	assert_string_equal(size_str(4097, b), "4097 bytes");
	assert_string_equal(size_str(4096, b), "4 KiB");
	assert_string_equal(size_str(1536 << 10, b), "1536 KiB");
	assert_string_equal(size_str(64ULL << 20, b), "64 MiB");
	assert_string_equal(size_str(3ULL << 29, b), "1536 MiB");
	assert_string_equal(size_str(4ULL << 30, b), "4 GiB");
	assert_string_equal(size_str(2ULL << 40, b), "2 TiB");
}

static void test_align_helpers(void **state)
{
	assert_true(is_aligned(SZ_4M, SZ_2M));
	assert_false(is_aligned(SZ_2M + SZ_4K, SZ_2M));
	assert_int_equal(align_up(SZ_2M + 1, SZ_2M), SZ_4M);
	assert_int_equal(align_down(SZ_4M - 1, SZ_2M), SZ_2M);
	assert_true(is_power_of_2(SZ_4M));
	assert_false(is_power_of_2(3 * SZ_1M));
	assert_false(is_power_of_2(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_align_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
