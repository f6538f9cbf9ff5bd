// SPDX-License-Identifier: GPL-2.0-only
/* The layout planner (fdt/layout.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fdt/guest_rules.h"
#include "fdt/layout.h"
#include "cma/size.h"

#define RAM_BASE	  0x80000000ULL
#define KERNEL_IMAGE_SIZE 0x2010000ULL /* Debian 6.1's image_size */
#define SZ_16K		  (4 * SZ_4K)

static struct pool_spec pools[POOL_MAX];
static size_t nr_pools;
static char err[512];

static void add_pool(const char *name, uint64_t size, uint64_t base, enum pool_kind kind,
		     bool is_default)
{
	struct pool_spec *p = &pools[nr_pools++];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->flag, sizeof(p->flag), "--pool %s", name);
	p->size = size;
	p->fixed_base = base;
	p->kind = kind;
	p->is_default = is_default;
}

static struct layout_request request(uint64_t ram_size)
{
	return (struct layout_request){
		.ram_base = RAM_BASE,
		.ram_size = ram_size,
		.text_offset = 0,
		.image_size = KERNEL_IMAGE_SIZE,
		.initrd_size = 1849344,
		.pool_align = SZ_4M,
		.pools = pools,
		.nr_pools = nr_pools,
	};
}

static int setup(void **state)
{
	nr_pools = 0;
	err[0] = '\0';
	return 0;
}

/* Everything the guest kernel and the host need of a successful plan. */
static void assert_valid(const struct layout_request *req, const struct layout *l)
{
	const struct region *fixed[] = { &l->kernel, &l->initrd, &l->dtb };
	const struct region *all[POOL_MAX + 3];
	size_t n = 0;

	for (size_t i = 0; i < 3; i++)
		if (fixed[i]->size)
			all[n++] = fixed[i];
	for (size_t i = 0; i < l->nr_pools; i++) {
		const struct region *r = &l->pools[i].r;

		assert_int_equal(r->size, req->pools[i].size);
		assert_true(is_aligned(r->base, req->pool_align));
		assert_true(is_aligned(r->base | r->size, guest_pageblock(&req->guest)));
		if (req->pools[i].fixed_base)
			assert_int_equal(r->base, req->pools[i].fixed_base);
		assert_true(r->base < l->dma_zone_end ? region_end(r) <= l->dma_zone_end : 1);
		assert_non_null(l->pools[i].why);
		assert_true(strlen(l->pools[i].why) > 10);
		all[n++] = r;
	}
	for (size_t i = 0; i < n; i++) {
		assert_true(all[i]->base >= l->ram.base);
		assert_true(region_end(all[i]) <= region_end(&l->ram));
		for (size_t j = i + 1; j < n; j++)
			assert_false(regions_overlap(all[i], all[j]));
	}
	assert_true(is_aligned(l->dtb.base, SZ_2M));
	assert_int_equal(l->kernel.base, req->ram_base + req->text_offset);
	assert_true(l->kernel.size >= req->image_size);
}

static void plan_ok(const struct layout_request *req, struct layout *l)
{
	int ret = layout_plan(req, l, err, sizeof(err));

	if (ret)
		fail_msg("layout_plan failed: %s", err);
	assert_valid(req, l);
}

