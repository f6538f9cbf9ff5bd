// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check.c: dtb_check() as a whole, every step in the kernel's
 * order over one blob: blobs that strain all of them at once (none may
 * crash), and the arm64 limit on the blob's size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- the whole run ---- */

static void test_huge_reg(void **state)
{
	static uint8_t reg[16 * 1000];

	add(&cma_default);
	memset(reg, 0xff, sizeof(reg));
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "reg", reg, sizeof(reg));
	dtb_builder_setprop(&b, "/memory@40000000", "reg", reg, sizeof(reg) - 4);
	check();
	assert_int_equal(entry("linux,cma")->nr_reg, 1000);
	assert_int_equal(entry("linux,cma")->verdict, DTB_REJECTED);
}

static void test_random_corruption(void **state)
{
	static uint8_t copy[DTB_BUILDER_SIZE];
	FILE *null = fopen("/dev/null", "w");
	size_t size;

	add(&cma_default);
	add(&(struct test_pool){
		.name = "placed", .size = 4 * SZ_1M, .size_only = true, .reusable = true });
	dtb_builder_set_bootargs(&b, "cma=\"64M@0x80000000\" -- x");
	size = dtb_builder_finish(&b);
	assert_non_null(null);
	srand(7);
	for (int round = 0; round < 3000; round++) {
		memcpy(copy, b.blob, size);
		for (int n = 0; n < 1 + round % 8; n++)
			copy[(size_t)rand() % size] = (uint8_t)rand();
		dtb_check(copy, size, round % 2 ? NULL : "cma=1M", &rep);
		dtb_report_print(&rep, null);
	}
	fclose(null);
}

static void test_blob_over_2m_warned(void **state)
{
	static _Alignas(8) char big[3 * SZ_1M];
	static char junk[GUEST_DTB_MAX];

	assert_int_equal(fdt_open_into(b.blob, big, sizeof(big)), 0);
	assert_int_equal(fdt_setprop(big, 0, "junk", junk, sizeof(junk)), 0);
	assert_int_equal(fdt_pack(big), 0);
	assert_int_equal(dtb_check(big, fdt_totalsize(big), NULL, &rep), 0);
	assert_true(has_line(DTB_LINE_WARNING, "the arm64 kernel takes at most 2 MiB"));
	/* a warning only: the rest is still checked */
	assert_int_equal(rep.nr_ram, 1);
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_huge_reg),
		T(test_random_corruption),
		T(test_blob_over_2m_warned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
