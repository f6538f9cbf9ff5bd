// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/guest_rules.c: each guest's numbers, its names in messages, and the
 * parsing of a series and a page size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fdt/guest_rules.h"

#define SZ_16K (4 * SZ_4K)

static const struct guest_kernel g61 = { GUEST_LINUX_6_1, SZ_4K };
static const struct guest_kernel g612 = { GUEST_LINUX_6_12, SZ_4K };
static const struct guest_kernel g612_16k = { GUEST_LINUX_6_12, SZ_16K };
static const struct guest_kernel g612_64k = { GUEST_LINUX_6_12, SZ_64K };

/* ---- numbers ---- */

static void test_pageblock_per_page_size(void **state)
{
	assert_int_equal(guest_pageblock(&g61), SZ_2M);
	assert_int_equal(guest_pageblock(&g612), SZ_2M);
	assert_int_equal(guest_pageblock(&g612_16k), 32 * SZ_1M);
	assert_int_equal(guest_pageblock(&g612_64k), 512 * SZ_1M);
	/* the same formula in 6.1 for the page sizes Debian does not ship */
	assert_int_equal(guest_pageblock(&(struct guest_kernel){ GUEST_LINUX_6_1, SZ_16K }),
			 32 * SZ_1M);
	assert_int_equal(guest_pageblock(&(struct guest_kernel){ GUEST_LINUX_6_1, 8192 }), 0);
}

static void test_zero_guest_is_6_1_with_4k_pages(void **state)
{
	const struct guest_kernel zero = { 0 };
	struct guest_kernel n;

	assert_int_equal(guest_page_size(&zero), SZ_4K);
	assert_int_equal(guest_pageblock(&zero), SZ_2M);
	assert_true(guest_kernel_valid(&zero));
	n = guest_kernel_normal(&zero);
	assert_int_equal(n.series, GUEST_LINUX_6_1);
	assert_int_equal(n.page_size, SZ_4K);
}

static void test_default_is_6_12_with_4k_pages(void **state)
{
	const struct guest_kernel def = GUEST_KERNEL_DEFAULT;

	assert_int_equal(def.series, GUEST_LINUX_6_12);
	assert_int_equal(def.page_size, SZ_4K);
}

static void test_validity(void **state)
{
	assert_true(guest_kernel_valid(&g61));
	assert_true(guest_kernel_valid(&g612_64k));
	assert_false(guest_kernel_valid(&(struct guest_kernel){ GUEST_LINUX_6_12, 8192 }));
	assert_false(guest_kernel_valid(&(struct guest_kernel){ GUEST_NR_SERIES, SZ_4K }));
	assert_false(guest_kernel_valid(&(struct guest_kernel){ (enum guest_series)99, SZ_4K }));
}

static void test_cma_areas_and_regions(void **state)
{
	/* 1 + CONFIG_CMA_AREAS (19) in 6.1, CONFIG_CMA_AREAS (20) in 6.12 */
	assert_int_equal(guest_cma_areas(&g61), 20);
	assert_int_equal(guest_cma_areas(&g612), 20);
	assert_non_null(
		strstr(guest_rmem_rules(&g61)->cma_areas_rule, "1 + CONFIG_CMA_AREAS (19)"));
	assert_non_null(strstr(guest_rmem_rules(&g612)->cma_areas_rule, "CONFIG_CMA_AREAS (20)"));
	assert_int_equal(guest_reserved_regions(&g61), 64);
	assert_int_equal(guest_reserved_regions(&g612), 64);
}

static void test_default_area_rounds_to_the_pageblock(void **state)
{
	assert_int_equal(guest_cma_default_size(&g61), 64 * SZ_1M);
	assert_int_equal(guest_cma_default_size(&g612_16k), 64 * SZ_1M);
	assert_int_equal(guest_cma_default_size(&g612_64k), 512 * SZ_1M);
}

static void test_physical_limit(void **state)
{
	assert_int_equal(guest_phys_end(&g61), 1ULL << 48);
	assert_int_equal(guest_phys_end(&g612), 1ULL << 52);
}

