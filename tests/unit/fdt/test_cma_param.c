// SPDX-License-Identifier: GPL-2.0-only
/*
 * cma= as Linux 6.1 reads it: memparse() numbers, early_cma() fields,
 * next_arg() splitting and parse_args() stopping at "--".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fdt/cma_param.h"
#include "cma/size.h"

static struct cma_param p;

static uint64_t size_of(const char *value)
{
	assert_int_equal(cma_param_parse(value, &p), 0);
	assert_true(p.present);
	return p.size;
}

static void test_suffixes(void **state)
{
	assert_int_equal(size_of("4096"), 4096);
	assert_int_equal(size_of("3K"), 3 << 10);
	assert_int_equal(size_of("3k"), 3 << 10);
	assert_int_equal(size_of("64M"), 64 * SZ_1M);
	assert_int_equal(size_of("64m"), 64 * SZ_1M);
	assert_int_equal(size_of("2G"), 2 * SZ_1G);
	assert_int_equal(size_of("2g"), 2 * SZ_1G);
	assert_int_equal(size_of("1T"), 1ULL << 40);
	assert_int_equal(size_of("1t"), 1ULL << 40);
	assert_int_equal(size_of("1P"), 1ULL << 50);
	assert_int_equal(size_of("1p"), 1ULL << 50);
	assert_int_equal(size_of("1E"), 1ULL << 60);
	assert_int_equal(size_of("1e"), 1ULL << 60);
	assert_string_equal(p.ignored, "");
}

static void test_hex(void **state)
{
	assert_int_equal(size_of("0x1000"), 4096);
	assert_int_equal(size_of("0X10M"), 16 * SZ_1M);
	assert_int_equal(size_of("0xfFfF"), 0xffff);
	/* "0x" with no hex digit after it: the 0 is octal and the x stops it */
	assert_int_equal(size_of("0x"), 0);
	assert_string_equal(p.ignored, "x");
	assert_int_equal(size_of("0xg"), 0);
	assert_string_equal(p.ignored, "xg");
}

static void test_octal(void **state)
{
	assert_int_equal(size_of("010"), 8);
	assert_int_equal(size_of("0100M"), 64 * SZ_1M);
	assert_int_equal(size_of("0"), 0);
	/* 8 is no octal digit: nothing after the 0 is read */
	assert_int_equal(size_of("08M"), 0);
	assert_string_equal(p.ignored, "8M");
}

static void test_junk_is_ignored(void **state)
{
	assert_int_equal(size_of("64Mjunk"), 64 * SZ_1M);
	assert_string_equal(p.ignored, "junk");
	assert_int_equal(size_of("64MB"), 64 * SZ_1M);
	assert_string_equal(p.ignored, "B");
	assert_int_equal(size_of("64MiB"), 64 * SZ_1M);
	assert_string_equal(p.ignored, "iB");
	assert_int_equal(size_of("1.5G"), 1);
	assert_string_equal(p.ignored, ".5G");
	assert_int_equal(size_of("-1"), 0);
	assert_string_equal(p.ignored, "-1");
	assert_int_equal(size_of(" 64M"), 0);
	assert_string_equal(p.ignored, " 64M");
	assert_int_equal(size_of("64M@1Gx"), 64 * SZ_1M);
	assert_string_equal(p.ignored, "x");
	assert_int_equal(p.base, SZ_1G);
}

static void test_overflow_wraps(void **state)
{
	assert_int_equal(size_of("18446744073709551615"), UINT64_MAX);
	assert_int_equal(size_of("18446744073709551616"), 0);
	assert_int_equal(size_of("18446744073709551617"), 1);
	assert_int_equal(size_of("0x10000000000000001"), 1);
	assert_int_equal(size_of("16E"), 0);
	assert_int_equal(size_of("17E"), 1ULL << 60);
}

static void test_empty_value(void **state)
{
	/* "cma=": memparse("") is 0, and the kernel takes it as size 0 */
	assert_int_equal(size_of(""), 0);
	assert_false(p.no_value);
}

static void test_missing_value(void **state)
{
	assert_int_equal(cma_param_parse(NULL, &p), -1);
	assert_false(p.present);
	assert_true(p.no_value);
}

static void test_size_only_is_not_fixed(void **state)
{
	assert_int_equal(size_of("64M"), 64 * SZ_1M);
	assert_int_equal(p.base, 0);
	assert_int_equal(p.limit, 0);
	assert_false(p.fixed);
}

