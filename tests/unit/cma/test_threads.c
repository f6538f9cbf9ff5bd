// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine from several threads: while a commit, release or migration
 * moves memory it holds no lock, so another thread reads the window's
 * progress, the map and the statistics, has its discards of the moving
 * blocks refused (and of other blocks done), and has a second move
 * refused as a conflict. A probe thread does all of that from inside the
 * move's own callbacks (fence and progress, which run without the lock):
 * had the move kept the lock, the probe would never finish, and the
 * timed join says so.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "tests/unit/cma/harness.h"

struct probe {
	struct fx *f;
	int slot;	     /* the window being committed, or -1 */
	uint64_t moving_gpa; /* a block under the move */
	uint64_t other_gpa;  /* a block no move touches */
	/* what the probe saw */
	int runs;
	enum cma_window_state state;
	uint64_t done_bytes, last_done;
	bool done_grew;
	uint64_t refused_moving, refused_other;
	int second_move, second_kind;
	bool stats_read, timed_out;
};

static struct probe probe;
static int (*real_fence)(void *opaque, uint64_t gpa, uint64_t len);

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	struct cma_window_info w;
	struct cma_engine *e = p->f->e;

	if (p->slot >= 0 && !cma_window_info(e, p->slot, &w)) {
		p->state = w.state;
		p->done_grew |= w.done_bytes > p->last_done;
		p->last_done = p->done_bytes = w.done_bytes;
	}
	p->refused_moving += cma_discard(e, p->moving_gpa, PAGE, CMA_DISCARD_REPORTED);
	if (p->other_gpa)
		p->refused_other += cma_discard(e, p->other_gpa, PAGE, CMA_DISCARD_REPORTED);
	p->second_move = cma_window_commit(e, P_GPU, 0, PB, CMA_RESIDENT);
	p->second_kind = cma_engine_error_kind(e);
	p->stats_read = cma_engine_stats(e).commits < 1000;
	(void)cma_block_state(e, P_CMA, 0);
	return NULL;
}

