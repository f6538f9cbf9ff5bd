// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pageblock record (cma/block.c): the state of each pageblock as the
 * guest, the balloon and free page reporting change it, counts per pool,
 * reading without writing, and discards a window refuses.
 */
#include "tests/unit/cma/harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void test_states(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t counts[CMA_NR_STATES], want_counts[CMA_NR_STATES] = { 0 }, sum = 0;
	static const enum cma_block_state want[8] = {
		CMA_BACKED, CMA_BACKED, CMA_BALLOONED, CMA_REPORTED,
		CMA_WINDOW, CMA_WINDOW, CMA_REPORTED,  CMA_UNBACKED,
	};
	uint8_t page[PAGE];
	uint64_t g;
	int w;

	assert_int_equal(cma_engine_find_pool(e, "gpu"), P_GPU);
	assert_int_equal(cma_engine_find_pool(e, "nope"), -1);
	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < pool_blocks(f, p); i++)
			assert_int_equal(cma_block_state(e, p, i), CMA_UNBACKED);
	cma_pool_counts(e, P_CMA, counts);
	assert_int_equal(counts[CMA_UNBACKED], 8 * PB);

	/* 0: one byte written */
	g = pgpa(f, P_CMA, 0);
	hva(f, g)[12345] = f->shadow[g - RAM_GPA + 12345] = 1;
	assert_int_equal(cma_block_state(e, P_CMA, 0), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), 1);

	/* 1: reported free as a whole: the host memory goes, it reads as zeros */
	g = pgpa(f, P_CMA, 1);
	fill_pages(f, g, 1, 1);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), PAGES);
	assert_int_equal(cma_discard(e, g, PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_REPORTED);
	assert_int_equal(resident(hva(f, g), PB), 0);
	assert_false(fd_has_data(f->memfd, g - RAM_GPA, PB));
	assert_int_equal(pread(f->memfd, page, PAGE, (off_t)(g - RAM_GPA + 7 * PAGE)), PAGE);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(page[i], 0);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_REPORTED);
	check_ram_block(f, (g - RAM_GPA) / PB);
	/* touched again */
	hva(f, g)[PB - 1] = f->shadow[g - RAM_GPA + PB - 1] = 0x77;
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);

	/* 3: reported in two halves: backed until the second half goes */
	g = pgpa(f, P_CMA, 3);
	fill_pages(f, g, 1, 3);
	assert_int_equal(cma_discard(e, g, PB / 2, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), PAGES / 2);
	assert_int_equal(cma_discard(e, g + PB / 2, PB / 2, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_REPORTED);

	/* 2: ballooned page by page, deflated, inflated again */
	g = pgpa(f, P_CMA, 2);
	fill_pages(f, g, 1, 2);
	for (size_t p = 0; p < PAGES; p++) {
		assert_int_equal(cma_discard(e, g + p * PAGE, PAGE, CMA_DISCARD_BALLOON), 0);
		if (p < PAGES - 1)
			assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BACKED);
	}
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BALLOONED);
	assert_int_equal(resident(hva(f, g), PB), 0);
	cma_deflated(e, g + 5 * PAGE, PAGE);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	cma_deflated(e, g, 5 * PAGE);
	cma_deflated(e, g + 6 * PAGE, PB - 6 * PAGE);
	assert_int_equal(blk(f, P_CMA, 2)->ballooned.count, 0);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	fill_pages(f, g, 1, 2);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BACKED);
	for (size_t p = 0; p < PAGES; p++)
		assert_int_equal(cma_discard(e, g + p * PAGE, PAGE, CMA_DISCARD_BALLOON), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BALLOONED);

	/* 4, 5: a committed window */
	w = commit_ok(f, P_CMA, 4 * PB, 2 * PB, CMA_HUGE);

	/* 6: reported; 7 never touched */
	g = pgpa(f, P_CMA, 6);
	fill_pages(f, g, 1, 6);
	assert_int_equal(cma_discard(e, g, PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);

	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(cma_block_state(e, P_CMA, i), want[i]);
		want_counts[want[i]] += PB;
	}
	cma_pool_counts(e, P_CMA, counts);
	for (int s = 0; s < CMA_NR_STATES; s++) {
		assert_int_equal(counts[s], want_counts[s]);
		sum += counts[s];
	}
	assert_int_equal(sum, 8 * PB);
	cma_pool_counts(e, P_GPU, counts);
	assert_int_equal(counts[CMA_UNBACKED], 4 * PB);

	/* Released, the window's pageblocks are backed (their move populated them). */
	release_ok(f, w);
	assert_int_equal(cma_block_state(e, P_CMA, 4), CMA_BACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 5), CMA_BACKED);
	check_all(f);
	assert_clean(f);
}

