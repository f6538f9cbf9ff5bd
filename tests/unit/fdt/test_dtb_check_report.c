// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_report.c: the verdicts' names and the printed report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- printing ---- */

/* Rejected, with a reason long enough to wrap. */
static const struct test_pool both = {
	.name = "both",
	.base = 0x90000000,
	.size = 4 * SZ_1M,
	.reusable = true,
	.no_map = true,
};

/* dtb_report_print() of @rep, to free() */
static char *printed(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	dtb_report_print(&rep, out);
	fclose(out);
	return text;
}

static void test_print(void **state)
{
	char *text;

	add(&cma_default);
	add(&both);
	check();
	text = printed();
	assert_mentions(text, "CMA POOL        /reserved-memory/linux,cma");
	assert_mentions(text, "REJECTED        /reserved-memory/both");
	assert_mentions(text, "why: reusable and no-map");
	assert_mentions(text, "expected CmaTotal: 65536 kB");
	assert_mentions(text, "summary: PROBLEMS");
	free(text);
}

static void test_print_wraps(void **state)
{
	char *text, *line, *next;

	add(&both);
	check();
	text = printed();
	/* a long reason goes on under its "why: " */
	assert_mentions(text, "\n                     ");
	for (line = text; *line; line = next + 1) {
		next = strchr(line, '\n');
		assert_non_null(next);
		if (strncmp(line, "summary: ", 9))
			assert_in_range(next - line, 0, 100);
	}
	free(text);
}

static void test_print_error(void **state)
{
	char *text;

	assert_int_equal(dtb_check(b.blob, 0, NULL, &rep), -1);
	text = printed();
	/* the error alone: no RAM, no verdicts, no summary */
	assert_string_equal(
		text, "error: the blob is 0 bytes, less than the 40-byte DTB header: not a DTB\n");
	free(text);
}

/* ---- names ---- */

static void test_verdict_names(void **state)
{
	assert_string_equal(dtb_verdict_str(DTB_CMA_POOL), "CMA POOL");
	assert_string_equal(dtb_verdict_str(DTB_COHERENT_POOL), "COHERENT POOL");
	assert_string_equal(dtb_verdict_str(DTB_RESERVED_ONLY), "RESERVED ONLY");
	assert_string_equal(dtb_verdict_str(DTB_DISABLED), "DISABLED");
	assert_string_equal(dtb_verdict_str(DTB_REJECTED), "REJECTED");
	assert_string_equal(dtb_verdict_str((enum dtb_verdict)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_print),
		T(test_print_wraps),
		T(test_print_error),
		T(test_verdict_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
