// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DTB checker per guest kernel: every rule where Linux 6.1 and 6.12
 * differ (handler order, region counting, empty and zero-size reg, the
 * messages each prints), and the pageblock of 16 KiB and 64 KiB pages.
 * docs/guests.md has the kernel source behind each.
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

#define SZ_16K (4 * SZ_4K)

/* 2 MiB at a 2 MiB boundary: a whole pageblock with 4 KiB pages only. */
static const struct test_pool small = {
	.name = "pool@48200000",
	.base = 0x48200000,
	.size = SZ_2M,
	.reusable = true,
};

/* ---- the pageblock: 2 MiB, 32 MiB, 512 MiB ---- */

static void test_2m_pool_is_fine_with_4k_pages(void **state)
{
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	add(&small);
	check();
	assert_verdict("pool@48200000", DTB_CMA_POOL);

	setup(NULL);
	add(&small);
	check(); /* the default guest, 6.12 with 4 KiB pages */
	assert_verdict("pool@48200000", DTB_CMA_POOL);
}

static void test_2m_pool_is_misaligned_with_16k_pages(void **state)
{
	const char *why;

	use_guest(GUEST_LINUX_6_12, SZ_16K);
	add(&small);
	check();
	assert_rejected("pool@48200000", DTB_RULE_CMA_ALIGN,
			"base 0x48200000 and size 2 MiB are not a multiple of 32 MiB, the "
			"pageblock of a 16 KiB-page guest (CMA_MIN_ALIGNMENT_BYTES)");
	why = entry("pool@48200000")->reason;
	assert_mentions(why, "\"Reserved memory: incorrect alignment of CMA region\"");
	assert_mentions(why, "\"OF: reserved mem: node pool@48200000 compatible matching fail\"");
	assert_mentions(why, "align base and size to 32 MiB");
	/* the 4 MiB advice is for 4 KiB kernels before 5.18 only */
	assert_null(strstr(why, "5.18"));
	assert_false(entry("pool@48200000")->in_cma_total);
}

static void test_misaligned_4k_advice_names_old_kernels(void **state)
{
	add(&(struct test_pool){
		.name = "odd", .base = 0x48100000, .size = SZ_2M, .reusable = true });
	check();
	assert_rejected("odd", DTB_RULE_CMA_ALIGN,
			"not a multiple of 2 MiB, the pageblock of a "
			"4 KiB-page guest");
	assert_mentions(entry("odd")->reason, "to 4 MiB to suit kernels before 5.18 too");
}

static void test_32m_pool_is_fine_with_16k_pages(void **state)
{
	use_guest(GUEST_LINUX_6_12, SZ_16K);
	add(&(struct test_pool){
		.name = "big", .base = 0x46000000, .size = 64 * SZ_1M, .reusable = true });
	check();
	assert_verdict("big", DTB_CMA_POOL);
	/* 64 MiB + the guest's own 64 MiB default area */
	assert_int_equal(rep.cma_total, 128 * SZ_1M);
	assert_false(dtb_report_rejects(&rep));
}

static void test_64k_pages_want_512m(void **state)
{
	use_guest(GUEST_LINUX_6_12, SZ_64K);
	add(&(struct test_pool){
		.name = "a", .base = 0x60000000, .size = 512 * SZ_1M, .reusable = true });
	add(&(struct test_pool){
		.name = "b", .base = 0x86000000, .size = 32 * SZ_1M, .reusable = true });
	check();
	assert_verdict("a", DTB_CMA_POOL);
	assert_rejected("b", DTB_RULE_CMA_ALIGN,
			"not a multiple of 512 MiB, the pageblock of a 64 KiB-page guest");
}

static void test_placed_pool_size_with_16k_pages(void **state)
{
	use_guest(GUEST_LINUX_6_12, SZ_16K);
	add(&(struct test_pool){
		.name = "odd", .size = 48 * SZ_1M, .size_only = true, .reusable = true });
	add(&(struct test_pool){
		.name = "even", .size = 64 * SZ_1M, .size_only = true, .reusable = true });
	check();
	/* the guest aligns a placed pool's base to the pageblock, not its size */
	assert_rejected("odd", DTB_RULE_CMA_ALIGN, "size 48 MiB is not a multiple of 32 MiB");
	assert_verdict("even", DTB_CMA_POOL);
}