static void plan_fails(const struct layout_request *req, const char *needle)
{
	struct layout l;

	assert_int_equal(layout_plan(req, &l, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_default_pool_at_top(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("linux,cma", 64 * SZ_1M, 0, POOL_CMA, true);
	req = request(512 * SZ_1M);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[0].r.base, 0xa0000000ULL - 64 * SZ_1M);
	assert_int_equal(l.kernel.base, RAM_BASE);
	assert_int_equal(l.initrd.base, RAM_BASE + align_up(KERNEL_IMAGE_SIZE, SZ_2M));
	assert_int_equal(l.dtb.base, align_up(region_end(&l.initrd), SZ_2M));
	assert_int_equal(l.dma_zone_end, 0xa0000000ULL);
	assert_non_null(strstr(l.pools[0].why, "highest free 4 MiB-aligned"));
}

static void test_largest_first_top_down(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("small", 8 * SZ_1M, 0, POOL_COHERENT, false);
	add_pool("linux,cma", 64 * SZ_1M, 0, POOL_CMA, true);
	add_pool("mid", 16 * SZ_1M, 0, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[1].r.base, 0xa0000000ULL - 64 * SZ_1M);
	assert_int_equal(l.pools[2].r.base, l.pools[1].r.base - 16 * SZ_1M);
	assert_int_equal(l.pools[0].r.base, l.pools[2].r.base - 8 * SZ_1M);
	/* Results come back in the order asked for. */
	assert_ptr_equal(l.pools[0].spec, &pools[0]);
}

static void test_fixed_pool_is_kept_and_avoided(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("pinned", 32 * SZ_1M, 0x9c000000ULL, POOL_CMA, false);
	add_pool("linux,cma", 64 * SZ_1M, 0, POOL_CMA, true);
	req = request(512 * SZ_1M);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[0].r.base, 0x9c000000ULL);
	assert_non_null(strstr(l.pools[0].why, "asked for"));
	/* The default pool does not fit above the pinned one, so it goes below. */
	assert_int_equal(l.pools[1].r.base, 0x9c000000ULL - 64 * SZ_1M);
}

static void test_pools_stay_below_4g_when_they_can(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("linux,cma", 256 * SZ_1M, 0, POOL_CMA, true);
	req = request(4 * SZ_1G); /* RAM 2 GiB .. 6 GiB */
	plan_ok(&req, &l);
	assert_int_equal(l.dma_zone_end, SZ_4G);
	assert_int_equal(l.pools[0].r.base, SZ_4G - 256 * SZ_1M);
	assert_non_null(strstr(l.pools[0].why, "below 4 GiB"));
}

static void test_pool_goes_above_4g_when_below_is_full(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("big", 1536 * SZ_1M, 0, POOL_CMA, false);
	add_pool("linux,cma", 512 * SZ_1M, 0, POOL_CMA, true);
	req = request(4 * SZ_1G);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[0].r.base, SZ_4G - 1536 * SZ_1M);
	assert_true(l.pools[1].r.base >= SZ_4G);
	assert_non_null(strstr(l.pools[1].why, "above 4 GiB"));
}

static void test_rejects_unaligned_size(void **state)
{
	struct layout_request req;

	add_pool("odd", 3 * SZ_1M, 0, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "size 3 MiB is not a multiple of 2 MiB, the pageblock of a 4 KiB-page "
			 "guest; use 2 MiB or 4 MiB");
	assert_non_null(strstr(err, "--pool odd"));
}

static void test_rejects_tiny_size(void **state)
{
	struct layout_request req;

	add_pool("tiny", 64 * 1024, 0, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "size 64 KiB is smaller than 2 MiB, the pageblock of a 4 KiB-page guest; "
			 "use 2 MiB");
}

static void test_rejects_unaligned_address(void **state)
{
	struct layout_request req;

	add_pool("pinned", 8 * SZ_1M, 0x90200000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "not aligned to 4 MiB; use 0x90000000 or 0x90400000");
}

static void test_rejects_outside_ram(void **state)
{
	struct layout_request req;

	add_pool("pinned", 8 * SZ_1M, 0x40000000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "outside guest RAM");

	setup(NULL);
	add_pool("pinned", 8 * SZ_1M, 0x9fc00000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "outside guest RAM");
}

static void test_rejects_overlap(void **state)
{
	struct layout_request req;

	add_pool("a", 16 * SZ_1M, 0x90000000ULL, POOL_CMA, false);
	add_pool("b", 16 * SZ_1M, 0x90800000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "--pool b: [0x90800000, 0x91800000) overlaps --pool a");
}

static void test_rejects_overlap_with_kernel(void **state)
{
	struct layout_request req;

	add_pool("low", 16 * SZ_1M, RAM_BASE, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "overlaps the kernel Image");
}

static void test_rejects_crossing_4g(void **state)
{
	struct layout_request req;

	add_pool("straddle", 16 * SZ_1M, SZ_4G - 8 * SZ_1M, POOL_CMA, false);
	req = request(4 * SZ_1G);
	plan_fails(&req, "crosses the guest's zone boundary");
}