static void test_at_base_is_fixed(void **state)
{
	assert_int_equal(size_of("64M@0x80000000"), 64 * SZ_1M);
	assert_int_equal(p.base, 0x80000000);
	assert_int_equal(p.limit, 0x84000000);
	assert_true(p.fixed);
	assert_int_equal(size_of("64M@2G"), 64 * SZ_1M);
	assert_int_equal(p.base, 2 * SZ_1G);
	assert_true(p.fixed);
}

static void test_at_base_limit(void **state)
{
	assert_int_equal(size_of("64M@0x80000000-0x90000000"), 64 * SZ_1M);
	assert_int_equal(p.base, 0x80000000);
	assert_int_equal(p.limit, 0x90000000);
	assert_false(p.fixed);
	/* a limit of exactly base + size fixes it too (dma_contiguous_reserve) */
	assert_int_equal(size_of("64M@2G-2112M"), 64 * SZ_1M);
	assert_int_equal(p.limit, 2 * SZ_1G + 64 * SZ_1M);
	assert_true(p.fixed);
}

static void test_empty_base_and_limit(void **state)
{
	assert_int_equal(size_of("64M@"), 64 * SZ_1M);
	assert_int_equal(p.base, 0);
	assert_int_equal(p.limit, 64 * SZ_1M);
	assert_true(p.fixed);
	assert_int_equal(size_of("64M@1G-"), 64 * SZ_1M);
	assert_int_equal(p.limit, 0);
	assert_false(p.fixed);
}

static void test_size_zero_counts_as_fixed(void **state)
{
	/* base 0 + size 0 == limit 0: the kernel's flag, though no area is made */
	assert_int_equal(size_of("0"), 0);
	assert_true(p.fixed);
}

static void test_limit_wraps(void **state)
{
	assert_int_equal(size_of("1G@0xffffffffc0000000"), SZ_1G);
	assert_int_equal(p.limit, 0);
	assert_true(p.fixed);
}

static void test_memparse_end(void **state)
{
	const char *end;

	assert_int_equal(cma_memparse("12Kx", &end), 12 << 10);
	assert_string_equal(end, "x");
	assert_int_equal(cma_memparse("7", &end), 7);
	assert_string_equal(end, "");
}

/* ---- the command line ---- */

static void from(const char *cmdline)
{
	assert_int_equal(cma_param_from_cmdline(cmdline, &p), 0);
}

static void test_cmdline_none(void **state)
{
	from(NULL);
	assert_false(p.present);
	from("");
	assert_false(p.present);
	from("console=ttyAMA0 root=/dev/vda rw");
	assert_false(p.present);
}

static void test_cmdline_simple(void **state)
{
	from("console=ttyAMA0 cma=64M root=/dev/vda");
	assert_true(p.present);
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_string_equal(p.value, "64M");
	assert_int_equal(p.nr_values, 1);
}

static void test_cmdline_spaces(void **state)
{
	from("   cma=64M   ");
	assert_int_equal(p.size, 64 * SZ_1M);
	from("quiet\tcma=32M\ncma=16M");
	assert_int_equal(p.size, 16 * SZ_1M);
	/* the kernel's ctype takes 0xA0 for a space too */
	from("quiet\xa0"
	     "cma=8M");
	assert_true(p.present);
	assert_int_equal(p.size, 8 * SZ_1M);
}

static void test_cmdline_quoted_arg(void **state)
{
	from("\"cma=64M\"");
	assert_true(p.present);
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_string_equal(p.ignored, "");
	from("\"cma=64M junk\" quiet");
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_string_equal(p.ignored, " junk");
}

static void test_cmdline_quoted_value(void **state)
{
	from("cma=\"64M@0x80000000\" quiet");
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_int_equal(p.base, 0x80000000);
	assert_string_equal(p.ignored, "");
	from("cma=\"32M more\"");
	assert_int_equal(p.size, 32 * SZ_1M);
	assert_string_equal(p.ignored, " more");
}

static void test_cmdline_quotes_hide_args(void **state)
{
	from("dyndbg=\"file x cma=32M\"");
	assert_false(p.present);
	from("dyndbg=\"file x cma=32M\" cma=16M");
	assert_int_equal(p.size, 16 * SZ_1M);
	/* a quote in mid-value keeps spaces inside the argument */
	from("cma=64M\"x cma=32M\"");
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_int_equal(p.nr_values, 1);
}

static void test_cmdline_stops_at_dashes(void **state)
{
	from("cma=64M -- cma=32M");
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_int_equal(p.nr_values, 1);
	assert_true(p.after_dashes);
	from("quiet -- cma=32M");
	assert_false(p.present);
	assert_true(p.after_dashes);
	/* "--" with a value is an ordinary argument, not the end */
	from("--=x cma=32M");
	assert_true(p.present);
	assert_false(p.after_dashes);
}

