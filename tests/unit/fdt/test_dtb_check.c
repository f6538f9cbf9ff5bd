// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DTB checker: one test per rule it enforces, the pools it accepts,
 * and blobs that must not crash it.
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

#include "tests/unit/fdt/dtb_builder.h"
#include "fdt/dtb_check.h"

#define RAM_BASE 0x40000000ULL

static struct dtb_builder b;
static struct dtb_report rep;

/* Standard guest: 4 GiB of RAM at 1 GiB, so ZONE_DMA ends at 4 GiB. */
static int setup(void **state)
{
	dtb_builder_standard(&b, 4 * SZ_1G);
	return 0;
}

static void add(const struct test_pool *pool)
{
	dtb_builder_add_pool(&b, pool);
}

static void check_with(const char *cmdline)
{
	size_t size = dtb_builder_finish(&b);

	assert_int_equal(dtb_check(b.blob, size, cmdline, &rep), 0);
}

static void check(void)
{
	check_with(NULL);
}

static const struct dtb_entry *entry(const char *name)
{
	char path[DTB_PATH_MAX];

	snprintf(path, sizeof(path), "/reserved-memory/%s", name);
	for (size_t i = 0; i < rep.nr_entries; i++)
		if (!strcmp(rep.entries[i].path, path))
			return &rep.entries[i];
	fail_msg("no entry %s in the report", path);
	return NULL;
}

static void assert_mentions(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("\"%s\" does not mention \"%s\"", text, what);
}

static void assert_rejected(const char *name, enum dtb_rule rule, const char *what)
{
	const struct dtb_entry *e = entry(name);

	assert_int_equal(e->verdict, DTB_REJECTED);
	assert_int_equal(e->rule, rule);
	assert_mentions(e->reason, what);
	assert_true(dtb_report_rejects(&rep));
}

static void assert_verdict(const char *name, enum dtb_verdict verdict)
{
	const struct dtb_entry *e = entry(name);

	if (e->verdict != verdict)
		fail_msg("%s: %s, not %s: %s", e->path, dtb_verdict_str(e->verdict),
			 dtb_verdict_str(verdict), e->reason);
}

static bool has_line(enum dtb_line_kind kind, const char *what)
{
	for (size_t i = 0; i < rep.nr_lines; i++)
		if (rep.lines[i].kind == kind && strstr(rep.lines[i].text, what))
			return true;
	return false;
}

static const struct test_pool cma_default = {
	.name = "linux,cma",
	.base = 0x80000000,
	.size = 64 * SZ_1M,
	.reusable = true,
	.cma_default = true,
};

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

static void test_valid_coherent_pool(void **state)
{
	add(&(struct test_pool){
		.name = "dma@d0000000", .base = 0xd0000000, .size = SZ_1M, .no_map = true });
	check();
	assert_verdict("dma@d0000000", DTB_COHERENT_POOL);
	assert_false(entry("dma@d0000000")->in_cma_total);
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

static void test_size_only_coherent_pool(void **state)
{
	add(&(struct test_pool){
		.name = "placed", .size = SZ_1M, .size_only = true, .no_map = true });
	check();
	assert_verdict("placed", DTB_COHERENT_POOL);
	assert_mentions(entry("placed")->note, "placed by the guest");
}

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

static void test_compatible_is_case_blind(void **state)
{
	add(&(struct test_pool){ .name = "p",
				 .base = 0x80000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .compatible = "Shared-DMA-Pool" });
	check();
	assert_verdict("p", DTB_CMA_POOL);
}

static void test_note_2m_not_4m(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0x80200000, .size = 6 * SZ_1M, .reusable = true });
	check();
	assert_verdict("p", DTB_CMA_POOL);
	assert_mentions(entry("p")->note, "kernels before 5.18 reject it");
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

static void test_dma_default_ignored(void **state)
{
	add(&(struct test_pool){ .name = "p",
				 .base = 0x80000000,
				 .size = SZ_1M,
				 .no_map = true,
				 .dma_default = true });
	check();
	assert_verdict("p", DTB_COHERENT_POOL);
	assert_mentions(entry("p")->note, "CONFIG_DMA_GLOBAL_POOL");
}

static void test_root_cells_default_to_one(void **state)
{
	dtb_builder_init_bare(&b, 1, 1);
	dtb_builder_add_ram(&b, RAM_BASE, SZ_1G);
	dtb_builder_add_reserved_memory(&b);
	add(&(struct test_pool){
		.name = "p", .base = 0x50000000, .size = 8 * SZ_1M, .reusable = true });
	check();
	assert_int_equal(rep.addr_cells, 1);
	assert_int_equal(rep.size_cells, 1);
	assert_int_equal(rep.nr_ram, 1);
	assert_int_equal(rep.ram[0].size, SZ_1G);
	assert_verdict("p", DTB_CMA_POOL);
}