static void test_default_area_rounds_up_to_the_pageblock(void **state)
{
	use_guest(GUEST_LINUX_6_12, SZ_64K);
	check();
	assert_int_equal(rep.default_area.source, DTB_DEFAULT_CONFIG);
	assert_int_equal(rep.default_area.size, 512 * SZ_1M);
	assert_mentions(rep.default_area.text, "rounded up to the pageblock");

	setup(NULL);
	use_guest(GUEST_LINUX_6_12, SZ_16K);
	check_with("cma=40M");
	assert_int_equal(rep.default_area.size, 64 * SZ_1M);

	setup(NULL);
	check_with("cma=40M");
	assert_int_equal(rep.default_area.size, 40 * SZ_1M);
}

static void test_cmdline_base_with_16k_pages(void **state)
{
	/* 16 MiB aligned: fine for 4 KiB pages, not for 16 KiB */
	check_with("cma=64M@0x41000000");
	assert_false(rep.default_area.failed);

	setup(NULL);
	use_guest(GUEST_LINUX_6_12, SZ_16K);
	check_with("cma=64M@0x41000000");
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text, "\"cma: Region at 0x0000000041000000 must be "
					       "aligned to 0x0000000002000000 bytes\"");
}

/* ---- the order the handlers run in ---- */

/* Two linux,cma-default pools, the higher one first in the DT. */
static void add_two_defaults(void)
{
	add(&(struct test_pool){ .name = "high",
				 .base = 0x90000000,
				 .size = 32 * SZ_1M,
				 .reusable = true,
				 .cma_default = true });
	add(&cma_default); /* 0x80000000 */
}

static void test_second_default_6_1_by_base(void **state)
{
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	add_two_defaults();
	check();
	/* sorted by base: linux,cma first, then high takes its place */
	assert_verdict("linux,cma", DTB_CMA_POOL);
	assert_rejected("high", DTB_RULE_SECOND_DEFAULT, "/reserved-memory/linux,cma already");
}

static void test_second_default_6_12_in_dt_order(void **state)
{
	add_two_defaults();
	check();
	/* DT order: high first, then linux,cma takes its place */
	assert_verdict("high", DTB_CMA_POOL);
	assert_rejected("linux,cma", DTB_RULE_SECOND_DEFAULT, "/reserved-memory/high already");
}

static void test_6_12_runs_placed_nodes_first(void **state)
{
	add(&(struct test_pool){ .name = "fixed",
				 .base = 0x90000000,
				 .size = 32 * SZ_1M,
				 .reusable = true,
				 .cma_default = true });
	add(&(struct test_pool){ .name = "placed",
				 .size = 32 * SZ_1M,
				 .size_only = true,
				 .reusable = true,
				 .cma_default = true });
	check();
	/* placed by fdt_scan_reserved_mem() before the reg nodes are handled */
	assert_verdict("placed", DTB_CMA_POOL);
	assert_rejected("fixed", DTB_RULE_SECOND_DEFAULT, "/reserved-memory/placed already");
}

static void test_too_many_cma_6_1_fails_the_highest(void **state)
{
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	add_cma_pools(GUEST_CMA_AREAS + 1, true);
	check();
	assert_rejected("pool@85000000", DTB_RULE_TOO_MANY_CMA,
			"CMA area 21 of at most 20 "
			"(MAX_CMA_AREAS, 1 + "
			"CONFIG_CMA_AREAS (19))");
	assert_mentions(entry("pool@85000000")->reason,
			"\"cma: Not enough slots for CMA reserved regions!\"");
	assert_mentions(entry("pool@85000000")->reason,
			"\"OF: reserved mem: node pool@85000000 compatible matching fail\"");
	assert_verdict("pool@80000000", DTB_CMA_POOL);
	assert_true(rep.default_area.failed);
}

static void test_too_many_cma_6_12_fails_the_last_in_dt(void **state)
{
	add_cma_pools(GUEST_CMA_AREAS + 1, true);
	check();
	assert_rejected("pool@80000000", DTB_RULE_TOO_MANY_CMA,
			"(MAX_CMA_AREAS, CONFIG_CMA_AREAS (20))");
	assert_verdict("pool@85000000", DTB_CMA_POOL);
	assert_int_equal(rep.nr_cma_areas, GUEST_CMA_AREAS);
	assert_mentions(rep.default_area.text, "all 20 CMA slots");
}

/* ---- what MAX_RESERVED_REGIONS bounds ---- */