static void test_rejects_too_large(void **state)
{
	struct layout_request req;

	add_pool("linux,cma", 512 * SZ_1M, 0, POOL_CMA, true);
	req = request(512 * SZ_1M);
	plan_fails(&req, "raise --memory");
	assert_non_null(strstr(err, "lower --cma or --dma-pool"));
}

static void test_rejects_fragmented_fit(void **state)
{
	struct layout_request req;

	/* Pinned pools chop RAM into 32 MiB gaps: enough in total, not in one piece. */
	static const uint64_t pins[] = { 0x84000000, 0x8a000000, 0x90000000, 0x96000000,
					 0x9c000000 };

	for (size_t i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "p%zu", i);
		add_pool(name, 64 * SZ_1M, pins[i], POOL_CMA, false);
	}
	add_pool("big", 48 * SZ_1M, 0, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "--pool big: 48 MiB does not fit; the largest free 4 MiB-aligned range "
			 "left in one zone is 32 MiB");
}

static void test_rejects_duplicates(void **state)
{
	struct layout_request req;

	add_pool("gpu", 16 * SZ_1M, 0, POOL_CMA, false);
	add_pool("gpu", 16 * SZ_1M, 0, POOL_CMA, false);
	req = request(512 * SZ_1M);
	plan_fails(&req, "a pool named 'gpu' already exists");

	setup(NULL);
	add_pool("linux,cma", 16 * SZ_1M, 0, POOL_CMA, true);
	add_pool("other", 16 * SZ_1M, 0, POOL_CMA, true);
	req = request(512 * SZ_1M);
	plan_fails(&req, "one default CMA area");
}

static void test_rejects_bad_alignment_setting(void **state)
{
	struct layout_request req = request(512 * SZ_1M);

	req.pool_align = SZ_1M;
	plan_fails(&req, "power of two of at least 2 MiB");
	req.pool_align = 6 * SZ_1M;
	plan_fails(&req, "power of two");
}

static void test_rejects_kernel_too_big(void **state)
{
	struct layout_request req = request(128 * SZ_1M);

	req.image_size = 200 * SZ_1M;
	plan_fails(&req, "the kernel Image needs 200 MiB");
}

static void test_rejects_sizes_that_would_overflow(void **state)
{
	struct layout_request req;

	add_pool("linux,cma", 0xFFFFFFFF80200000ULL, 0, POOL_CMA, true);
	add_pool("b", 2 * SZ_1G, 0, POOL_CMA, false);
	req = request(4 * SZ_1G);
	plan_fails(&req, "larger than guest RAM");

	setup(NULL);
	add_pool("near-top", 4 * SZ_1M, 0xFFFFFFFFFFC00000ULL, POOL_CMA, false);
	req = request(4 * SZ_1G);
	plan_fails(&req, "outside guest RAM");
}

static void test_no_pools(void **state)
{
	struct layout l;
	struct layout_request req = request(256 * SZ_1M);

	plan_ok(&req, &l);
	assert_int_equal(l.nr_pools, 0);
}

