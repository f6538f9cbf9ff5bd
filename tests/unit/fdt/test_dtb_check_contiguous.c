// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_contiguous.c: the CMA pools rmem_cma_setup() accepts and
 * one test per rule it enforces, cma= on the command line, and the
 * default CMA area the guest ends up with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- accepted ---- */

static void test_valid_default_pool(void **state)
{
	add(&cma_default);
	check();
	assert_verdict("linux,cma", DTB_CMA_POOL);
	assert_int_equal(entry("linux,cma")->base, 0x80000000);
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_DT);
	assert_int_equal(rep.cma_total, 64 * SZ_1M);
	assert_int_equal(rep.nr_cma_areas, 1);
	assert_false(dtb_report_rejects(&rep));
}

static void test_valid_named_cma_pool(void **state)
{
	add(&(struct test_pool){ .name = "gpu@c0000000",
				 .base = 0xc0000000,
				 .size = 128 * SZ_1M,
				 .reusable = true });
	check();
	assert_verdict("gpu@c0000000", DTB_CMA_POOL);
	assert_mentions(entry("gpu@c0000000")->note, "of_reserved_mem_device_init");
	/* plus the guest's own 64 MiB default area */
	assert_int_equal(rep.cma_total, 192 * SZ_1M);
	assert_false(dtb_report_rejects(&rep));
}

static void test_size_only_cma_pool(void **state)
{
	add(&(struct test_pool){
		.name = "placed", .size = 32 * SZ_1M, .size_only = true, .reusable = true });
	check();
	assert_verdict("placed", DTB_CMA_POOL);
	assert_false(entry("placed")->has_reg);
	assert_int_equal(entry("placed")->size, 32 * SZ_1M);
	assert_mentions(entry("placed")->note, "placed by the guest");
	assert_int_equal(rep.cma_total, (32 + 64) * SZ_1M);
}

static void test_note_2m_not_4m(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0x80200000, .size = 6 * SZ_1M, .reusable = true });
	check();
	assert_verdict("p", DTB_CMA_POOL);
	assert_mentions(entry("p")->note, "kernels before 5.18 reject it");
}

/* ---- the default area ---- */

static void test_info_config_default_area(void **state)
{
	check();
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CONFIG);
	assert_int_equal(rep.default_area.size, GUEST_CMA_DEFAULT_SIZE);
	assert_mentions(rep.default_area.text, "CONFIG_CMA_SIZE_MBYTES");
	assert_int_equal(rep.cma_total, GUEST_CMA_DEFAULT_SIZE);
	assert_false(dtb_report_rejects(&rep));
}

static void test_info_cmdline_area(void **state)
{
	check_with("cma=96M");
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CMDLINE);
	assert_int_equal(rep.default_area.size, 96 * SZ_1M);
	assert_false(rep.default_area.fixed);
	assert_int_equal(rep.default_area.limit, SZ_4G);
	assert_mentions(rep.default_area.text, "96 MiB default CMA area");
	assert_int_equal(rep.cma_total, 96 * SZ_1M);
	assert_string_equal(rep.cmdline_source, "--cmdline");
}

static void test_info_cmdline_fixed_area(void **state)
{
	check_with("cma=4M@0x90000000");
	assert_true(rep.default_area.fixed);
	assert_int_equal(rep.default_area.size, 4 * SZ_1M);
	assert_int_equal(rep.default_area.base, 0x90000000);
	assert_mentions(rep.default_area.text, "fixed at 0x90000000");
	assert_false(dtb_report_rejects(&rep));
}

static void test_cmdline_fixed_odd_size_fails(void **state)
{
	/*
	 * The size rounds up to 4 MiB but the limit, base + 3 MiB, rounds
	 * down to base + 2 MiB: cma_declare_contiguous_nid() refuses it.
	 */
	check_with("cma=3M@0x90000000");
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text,
			"\"cma: Size (0x0000000000400000) of region at 0x0000000090000000 exceeds "
			"limit (0x0000000090200000)\"");
}

static void test_cmdline_area_above_zone_fails(void **state)
{
	check_with("cma=64M@0x110000000");
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text, "exceeds limit");
	assert_true(dtb_report_rejects(&rep));
}

static void test_cmdline_area_zero(void **state)
{
	check_with("cma=0");
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_NONE);
	assert_mentions(rep.default_area.text, "no default CMA area");
	assert_int_equal(rep.cma_total, 0);
}

static void test_cmdline_junk_warned(void **state)
{
	check_with("cma=64MB");
	assert_true(has_line(DTB_LINE_WARNING, "silently ignores"));
}

/* ---- one test per rule ---- */

static void test_rule_cma_base_misaligned(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0x80100000, .size = 4 * SZ_1M, .reusable = true });
	check();
	assert_rejected("p", DTB_RULE_CMA_ALIGN, "incorrect alignment of CMA region");
	assert_mentions(entry("p")->reason, "base 0x80100000");
	assert_false(entry("p")->in_cma_total);
}