/* Run the probe on its own thread and wait for it, for 5 s at most. */
static void run_probe(void)
{
	struct timespec deadline;
	pthread_t t;

	probe.runs++;
	if (pthread_create(&t, NULL, probe_thread, &probe)) {
		probe.timed_out = true;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	if (pthread_timedjoin_np(t, NULL, &deadline)) {
		probe.timed_out = true; /* the move kept the lock: the probe is stuck */
		pthread_detach(t);
	}
}

static int probing_fence(void *opaque, uint64_t gpa, uint64_t len)
{
	run_probe();
	return real_fence(opaque, gpa, len);
}

static void probing_progress(void *opaque, uint64_t done, uint64_t total)
{
	(void)opaque;
	(void)done;
	(void)total;
	run_probe();
}

static void start_probing(struct fx *f, int slot, uint64_t moving_gpa, uint64_t other_gpa)
{
	probe = (struct probe){
		.f = f, .slot = slot, .moving_gpa = moving_gpa, .other_gpa = other_gpa
	};
	if (f->e->hooks.fence != probing_fence)
		real_fence = f->e->hooks.fence;
	f->e->hooks.fence = probing_fence;
	f->e->hooks.progress = probing_progress;
}

static void expect_probe_answered(bool expect_moving_refused)
{
	assert_false(probe.timed_out);
	assert_true(probe.runs > 0);
	assert_int_equal(probe.second_move, -1);
	assert_int_equal(probe.second_kind, CMA_ERR_CONFLICT);
	assert_true(probe.stats_read);
	if (expect_moving_refused)
		assert_int_equal(probe.refused_moving, probe.runs * PAGE);
	assert_int_equal(probe.refused_other, 0);
}

/* The window a commit creates next: the lowest free slot. */
static int next_slot(struct fx *f)
{
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (!window_used(f, i))
			return i;
	return -1;
}

static void commit_while_probing(struct fx *f)
{
	int slot = next_slot(f), w;

	start_probing(f, slot, pgpa(f, P_CMA, 3), pgpa(f, P_LOW, 1));
	w = commit_ok(f, P_CMA, 0, 0, CMA_HUGE);
	assert_int_equal(w, slot);
	expect_probe_answered(true);
	assert_int_equal(probe.state, CMA_WINDOW_COMMITTING);
	assert_int_equal(win(f, w).state, CMA_WINDOW_COMMITTED);
	check_all(f);

	start_probing(f, w, pgpa(f, P_CMA, 3), pgpa(f, P_LOW, 1));
	release_ok(f, w);
	expect_probe_answered(true);
	check_all(f);
}

/* One pause for the whole commit: the probe runs at its fence and at its end. */
static void test_paused_commit_holds_no_lock(void **state)
{
	struct fx *f = *state;

	fill_standard(f);
	cma_engine_set_live(f->e, false);
	commit_while_probing(f);
	assert_int_equal(probe.state, CMA_WINDOW_RELEASING);
	assert_clean(f);
}

/* Live: the probe runs at each run's fence and progress, and sees the progress grow. */
static void test_live_commit_holds_no_lock(void **state)
{
	struct fx *f = *state;

	if (cma_engine_set_live(f->e, true))
		skip();
	f->live = true;
	fill_standard(f);
	commit_while_probing(f);
	assert_true(probe.runs >= 2); /* at the fence and after the run */
	assert_true(probe.done_grew);
	assert_clean(f);
}

/* A migration: its block refuses discards while it moves, others take them. */
static void test_migration_holds_no_lock(void **state)
{
	struct fx *f = *state;
	uint64_t pause_ns;

	fill_standard(f);
	start_probing(f, -1, pgpa(f, P_CMA, 5), pgpa(f, P_LOW, 1));
	assert_int_equal(cma_migrate_block(f->e, pgpa(f, P_CMA, 5) + 12345, &pause_ns), 0);
	expect_probe_answered(true);
	check_all(f);
	assert_clean(f);
}

/* A failed commit uses up no window id: the next one gets the id it would have. */
static void test_failed_commit_uses_no_id(void **state)
{
	struct fx *f = *state;
	int w;
	unsigned int id;

	fill_standard(f);
	w = commit_ok(f, P_GPU, 0, PB, CMA_HUGE);
	id = win(f, w).id;
	release_ok(f, w);
	inject(f, CMA_STEP_COPY, gblock(f, P_CMA, 0), -1, -EIO);
	assert_int_equal(cma_window_commit(f->e, P_CMA, 0, PB, CMA_HUGE), -1);
	inject(f, 0, 0, 0, 0);
	w = commit_ok(f, P_CMA, 0, PB, CMA_HUGE);
	assert_int_equal(win(f, w).id, id + 1);
	release_ok(f, w);
	assert_clean(f);
}

/*
 * Two threads populate and copy a move's pieces (parallel.c): the contents
 * come out as with one, live and paused, and the helper is one thread
 * that lives as long as the engine.
 */
static void test_helper_thread_shares_the_work(void **state)
{
	struct fx *f = *state;

	fill_standard(f);
	for (unsigned int threads = 1; threads <= 2; threads++) {
		cma_engine_set_threads(f->e, threads);
		for (int live = 0; live <= 1; live++) {
			if (cma_engine_set_live(f->e, live) && live)
				continue;
			f->live = live;
			release_ok(f, commit_ok(f, P_CMA, 0, 0, CMA_HUGE));
			release_ok(f, commit_ok(f, P_GPU, 0, 0, CMA_RESIDENT));
			check_all(f);
			assert_int_equal(f->e->helper != NULL, threads == 2);
		}
	}
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_paused_commit_holds_no_lock),
		CMA_TEST(test_live_commit_holds_no_lock),
		CMA_TEST(test_migration_holds_no_lock),
		CMA_TEST(test_failed_commit_uses_no_id),
		CMA_TEST(test_helper_thread_shares_the_work),
		CMA_TEST_PB(test_live_commit_holds_no_lock, 32),
		CMA_TEST_PB(test_migration_holds_no_lock, 32),
		CMA_TEST_PB(test_helper_thread_shares_the_work, 32),
	};

	return run_cma_tests(tests);
}
