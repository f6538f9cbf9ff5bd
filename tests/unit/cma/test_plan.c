// SPDX-License-Identifier: GPL-2.0-only
/*
 * The planner's arithmetic (cma/plan.h): allocations as CMA places them
 * with 4, 16 and 64 KiB guest pages, the headroom, groups, fixed pools,
 * what cannot be met, window levels from 1 GiB spans and huge pages, the
 * fleet's packing and the advice from observed peaks. Every expected
 * number is worked out by hand in the comment beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cma/plan.h"
#include "cma/size.h"
#include "fdt/guest_rules.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct plan_profile prof;
static struct plan_result res;
static char err[512];

/* A profile of @ram with @page_size pages and a 6.1 kernel; no devices yet. */
static struct plan_profile *profile(uint64_t ram, uint64_t page_size)
{
	memset(&prof, 0, sizeof(prof));
	prof.ram = ram;
	prof.page_size = page_size;
	prof.kernel[0] = 6;
	prof.kernel[1] = 1;
	prof.rules.pageblock = guest_cma_min_align(page_size);
	prof.rules.granule = prof.rules.pageblock;
	prof.rules.cma_align_order = GUEST_CMA_ALIGNMENT_ORDER;
	prof.headroom_pct = PLAN_HEADROOM_PCT;
	prof.vmm_overhead = PLAN_VMM_OVERHEAD;
	return &prof;
}

static struct plan_device *add_device(const char *name, enum plan_kind kind)
{
	struct plan_device *d = &prof.devices[prof.nr_devices++];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->kind = kind;
	d->buffers = 1;
	d->streams = 1;
	return d;
}

/* A 1080p XRGB8888 display with @buffers buffers: 8294400 bytes each. */
static void add_1080p(const char *name, uint64_t buffers)
{
	struct plan_device *d = add_device(name, PLAN_DISPLAY);

	d->width = 1920;
	d->height = 1080;
	d->bits_per_pixel = 32;
	d->buffers = buffers;
}

static struct plan_device *add_custom(const char *name, uint64_t size, uint64_t count)
{
	struct plan_device *d = add_device(name, PLAN_CUSTOM);

	d->buffer_size = size;
	d->buffers = count;
	return d;
}