/* Balloon and free page reporting never take a committed window's memory. */
static void test_refused_discards(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t g1 = pgpa(f, P_CMA, 1), g4 = pgpa(f, P_CMA, 4);
	int w;

	need_memlock(2 * PB);
	fill_standard(f);
	for (int level = CMA_RESIDENT; level <= CMA_HUGE; level++) {
		uint64_t n = cma_engine_stats(e).refused_discards,
			 bytes = cma_engine_stats(e).refused_discard_bytes;

		/* refill what the last round dropped */
		fill_pages(f, g1, 1, 11);
		fill_pages(f, g4, 1, 44);
		w = commit_ok(f, P_CMA, 2 * PB, 2 * PB, (enum cma_level)level);

		/* half of pageblock 1, the window (2, 3), half of pageblock 4 */
		assert_int_equal(cma_discard(e, g1 + PB / 2, 3 * PB, CMA_DISCARD_REPORTED), 2 * PB);
		expect_zero(f, g1 + PB / 2, PB / 2);
		expect_zero(f, g4, PB / 2);
		assert_int_equal(cma_engine_stats(e).refused_discards, n + 1);
		assert_int_equal(cma_engine_stats(e).refused_discard_bytes, bytes + 2 * PB);
		assert_window(f, w);
		check_all(f);

		/* the balloon, page by page inside the window */
		for (size_t p = 0; p < PAGES; p += 64)
			assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 3) + p * PAGE, PAGE,
						     CMA_DISCARD_BALLOON),
					 PAGE);
		assert_int_equal(blk(f, P_CMA, 3)->ballooned.count, 0);
		assert_int_equal(cma_engine_stats(e).refused_discards, n + 1 + PAGES / 64);
		assert_int_equal(cma_engine_stats(e).refused_discard_bytes,
				 bytes + 2 * PB + PAGES / 64 * PAGE);
		assert_window(f, w);
		check_all(f);

		/* outside any window, nothing is refused or counted */
		assert_int_equal(cma_discard(e, OUTSIDE_GPA, PB, CMA_DISCARD_BALLOON), 0);
		expect_zero(f, OUTSIDE_GPA, PB);
		assert_int_equal(cma_engine_stats(e).refused_discards, n + 1 + PAGES / 64);
		check_all(f);

		/* released: discards work again */
		release_ok(f, w);
		assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 2), 2 * PB, CMA_DISCARD_REPORTED),
				 0);
		expect_zero(f, pgpa(f, P_CMA, 2), 2 * PB);
		assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_REPORTED);
		assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_REPORTED);
		check_all(f);
		fill_pages(f, pgpa(f, P_CMA, 2), 1, 22);
		fill_pages(f, pgpa(f, P_CMA, 3), 2, 33);
	}

	/* not (all) guest RAM: the caller's business, nothing discarded */
	assert_int_equal(cma_discard(e, RAM_GPA + RAM_SIZE - PB, 2 * PB, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_discard(e, RAM_GPA - PB, 2 * PB, CMA_DISCARD_REPORTED), 0);
	check_all(f);
	assert_clean(f);
}

/*
 * Reading a pageblock's state, or the whole map, changes nothing: twice the
 * same answer, the same records, and what a later write finds does not
 * depend on whether anyone looked. Blocks 1 and 2 go through the same
 * story (reported whole, touched again, one page ballooned); only block 1
 * is read on the way.
 */
static void read_map(struct fx *f, char *map, uint64_t counts[NR_POOLS][CMA_NR_STATES])
{
	size_t n = 0;

	for (size_t p = 0; p < NR_POOLS; p++) {
		for (size_t i = 0; i < pool_blocks(f, p); i++)
			map[n++] = cma_state_letter(cma_block_state(f->e, p, i));
		cma_pool_counts(f->e, p, counts[p]);
	}
	map[n] = '\0';
}

static void test_read_twice(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t g1 = pgpa(f, P_CMA, 1), g2 = pgpa(f, P_CMA, 2);
	uint64_t counts[2][NR_POOLS][CMA_NR_STATES];
	size_t n = e->nr_blocks;
	struct cma_block *before = malloc(n * sizeof(*before));
	struct cma_stats stats = cma_engine_stats(e), again;
	char map[2][RAM_BLKS + 1];

	assert_non_null(before);
	fill_standard(f);
	for (uint64_t g = g1; g <= g2; g += PB) {
		assert_int_equal(cma_discard(e, g, PB, CMA_DISCARD_REPORTED), 0);
		expect_zero(f, g, PB);
		hva(f, g + 3 * PAGE)[5] = f->shadow[g - RAM_GPA + 3 * PAGE + 5] = 0x5a;
	}
	memcpy(before, e->blocks, n * sizeof(*before));
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	read_map(f, map[0], counts[0]);
	read_map(f, map[1], counts[1]);
	assert_string_equal(map[0], map[1]);
	assert_memory_equal(counts[0], counts[1], sizeof(counts[0]));
	assert_memory_equal(e->blocks, before, n * sizeof(*before));
	again = cma_engine_stats(e);
	assert_memory_equal(&stats, &again, sizeof(stats));

	/*
	 * the touched page goes to the balloon: no data left, every page
	 * reported or ballooned, so the whole report stands again
	 */
	for (uint64_t g = g1; g <= g2; g += PB) {
		assert_int_equal(cma_discard(e, g + 3 * PAGE, PAGE, CMA_DISCARD_BALLOON), 0);
		expect_zero(f, g + 3 * PAGE, PAGE);
	}
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_REPORTED);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_REPORTED);
	assert_int_equal(blk(f, P_CMA, 1)->reported.count, blk(f, P_CMA, 2)->reported.count);
	free(before);
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_states),
		CMA_TEST(test_refused_discards),
		CMA_TEST(test_read_twice),
		CMA_TEST_PB(test_states, 32),
		CMA_TEST_PB(test_refused_discards, 32),
		CMA_TEST_PB(test_read_twice, 32),
	};

	return run_cma_tests(tests);
}
