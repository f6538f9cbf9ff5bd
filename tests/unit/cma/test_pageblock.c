// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's pageblock chosen at run time (cma_engine_set_pageblock()):
 * the sizes it takes and when; pools in whole pageblocks of it; the
 * balloon's and free page reporting's 4 KiB pages counted once each, so
 * that a 32 MiB pageblock is ballooned or reported only when all 8192 are;
 * and a 64 KiB-page guest's 512 MiB pageblock end to end (huge window on
 * 256 pages of 2 MiB, migration, half of a 1 GiB page, live runs), on
 * guest RAM of its own (harness.c lays out 32 pageblocks, 16 GiB of them).
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma/size.h"

/* The engine's error says @what, and is of @kind. */
static void assert_failed(struct cma_engine *e, int ret, enum cma_error kind, const char *what)
{
	assert_int_equal(ret, -1);
	if (!strstr(cma_engine_error(e), what))
		fail_msg("error \"%s\" does not say \"%s\"", cma_engine_error(e), what);
	assert_int_equal(cma_engine_error_kind(e), kind);
}

/* The sizes a pageblock may have, and only before the first pool. */
static void test_set_pageblock(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = cma_engine_create(f->host, RAM_GPA, RAM_SIZE, f->memfd, NULL, NULL);
	static const uint64_t bad[] = { 0, PAGE, MiB, 3 * MiB, 48 * MiB, GiB, 1ULL << 63 };
	struct pool_spec spec = { .name = "p", .size = 32 * MiB, .kind = POOL_CMA };

	assert_non_null(e);
	assert_int_equal(cma_engine_pageblock_size(e), 2 * MiB); /* the default */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_failed(e, cma_engine_set_pageblock(e, bad[i]), CMA_ERR_INVALID,
			      "power of two from 2 MiB (4 KiB pages) to 512 MiB (64 KiB pages)");
		assert_int_equal(cma_engine_pageblock_size(e), 2 * MiB);
	}
	for (uint64_t size = 2 * MiB; size <= 512 * MiB; size *= 2) {
		assert_int_equal(cma_engine_set_pageblock(e, size), 0);
		assert_int_equal(cma_engine_pageblock_size(e), size);
	}
	assert_int_equal(cma_engine_set_pageblock(e, 32 * MiB), 0);
	assert_int_equal(cma_engine_add_pool(e, &spec, RAM_GPA, 32 * MiB), 0);
	assert_int_equal(cma_engine_nr_pools(e), 1);

	/* a pool is there: its blocks are of the size they have */
	assert_failed(e, cma_engine_set_pageblock(e, 2 * MiB), CMA_ERR_CONFLICT,
		      "before the first pool is added; the pools are in 32 MiB pageblocks");
	assert_int_equal(cma_engine_pageblock_size(e), 32 * MiB);
	assert_failed(e, cma_engine_set_pageblock(e, 5 * MiB), CMA_ERR_INVALID, "power of two");
	cma_engine_destroy(e);

	/* the harness's engine has its pools */
	assert_failed(f->e, cma_engine_set_pageblock(f->e, 32 * MiB), CMA_ERR_CONFLICT,
		      "the pools are in 2 MiB pageblocks");
	assert_int_equal(cma_engine_pageblock_size(f->e), 2 * MiB);
}

/* With 32 MiB pageblocks, a pool 2 MiB aligned but not 32 MiB is refused, saying why. */
static void test_pool_alignment(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = cma_engine_create(f->host, RAM_GPA, RAM_SIZE, f->memfd, NULL, NULL);
	struct pool_spec spec = { .name = "gpu", .size = 64 * MiB, .kind = POOL_CMA };
	struct cma_pool_info info;
	static const struct {
		uint64_t off, size;
	} bad[] = {
		{ 2 * MiB, 64 * MiB }, { 16 * MiB, 32 * MiB }, { 0, 48 * MiB }, { 0, 2 * MiB }
	};

	assert_non_null(e);
	assert_int_equal(cma_engine_set_pageblock(e, 32 * MiB), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_failed(e, cma_engine_add_pool(e, &spec, RAM_GPA + bad[i].off, bad[i].size),
			      CMA_ERR_INVALID,
			      "is not a whole number of the guest's 32 MiB pageblocks: its base "
			      "and size must be multiples of 32 MiB");
		assert_non_null(strstr(cma_engine_error(e), "pool 'gpu' (0x"));
	}
	assert_int_equal(cma_engine_nr_pools(e), 0);
	assert_int_equal(cma_engine_add_pool(e, &spec, RAM_GPA + 64 * MiB, 64 * MiB), 0);
	assert_int_equal(cma_pool_info(e, 0, &info), 0);
	assert_int_equal(info.nr_blocks, 2);
	cma_engine_destroy(e);
}