static void test_2m_alignment_setting(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("a", 2 * SZ_1M, 0x90200000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	req.pool_align = SZ_2M;
	plan_ok(&req, &l);
	assert_int_equal(l.pools[0].r.base, 0x90200000ULL);
}

/* ---- the guest's pageblock ---- */

static struct layout_request request_16k(uint64_t ram_size)
{
	struct layout_request req = request(ram_size);

	req.guest = (struct guest_kernel){ GUEST_LINUX_6_12, SZ_16K };
	return req;
}

static void test_16k_guest_pools_are_32m_aligned(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("linux,cma", 64 * SZ_1M, 0, POOL_CMA, true);
	add_pool("gpu", 32 * SZ_1M, 0, POOL_CMA, false);
	add_pool("dma", 32 * SZ_1M, 0, POOL_COHERENT, false);
	req = request_16k(1024 * SZ_1M);
	plan_ok(&req, &l);
	for (size_t i = 0; i < l.nr_pools; i++) {
		assert_true(is_aligned(l.pools[i].r.base, 32 * SZ_1M));
		assert_non_null(strstr(l.pools[i].why, "highest free 32 MiB-aligned range"));
		assert_non_null(
			strstr(l.pools[i].why, "32 MiB, the pageblock of a 16 KiB-page guest"));
	}
	assert_int_equal(l.pools[0].r.base, RAM_BASE + SZ_1G - 64 * SZ_1M);
}

static void test_16k_guest_avoids_what_a_4k_guest_allows(void **state)
{
	struct layout l;
	struct layout_request req;

	/* a 4 MiB gap under a pinned pool suits 4 KiB pages, not 16 KiB */
	add_pool("pinned", 32 * SZ_1M, 0x9e000000ULL, POOL_CMA, false);
	add_pool("small", 4 * SZ_1M, 0, POOL_COHERENT, false);
	req = request(512 * SZ_1M);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[1].r.base, 0x9e000000ULL - 4 * SZ_1M);
	assert_null(strstr(l.pools[1].why, "pageblock"));

	setup(NULL);
	add_pool("pinned", 32 * SZ_1M, 0x9e000000ULL, POOL_CMA, false);
	add_pool("small", 32 * SZ_1M, 0, POOL_COHERENT, false);
	req = request_16k(512 * SZ_1M);
	plan_ok(&req, &l);
	assert_int_equal(l.pools[1].r.base, 0x9e000000ULL - 32 * SZ_1M);
}

static void test_16k_guest_rejects_pool_sizes(void **state)
{
	struct layout_request req;

	add_pool("odd", 48 * SZ_1M, 0, POOL_CMA, false);
	req = request_16k(512 * SZ_1M);
	plan_fails(&req, "--pool odd: size 48 MiB is not a multiple of 32 MiB, the pageblock of "
			 "a 16 KiB-page guest; use 32 MiB or 64 MiB");

	setup(NULL);
	add_pool("tiny", 4 * SZ_1M, 0, POOL_CMA, false);
	req = request_16k(512 * SZ_1M);
	plan_fails(&req, "--pool tiny: size 4 MiB is smaller than 32 MiB, the pageblock of a "
			 "16 KiB-page guest; use 32 MiB");
}

static void test_16k_guest_rejects_pinned_address(void **state)
{
	struct layout_request req;

	add_pool("pinned", 32 * SZ_1M, 0x90400000ULL, POOL_CMA, false);
	req = request_16k(512 * SZ_1M);
	plan_fails(&req, "--pool pinned: address 0x90400000 is not aligned to 32 MiB, the "
			 "pageblock of a 16 KiB-page guest; use 0x90000000 or 0x92000000");
}

static void test_pool_align_above_the_pageblock_wins(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("a", 32 * SZ_1M, 0, POOL_CMA, false);
	req = request_16k(1024 * SZ_1M);
	req.pool_align = 128 * SZ_1M;
	plan_ok(&req, &l);
	assert_true(is_aligned(l.pools[0].r.base, 128 * SZ_1M));
	assert_non_null(strstr(l.pools[0].why, "highest free 128 MiB-aligned"));
	assert_null(strstr(l.pools[0].why, "pageblock"));
}

static void test_64k_guest_wants_512m(void **state)
{
	struct layout l;
	struct layout_request req;

	add_pool("linux,cma", 512 * SZ_1M, 0, POOL_CMA, true);
	req = request(2 * SZ_1G);
	req.guest = (struct guest_kernel){ GUEST_LINUX_6_1, SZ_64K };
	plan_ok(&req, &l);
	assert_int_equal(l.pools[0].r.base, RAM_BASE + 2 * SZ_1G - 512 * SZ_1M);
	assert_non_null(strstr(l.pools[0].why, "512 MiB, the pageblock of a 64 KiB-page guest"));
}

static void test_zero_guest_is_4k_and_bad_page_size_refused(void **state)
{
	struct layout_request req;

	add_pool("a", 2 * SZ_1M, 0x90200000ULL, POOL_CMA, false);
	req = request(512 * SZ_1M);
	req.pool_align = SZ_2M;
	req.guest = (struct guest_kernel){ 0 }; /* a caller that does not know yet */
	plan_ok(&req, &(struct layout){ 0 });

	req.guest = (struct guest_kernel){ GUEST_LINUX_6_12, 8192 };
	plan_fails(&req, "guest page size 8 KiB is not one arm64 has; use 4K, 16K or 64K");
}