static void size_ok(void)
{
	err[0] = '\0';
	assert_int_equal(plan_size(&prof, &res, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static const char *size_fails(void)
{
	assert_int_equal(plan_size(&prof, &res, err, sizeof(err)), -1);
	return err;
}

/* ---- page sizes ---- */

static void test_display_4k(void **state)
{
	profile(1 * GiB, SZ_4K);
	add_1080p("panel", 3);
	size_ok();
	/* 8294400 bytes = 2025 pages; order 11 capped at 8: 1 MiB; placed 8 MiB */
	assert_int_equal(res.allocs[0].asked, 8294400);
	assert_int_equal(res.allocs[0].pages, 8294400);
	assert_int_equal(res.allocs[0].align, 1 * MiB);
	assert_int_equal(res.allocs[0].placed, 8 * MiB);
	assert_int_equal(res.allocs[0].total, 24 * MiB);
	assert_int_equal(res.nr_pools, 1);
	assert_string_equal(res.pools[0].name, "linux,cma");
	assert_true(res.pools[0].is_default);
	assert_int_equal(res.pools[0].peak, 24 * MiB);
	assert_int_equal(res.pools[0].largest, 8 * MiB);
	/* 8 MiB + 15% of 24 MiB (3774873.6 up to 3774874, to the page 3776512) */
	assert_int_equal(res.pools[0].headroom, 8 * MiB + 3776512);
	/* 24 + 8 + 3.6 MiB = 37330944, up to 2 MiB: 36 MiB */
	assert_int_equal(res.pools[0].size, 36 * MiB);
	assert_int_equal(res.pageblock, 2 * MiB);
	assert_int_equal(res.pool_align, 4 * MiB);
	assert_int_equal(res.cma_total, 36 * MiB);
	assert_int_equal(plan_cma_total_kb(&res), 36864);
	assert_int_equal(res.host_memory, 1 * GiB + 64 * MiB);
}

static void test_display_16k(void **state)
{
	profile(1 * GiB, 4 * SZ_4K);
	add_1080p("panel", 3);
	size_ok();
	/* 506.25 pages: 507 x 16 KiB = 8306688; order 9 capped at 8: 4 MiB; placed 8 MiB */
	assert_int_equal(res.allocs[0].pages, 8306688);
	assert_int_equal(res.allocs[0].align, 4 * MiB);
	assert_int_equal(res.allocs[0].placed, 8 * MiB);
	/* 8 MiB + 15% of 24 MiB to 16 KiB (3784704); 37339136 up to 32 MiB: 64 MiB */
	assert_int_equal(res.pools[0].headroom, 8 * MiB + 3784704);
	assert_int_equal(res.pageblock, 32 * MiB);
	assert_int_equal(res.pools[0].size, 64 * MiB);
	assert_int_equal(res.pool_align, 32 * MiB);
}

static void test_display_64k(void **state)
{
	profile(2 * GiB, SZ_64K);
	add_1080p("panel", 3);
	size_ok();
	/* 127 x 64 KiB = 8323072; order 7 (8 MiB) is below the 16 MiB cap */
	assert_int_equal(res.allocs[0].pages, 8323072);
	assert_int_equal(res.allocs[0].align, 8 * MiB);
	assert_int_equal(res.allocs[0].placed, 8 * MiB);
	assert_int_equal(res.pageblock, 512 * MiB);
	assert_int_equal(res.pools[0].size, 512 * MiB);
	assert_int_equal(res.pool_align, 512 * MiB);
	assert_int_equal(plan_cma_total_kb(&res), 524288);
}

static void test_old_kernel_granule(void **state)
{
	/* 2 MiB + 2 MiB + 15% of 2 MiB (315392 to the page) = 4509696 */
	profile(1 * GiB, SZ_4K);
	add_custom("fw", 2 * MiB, 1);
	size_ok();
	assert_int_equal(res.pools[0].size, 6 * MiB);
	/* Before 5.18 a 4 KiB guest wants 4 MiB multiples */
	prof.rules.granule = guest_cma_old_align(SZ_4K);
	size_ok();
	assert_int_equal(res.pools[0].size, 8 * MiB);
}

/* ---- headroom, groups, alignment ---- */

static void test_headroom_percent(void **state)
{
	profile(1 * GiB, SZ_4K);
	add_custom("buf", 4 * MiB, 10);
	prof.headroom_pct = 0;
	size_ok();
	/* 40 MiB and one more 4 MiB */
	assert_int_equal(res.pools[0].headroom, 4 * MiB);
	assert_int_equal(res.pools[0].size, 44 * MiB);
	prof.headroom_pct = 100;
	size_ok();
	assert_int_equal(res.pools[0].size, 84 * MiB);
	prof.headroom_pct = 10; /* 4 MiB + 4 MiB (10% of 40) = 48 MiB */
	size_ok();
	assert_int_equal(res.pools[0].size, 48 * MiB);
}

static void test_groups_take_the_worst(void **state)
{
	profile(2 * GiB, SZ_4K);
	add_custom("cam", 3 * MiB, 8);	 /* 24 MiB */
	add_custom("enc", 8 * MiB, 4);	 /* 32 MiB */
	add_custom("panel", 8 * MiB, 2); /* 16 MiB */
	prof.nr_groups = 2;
	prof.groups[0] = 1u << 0 | 1u << 2; /* cam + panel: 40 MiB */
	prof.groups[1] = 1u << 0 | 1u << 1; /* cam + enc: 56 MiB */
	size_ok();
	assert_int_equal(res.pools[0].peak, 56 * MiB);
	assert_int_equal(res.pools[0].peak_group, 1);
	assert_int_equal(res.pools[0].largest_device, 1);
	/* Every device at once would be 72 MiB */
	prof.nr_groups = 0;
	size_ok();
	assert_int_equal(res.pools[0].peak, 72 * MiB);
	assert_int_equal(res.pools[0].peak_group, -1);
}

static void test_device_in_no_group(void **state)
{
	profile(1 * GiB, SZ_4K);
	add_custom("a", 1 * MiB, 1);
	add_custom("b", 1 * MiB, 1);
	prof.nr_groups = 1;
	prof.groups[0] = 1u << 0;
	assert_non_null(strstr(size_fails(), "device 'b' is in no group"));
}

static void test_alignment(void **state)
{
	struct plan_device *d;

	profile(1 * GiB, SZ_4K);
	d = add_custom("fw", 1 * MiB, 1);
	d->align = 2 * MiB; /* asked above what CMA gives by itself */
	size_ok();
	assert_int_equal(res.allocs[0].align, 2 * MiB);
	assert_int_equal(res.allocs[0].placed, 2 * MiB);
	assert_int_equal(res.pool_align, 4 * MiB);
	d->align = 16 * MiB; /* the pool's base must be as aligned */
	size_ok();
	assert_int_equal(res.pool_align, 16 * MiB);
	assert_int_equal(res.allocs[0].placed, 16 * MiB);
	d->align = 3 * MiB;
	assert_non_null(strstr(size_fails(), "alignment 3 MiB is not a power of two"));
	assert_non_null(strstr(err, "use 4 MiB"));
	d->align = 2 * GiB;
	assert_non_null(strstr(size_fails(), "more than 1 GiB"));
}

static void test_coherent_pool_aligns_to_order(void **state)
{
	struct plan_device *d;

	profile(1 * GiB, SZ_4K);
	d = add_custom("a", 8 * MiB + 4096, 1);
	snprintf(d->pool, sizeof(d->pool), "fw");
	snprintf(prof.pools[0].name, sizeof(prof.pools[0].name), "fw");
	prof.pools[0].no_map = true;
	prof.nr_pools = 1;
	size_ok();
	/* dma_alloc_from_dev_coherent: order of the size, uncapped: 16 MiB */
	assert_int_equal(res.nr_pools, 1);
	assert_true(res.pools[0].no_map);
	assert_int_equal(res.allocs[0].align, 16 * MiB);
	assert_int_equal(res.cma_total, 0);
	/* In a CMA pool the same buffer starts at 1 MiB: 9 MiB placed */
	prof.pools[0].no_map = false;
	size_ok();
	assert_int_equal(res.allocs[0].placed, 9 * MiB);
	assert_int_equal(res.cma_total, res.pools[0].size);
}

static void test_named_and_default_pools(void **state)
{
	struct plan_device *d;

	profile(2 * GiB, SZ_4K);
	add_custom("gpu", 4 * MiB, 2);
	d = add_custom("cam", 2 * MiB, 4);
	snprintf(d->pool, sizeof(d->pool), "cam");
	size_ok();
	assert_int_equal(res.nr_pools, 2);
	assert_string_equal(res.pools[0].name, "linux,cma");
	assert_string_equal(res.pools[1].name, "cam");
	assert_int_equal(res.allocs[1].pool, 1);
	assert_int_equal(res.pools[1].peak, 8 * MiB);
	/* 8 + 4 + 15% of 8 (1.2 MiB) = 13.2 MiB: 14 MiB; 8 + 2 + 1.2: 12 MiB */
	assert_int_equal(res.pools[0].size, 14 * MiB);
	assert_int_equal(res.pools[1].size, 12 * MiB);
	assert_int_equal(res.pools_total, 26 * MiB);
}

/* ---- given sizes, and what cannot be met ---- */

static void test_largest_given(void **state)
{
	profile(1 * GiB, SZ_4K);
	add_custom("buf", 4 * MiB, 4);
	prof.largest_given = 16 * MiB;
	size_ok();
	assert_int_equal(res.pools[0].largest, 16 * MiB);
	assert_int_equal(res.pools[0].largest_device, -1);
	prof.largest_given = 1 * MiB;
	assert_non_null(
		strstr(size_fails(), "largest_allocation 1 MiB is smaller than device 'buf'"));
}

static void test_fixed_pool(void **state)
{
	struct plan_device *d;

	profile(1 * GiB, SZ_4K);
	d = add_custom("frame", 64 * MiB, 1);
	snprintf(d->pool, sizeof(d->pool), "cam");
	snprintf(prof.pools[0].name, sizeof(prof.pools[0].name), "cam");
	prof.pools[0].size = 32 * MiB;
	prof.nr_pools = 1;
	size_fails();
	assert_non_null(strstr(err, "device 'frame' allocates 64 MiB at once"));
	assert_non_null(strstr(err, "raise pools.cam.size to at least 64 MiB"));
	prof.pools[0].size = 65 * MiB;
	assert_non_null(strstr(size_fails(), "not a multiple of the guest's pageblock 2 MiB"));
	/* Big enough for the allocation, short of the plan: kept, need says more */
	prof.pools[0].size = 80 * MiB;
	size_ok();
	assert_int_equal(res.pools[0].size, 80 * MiB);
	assert_int_equal(res.pools[0].need, 138 * MiB); /* 64 + 64 + 9.6 */
}

static void test_pools_larger_than_ram(void **state)
{
	profile(256 * MiB, SZ_4K);
	add_custom("big", 100 * MiB, 2);
	size_fails();
	/* 200 + 100 + 30 = 330 MiB of pools; 104 MiB besides */
	assert_non_null(strstr(err, "the pools take 330 MiB"));
	assert_non_null(strstr(err, "raise ram to at least 434 MiB"));
}

static void test_overflow_is_an_error(void **state)
{
	struct plan_device *d;

	profile(1 * GiB, SZ_4K);
	d = add_device("huge", PLAN_CAMERA);
	d->width = UINT64_MAX / 2;
	d->height = 3;
	d->bits_per_pixel = 8;
	assert_non_null(strstr(size_fails(), "larger than any guest's RAM"));
	d->width = 0;
	assert_non_null(strstr(size_fails(), "a frame needs width, height and bytes_per_pixel"));
	d->height = 0;
	assert_non_null(strstr(size_fails(), "say how large a buffer is"));
}

/* ---- levels ---- */

/* Two pools in one 1 GiB span: the larger owns it. */
static void two_pools_in_one_span(void)
{
	struct plan_device *d;
	uint64_t bases[2];

	profile(1 * GiB, SZ_4K);
	add_custom("a", 32 * MiB, 2); /* 64 + 32 + 9.6: 106 MiB */
	d = add_custom("b", 4 * MiB, 1);
	snprintf(d->pool, sizeof(d->pool), "b"); /* 4 + 4 + 0.6: 10 MiB */
	size_ok();
	bases[0] = 0xb9400000;
	bases[1] = 0xb8800000;
	plan_place(&res, bases);
}

static void test_span_owner(void **state)
{
	two_pools_in_one_span();
	assert_int_equal(res.pools[0].size, 106 * MiB);
	assert_true(res.pools[0].contiguous_ok);
	assert_false(res.pools[1].contiguous_ok);
	assert_int_equal(res.pools[1].span_owner, 0);
	/* The best: one 1 GiB page for both */
	assert_int_equal(res.best.pages_1g, 1);
	assert_int_equal(res.best.pages_2m, 0);
	assert_int_equal(res.pools[0].level, CMA_CONTIGUOUS);
	assert_true(res.pools[1].covered);
}

static void test_levels_on(void **state)
{
	enum cma_level levels[PLAN_POOLS_MAX];
	struct plan_pages use;

	two_pools_in_one_span();
	/* No 1 GiB page: each at huge, 53 + 5 pages */
	assert_int_equal(
		plan_levels_on(&res, (struct plan_pages){ 58, 0 }, CMA_RESIDENT, levels, &use), 0);
	assert_int_equal(levels[0], CMA_HUGE);
	assert_int_equal(levels[1], CMA_HUGE);
	assert_int_equal(use.pages_2m, 58);
	/* 2 MiB pages for the larger only: the smaller is resident */
	assert_int_equal(
		plan_levels_on(&res, (struct plan_pages){ 57, 0 }, CMA_RESIDENT, levels, &use), 0);
	assert_int_equal(levels[0], CMA_HUGE);
	assert_int_equal(levels[1], CMA_RESIDENT);
	assert_int_equal(use.pages_2m, 53);
	/* ... which a class that wants huge refuses */
	assert_int_equal(plan_levels_on(&res, (struct plan_pages){ 57, 0 }, CMA_HUGE, levels, &use),
			 -1);
	/* A pool across a 1 GiB boundary cannot be contiguous */
	plan_place(&res, (uint64_t[]){ 0xbc000000 + 32 * MiB, 0x90000000 });
	assert_false(res.pools[0].contiguous_ok);
	assert_true(res.pools[1].contiguous_ok);
}

static void test_fit_host_picks_the_node(void **state)
{
	struct plan_host host = { .nr_nodes = 2 };

	two_pools_in_one_span();
	host.nodes[1].pages_2m = 100;
	plan_fit_host(&res, &host);
	assert_int_equal(res.node, 1);
	assert_int_equal(res.pools[0].level, CMA_HUGE);
	assert_false(res.pools[1].covered);
	assert_int_equal(res.used.pages_2m, 58);
	host.nodes[0].pages_1g = 1; /* a 1 GiB page beats 2 MiB pages */
	plan_fit_host(&res, &host);
	assert_int_equal(res.node, 0);
	assert_int_equal(res.pools[0].level, CMA_CONTIGUOUS);
	assert_true(res.pools[1].covered);
	assert_int_equal(res.used.pages_1g, 1);
	assert_int_equal(res.used.pages_2m, 0);
	plan_fit_host(&res, &(struct plan_host){ .nr_nodes = 1 });
	assert_int_equal(res.pools[0].level, CMA_RESIDENT);
}

/* ---- a fleet ---- */

static struct plan_result small, big;

/* A 1 GiB class with a 36 MiB pool, and a 4 GiB class with a 74 MiB one. */
static void two_classes(void)
{
	profile(1 * GiB, SZ_4K);
	add_1080p("panel", 3);
	size_ok();
	plan_place(&res, (uint64_t[]){ 0xbdc00000 });
	small = res;
	profile(4 * GiB, SZ_4K);
	add_custom("enc", 8 * MiB, 7);
	size_ok();
	plan_place(&res, (uint64_t[]){ 0xfb400000 });
	big = res;
	assert_int_equal(small.pools[0].size, 36 * MiB);
	assert_int_equal(small.best.pages_1g, 1);
	/* 56 + 8 + 15% of 56 (8.4 MiB) = 72.4 MiB: 74 MiB */
	assert_int_equal(big.pools[0].size, 74 * MiB);
}

static void test_fleet_first_fit_decreasing(void **state)
{
	static struct plan_fleet out;
	struct plan_host hosts[2] = {
		{ "a", 16 * GiB, 2 * GiB, 1, { { 0, 2 } } },
		{ "b", 8 * GiB, 1 * GiB, 2, { { 36, 0 }, { 0, 0 } } },
	};
	struct plan_class classes[2] = {
		{ "small", &small, 10, CMA_RESIDENT },
		{ "big", &big, 3, CMA_HUGE },
	};

	two_classes();
	/* a: 16 - 2 - 2 (its 1 GiB pages) = 12 GiB for VMs; b: 8 - 1 - 72 MiB */
	assert_int_equal(plan_host_memory(&hosts[0]), 12 * GiB);
	assert_int_equal(plan_host_memory(&hosts[1]), 7 * GiB - 72 * MiB);
	plan_fleet(hosts, 2, classes, 2, &out);
	/*
	 * big first (4160 MiB each): two on a with its two 1 GiB pages; the
	 * third finds too little memory on a and 36 of the 37 2 MiB pages
	 * it needs for huge on b: unplaced
	 */
	assert_int_equal(out.placed[0][1][CMA_CONTIGUOUS], 2);
	assert_int_equal(out.unplaced[1], 1);
	/* small: 12 GiB - 8320 MiB = 3968 MiB on a: 3 VMs of 1088 MiB, resident */
	assert_int_equal(out.placed[0][0][CMA_RESIDENT], 3);
	/* b: 7096 MiB: 6 VMs; the first takes 18 of node 0's 36 pages, so two at huge */
	assert_int_equal(out.placed[1][0][CMA_HUGE], 2);
	assert_int_equal(out.placed[1][0][CMA_RESIDENT], 4);
	assert_int_equal(out.unplaced[0], 1);
	assert_int_equal(out.pages_left[1][0].pages_2m, 0);
	assert_int_equal(out.memory_left[0], 12 * GiB - 2 * 4160 * MiB - 3 * 1088 * MiB);
	/* Alone: a holds 11 small (12288 / 1088) and 2 big (huge pages), b 6 and 0 */
	assert_int_equal(out.capacity[0][0], 11);
	assert_int_equal(out.capacity[0][1], 2);
	assert_int_equal(out.capacity[1][0], 6);
	assert_int_equal(out.capacity[1][1], 0);
}

/* ---- what running VMs tell ---- */

static void test_observed(void **state)
{
	struct plan_observation obs[2] = {
		{ .total = 64 * MiB, .free = 40 * MiB, .peak_used = 20 * MiB },
		{ .total = 64 * MiB, .free = 30 * MiB, .peak_used = 30 * MiB },
	};
	struct plan_advice a;

	/* peak 34 MiB (64 - 30 beats the 30 recorded); + 8 + 5.1 = 47.1: 48 MiB */
	plan_observed(obs, 2, 8 * MiB, 15, 2 * MiB, &a);
	assert_int_equal(a.peak, 34 * MiB);
	assert_int_equal(a.total, 64 * MiB);
	assert_int_equal(a.size, 48 * MiB);
	assert_int_equal(a.verdict, PLAN_SHRINK);
	/* A failure: at least 64 + 8 + 9.6 = 81.6: 82 MiB */
	obs[0].alloc_fail = 2;
	plan_observed(obs, 2, 8 * MiB, 15, 2 * MiB, &a);
	assert_int_equal(a.fails, 2);
	assert_int_equal(a.size, 82 * MiB);
	assert_int_equal(a.verdict, PLAN_GROW);
	obs[0].alloc_fail = 0;
	obs[1].total = 48 * MiB;
	obs[0].total = 48 * MiB;
	obs[1].free = 14 * MiB;
	plan_observed(obs, 2, 8 * MiB, 15, 2 * MiB, &a);
	assert_int_equal(a.verdict, PLAN_KEEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_display_4k),
		cmocka_unit_test(test_display_16k),
		cmocka_unit_test(test_display_64k),
		cmocka_unit_test(test_old_kernel_granule),
		cmocka_unit_test(test_headroom_percent),
		cmocka_unit_test(test_groups_take_the_worst),
		cmocka_unit_test(test_device_in_no_group),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_coherent_pool_aligns_to_order),
		cmocka_unit_test(test_named_and_default_pools),
		cmocka_unit_test(test_largest_given),
		cmocka_unit_test(test_fixed_pool),
		cmocka_unit_test(test_pools_larger_than_ram),
		cmocka_unit_test(test_overflow_is_an_error),
		cmocka_unit_test(test_span_owner),
		cmocka_unit_test(test_levels_on),
		cmocka_unit_test(test_fit_host_picks_the_node),
		cmocka_unit_test(test_fleet_first_fit_decreasing),
		cmocka_unit_test(test_observed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