/* ---- 16 KiB guest pages on 32 MiB pageblocks (the harness's layout) ---- */

#define GUEST_PAGE (4 * PAGE) /* what the balloon hands in, merged from 4 KiB frames */

static enum cma_block_state cma_state(struct fx *f, size_t i)
{
	return cma_block_state(f->e, P_CMA, i);
}

/*
 * The balloon inflates a pageblock one 16 KiB guest page at a time, some
 * twice: ballooned only once the last of its 8192 4 KiB pages is in, and
 * a page given back twice, or in part, leaves it once.
 */
static void test_balloon_counts_each_page_once(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t g = pgpa(f, P_CMA, 1);

	assert_int_equal(PB, 32 * MiB);
	fill_pages(f, g, 1, 0xba11);
	for (uint64_t at = 0; at < PB - GUEST_PAGE; at += GUEST_PAGE) {
		assert_int_equal(cma_discard(e, g + at, GUEST_PAGE, CMA_DISCARD_BALLOON), 0);
		if (at < 64 * GUEST_PAGE) /* the guest hands some in twice */
			assert_int_equal(cma_discard(e, g, GUEST_PAGE, CMA_DISCARD_BALLOON), 0);
	}
	expect_zero(f, g, PB - GUEST_PAGE);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, PAGES - 4);
	assert_int_equal(cma_state(f, 1), CMA_BACKED); /* its last guest page holds data */
	assert_int_equal(cma_discard(e, g + PB - GUEST_PAGE, GUEST_PAGE, CMA_DISCARD_BALLOON), 0);
	expect_zero(f, g + PB - GUEST_PAGE, GUEST_PAGE);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, PAGES);
	assert_int_equal(cma_state(f, 1), CMA_BALLOONED);
	assert_int_equal(resident(hva(f, g), PB), 0);

	/* out again: twice the same page, and a page given back in part */
	cma_deflated(e, g + 7 * GUEST_PAGE, GUEST_PAGE);
	assert_int_equal(cma_state(f, 1), CMA_UNBACKED);
	cma_deflated(e, g + 7 * GUEST_PAGE, GUEST_PAGE);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, PAGES - 4);
	cma_deflated(e, g + 5 * PAGE + 100, 8);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, PAGES - 5);
	/* and in again: whole again */
	assert_int_equal(cma_discard(e, g + 4 * PAGE, 7 * GUEST_PAGE, CMA_DISCARD_BALLOON), 0);
	assert_int_equal(cma_state(f, 1), CMA_BALLOONED);
	/* a range of the balloon over two pageblocks counts in each */
	fill_pages(f, pgpa(f, P_CMA, 2), 64, 0xba12);
	assert_int_equal(cma_discard(e, g + PB - GUEST_PAGE, 2 * GUEST_PAGE, CMA_DISCARD_BALLOON),
			 0);
	expect_zero(f, pgpa(f, P_CMA, 2), GUEST_PAGE);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, PAGES);
	assert_int_equal(blk(f, P_CMA, 2)->ballooned.count, 4);
	cma_deflated(e, g, PB + GUEST_PAGE);
	assert_int_equal(blk(f, P_CMA, 1)->ballooned.count, 0);
	assert_int_equal(blk(f, P_CMA, 2)->ballooned.count, 0);
	assert_int_equal(cma_state(f, 1), CMA_UNBACKED);
	check_ram_block(f, (g - RAM_GPA) / PB);
	check_ram_block(f, (g - RAM_GPA) / PB + 1);
	assert_clean(f);
}

/*
 * Free page reporting in 2 MiB pieces (a 64 KiB-page guest's order 5; a
 * 16 KiB one reports whole pageblocks): the same piece reported again and
 * again is still one piece. A page touched since its report drops out of
 * it, not the whole report.
 */