static void test_ram_and_zone(void **state)
{
	dtb_builder_add_ram(&b, 0x140000000ULL, SZ_1G);
	check();
	assert_int_equal(rep.nr_ram, 1); /* adjacent ranges merge */
	assert_int_equal(rep.ram_start, RAM_BASE);
	assert_int_equal(rep.ram_end, 0x180000000ULL);
	assert_int_equal(rep.dma_zone_end, SZ_4G);
}

static void test_disabled_ram_ignored(void **state)
{
	int node = dtb_builder_add_ram(&b, 0x200000000ULL, SZ_1G);

	fdt_setprop_string(b.blob, node, "status", "disabled");
	check();
	assert_int_equal(rep.nr_ram, 1);
	assert_int_equal(rep.ram_end, RAM_BASE + 4 * SZ_1G);
}

/* ---- informational lines ---- */

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
	assert_mentions(rep.default_area.text, "exceeds limit (0x90200000)");
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

static void test_cmdline_from_bootargs(void **state)
{
	dtb_builder_set_bootargs(&b, "console=ttyAMA0 cma=32M");
	check();
	assert_string_equal(rep.cmdline_source, "/chosen/bootargs");
	assert_true(rep.cma.present);
	assert_int_equal(rep.cma.size, 32 * SZ_1M);
	/* an explicit command line replaces bootargs, even an empty one */
	check_with("");
	assert_false(rep.cma.present);
}

static void test_cmdline_junk_warned(void **state)
{
	check_with("cma=64MB");
	assert_true(has_line(DTB_LINE_WARNING, "silently ignores"));
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

static void test_rule_zone_crossing_coherent_is_fine(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0xfe000000, .size = 64 * SZ_1M, .no_map = true });
	check();
	assert_verdict("p", DTB_COHERENT_POOL);
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
	/* the kernel handles pools by base, so the lower one comes first */
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

static void test_rule_bypass_keeps_coherent(void **state)
{
	/* without reusable, rmem_dma_setup() takes it after the bypass */
	add(&(struct test_pool){ .name = "p",
				 .base = 0x80000000,
				 .size = SZ_1M,
				 .no_map = true,
				 .cma_default = true });
	check_with("cma=16M");
	assert_verdict("p", DTB_COHERENT_POOL);
}

static void add_cma_pools(int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "pool@%x", 0x80000000 + i * 0x400000);
		add(&(struct test_pool){ .name = name,
					 .base = 0x80000000 + i * 0x400000ULL,
					 .size = 4 * SZ_1M,
					 .reusable = true });
	}
}

static void test_rule_too_many_cma_pools(void **state)
{
	char last[32];

	add_cma_pools(GUEST_CMA_AREAS + 1);
	check();
	snprintf(last, sizeof(last), "pool@%x", 0x80000000 + GUEST_CMA_AREAS * 0x400000);
	assert_rejected(last, DTB_RULE_TOO_MANY_CMA, "Not enough slots");
	assert_int_equal(rep.nr_cma_areas, GUEST_CMA_AREAS);
	/* no slot is left for the guest's own default area either */
	assert_true(rep.default_area.failed);
}

static void test_rule_too_many_cma_with_cmdline(void **state)
{
	add_cma_pools(GUEST_CMA_AREAS);
	check_with("cma=16M");
	for (size_t i = 0; i < rep.nr_entries; i++)
		assert_int_equal(rep.entries[i].verdict, DTB_CMA_POOL);
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text, "Not enough slots");
	assert_true(dtb_report_rejects(&rep));
}