static void test_cmdline_last_wins(void **state)
{
	from("cma=64M cma=128M");
	assert_int_equal(p.size, 128 * SZ_1M);
	assert_string_equal(p.value, "128M");
	assert_int_equal(p.nr_values, 2);
	from("cma=64M@0x80000000 cma=32M@0x90000000");
	assert_int_equal(p.base, 0x90000000);
	assert_int_equal(p.limit, 0x92000000);
	assert_true(p.fixed);
}

static void test_cmdline_range_carries_over(void **state)
{
	/* early_cma() leaves base_cmdline and limit_cmdline alone without '@' */
	from("cma=64M@0x80000000 cma=32M");
	assert_int_equal(p.size, 32 * SZ_1M);
	assert_int_equal(p.base, 0x80000000);
	assert_int_equal(p.limit, 0x84000000);
	assert_true(p.range_carried);
	assert_false(p.fixed);
}

static void test_cmdline_names(void **state)
{
	from("xcma=64M cma_foo=64M cmaa=1 cm=1 CMA=64M cma-=1 cma_pernuma=8M");
	assert_false(p.present);
	assert_int_equal(p.nr_bare, 0);
}

static void test_cmdline_bare_cma(void **state)
{
	from("quiet cma");
	assert_false(p.present);
	assert_true(p.no_value);
	assert_int_equal(p.nr_bare, 1);
	/* a bare cma changes nothing the kernel keeps */
	from("cma=64M cma");
	assert_true(p.present);
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_int_equal(p.nr_bare, 1);
}

static void test_cmdline_empty_value(void **state)
{
	from("cma=");
	assert_true(p.present);
	assert_int_equal(p.size, 0);
	from("cma=\"\"");
	assert_true(p.present);
	assert_int_equal(p.size, 0);
}

static void test_cmdline_truncated(void **state)
{
	char line[CMA_PARAM_CMDLINE_SIZE + 64];

	memset(line, 'a', sizeof(line));
	strcpy(line + CMA_PARAM_CMDLINE_SIZE + 2, " cma=1M");
	line[CMA_PARAM_CMDLINE_SIZE - 40] = ' ';
	from(line);
	assert_true(p.truncated);
	assert_false(p.present);

	memcpy(line + CMA_PARAM_CMDLINE_SIZE - 39, "cma=2M ", 7);
	from(line);
	assert_true(p.truncated);
	assert_true(p.present);
	assert_int_equal(p.size, 2 * SZ_1M);
}

static void test_cmdline_lone_quote(void **state)
{
	from("\"");
	assert_false(p.present);
	from("cma=\"");
	assert_true(p.present);
	assert_int_equal(p.size, 0);
	from("\"\" cma=4M");
	assert_int_equal(p.size, 4 * SZ_1M);
}

/* A quote that ends the line opens an empty last argument: what came before stands. */
static void test_cmdline_quote_ends_line(void **state)
{
	from("cma=4M \"");
	assert_true(p.present);
	assert_int_equal(p.size, 4 * SZ_1M);
	assert_int_equal(p.nr_values, 1);
	from("cma=4M@0x90000000 \"");
	assert_true(p.fixed);
	assert_int_equal(p.base, 0x90000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suffixes),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_octal),
		cmocka_unit_test(test_junk_is_ignored),
		cmocka_unit_test(test_overflow_wraps),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_size_only_is_not_fixed),
		cmocka_unit_test(test_at_base_is_fixed),
		cmocka_unit_test(test_at_base_limit),
		cmocka_unit_test(test_empty_base_and_limit),
		cmocka_unit_test(test_size_zero_counts_as_fixed),
		cmocka_unit_test(test_limit_wraps),
		cmocka_unit_test(test_memparse_end),
		cmocka_unit_test(test_cmdline_none),
		cmocka_unit_test(test_cmdline_simple),
		cmocka_unit_test(test_cmdline_spaces),
		cmocka_unit_test(test_cmdline_quoted_arg),
		cmocka_unit_test(test_cmdline_quoted_value),
		cmocka_unit_test(test_cmdline_quotes_hide_args),
		cmocka_unit_test(test_cmdline_stops_at_dashes),
		cmocka_unit_test(test_cmdline_last_wins),
		cmocka_unit_test(test_cmdline_range_carries_over),
		cmocka_unit_test(test_cmdline_names),
		cmocka_unit_test(test_cmdline_bare_cma),
		cmocka_unit_test(test_cmdline_empty_value),
		cmocka_unit_test(test_cmdline_truncated),
		cmocka_unit_test(test_cmdline_lone_quote),
		cmocka_unit_test(test_cmdline_quote_ends_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