static void add_regions(int n, bool size_only)
{
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "r@%x", 0x80000000 + i * 0x100000);
		add(&(struct test_pool){ .name = name,
					 .base = 0x80000000 + i * 0x100000ULL,
					 .size = SZ_1M,
					 .size_only = size_only,
					 .no_map = true });
	}
}

static void test_6_12_has_no_limit_on_reg_nodes(void **state)
{
	add_regions(GUEST_RESERVED_REGIONS + 4, false);
	check();
	for (size_t i = 0; i < rep.nr_entries; i++)
		assert_int_equal(rep.entries[i].verdict, DTB_COHERENT_POOL);
	assert_false(dtb_report_rejects(&rep));

	setup(NULL);
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	add_regions(GUEST_RESERVED_REGIONS + 4, false);
	check();
	assert_rejected("r@84000000" /* the 65th */, DTB_RULE_TOO_MANY_REGIONS,
			"\"OF: reserved mem: not enough space for all defined regions.\"");
}

static void test_6_12_limits_placed_nodes(void **state)
{
	char last[32];

	add_regions(GUEST_RESERVED_REGIONS + 1, true);
	check();
	snprintf(last, sizeof(last), "r@%x", 0x80000000 + GUEST_RESERVED_REGIONS * 0x100000);
	assert_rejected(
		last, DTB_RULE_TOO_MANY_REGIONS,
		"\"OF: reserved mem: too many defined dynamic regions, skip 'r@84000000'\"");
	assert_verdict("r@83f00000", DTB_COHERENT_POOL);
}

/* ---- reg: empty, of size 0, with more entries ---- */

static void test_empty_reg_per_series(void **state)
{
	add(&(struct test_pool){ .name = "empty", .base = 0x90000000, .size = SZ_1M });
	dtb_builder_setprop(&b, "/reserved-memory/empty", "reg", NULL, 0);
	check();
	/*
	 * What follows reg here is the header of compatible: FDT_PROP (3),
	 * its length (16), its name's offset (0x32), then "shar".
	 */
	assert_rejected("empty", DTB_RULE_EMPTY_REG,
			"Linux 6.12 counts it and takes the 16 bytes after the empty property "
			"for its reg (fdt_scan_reserved_mem_reg_nodes): base 0x300000010, size "
			"0x3273686172, so its handlers set up a region at that garbage place");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_rejected("empty", DTB_RULE_EMPTY_REG,
			"does not save the node, so the guest "
			"ignores it");
}

static void test_zero_size_reg_with_size_property(void **state)
{
	uint8_t reg[16] = { 0, 0, 0, 0, 0x90, 0, 0, 0 }; /* base 0x90000000, size 0 */

	add(&(struct test_pool){
		.name = "z", .size = 32 * SZ_1M, .size_only = true, .reusable = true });
	dtb_builder_setprop(&b, "/reserved-memory/z", "reg", reg, sizeof(reg));
	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	/* 6.1 saves it with size 0, so fdt_init_reserved_mem() places it by size */
	assert_verdict("z", DTB_CMA_POOL);
	assert_false(entry("z")->has_reg);
	assert_int_equal(entry("z")->size, 32 * SZ_1M);
	assert_mentions(entry("z")->note, "reg gives size 0, so Linux 6.1 places it by its size "
					  "property instead");
	assert_mentions(entry("z")->note, "\"OF: fdt: Reserved memory: failed to reserve memory "
					  "for node 'z': ...\"");

	use_guest(GUEST_LINUX_6_12, SZ_4K);
	check();
	assert_rejected("z", DTB_RULE_SIZE_ZERO,
			"\"OF: reserved mem: Reserved memory: failed to reserve memory for node "
			"'z': ...\"");
}

static void test_extra_reg_entries_warned_by_6_12(void **state)
{
	uint8_t reg[32] = { 0, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0,
			    0, 0, 0, 0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0 };

	add(&(struct test_pool){ .name = "two", .base = 0x90000000, .size = 4 * SZ_1M });
	dtb_builder_setprop(&b, "/reserved-memory/two", "reg", reg, sizeof(reg));
	check();
	assert_mentions(entry("two")->note, "Linux 6.12 warns \"OF: reserved mem: "
					    "fdt_scan_reserved_mem_reg_nodes() ignores 1 regions "
					    "in node 'two'\"");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_null(strstr(entry("two")->note, "6.12"));
	assert_mentions(entry("two")->note, "reg has 2 entries");
}

/* ---- the messages each series prints ---- */

