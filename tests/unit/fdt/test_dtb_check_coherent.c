// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_coherent.c: the pools rmem_dma_setup() makes coherent DMA
 * pools, including those rmem_cma_setup() turned down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- accepted ---- */

static void test_valid_coherent_pool(void **state)
{
	add(&(struct test_pool){
		.name = "dma@d0000000", .base = 0xd0000000, .size = SZ_1M, .no_map = true });
	check();
	assert_verdict("dma@d0000000", DTB_COHERENT_POOL);
	assert_false(entry("dma@d0000000")->in_cma_total);
	assert_false(dtb_report_rejects(&rep));
}

static void test_size_only_coherent_pool(void **state)
{
	add(&(struct test_pool){
		.name = "placed", .size = SZ_1M, .size_only = true, .no_map = true });
	check();
	assert_verdict("placed", DTB_COHERENT_POOL);
	assert_mentions(entry("placed")->note, "placed by the guest");
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

static void test_rule_zone_crossing_coherent_is_fine(void **state)
{
	add(&(struct test_pool){
		.name = "p", .base = 0xfe000000, .size = 64 * SZ_1M, .no_map = true });
	check();
	assert_verdict("p", DTB_COHERENT_POOL);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_coherent_pool),	    T(test_size_only_coherent_pool),
		T(test_dma_default_ignored),	    T(test_rule_zone_crossing_coherent_is_fine),
		T(test_rule_bypass_keeps_coherent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
