// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_of_fdt.c: the root's cells, the RAM and ZONE_DMA from the
 * memory nodes, and the command line from /chosen/bootargs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <libfdt.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- the root ---- */

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

static void test_huge_root_cells(void **state)
{
	dtb_builder_setprop(&b, "/", "#address-cells", &(fdt32_t){ cpu_to_fdt32(0xffffffff) }, 4);
	assert_int_equal(dtb_check(b.blob, dtb_builder_finish(&b), NULL, &rep), -1);
	assert_mentions(rep.error, "#address-cells");
}

/* ---- RAM ---- */

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

/* ---- the command line ---- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_root_cells_default_to_one),
		T(test_huge_root_cells),
		T(test_ram_and_zone),
		T(test_disabled_ram_ignored),
		T(test_cmdline_from_bootargs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
