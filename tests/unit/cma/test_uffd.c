// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live moves (cma/uffd.c, cma/move.c) with a real userfaultfd: writer
 * threads keep writing guest memory, holes included, while windows are
 * committed, migrated and released under them; every page must read as
 * the last thing written. A thread writing outside the moving range never
 * waits. And the fallback: one pause per commit or release, not one per
 * pageblock.
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITERS	  3
#define LIVE_POOL P_CMA
/* of the pool's pageblocks, the ones moved: 16 MiB, or 192 MiB of 32 MiB ones */
#define LIVE_BLKS  (PB > CMA_PAGEBLOCK_4K ? 6 : 8)
#define OUTSIDE_AT (28 * PB) /* guest RAM in no pool */

struct writer {
	struct fx *f;
	unsigned int id;
	atomic_bool *stop;
	atomic_ulong writes;
};

/*
 * Writer @id owns every WRITERS-th page of the moved blocks, touched or
 * never touched before, and writes a fresh value into one of them after
 * another: first into guest memory (where it may wait), then into the
 * shadow, so that when all have stopped the two must agree.
 */
static void *write_pages(void *arg)
{
	struct writer *w = arg;
	uint64_t base = pgpa(w->f, LIVE_POOL, 0), x = w->id + 1;
	size_t pages = LIVE_BLKS * PAGES;

	for (size_t n = 0; !atomic_load(w->stop); n++) {
		size_t page = w->id + WRITERS * (n % (pages / WRITERS)); /* its own pages only */
		uint64_t off = base - RAM_GPA + page * PAGE + (splitmix(&x) % (PAGE / 8)) * 8;
		uint64_t v = splitmix(&x);

		*(volatile uint64_t *)(w->f->host + off) = v;
		memcpy(w->f->shadow + off, &v, sizeof(v));
		atomic_fetch_add(&w->writes, 1);
	}
	return NULL;
}

/* Writes outside every pool, counted: it must never be held up for long. */
static void *write_outside(void *arg)
{
	struct writer *w = arg;
	uint64_t x = 99;

	while (!atomic_load(w->stop)) {
		uint64_t off = OUTSIDE_AT + (splitmix(&x) % (2 * PB / 8)) * 8, v = splitmix(&x);

		*(volatile uint64_t *)(w->f->host + off) = v;
		memcpy(w->f->shadow + off, &v, sizeof(v));
		atomic_fetch_add(&w->writes, 1);
	}
	return NULL;
}

static bool go_live(struct fx *f)
{
	if (cma_engine_set_live(f->e, true)) {
		print_message("live moves unavailable here: %s\n", cma_engine_live_why(f->e));
		return false;
	}
	f->live = true;
	return true;
}

/* Commit, migrate and release under the writers; the steps a test runs. */
static void moves_under_writers(struct fx *f)
{
	struct cma_engine *e = f->e;
	int w;

	w = commit_ok(f, LIVE_POOL, 0, LIVE_BLKS * PB, CMA_HUGE);
	for (size_t i = 0; i < LIVE_BLKS; i++) /* huge onto new huge pages */
		assert_int_equal(cma_migrate_block(e, pgpa(f, LIVE_POOL, i), NULL), 0);
	release_ok(f, w);
	for (size_t i = 0; i < LIVE_BLKS; i++) /* ordinary pages onto new ones */
		assert_int_equal(cma_migrate_block(e, pgpa(f, LIVE_POOL, i), NULL), 0);
	w = commit_ok(f, LIVE_POOL, 2 * PB, 4 * PB, CMA_HUGE); /* from migrated blocks */
	release_ok(f, w);
}

static void test_live_moves_lose_no_write(void **state)
{
	struct fx *f = *state;
	struct writer w[WRITERS + 1];
	pthread_t t[WRITERS + 1];
	atomic_bool stop = false;
	struct cma_stats st;
	uint64_t in_hist = 0;
	/* five rounds of 2 MiB pageblocks; one of bigger ones, which move 16 times as long */
	int rounds = PB > CMA_PAGEBLOCK_4K ? 1 : 5;

	if (!go_live(f))
		skip();
	fill_standard(f);
	for (unsigned int i = 0; i <= WRITERS; i++) {
		w[i] = (struct writer){ .f = f, .id = i, .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL,
						i < WRITERS ? write_pages : write_outside, &w[i]),
				 0);
	}
	while (atomic_load(&w[0].writes) < 1000)
		sched_yield();
	for (int round = 0; round < rounds; round++)
		moves_under_writers(f);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i <= WRITERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	check_all(f); /* every page of guest RAM, against the shadow */
	check_hooks(f);
	st = cma_engine_stats(f->e);
	assert_int_equal(f->pauses, 0); /* nobody paused the guest */
	assert_int_equal(st.pauses, 0);
	assert_int_equal(st.migrations, rounds * 2 * LIVE_BLKS);
	for (int i = 0; i < CMA_HIST_BUCKETS; i++)
		in_hist += st.stall_hist[i];
	assert_int_equal(in_hist, st.stalls);
	assert_true(st.stall_ns_max >= st.stall_ns_last);
	print_message("%llu writes, %llu outside; %llu stalls, longest %llu us\n",
		      (unsigned long long)(w[0].writes + w[1].writes + w[2].writes),
		      (unsigned long long)w[WRITERS].writes, (unsigned long long)st.stalls,
		      (unsigned long long)st.stall_ns_max / 1000);
	assert_true(w[WRITERS].writes > 0);
	assert_clean(f);
}

/*
 * A write into a page the guest never touched, while its pageblock is
 * write-protected: it waits, and lands in the new backing.
 */
struct hole_write {
	uint8_t *at;
	atomic_bool done;
};

