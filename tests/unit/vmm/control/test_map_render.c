// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CMA pageblock map drawn for people (vmm/control/map_render.h): text
 * with letters or colours, rows and legends, and SVG.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control/map_render.h"

/* What @draw writes, as a malloc()ed string. */
#define CAPTURE(text, draw)                                                                        \
	do {                                                                                       \
		size_t len_;                                                                       \
		FILE *f_ = open_memstream(&(text), &len_);                                         \
                                                                                                   \
		assert_non_null(f_);                                                               \
		draw;                                                                              \
		assert_int_equal(fclose(f_), 0);                                                   \
	} while (0)

static const struct ctl_cma_map small_map[] = {
	{ "linux,cma", 0x9c000000, "WWWWBBBBRRLLUUUUUUUUUUUUUUUUUUUU" },
	{ "fw", 0x9ac00000, "BB" },
};

static void test_map_text_letters(void **state)
{
	char *text;

	CAPTURE(text, ctl_map_text(f_, small_map, 2, 2 << 20, false));
	assert_string_equal(text,
			    "linux,cma  base 0x9c000000  size 64 MiB  32 pageblocks of 2 MiB\n"
			    "  0x9c000000  WWWWBBBBRRLLUUUU UUUUUUUUUUUUUUUU\n"
			    "  U unbacked  20 pageblocks 40 MiB\n"
			    "  B backed     4 pageblocks 8 MiB\n"
			    "  R reported   2 pageblocks 4 MiB\n"
			    "  L ballooned  2 pageblocks 4 MiB\n"
			    "  W window     4 pageblocks 8 MiB\n"
			    "\n"
			    "fw  base 0x9ac00000  size 4 MiB  2 pageblocks of 2 MiB\n"
			    "  0x9ac00000  BB\n"
			    "  U unbacked  0 pageblocks 0 bytes\n"
			    "  B backed    2 pageblocks 4 MiB\n"
			    "  R reported  0 pageblocks 0 bytes\n"
			    "  L ballooned 0 pageblocks 0 bytes\n"
			    "  W window    0 pageblocks 0 bytes\n");
	free(text);
	CAPTURE(text, ctl_map_text(f_, NULL, 0, 2 << 20, false));
	assert_string_equal(text, "no CMA pools\n");
	free(text);
}

static void test_map_text_rows(void **state)
{
	struct ctl_cma_map big = { "big", 0xfff00000ULL, NULL };
	char blocks[131], *text;

	/* 130 pageblocks of 1 MiB from just below 4 GiB: three rows, 9 hex digits */
	memset(blocks, 'B', 130);
	blocks[130] = '\0';
	blocks[64] = 'W';
	big.blocks = blocks;
	CAPTURE(text, ctl_map_text(f_, &big, 1, 1 << 20, false));
	assert_non_null(strstr(text, "big  base 0xfff00000  size 130 MiB  130 pageblocks of 1 MiB\n"
				     "  0x0fff00000  BBBBBBBBBBBBBBBB BBBBBBBBBBBBBBBB "
				     "BBBBBBBBBBBBBBBB BBBBBBBBBBBBBBBB\n"
				     "  0x103f00000  WBBB"));
	assert_non_null(strstr(text, "\n  0x107f00000  BB\n"));
	assert_non_null(strstr(text, "  B backed    129 pageblocks 129 MiB\n"));
	assert_non_null(strstr(text, "  W window      1 pageblock  1 MiB\n"));
	free(text);
}

static void test_map_text_colour(void **state)
{
	const struct ctl_cma_map one = { "linux,cma", 0x9c000000, "UBRLWX" };
	char *text;

	CAPTURE(text, ctl_map_text(f_, &one, 1, 2 << 20, true));
	/* each state's colour once, a reset at the end of the row */
	assert_non_null(strstr(text, "  0x9c000000  \033[90m\xe2\x96\x88\033[32m\xe2\x96\x88"
				     "\033[34m\xe2\x96\x88\033[33m\xe2\x96\x88\033[35m"
				     "\xe2\x96\x88\033[31m\xe2\x96\x88\033[0m\n"));
	/* the legend: a swatch, then the letter */
	assert_non_null(strstr(text, "  \033[32m\xe2\x96\x88\033[0m B backed"));
	assert_non_null(strstr(text, "  \033[31m\xe2\x96\x88\033[0m ? unknown"));
	free(text);
	setenv("NO_COLOR", "1", 1);
	assert_false(ctl_map_want_colour(stdout));
	unsetenv("NO_COLOR");
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle))) {
		n++;
		text += strlen(needle);
	}
	return n;
}

static void test_map_svg(void **state)
{
	static const char svg_start[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					"<svg xmlns=\"http://www.w3.org/2000/svg\" ";
	char *text;
	int ret;

	CAPTURE(text, ret = ctl_map_svg(f_, small_map, 2, 2 << 20));
	assert_int_equal(ret, 0);
	assert_true(!strncmp(text, svg_start, strlen(svg_start)));
	assert_non_null(strstr(text, "</svg>\n"));
	assert_string_equal(strstr(text, "</svg>\n"), "</svg>\n");
	/* the background, one per pageblock, five legend swatches per pool */
	assert_int_equal(count(text, "<rect "), 1 + 32 + 2 + 2 * 5);
	assert_int_equal(count(text, "<g>"), 2);
	assert_int_equal(count(text, "</g>"), 2);
	assert_non_null(strstr(
		text, ">linux,cma: base 0x9c000000, size 64 MiB, 32 pageblocks of 2 MiB</text>"));
	assert_non_null(strstr(text, ">0x9c000000</text>"));
	assert_non_null(strstr(text, ">0x9ac00000</text>"));
	assert_non_null(strstr(text, "fill=\"#c0309a\"><title>0x9c000000 W window</title>"));
	assert_non_null(strstr(text, "fill=\"#2e9e48\"><title>0x9c800000 B backed</title>"));
	assert_non_null(strstr(text, ">U unbacked: 20 pageblocks, 40 MiB</text>"));
	assert_non_null(strstr(text, ">B backed: 2 pageblocks, 4 MiB</text>"));
	free(text);
}

static void test_map_svg_escapes_and_unknown(void **state)
{
	const struct ctl_cma_map odd = { "a&b<\"c\">", 0x80000000, "UX" };
	char *text;
	int ret;

	CAPTURE(text, ret = ctl_map_svg(f_, &odd, 1, 2 << 20));
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, ">a&amp;b&lt;&quot;c&quot;&gt;: base 0x80000000"));
	assert_null(strstr(text, "a&b"));
	assert_non_null(strstr(text, "<title>0x80200000 ? unknown</title>"));
	assert_non_null(strstr(text, ">? unknown: 1 pageblock, 2 MiB</text>"));
	free(text);
	CAPTURE(text, ret = ctl_map_svg(f_, NULL, 0, 2 << 20));
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, ">no CMA pools</text>"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_text_letters),
		cmocka_unit_test(test_map_text_rows),
		cmocka_unit_test(test_map_text_colour),
		cmocka_unit_test(test_map_svg),
		cmocka_unit_test(test_map_svg_escapes_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
