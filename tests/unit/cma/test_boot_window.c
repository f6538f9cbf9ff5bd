// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boot windows (cma_engine_set_guest_running(), cma/engine.h): while the
 * guest has not run, a commit at any level needs no pause and counts as a
 * boot commit; what the loader wrote into guest RAM before boot is intact
 * on the new backing, and memory nobody touched stays as it was. Once the
 * guest runs, commits and releases pause it as before; a boot window is
 * an ordinary window from then on.
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <string.h>

/* The state of every pageblock of every pool, in pool order. */
static size_t pool_states(struct fx *f, enum cma_block_state *out)
{
	size_t n = 0;

	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < pool_blocks(f, p); i++)
			out[n++] = cma_block_state(f->e, p, i);
	return n;
}

/* Pageblocks outside [first, first + n) of pool @pool are as @before says. */
static void assert_others_unchanged(struct fx *f, const enum cma_block_state *before, size_t pool,
				    size_t first, size_t n)
{
	enum cma_block_state now[RAM_BLKS];
	size_t k = 0;

	pool_states(f, now);
	for (size_t p = 0; p < NR_POOLS; p++) {
		for (size_t i = 0; i < pool_blocks(f, p); i++, k++) {
			if (p == pool && i >= first && i < first + n)
				continue;
			if (now[k] != before[k])
				fail_msg("pool %s block %zu was %s and is %s", layout[p].name, i,
					 cma_state_name(before[k]), cma_state_name(now[k]));
		}
	}
}

/*
 * Nothing paused the guest: the pause hook was never called, and the
 * engine counts no pause. The harness counts a copy or remap outside a
 * pause as a violation; with the guest stopped every one is, which is the
 * point: those are all the violations there may be. They are cleared, so
 * that the hooks' later checks see the running guest only.
 */
static void assert_moved_unpaused(struct fx *f)
{
	struct cma_stats st = cma_engine_stats(f->e);

	assert_int_equal(f->pause_calls, 0);
	assert_int_equal(f->pauses, 0);
	assert_int_equal(f->resumes, 0);
	assert_false(f->paused);
	assert_int_equal(st.pauses, 0);
	assert_int_equal(st.pause_ns_max, 0);
	assert_int_equal(f->violations, f->steps[CMA_STEP_COPY] + f->steps[CMA_STEP_REMAP]);
	f->violations = 0;
}

/* A huge window at boot: no pause, a boot commit, every byte where it was. */
static void test_huge_at_boot(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	enum cma_block_state before[RAM_BLKS];
	size_t n = pool_blocks(f, P_CMA);
	struct cma_stats st;
	int w, w2, pauses;

	fill_standard(f); /* the kernel, initrd and DTB, loaded before boot */
	pool_states(f, before);
	cma_engine_set_guest_running(e, false);
	w = commit_ok(f, P_CMA, 0, 0, CMA_HUGE);
	assert_int_equal(win(f, w).length, n * PB);
	assert_int_equal(win(f, w).moves.pauses, 0);
	assert_int_equal(win(f, w).moves.pause_ns_max, 0);
	assert_int_equal(win(f, w).moves.commit_pause_ns, 0);
	assert_true(f->steps[CMA_STEP_COPY] > 0);
	assert_moved_unpaused(f);
	st = cma_engine_stats(e);
	assert_int_equal(st.boot_commits, 1);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.migrations, 0);
	assert_int_equal(st.rollbacks, 0);
	/* before check_all(), whose reads fault pages into the memfd's holes */
	assert_others_unchanged(f, before, P_CMA, 0, n);
	check_all(f);
	/* guest RAM's memfd gave the window's pages back */
	assert_false(fd_has_data(f->memfd, pgpa(f, P_CMA, 0) - RAM_GPA, n * PB));

	/* the guest runs: the next commit pauses it, as before */
	cma_engine_set_guest_running(e, true);
	w2 = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	assert_true(f->pauses > 0);
	assert_int_equal(win(f, w2).moves.pauses, 1);
	assert_true(win(f, w2).moves.pause_ns_max > 0);
	assert_int_equal(win(f, w).moves.pauses, 0); /* the boot window's are its own */
	st = cma_engine_stats(e);
	assert_int_equal(st.boot_commits, 1);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.pauses, (uint64_t)f->pauses);
	check_hooks(f);
	check_all(f);

	/* the boot window is an ordinary window: released like any, with a pause */
	pauses = f->pauses;
	release_ok(f, w);
	assert_true(f->pauses > pauses);
	release_ok(f, w2);
	assert_int_equal(cma_engine_stats(e).boot_commits, 1);
	check_all(f);
	assert_clean(f);
}