static void *write_hole(void *arg)
{
	struct hole_write *h = arg;

	*(volatile uint64_t *)h->at = 0x5a5a5a5a5a5a5a5aULL;
	atomic_store(&h->done, true);
	return NULL;
}

static void test_hole_write_during_move(void **state)
{
	struct fx *f = *state;
	uint64_t gpa = pgpa(f, P_GPU, 3) + 5 * PAGE;
	struct hole_write h = { .at = hva(f, gpa) };
	pthread_t t;

	if (!go_live(f))
		skip();
	assert_int_equal(resident(hva(f, pgpa(f, P_GPU, 3)), PB), 0); /* never touched */
	assert_int_equal(uffd_protect(f->e, hva(f, pgpa(f, P_GPU, 3)), PB), 0);
	assert_int_equal(pthread_create(&t, NULL, write_hole, &h), 0);
	usleep(20000);
	assert_false(atomic_load(&h.done)); /* held while protected */
	uffd_unprotect(f->e, hva(f, pgpa(f, P_GPU, 3)), PB);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(h.done);
	memset(f->shadow + (gpa - RAM_GPA), 0x5a, 8);
	assert_int_equal(cma_engine_stats(f->e).stalls, 1);
	assert_true(cma_engine_stats(f->e).stall_ns_max >= 20000000ULL);
	check_all(f);
}

/* Without write-protect, a commit and a release pause the guest once each. */
static void test_one_pause_per_commit(void **state)
{
	struct fx *f = *state;
	int before, w;

	fill_standard(f);
	before = f->pauses;
	w = commit_ok(f, P_CMA, 0, 0, CMA_HUGE); /* all 8 pageblocks */
	assert_int_equal(f->pauses, before + 1);
	release_ok(f, w);
	assert_int_equal(f->pauses, before + 2);
	/* a level change is a release and a commit */
	w = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	assert_int_equal(f->pauses, before + 3);
	assert_int_equal(commit_ok(f, P_GPU, 0, 0, CMA_RESIDENT), w);
	assert_int_equal(f->pauses, before + 4);
	release_ok(f, w); /* resident pages stay where they are: no pause */
	assert_int_equal(f->pauses, before + 4);
	check_all(f);
	assert_clean(f);
}

/* The live path rolls back at each of its steps, as the pause path does. */
static void test_live_rollback_each_step(void **state)
{
	struct fx *f = *state;

	if (!go_live(f))
		skip();
	fill_standard(f);
	rollback_each_step(f);
	assert_int_equal(f->pauses, 0);
}

/*
 * Device I/O into the range in flight: the move is refused as a conflict,
 * nothing moved. Then a commit and a release go through, fencing
 * @fences times (once per run of pageblocks moved together).
 */
static void fence_refuses(struct fx *f, int fences)
{
	int r, before;

	f->fence_err = -EBUSY;
	r = cma_window_commit(f->e, P_CMA, 2 * PB, 2 * PB, CMA_HUGE);
	assert_error(f, r, "device I/O into");
	assert_int_equal(cma_engine_error_kind(f->e), CMA_ERR_CONFLICT);
	assert_int_equal(f->fenced, 0);
	assert_on_ram(f, P_CMA, 2);
	assert_on_ram(f, P_CMA, 3);
	f->fence_err = 0;
	before = f->fences;
	release_ok(f, commit_ok(f, P_CMA, 2 * PB, 2 * PB, CMA_HUGE));
	assert_int_equal(f->fences - before, fences);
	assert_int_equal(f->fenced, 0); /* every fence let go */
	check_all(f);
	assert_clean(f);
}

static void test_fenced_io(void **state)
{
	struct fx *f = *state;

	fill_standard(f);
	fence_refuses(f, 2); /* one pause per move, one fence over all its blocks */
	if (!go_live(f))
		skip();
	/* live: the two pageblocks are one run of 16 MiB, or two where each is more */
	fence_refuses(f, 2 * PB < 16 * MiB ? 2 : 4);
}

/*
 * The runs of a commit and its release (each run is fenced once): as long
 * as the live run allows, or all in one in a pause.
 */
static int runs_of_commit_and_release(struct fx *f, size_t pool)
{
	int before = f->fences;

	release_ok(f, commit_ok(f, pool, 0, 0, CMA_HUGE));
	return f->fences - before;
}

static void test_runs(void **state)
{
	struct fx *f = *state;

	fill_standard(f);
	assert_int_equal(pool_blocks(f, P_CMA), 8);
	assert_int_equal(runs_of_commit_and_release(f, P_CMA), 2); /* paused: one each */
	if (!go_live(f))
		skip();
	/* 16 MiB, the default: all 8 pageblocks of 2 MiB, or one of 32 MiB, a run */
	assert_int_equal(runs_of_commit_and_release(f, P_CMA),
			 2 * 8 * PB / (PB < 16 * MiB ? 16 * MiB : PB));
	cma_engine_set_live_run(f->e, 4 * PB);
	assert_int_equal(runs_of_commit_and_release(f, P_CMA), 4);
	cma_engine_set_live_run(f->e, PB);
	assert_int_equal(runs_of_commit_and_release(f, P_CMA), 16);
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_live_moves_lose_no_write),
		CMA_TEST(test_hole_write_during_move),
		CMA_TEST(test_one_pause_per_commit),
		CMA_TEST(test_live_rollback_each_step),
		CMA_TEST(test_fenced_io),
		CMA_TEST(test_runs),
		CMA_TEST_PB(test_live_moves_lose_no_write, 32),
		CMA_TEST_PB(test_hole_write_during_move, 32),
		CMA_TEST_PB(test_fenced_io, 32),
	};

	return run_cma_tests(tests);
}