static void test_rule_too_many_regions(void **state)
{
	char last[32];

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

static void test_rule_size_zero(void **state)
{
	add(&(struct test_pool){ .name = "z", .base = 0x80000000, .size = 0, .reusable = true });
	add(&(struct test_pool){ .name = "y", .size = 0, .size_only = true, .reusable = true });
	check();
	assert_rejected("z", DTB_RULE_SIZE_ZERO, "size 0");
	assert_rejected("y", DTB_RULE_SIZE_ZERO, "size is 0");
}

/* ---- robustness: none of these may crash ---- */

static void test_zero_length(void **state)
{
	assert_int_equal(dtb_check(b.blob, 0, NULL, &rep), -1);
	assert_mentions(rep.error, "0 bytes");
	assert_int_equal(dtb_check(NULL, 100, NULL, &rep), -1);
}

static void test_truncated_blob(void **state)
{
	size_t size = dtb_builder_finish(&b);

	assert_int_equal(dtb_check(b.blob, size - 10, NULL, &rep), -1);
	assert_mentions(rep.error, "truncated");
	assert_int_equal(dtb_check(b.blob, 20, NULL, &rep), -1);
}

static void test_garbage(void **state)
{
	uint8_t junk[4096];

	srand(1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	assert_int_equal(dtb_check(junk, sizeof(junk), NULL, &rep), -1);
	assert_mentions(rep.error, "not a DTB");
	/* right magic, garbage after it */
	memcpy(junk, &(fdt32_t){ cpu_to_fdt32(FDT_MAGIC) }, 4);
	memcpy(junk + 4, &(fdt32_t){ cpu_to_fdt32(sizeof(junk)) }, 4);
	assert_int_equal(dtb_check(junk, sizeof(junk), NULL, &rep), -1);
	assert_true(rep.error[0]);
}

static void test_header_lies(void **state)
{
	size_t size = dtb_builder_finish(&b);

	fdt_set_totalsize(b.blob, (uint32_t)size + 100000);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	assert_mentions(rep.error, "header says");
	fdt_set_totalsize(b.blob, 8);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	fdt_set_totalsize(b.blob, (uint32_t)size);
	fdt_set_off_dt_struct(b.blob, 0x7ffffff0);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	assert_mentions(rep.error, "malformed");
}

static void test_huge_root_cells(void **state)
{
	dtb_builder_setprop(&b, "/", "#address-cells", &(fdt32_t){ cpu_to_fdt32(0xffffffff) }, 4);
	assert_int_equal(dtb_check(b.blob, dtb_builder_finish(&b), NULL, &rep), -1);
	assert_mentions(rep.error, "#address-cells");
}

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

static void test_huge_rmem_cells(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory", "#address-cells",
			    &(fdt32_t){ cpu_to_fdt32(0x40000000) }, 4);
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT, "#address-cells");
}

static void test_unterminated_strings(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "compatible", "shared-dma-pool", 15);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "status", "okay", 4);
	dtb_builder_setprop(&b, "/memory@40000000", "device_type", "memory", 6);
	dtb_builder_setprop(&b, "/chosen", "bootargs", "cma=1M", 6);
	check();
	assert_int_equal(rep.nr_ram, 0);
	assert_verdict("linux,cma", DTB_DISABLED);
	/* strscpy() with the property's length keeps one byte less: "cma=1" */
	assert_int_equal(rep.cma.size, 1);
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

static void test_print(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	add(&cma_default);
	add(&(struct test_pool){ .name = "both",
				 .base = 0x90000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .no_map = true });
	check();
	dtb_report_print(&rep, out);
	fclose(out);
	assert_mentions(text, "CMA POOL        /reserved-memory/linux,cma");
	assert_mentions(text, "REJECTED        /reserved-memory/both");
	assert_mentions(text, "why: reusable and no-map");
	assert_mentions(text, "expected CmaTotal: 65536 kB");
	assert_mentions(text, "summary: PROBLEMS");
	free(text);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_default_pool),
		T(test_valid_named_cma_pool),
		T(test_valid_coherent_pool),
		T(test_size_only_cma_pool),
		T(test_size_only_coherent_pool),
		T(test_disabled_node),
		T(test_disabled_overlap_does_not_count),
		T(test_reserved_only),
		T(test_compatible_is_case_blind),
		T(test_note_2m_not_4m),
		T(test_note_second_reg_entry),
		T(test_dma_default_ignored),
		T(test_root_cells_default_to_one),
		T(test_ram_and_zone),
		T(test_disabled_ram_ignored),
		T(test_info_config_default_area),
		T(test_info_cmdline_area),
		T(test_info_cmdline_fixed_area),
		T(test_cmdline_fixed_odd_size_fails),
		T(test_cmdline_area_above_zone_fails),
		T(test_cmdline_area_zero),
		T(test_cmdline_from_bootargs),
		T(test_cmdline_junk_warned),
		T(test_rule_rmem_missing_cells),
		T(test_rule_rmem_cells_differ),
		T(test_rule_rmem_missing_ranges),
		T(test_rule_reg_length),
		T(test_rule_empty_reg),
		T(test_rule_no_reg_no_size),
		T(test_rule_bad_size_property),
		T(test_rule_reusable_no_map),
		T(test_rule_cma_base_misaligned),
		T(test_rule_cma_size_misaligned),
		T(test_rule_outside_ram),
		T(test_rule_overlap),
		T(test_rule_overlap_memreserve),
		T(test_rule_zone_crossing),
		T(test_rule_zone_crossing_coherent_is_fine),
		T(test_rule_second_default),
		T(test_rule_second_default_in_base_order),
		T(test_rule_bypassed_by_cmdline),
		T(test_rule_bypassed_by_bootargs),
		T(test_rule_bypass_keeps_coherent),
		T(test_rule_too_many_cma_pools),
		T(test_rule_too_many_cma_with_cmdline),
		T(test_rule_too_many_regions),
		T(test_rule_size_zero),
		T(test_zero_length),
		T(test_truncated_blob),
		T(test_garbage),
		T(test_header_lies),
		T(test_huge_root_cells),
		T(test_huge_reg),
		T(test_huge_rmem_cells),
		T(test_unterminated_strings),
		T(test_random_corruption),
		T(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