static void test_rule_cma_size_misaligned(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0x80000000, .size = 3 * SZ_1M, .reusable = true });
	add(&(struct test_pool){
		.name = "q", .size = 5 * SZ_1M, .size_only = true, .reusable = true });
	check();
	assert_rejected("p", DTB_RULE_CMA_ALIGN, "size 3 MiB");
	assert_rejected("q", DTB_RULE_CMA_ALIGN, "size 5 MiB");
}

static void test_rule_zone_crossing(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0xfe000000, .size = 64 * SZ_1M, .reusable = true });
	check();
	assert_rejected("p", DTB_RULE_ZONE_CROSSING, "could not be activated");
	assert_mentions(entry("p")->reason, "0x100000000");
	assert_false(entry("p")->in_cma_total);
	/* the area still takes a CMA slot */
	assert_int_equal(rep.nr_cma_areas, 2);
}

static void test_rule_second_default(void **state)
{
	add(&cma_default);
	add(&(struct test_pool){ .name = "other",
				 .base = 0x90000000,
				 .size = 32 * SZ_1M,
				 .reusable = true,
				 .cma_default = true });
	check();
	assert_verdict("linux,cma", DTB_CMA_POOL);
	assert_rejected("other", DTB_RULE_SECOND_DEFAULT, "/reserved-memory/linux,cma");
	assert_mentions(entry("other")->reason, "second linux,cma-default");
	/* the kernel still makes both areas */
	assert_int_equal(rep.cma_total, 96 * SZ_1M);
}

static void test_rule_second_default_in_base_order(void **state)
{
	/* 6.1 handles pools by base, so the lower one comes first */
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	add(&(struct test_pool){ .name = "high",
				 .base = 0x90000000,
				 .size = 32 * SZ_1M,
				 .reusable = true,
				 .cma_default = true });
	add(&cma_default);
	check();
	assert_verdict("linux,cma", DTB_CMA_POOL);
	assert_rejected("high", DTB_RULE_SECOND_DEFAULT, "/reserved-memory/linux,cma");
}

static void test_rule_bypassed_by_cmdline(void **state)
{
	add(&cma_default);
	check_with("console=ttyAMA0 cma=128M");
	assert_rejected("linux,cma", DTB_RULE_BYPASSED, "bypass linux,cma node");
	assert_mentions(entry("linux,cma")->note, "lost");
	assert_false(entry("linux,cma")->in_cma_total);
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CMDLINE);
	assert_int_equal(rep.cma_total, 128 * SZ_1M);
}

static void test_rule_bypassed_by_bootargs(void **state)
{
	add(&cma_default);
	dtb_builder_set_bootargs(&b, "cma=64M@0x80000000");
	check();
	assert_rejected("linux,cma", DTB_RULE_BYPASSED, "using cmdline CMA params instead");
	/* the pool's memory is given back, so cma= may take the same place */
	assert_false(rep.default_area.failed);
	assert_int_equal(rep.default_area.base, 0x80000000);
}

static void test_rule_too_many_cma_pools(void **state)
{
	char last[32];

	add_cma_pools(GUEST_CMA_AREAS + 1, false);
	check();
	snprintf(last, sizeof(last), "pool@%x", 0x80000000 + GUEST_CMA_AREAS * 0x400000);
	assert_rejected(last, DTB_RULE_TOO_MANY_CMA, "Not enough slots");
	assert_int_equal(rep.nr_cma_areas, GUEST_CMA_AREAS);
	/* no slot is left for the guest's own default area either */
	assert_true(rep.default_area.failed);
}

static void test_rule_too_many_cma_with_cmdline(void **state)
{
	add_cma_pools(GUEST_CMA_AREAS, false);
	check_with("cma=16M");
	for (size_t i = 0; i < rep.nr_entries; i++)
		assert_int_equal(rep.entries[i].verdict, DTB_CMA_POOL);
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text, "Not enough slots");
	assert_true(dtb_report_rejects(&rep));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_default_pool),
		T(test_valid_named_cma_pool),
		T(test_size_only_cma_pool),
		T(test_note_2m_not_4m),
		T(test_info_config_default_area),
		T(test_info_cmdline_area),
		T(test_info_cmdline_fixed_area),
		T(test_cmdline_fixed_odd_size_fails),
		T(test_cmdline_area_above_zone_fails),
		T(test_cmdline_area_zero),
		T(test_cmdline_junk_warned),
		T(test_rule_cma_base_misaligned),
		T(test_rule_cma_size_misaligned),
		T(test_rule_zone_crossing),
		T(test_rule_second_default),
		T(test_rule_second_default_in_base_order),
		T(test_rule_bypassed_by_cmdline),
		T(test_rule_bypassed_by_bootargs),
		T(test_rule_too_many_cma_pools),
		T(test_rule_too_many_cma_with_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