static void test_reg_length_message_per_series(void **state)
{
	uint8_t reg[12] = { 0 };

	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "reg", reg, sizeof(reg));
	check();
	assert_rejected("linux,cma", DTB_RULE_REG_LENGTH,
			"\"OF: reserved mem: Reserved memory: invalid reg property in "
			"'linux,cma', skipping node.\" twice");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_rejected("linux,cma", DTB_RULE_REG_LENGTH,
			"\"OF: fdt: Reserved memory: invalid reg property in 'linux,cma', "
			"skipping node.\" (");
}

static void test_bad_root_message_per_series(void **state)
{
	add(&cma_default);
	dtb_builder_delprop(&b, "/reserved-memory", "ranges");
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT,
			"\"OF: reserved mem: Reserved memory: unsupported node format, "
			"ignoring\" twice");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_rejected("linux,cma", DTB_RULE_BAD_ROOT,
			"\"OF: fdt: Reserved memory: unsupported node format, ignoring\" (");
}

static void test_no_reserved_memory_per_series(void **state)
{
	dtb_builder_init(&b, 2, 2);
	dtb_builder_add_ram(&b, RAM_BASE, SZ_1G);
	check();
	assert_true(has_line(DTB_LINE_INFO, "\"OF: reserved mem: Reserved memory: No "
					    "reserved-memory node in the DT\""));

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_true(has_line(DTB_LINE_INFO, "no /reserved-memory node"));
	assert_false(has_line(DTB_LINE_INFO, "No reserved-memory node in the DT"));
}

/* @pool gets the same verdict and message from 6.1 and 6.12. */
static void assert_same_in_both(const struct test_pool *pool, uint64_t page_size,
				enum dtb_rule rule, const char *what)
{
	static const enum guest_series series[] = { GUEST_LINUX_6_1, GUEST_LINUX_6_12 };

	for (size_t i = 0; i < 2; i++) {
		setup(NULL);
		use_guest(series[i], page_size);
		add(pool);
		check();
		assert_rejected(pool->name, rule, what);
	}
}

static void test_same_in_both_reusable_no_map(void **state)
{
	assert_same_in_both(
		&(struct test_pool){ .name = "pool@50000000",
				     .base = 0x50000000,
				     .size = 4 * SZ_1M,
				     .reusable = true,
				     .no_map = true },
		SZ_4K, DTB_RULE_REUSABLE_NO_MAP,
		"prints only \"OF: reserved mem: node pool@50000000 compatible matching "
		"fail\"");
}

static void test_same_in_both_zone_crossing(void **state)
{
	assert_same_in_both(&(struct test_pool){ .name = "pool@fe000000",
						 .base = 0xfe000000,
						 .size = 64 * SZ_1M,
						 .reusable = true },
			    SZ_16K, DTB_RULE_ZONE_CROSSING,
			    "\"cma: CMA area pool@fe000000 could not be activated\"");
}

static void test_fixed_area_failure_names_the_node_in_6_12(void **state)
{
	add(&(struct test_pool){ .name = "taken", .base = 0x90000000, .size = 64 * SZ_1M });
	check_with("cma=64M@0x90000000");
	assert_true(rep.default_area.failed);
	assert_mentions(rep.default_area.text, "\"cma: Failed to reserve 64 MiB on node -1\"");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check_with("cma=64M@0x90000000");
	assert_mentions(rep.default_area.text, "\"cma: Failed to reserve 64 MiB\")");
}

static void test_memreserve_note_for_placed_nodes_in_6_12(void **state)
{
	assert_int_equal(fdt_add_mem_rsv(b.blob, 0x90000000, SZ_1M), 0);
	add(&(struct test_pool){
		.name = "placed", .size = 32 * SZ_1M, .size_only = true, .reusable = true });
	check();
	assert_mentions(entry("placed")->note, "Linux 6.12 places it before it reserves the "
					       "/memreserve/ entries");

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_null(strstr(entry("placed")->note, "/memreserve/"));
}

/* ---- RAM and coherent pools by page size ---- */

static void test_ram_in_whole_guest_pages(void **state)
{
	dtb_builder_init(&b, 2, 2);
	dtb_builder_add_ram(&b, 0x40001000, SZ_1G);
	dtb_builder_add_reserved_memory(&b);
	check();
	assert_int_equal(rep.ram[0].base, 0x40001000);

	use_guest(GUEST_LINUX_6_12, SZ_16K);
	check();
	assert_int_equal(rep.ram[0].base, 0x40004000);
	assert_int_equal(rep.ram[0].size, SZ_1G - SZ_16K);
}