/* A resident window at boot: populated and locked, no pause, a boot commit. */
static void test_resident_at_boot(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	enum cma_block_state before[RAM_BLKS];
	int w;

	need_memlock(4 * PB);
	fill_standard(f);
	pool_states(f, before);
	cma_engine_set_guest_running(e, false);
	w = commit_ok(f, P_CMA, 2 * PB, 4 * PB, CMA_RESIDENT);
	assert_moved_unpaused(f);
	assert_int_equal(cma_engine_stats(e).boot_commits, 1);
	assert_others_unchanged(f, before, P_CMA, 2, 4);
	check_all(f);
	cma_engine_set_guest_running(e, true);
	release_ok(f, w);
	check_all(f);
	assert_clean(f);
}

/*
 * A contiguous window at boot: the whole 1 GiB span (RAM outside the pool
 * too) on one page, no pause; released again before the guest starts, still
 * without a pause.
 */
static void test_contiguous_at_boot(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	int w;

	fill_standard(f);
	cma_engine_set_guest_running(e, false);
	w = commit_ok(f, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_int_equal(gigantic_window(f), w);
	assert_false(fd_has_data(f->memfd, 0, RAM_SIZE));
	assert_int_equal(cma_engine_stats(e).boot_commits, 1);
	check_all(f);
	release_ok(f, w);
	assert_moved_unpaused(f);
	assert_int_equal(cma_engine_stats(e).releases, 1);
	check_all(f);
	assert_clean(f);
}

/*
 * A boot window that fails midway rolls back, contents intact, every
 * pageblock in its old state, and counts nothing.
 */
static void test_failed_boot_window_rolls_back(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	enum cma_block_state before[RAM_BLKS];
	struct cma_stats st;
	int r;

	fill_standard(f);
	pool_states(f, before);
	cma_engine_set_guest_running(e, false);
	inject(f, CMA_STEP_COPY, gblock(f, P_CMA, 3), -1, -EIO);
	r = cma_window_commit(e, P_CMA, 0, 0, CMA_HUGE);
	assert_error(f, r, strerror(EIO));
	assert_non_null(strstr(cma_engine_error(e), gpa_str(pgpa(f, P_CMA, 3))));
	inject(f, 0, 0, 0, 0);
	assert_moved_unpaused(f);
	st = cma_engine_stats(e);
	assert_int_equal(st.boot_commits, 0);
	assert_int_equal(st.commits, 0);
	assert_int_equal(st.rollbacks, 1);
	for (size_t i = 0; i < pool_blocks(f, P_CMA); i++)
		assert_plain(f, P_CMA, i);
	/* every pageblock as it was, the window's own too: holes stayed holes */
	assert_others_unchanged(f, before, P_CMA, 0, 0);
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_huge_at_boot),	       CMA_TEST(test_resident_at_boot),
		CMA_TEST_GIG(test_contiguous_at_boot), CMA_TEST(test_failed_boot_window_rolls_back),
		CMA_TEST_PB(test_huge_at_boot, 32),    CMA_TEST_GIG_PB(test_contiguous_at_boot, 32),
	};

	return run_cma_tests(tests);
}
