// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_of_reserved_mem.c: the /reserved-memory scan, one test per
 * rule it enforces (root format, reg, size, region count, RAM, overlap),
 * the children no handler is for, and the one no handler takes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- what is not a pool ---- */

static void test_disabled_node(void **state)
{
	add(&(struct test_pool){ .name = "off",
				 .base = 0x80000000,
				 .size = 3 * SZ_1M,
				 .reusable = true,
				 .status = "disabled" });
	add(&(struct test_pool){ .name = "on",
				 .base = 0x90000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .status = "okay" });
	add(&(struct test_pool){ .name = "ok",
				 .base = 0xa0000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .status = "ok" });
	check();
	assert_verdict("off", DTB_DISABLED);
	assert_mentions(entry("off")->reason, "disabled");
	assert_verdict("on", DTB_CMA_POOL);
	assert_verdict("ok", DTB_CMA_POOL);
	assert_false(dtb_report_rejects(&rep));
}

static void test_disabled_overlap_does_not_count(void **state)
{
	add(&(struct test_pool){ .name = "off",
				 .base = 0x80000000,
				 .size = 64 * SZ_1M,
				 .reusable = true,
				 .status = "disabled" });
	add(&cma_default);
	check();
	assert_verdict("linux,cma", DTB_CMA_POOL);
}

static void test_reserved_only(void **state)
{
	add(&(struct test_pool){ .name = "fw@e0000000",
				 .base = 0xe0000000,
				 .size = SZ_1M,
				 .no_map = true,
				 .compatible = "acme,firmware" });
	add(&(struct test_pool){
		.name = "bare@e1000000", .base = 0xe1000000, .size = SZ_1M, .compatible = "" });
	check();
	assert_verdict("fw@e0000000", DTB_RESERVED_ONLY);
	assert_mentions(entry("fw@e0000000")->reason, "acme,firmware");
	assert_verdict("bare@e1000000", DTB_RESERVED_ONLY);
	assert_false(dtb_report_rejects(&rep));
}

static void test_note_second_reg_entry(void **state)
{
	uint8_t reg[32];
	fdt32_t v[8] = { 0, cpu_to_fdt32(0x80000000), 0, cpu_to_fdt32(0x400000),
			 0, cpu_to_fdt32(0x90000000), 0, cpu_to_fdt32(0x200000) };

	add(&(struct test_pool){
		.name = "p", .base = 0x80000000, .size = 4 * SZ_1M, .reusable = true });
	memcpy(reg, v, sizeof(v));
	dtb_builder_setprop(&b, "/reserved-memory/p", "reg", reg, sizeof(reg));
	check();
	assert_verdict("p", DTB_CMA_POOL);
	assert_int_equal(entry("p")->nr_reg, 2);
	assert_mentions(entry("p")->note, "only reserved, not part of the pool");
	assert_int_equal(entry("p")->size, 4 * SZ_1M);
}

/* ---- one test per rule ---- */

static void test_rule_rmem_missing_cells(void **state)
{
	add(&cma_default);
	dtb_builder_delprop(&b, "/reserved-memory", "#address-cells");
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT, "no #address-cells");
	assert_mentions(entry("linux,cma")->reason, "unsupported node format");
	assert_mentions(entry("linux,cma")->reason, "malformed /reserved-memory node");
}

static void test_rule_rmem_cells_differ(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory", "#size-cells", &(fdt32_t){ cpu_to_fdt32(1) },
			    4);
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT, "#size-cells is 1 but the root's is 2");
}

static void test_rule_rmem_missing_ranges(void **state)
{
	add(&cma_default);
	dtb_builder_delprop(&b, "/reserved-memory", "ranges");
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT, "no ranges");
	/* the guest then makes its own default area */
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CONFIG);
}

static void test_rule_reg_length(void **state)
{
	uint8_t reg[12] = { 0 };

	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "reg", reg, sizeof(reg));
	check();
	assert_rejected("linux,cma", DTB_RULE_REG_LENGTH, "invalid reg property");
	assert_mentions(entry("linux,cma")->reason, "12 bytes");
}

static void test_rule_empty_reg(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "reg", NULL, 0);
	check();
	assert_rejected("linux,cma", DTB_RULE_EMPTY_REG, "reg is empty");
}

static void test_rule_no_reg_no_size(void **state)
{
	add(&cma_default);
	dtb_builder_delprop(&b, "/reserved-memory/linux,cma", "reg");
	check();
	assert_rejected("linux,cma", DTB_RULE_NO_REG_NO_SIZE, "neither reg nor size");
}