/* xorshift: the same pseudo-random requests on every run */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_requests_obey_every_rule(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned int planned = 0, refused = 0, planned_16k = 0;

	for (int iter = 0; iter < 3000; iter++) {
		struct layout_request req;
		struct layout l;
		uint64_t ram = (128 + (rnd(&seed) % 64) * 64) * SZ_1M;
		bool big = rnd(&seed) % 4 == 0; /* a 16 KiB-page guest */
		uint64_t block = big ? 32 * SZ_1M : SZ_2M, pin = big ? block : SZ_4M;

		setup(NULL);
		for (size_t n = rnd(&seed) % 6, i = 0; i < n; i++) {
			char name[8];
			/* mostly whole pageblocks, now and then not */
			uint64_t size = (1 + rnd(&seed) % 64) * SZ_2M;
			uint64_t base =
				rnd(&seed) % 4 ? 0 : RAM_BASE + align_down(rnd(&seed) % ram, pin);

			if (rnd(&seed) % 8)
				size = align_up(size, block);
			snprintf(name, sizeof(name), "p%zu", i);
			add_pool(name, size, base, rnd(&seed) % 3 ? POOL_CMA : POOL_COHERENT,
				 i == 0);
		}
		req = big ? request_16k(ram) : request(ram);
		if (layout_plan(&req, &l, err, sizeof(err))) {
			refused++;
			assert_true(strlen(err) > 20);
			continue;
		}
		planned++;
		planned_16k += big;
		assert_valid(&req, &l);
	}
	assert_true(planned > 1000);
	assert_true(planned_16k > 200);
	assert_true(refused > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_default_pool_at_top, setup),
		cmocka_unit_test_setup(test_largest_first_top_down, setup),
		cmocka_unit_test_setup(test_fixed_pool_is_kept_and_avoided, setup),
		cmocka_unit_test_setup(test_pools_stay_below_4g_when_they_can, setup),
		cmocka_unit_test_setup(test_pool_goes_above_4g_when_below_is_full, setup),
		cmocka_unit_test_setup(test_rejects_unaligned_size, setup),
		cmocka_unit_test_setup(test_rejects_tiny_size, setup),
		cmocka_unit_test_setup(test_rejects_unaligned_address, setup),
		cmocka_unit_test_setup(test_rejects_outside_ram, setup),
		cmocka_unit_test_setup(test_rejects_overlap, setup),
		cmocka_unit_test_setup(test_rejects_overlap_with_kernel, setup),
		cmocka_unit_test_setup(test_rejects_crossing_4g, setup),
		cmocka_unit_test_setup(test_rejects_too_large, setup),
		cmocka_unit_test_setup(test_rejects_fragmented_fit, setup),
		cmocka_unit_test_setup(test_rejects_duplicates, setup),
		cmocka_unit_test_setup(test_rejects_bad_alignment_setting, setup),
		cmocka_unit_test_setup(test_rejects_kernel_too_big, setup),
		cmocka_unit_test_setup(test_rejects_sizes_that_would_overflow, setup),
		cmocka_unit_test_setup(test_no_pools, setup),
		cmocka_unit_test_setup(test_2m_alignment_setting, setup),
		cmocka_unit_test_setup(test_16k_guest_pools_are_32m_aligned, setup),
		cmocka_unit_test_setup(test_16k_guest_avoids_what_a_4k_guest_allows, setup),
		cmocka_unit_test_setup(test_16k_guest_rejects_pool_sizes, setup),
		cmocka_unit_test_setup(test_16k_guest_rejects_pinned_address, setup),
		cmocka_unit_test_setup(test_pool_align_above_the_pageblock_wins, setup),
		cmocka_unit_test_setup(test_64k_guest_wants_512m, setup),
		cmocka_unit_test_setup(test_zero_guest_is_4k_and_bad_page_size_refused, setup),
		cmocka_unit_test_setup(test_random_requests_obey_every_rule, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