static void test_reports_count_each_page_once(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t g = pgpa(f, P_CMA, 3), piece = 2 * MiB;

	fill_pages(f, g, 3, 0x4e9);
	for (int i = 0; i < 40; i++) /* more than the 16 pieces of the pageblock */
		assert_int_equal(cma_discard(e, g, piece, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, piece);
	assert_int_equal(blk(f, P_CMA, 3)->reported.count, piece / PAGE);
	assert_int_equal(cma_state(f, 3), CMA_BACKED);
	for (uint64_t at = piece; at < PB - piece; at += piece)
		assert_int_equal(cma_discard(e, g + at, piece, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB - piece);
	assert_int_equal(cma_state(f, 3), CMA_BACKED); /* the last piece holds data */
	assert_int_equal(cma_discard(e, g + PB - piece, piece, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_state(f, 3), CMA_REPORTED);
	assert_int_equal(blk(f, P_CMA, 3)->reported.count, PAGES);

	/*
	 * the guest uses one page again: backed, whatever the report says (a
	 * discard does not sweep the block: that would cost a 512 MiB one
	 * seconds per report)
	 */
	hva(f, g + 9 * PAGE)[1] = f->shadow[g - RAM_GPA + 9 * PAGE + 1] = 0x99;
	assert_int_equal(cma_state(f, 3), CMA_BACKED);
	assert_int_equal(cma_discard(e, g + piece, piece, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(blk(f, P_CMA, 3)->reported.count, PAGES);
	assert_int_equal(cma_state(f, 3), CMA_BACKED);
	/* freed and reported again: the whole pageblock is reported once more */
	assert_int_equal(cma_discard(e, g, piece, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, piece);
	assert_int_equal(cma_state(f, 3), CMA_REPORTED);
	check_ram_block(f, (g - RAM_GPA) / PB);
	assert_clean(f);
}

/* ---- a 64 KiB-page guest's 512 MiB pageblocks, on guest RAM of their own ---- */

#define BIG_PB	 (512 * MiB)
#define BIG_RAM	 (2 * BIG_PB)
#define BIG_MARK (1 * MiB) /* a page of data every MiB */

struct big {
	int memfd;
	uint8_t *resv, *host;
	size_t resv_size;
	struct cma_engine *e;
	int allocs;
	uint64_t alloc_size, alloc_page;
	int fences;
	bool gone[BIG_RAM / BIG_MARK]; /* its data page was discarded */
};

static int big_alloc(void *opaque, uint64_t size, uint64_t page_size)
{
	struct big *b = opaque;

	b->allocs++;
	b->alloc_size = size;
	b->alloc_page = page_size;
	return memfd_sized("cmatest-backing", MFD_CLOEXEC, size);
}

static int big_fence(void *opaque, uint64_t gpa, uint64_t len)
{
	((struct big *)opaque)->fences++;
	return 0;
}

/*
 * Guest RAM of @ram bytes at RAM_GPA, its host address @lead bytes below a
 * 1 GiB boundary (0: on it), with address space past it to the next one;
 * an engine over it with pageblocks of @pageblock.
 */
static void big_setup(struct big *b, uint64_t pageblock, uint64_t ram, uint64_t lead)
{
	uintptr_t gig;

	*b = (struct big){ .memfd = memfd_sized("cmatest-ram", MFD_CLOEXEC, ram) };
	assert_true(b->memfd >= 0);
	b->resv_size = ram + 3 * GiB;
	b->resv = mmap(NULL, b->resv_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	assert_true(b->resv != MAP_FAILED);
	gig = ((uintptr_t)b->resv + 2 * GiB - 1) & ~(uintptr_t)(GiB - 1);
	b->host = mmap((void *)(gig - lead), ram, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       b->memfd, 0);
	assert_true(b->host == (uint8_t *)(gig - lead));
	b->e = cma_engine_create(
		b->host, RAM_GPA, ram, b->memfd, b->host + align_up(ram, GiB),
		&(struct cma_hooks){ .opaque = b, .alloc_backing = big_alloc, .fence = big_fence });
	assert_non_null(b->e);
	assert_int_equal(cma_engine_set_pageblock(b->e, pageblock), 0);
}

static void big_teardown(struct big *b)
{
	cma_engine_destroy(b->e);
	munmap(b->resv, b->resv_size);
	close(b->memfd);
}

static void big_pool(struct big *b, const char *name, uint64_t off, uint64_t size)
{
	struct pool_spec spec = { .size = size, .kind = POOL_CMA };

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	if (cma_engine_add_pool(b->e, &spec, RAM_GPA + off, size))
		fail_msg("pool %s: %s", name, cma_engine_error(b->e));
}

/* The data page of MiB @k: its place, and the word at @w of what it holds. */
static uint8_t *mark_at(struct big *b, size_t k)
{
	return b->host + k * BIG_MARK + (k % 7) * PAGE;
}

static uint64_t mark_word(size_t k, size_t w)
{
	uint64_t x = k * 4096 + w;

	return splitmix(&x);
}

static void big_fill(struct big *b)
{
	for (size_t k = 0; k < BIG_RAM / BIG_MARK; k++) {
		uint64_t *p = (uint64_t *)mark_at(b, k);

		for (size_t w = 0; w < PAGE / 8; w++)
			p[w] = mark_word(k, w);
		b->gone[k] = false;
	}
}

/* Every data page holds what was written, or zeros if it was given away. */
static void big_check(struct big *b)
{
	for (size_t k = 0; k < BIG_RAM / BIG_MARK; k++) {
		const uint64_t *p = (const uint64_t *)mark_at(b, k);

		for (size_t w = 0; w < PAGE / 8; w++)
			if (p[w] != (b->gone[k] ? 0 : mark_word(k, w)))
				fail_msg("guest RAM at +0x%zx reads 0x%" PRIx64,
					 k * BIG_MARK + w * 8, p[w]);
	}
}

static void big_commit(struct big *b, size_t pool, enum cma_level level)
{
	if (cma_window_commit(b->e, pool, 0, 0, level) < 0)
		fail_msg("commit %s: %s", cma_level_name(level), cma_engine_error(b->e));
}

static void big_release(struct big *b)
{
	struct cma_window_info w;

	assert_int_equal(cma_window_info(b->e, 0, &w), 0);
	if (cma_window_release(b->e, w.id))
		fail_msg("release: %s", cma_engine_error(b->e));
}

/* Ballooned in 64 KiB guest pages, one short of the whole pageblock 0, then whole. */
static void big_balloon(struct big *b)
{
	struct cma_engine *e = b->e;
	uint64_t guest_page = 16 * PAGE;

	for (uint64_t at = 0; at < BIG_PB - guest_page; at += guest_page)
		assert_int_equal(cma_discard(e, RAM_GPA + at, guest_page, CMA_DISCARD_BALLOON), 0);
	assert_int_equal(cma_discard(e, RAM_GPA, guest_page, CMA_DISCARD_BALLOON), 0);
	assert_int_equal(e->blocks[0].ballooned.count, BIG_PB / PAGE - 16);
	assert_int_not_equal(cma_block_state(e, 0, 0), CMA_BALLOONED);
	assert_int_equal(
		cma_discard(e, RAM_GPA + BIG_PB - guest_page, guest_page, CMA_DISCARD_BALLOON), 0);
	assert_int_equal(e->blocks[0].ballooned.count, BIG_PB / PAGE); /* 131072 */
	assert_int_equal(cma_block_state(e, 0, 0), CMA_BALLOONED);
	for (size_t k = 0; k < BIG_PB / BIG_MARK; k++)
		b->gone[k] = true;
	cma_deflated(e, RAM_GPA, BIG_PB);
	assert_int_equal(e->blocks[0].ballooned.count, 0);
	assert_int_equal(cma_block_state(e, 0, 0), CMA_UNBACKED);
}

/*
 * A huge window of one 512 MiB pageblock: 256 pages of 2 MiB in one file,
 * the balloon refused there; migrated onto a file of its own.
 */
static void big_huge(struct big *b)
{
	struct cma_engine *e = b->e;
	struct cma_window_info w;
	uint64_t gpa = RAM_GPA + BIG_PB;

	big_commit(b, 1, CMA_HUGE);
	assert_int_equal(b->alloc_size, BIG_PB);
	assert_int_equal(b->alloc_page, 2 * MiB);
	assert_int_equal(e->blocks[1].backing, CMA_BACKING_HUGE);
	assert_maps(b->host + BIG_PB, fd_ino(e->blocks[1].fd), 0);
	assert_maps(b->host + BIG_RAM - PAGE, fd_ino(e->blocks[1].fd), BIG_PB - PAGE);
	assert_int_equal(cma_window_info(e, 0, &w), 0);
	assert_int_equal(w.length, BIG_PB);
	assert_int_equal(cma_discard(e, gpa + 16 * PAGE, 16 * PAGE, CMA_DISCARD_BALLOON),
			 16 * PAGE);
	assert_int_equal(cma_discard(e, gpa - 16 * PAGE, 32 * PAGE, CMA_DISCARD_REPORTED),
			 16 * PAGE);
	assert_int_equal(e->blocks[1].ballooned.count, 0);
	big_check(b);

	assert_int_equal(cma_migrate_block(e, gpa + 12345, NULL), 0);
	assert_true(e->blocks[1].own_fd);
	assert_int_equal(b->alloc_size, BIG_PB);
	assert_int_equal(b->alloc_page, 2 * MiB);
	assert_maps(b->host + BIG_RAM - PAGE, fd_ino(e->blocks[1].fd), BIG_PB - PAGE);
	big_check(b);
	big_release(b);
	assert_int_equal(e->blocks[1].backing, CMA_BACKING_MEMFD);
	big_check(b);
}

/* A contiguous window of a 512 MiB pageblock: half of the 1 GiB page, RAM's other half too. */
static void big_contiguous(struct big *b)
{
	struct cma_engine *e = b->e;

	big_commit(b, 1, CMA_CONTIGUOUS);
	assert_int_equal(b->alloc_size, GiB);
	assert_int_equal(b->alloc_page, GiB);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(e->blocks[i].backing, CMA_BACKING_GIGANTIC);
		assert_int_equal(e->blocks[i].fd_off, i * BIG_PB);
		assert_maps(b->host + i * BIG_PB + PAGE, fd_ino(e->blocks[i].fd),
			    i * BIG_PB + PAGE);
	}
	assert_int_equal(cma_block_state(e, 0, 0), CMA_BACKED); /* on the page, in no window */
	assert_int_equal(cma_block_state(e, 1, 0), CMA_WINDOW);
	assert_int_equal(cma_discard(e, RAM_GPA, BIG_RAM, CMA_DISCARD_BALLOON), BIG_RAM);
	big_check(b);
	big_release(b);
	assert_int_equal(e->blocks[0].backing, CMA_BACKING_MEMFD);
	big_check(b);
}

/*
 * Live, a run is one 512 MiB pageblock whatever is asked: one fence for
 * each. False where live moves are unavailable.
 */
static bool big_live_runs(struct big *b)
{
	struct cma_engine *e = b->e;

	if (cma_engine_set_live(e, true)) {
		print_message("live moves unavailable here: %s\n", cma_engine_live_why(e));
		return false;
	}
	cma_engine_set_live_run(e, 16 * MiB);
	b->fences = 0;
	big_commit(b, 0, CMA_HUGE);
	big_release(b);
	assert_int_equal(b->fences, 4); /* two pageblocks, in and out */
	big_check(b);
	cma_engine_set_live(e, false);
	return true;
}

static void test_512m_pageblocks(void **state)
{
	struct big b;
	bool live;

	big_setup(&b, BIG_PB, BIG_RAM, 0);
	big_pool(&b, "low", 0, BIG_PB);
	big_pool(&b, "gpu", BIG_PB, BIG_PB);
	assert_failed(b.e, cma_window_commit(b.e, 1, 0, 32 * MiB, CMA_HUGE), CMA_ERR_INVALID,
		      "multiples of the 512 MiB pageblock");
	big_fill(&b);
	assert_int_equal(cma_block_state(b.e, 1, 0), CMA_BACKED);
	big_balloon(&b);
	big_check(&b);
	big_huge(&b);
	big_contiguous(&b);
	big_teardown(&b);

	/* the same RAM as one pool of two pageblocks, moved live */
	big_setup(&b, BIG_PB, BIG_RAM, 0);
	big_pool(&b, "all", 0, BIG_RAM);
	big_fill(&b);
	live = big_live_runs(&b);
	big_teardown(&b);
	if (!live)
		skip(); /* the last step: the others have run */
}

/*
 * Guest RAM whose host mapping is 2 MiB aligned but not aligned to the 32
 * MiB pageblock: a 1 GiB span would take half a pageblock. Refused.
 */
static void test_span_cutting_a_pageblock(void **state)
{
	struct big b;
	int r;

	big_setup(&b, 32 * MiB, GiB + 64 * MiB, 62 * MiB);
	big_pool(&b, "gpu", 32 * MiB, 128 * MiB); /* its first pageblock crosses the boundary */
	r = cma_window_commit(b.e, 0, 32 * MiB, 32 * MiB, CMA_CONTIGUOUS);
	assert_failed(b.e, r, CMA_ERR_HOST,
		      "the 1 GiB span around the window would cut pageblock 0x82000000 in two "
		      "(guest RAM is not aligned on the host to the 32 MiB pageblock)");
	assert_int_equal(b.allocs, 0);
	assert_int_equal(b.e->blocks[0].backing, CMA_BACKING_MEMFD);
	assert_int_equal(b.e->blocks[1].backing, CMA_BACKING_MEMFD);
	big_teardown(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_set_pageblock),
		CMA_TEST_PB(test_pool_alignment, 32),
		CMA_TEST_PB(test_balloon_counts_each_page_once, 32),
		CMA_TEST_PB(test_reports_count_each_page_once, 32),
		cmocka_unit_test(test_512m_pageblocks),
		cmocka_unit_test(test_span_cutting_a_pageblock),
	};

	return run_cma_tests(tests);
}