static void test_rule_bad_size_property(void **state)
{
	fdt32_t one = cpu_to_fdt32(0x400000);

	add(&(struct test_pool){
		.name = "placed", .size = 4 * SZ_1M, .size_only = true, .reusable = true });
	dtb_builder_setprop(&b, "/reserved-memory/placed", "size", &one, 4);
	check();
	assert_rejected("placed", DTB_RULE_BAD_SIZE_PROP, "invalid size property");
}

static void test_rule_size_zero(void **state)
{
	add(&(struct test_pool){ .name = "z", .base = 0x80000000, .size = 0, .reusable = true });
	add(&(struct test_pool){ .name = "y", .size = 0, .size_only = true, .reusable = true });
	check();
	assert_rejected("z", DTB_RULE_SIZE_ZERO, "size 0");
	assert_rejected("y", DTB_RULE_SIZE_ZERO, "size is 0");
}

static void test_rule_too_many_regions(void **state)
{
	char last[32];

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	for (int i = 0; i <= GUEST_RESERVED_REGIONS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r@%x", 0x80000000 + i * 0x100000);
		add(&(struct test_pool){ .name = name,
					 .base = 0x80000000 + i * 0x100000ULL,
					 .size = SZ_1M,
					 .no_map = true });
	}
	check();
	snprintf(last, sizeof(last), "r@%x", 0x80000000 + GUEST_RESERVED_REGIONS * 0x100000);
	assert_rejected(last, DTB_RULE_TOO_MANY_REGIONS,
			"not enough space for all defined regions");
	assert_verdict("r@80000000", DTB_COHERENT_POOL);
}

static void test_rule_outside_ram(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0x20000000, .size = 0x40000000, .reusable = true });
	check();
	assert_rejected("p", DTB_RULE_OUTSIDE_RAM, "not inside guest RAM");
	assert_mentions(entry("p")->reason, "0x40000000..0x13fffffff");
}

static void test_rule_overlap(void **state)
{
	add(&(struct test_pool){
		.name = "a", .base = 0x80000000, .size = 8 * SZ_1M, .reusable = true });
	add(&(struct test_pool){
		.name = "b", .base = 0x80400000, .size = 8 * SZ_1M, .no_map = true });
	add(&(struct test_pool){
		.name = "c", .base = 0x80800000, .size = 8 * SZ_1M, .reusable = true });
	check();
	/* both sides are named, the earlier and the later */
	assert_rejected("a", DTB_RULE_OVERLAP, "/reserved-memory/b");
	assert_rejected("b", DTB_RULE_OVERLAP, "/reserved-memory/a");
	assert_rejected("c", DTB_RULE_OVERLAP, "/reserved-memory/b");
	assert_mentions(entry("a")->reason, "OVERLAP DETECTED");
}

static void test_rule_overlap_memreserve(void **state)
{
	add(&cma_default);
	assert_int_equal(fdt_add_mem_rsv(b.blob, 0x81000000, SZ_1M), 0);
	check();
	assert_rejected("linux,cma", DTB_RULE_OVERLAP, "/memreserve/");
}

static void test_rule_reusable_no_map(void **state)
{
	add(&(struct test_pool){ .name = "both",
				 .base = 0x80000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .no_map = true });
	check();
	assert_rejected("both", DTB_RULE_REUSABLE_NO_MAP, "reusable and no-map");
	assert_mentions(entry("both")->reason, "rmem_dma_setup");
}

/* ---- robustness ---- */

static void test_huge_rmem_cells(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory", "#address-cells",
			    &(fdt32_t){ cpu_to_fdt32(0x40000000) }, 4);
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT, "#address-cells");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_disabled_node),
		T(test_disabled_overlap_does_not_count),
		T(test_reserved_only),
		T(test_note_second_reg_entry),
		T(test_rule_rmem_missing_cells),
		T(test_rule_rmem_cells_differ),
		T(test_rule_rmem_missing_ranges),
		T(test_rule_reg_length),
		T(test_rule_empty_reg),
		T(test_rule_no_reg_no_size),
		T(test_rule_bad_size_property),
		T(test_rule_size_zero),
		T(test_rule_too_many_regions),
		T(test_rule_outside_ram),
		T(test_rule_overlap),
		T(test_rule_overlap_memreserve),
		T(test_rule_reusable_no_map),
		T(test_huge_rmem_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