static void test_rmem_rules_differ(void **state)
{
	const struct guest_rmem_rules *a = guest_rmem_rules(&g61), *b = guest_rmem_rules(&g612);

	assert_false(a->handlers_in_dt_order);
	assert_true(b->handlers_in_dt_order);
	assert_false(a->region_limit_dynamic_only);
	assert_true(b->region_limit_dynamic_only);
	assert_true(a->zero_reg_placed_by_size);
	assert_false(b->zero_reg_placed_by_size);
	assert_string_equal(a->scan_prefix, "OF: fdt: ");
	assert_string_equal(b->scan_prefix, "OF: reserved mem: ");
	assert_string_equal(b->cma_node_text, " on node -1");
}

/* ---- names ---- */

static void test_names(void **state)
{
	char buf[80];

	assert_string_equal(guest_series_name(GUEST_LINUX_6_1), "6.1");
	assert_string_equal(guest_series_name(GUEST_LINUX_6_12), "6.12");
	assert_string_equal(guest_series_name(GUEST_NR_SERIES), "?");
	assert_string_equal(guest_kernel_name(&g612_16k, buf, sizeof(buf)),
			    "Linux 6.12, 16 KiB pages");
	assert_string_equal(guest_kernel_name(&(struct guest_kernel){ 0 }, buf, sizeof(buf)),
			    "Linux 6.1, 4 KiB pages");
	assert_string_equal(guest_pageblock_text(&g612_16k, buf, sizeof(buf)),
			    "32 MiB, the pageblock of a 16 KiB-page guest");
	assert_string_equal(guest_pageblock_text(&g612_64k, buf, sizeof(buf)),
			    "512 MiB, the pageblock of a 64 KiB-page guest");
	assert_string_equal(guest_pageblock_text(&g61, buf, sizeof(buf)),
			    "2 MiB, the pageblock of a 4 KiB-page guest");
}

/* ---- parsing ---- */

static void test_parse_series(void **state)
{
	static const struct {
		const char *text;
		int ok;
		enum guest_series series;
	} cases[] = {
		{ "6.1", 0, GUEST_LINUX_6_1 },
		{ "6.12", 0, GUEST_LINUX_6_12 },
		{ "Linux 6.12", 0, GUEST_LINUX_6_12 },
		{ "linux-6.1", 0, GUEST_LINUX_6_1 },
		{ "6.2", -1, 0 },
		{ "6", -1, 0 },
		{ "6.12.117", -1, 0 },
		{ "", -1, 0 },
		{ "6.1 ", -1, 0 },
		{ "linux", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum guest_series s = GUEST_NR_SERIES;

		if (guest_series_from_text(cases[i].text, &s) != cases[i].ok)
			fail_msg("'%s' parsed wrongly", cases[i].text);
		if (!cases[i].ok && s != cases[i].series)
			fail_msg("'%s' gave series %d", cases[i].text, (int)s);
	}
	assert_int_equal(guest_series_from_text(NULL, &(enum guest_series){ 0 }), -1);
}

static void test_parse_page_size(void **state)
{
	static const struct {
		const char *text;
		uint64_t page; /* 0: refused */
	} cases[] = {
		{ "4K", SZ_4K },     { "16K", SZ_16K },	 { "64K", SZ_64K },   { "4KiB", SZ_4K },
		{ "16kib", SZ_16K }, { "64KB", SZ_64K }, { "16384", SZ_16K }, { "0x4000", SZ_16K },
		{ "65536", SZ_64K }, { "4096", SZ_4K },	 { "8K", 0 },	      { "32K", 0 },
		{ "2M", 0 },	     { "16", 0 },	 { "", 0 },	      { "sixteen", 0 },
		{ "16 K", 0 },	     { "-4K", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t page = 1;
		int ret = guest_page_size_from_text(cases[i].text, &page);

		if (cases[i].page && (ret || page != cases[i].page))
			fail_msg("'%s' gave %d, %llu", cases[i].text, ret,
				 (unsigned long long)page);
		if (!cases[i].page && (ret != -1 || page != 1))
			fail_msg("'%s' was accepted", cases[i].text);
	}
	assert_int_equal(guest_page_size_from_text(NULL, &(uint64_t){ 0 }), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pageblock_per_page_size),
		cmocka_unit_test(test_zero_guest_is_6_1_with_4k_pages),
		cmocka_unit_test(test_default_is_6_12_with_4k_pages),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_cma_areas_and_regions),
		cmocka_unit_test(test_default_area_rounds_to_the_pageblock),
		cmocka_unit_test(test_physical_limit),
		cmocka_unit_test(test_rmem_rules_differ),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_series),
		cmocka_unit_test(test_parse_page_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