static void test_ram_above_48_bits(void **state)
{
	dtb_builder_add_ram(&b, 1ULL << 48, SZ_1G);
	check();
	assert_int_equal(rep.nr_ram, 2);

	use_guest(GUEST_LINUX_6_1, SZ_4K);
	check();
	assert_int_equal(rep.nr_ram, 1);
}

static void test_coherent_pool_in_whole_pages(void **state)
{
	add(&(struct test_pool){ .name = "dma", .base = 0x90001000, .size = 0x3000 });
	check();
	assert_verdict("dma", DTB_COHERENT_POOL);
	assert_null(strstr(entry("dma")->note, "page"));

	use_guest(GUEST_LINUX_6_12, SZ_16K);
	check();
	assert_verdict("dma", DTB_COHERENT_POOL);
	assert_mentions(entry("dma")->note, "not a multiple of this guest's 16 KiB page");
}

/* ---- the guest asked for ---- */

static void test_report_says_which_guest(void **state)
{
	static const char first[] =
		"guest          Linux 6.12, 16 KiB pages (pageblock 32 MiB, 20 CMA areas)\n";
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	use_guest(GUEST_LINUX_6_12, SZ_16K);
	check();
	out = open_memstream(&text, &len);
	assert_non_null(out);
	dtb_report_print(&rep, out);
	fclose(out);
	if (strncmp(text, first, strlen(first)))
		fail_msg("the report starts \"%.80s\"", text);
	free(text);
}

static void test_unknown_guest_refused(void **state)
{
	size_t size = dtb_builder_finish(&b);

	assert_int_equal(dtb_check_guest(b.blob, size, NULL,
					 &(struct guest_kernel){ GUEST_LINUX_6_12, 8192 }, &rep),
			 -1);
	assert_mentions(rep.error, "4K, 16K or 64K");
	assert_int_equal(dtb_check_guest(b.blob, size, NULL,
					 &(struct guest_kernel){ GUEST_NR_SERIES, SZ_4K }, &rep),
			 -1);
	assert_mentions(rep.error, "6.1 or 6.12");
}

static void test_default_and_zero_guests(void **state)
{
	size_t size = dtb_builder_finish(&b);

	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), 0);
	assert_int_equal(rep.guest.series, GUEST_LINUX_6_12);
	assert_int_equal(rep.guest.page_size, SZ_4K);
	assert_int_equal(dtb_check_guest(b.blob, size, NULL, NULL, &rep), 0);
	assert_int_equal(rep.guest.series, GUEST_LINUX_6_12);
	assert_int_equal(dtb_check_guest(b.blob, size, NULL, &(struct guest_kernel){ 0 }, &rep), 0);
	assert_int_equal(rep.guest.series, GUEST_LINUX_6_1);
	assert_int_equal(rep.guest.page_size, SZ_4K);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_2m_pool_is_fine_with_4k_pages),
		T(test_2m_pool_is_misaligned_with_16k_pages),
		T(test_misaligned_4k_advice_names_old_kernels),
		T(test_32m_pool_is_fine_with_16k_pages),
		T(test_64k_pages_want_512m),
		T(test_placed_pool_size_with_16k_pages),
		T(test_default_area_rounds_up_to_the_pageblock),
		T(test_cmdline_base_with_16k_pages),
		T(test_second_default_6_1_by_base),
		T(test_second_default_6_12_in_dt_order),
		T(test_6_12_runs_placed_nodes_first),
		T(test_too_many_cma_6_1_fails_the_highest),
		T(test_too_many_cma_6_12_fails_the_last_in_dt),
		T(test_6_12_has_no_limit_on_reg_nodes),
		T(test_6_12_limits_placed_nodes),
		T(test_empty_reg_per_series),
		T(test_zero_size_reg_with_size_property),
		T(test_extra_reg_entries_warned_by_6_12),
		T(test_reg_length_message_per_series),
		T(test_bad_root_message_per_series),
		T(test_no_reserved_memory_per_series),
		T(test_same_in_both_reusable_no_map),
		T(test_same_in_both_zone_crossing),
		T(test_fixed_area_failure_names_the_node_in_6_12),
		T(test_memreserve_note_for_placed_nodes_in_6_12),
		T(test_ram_in_whole_guest_pages),
		T(test_ram_above_48_bits),
		T(test_coherent_pool_in_whole_pages),
		T(test_report_says_which_guest),
		T(test_unknown_guest_refused),
		T(test_default_and_zero_guests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
