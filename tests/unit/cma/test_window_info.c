// SPDX-License-Identifier: GPL-2.0-only
/*
 * What each window reports of its moves (cma/window_info.c): two windows
 * moved in turn, each with figures of its own that the other's moves,
 * and a pageblock in no window, leave alone; the engine-wide figures are
 * the sum. Paused (the fake pause hook, one pause made long inside it) and
 * live (a writer held on a write-protected pageblock, a real userfaultfd).
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define LONG_NS (30 * 1000000ULL) /* a pause or stall made this long at least */

static struct cma_window_moves moves_of(struct fx *f, int w)
{
	return win(f, w).moves;
}

static void assert_moves_equal(struct cma_window_moves a, struct cma_window_moves b)
{
	assert_memory_equal(&a, &b, sizeof(a));
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- paused: the fake hook pauses, one move is made long inside the pause ---- */

static size_t slow_block = SIZE_MAX;
static uint64_t slow_ns;

static void slow_copy(struct fx *f, int step, size_t block)
{
	if (step == CMA_STEP_COPY && block == slow_block)
		sleep_ns(slow_ns);
}

/*
 * Run @op, a move for window @w (-1: for none): each pause the hook saw
 * is @w's, and window @other's figures did not change.
 */
#define PAUSES_FOR(f, w, other, op)                                                                \
	do {                                                                                       \
		struct cma_window_moves theirs = moves_of(f, other);                               \
		uint64_t mine = (w) >= 0 ? moves_of(f, w).pauses : 0;                              \
		int hooked = (f)->pauses;                                                          \
                                                                                                   \
		op;                                                                                \
		assert_true((f)->pauses > hooked);                                                 \
		if ((w) >= 0)                                                                      \
			assert_int_equal(moves_of(f, w).pauses - mine, (f)->pauses - hooked);      \
		assert_moves_equal(moves_of(f, other), theirs);                                    \
	} while (0)

static void test_pauses_are_the_moving_window_s(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	struct cma_window_moves a, b;
	struct cma_stats st;
	int wa, wb, r;

	need_memlock(2 * PB);
	fill_standard(f);
	f->on_step = slow_copy;

	/* A: one pause, its commit's; the engine has seen no other */
	wa = commit_ok(f, P_CMA, 0, 2 * PB, CMA_HUGE);
	a = moves_of(f, wa);
	st = cma_engine_stats(e);
	assert_int_equal(a.pauses, 1);
	assert_int_equal(a.pause_ns_max, st.pause_ns_max);
	assert_int_equal(a.commit_pause_ns, st.pause_ns_last);
	assert_true(a.commit_ns >= a.commit_pause_ns);
	assert_int_equal(a.stalls + a.stall_ns_max + a.migrations, 0);

	/* B: a pause of its own longer than A's (a loaded host makes A's long too) */
	slow_block = gblock(f, P_GPU, 1);
	slow_ns = a.pause_ns_max + LONG_NS;
	PAUSES_FOR(f, -1, wa, wb = commit_ok(f, P_GPU, 0, 2 * PB, CMA_HUGE));
	b = moves_of(f, wb);
	st = cma_engine_stats(e);
	assert_int_equal(b.pauses, 1);
	assert_true(b.pause_ns_max >= LONG_NS);
	assert_int_equal(b.pause_ns_max, st.pause_ns_max);
	assert_int_equal(b.commit_pause_ns, b.pause_ns_max);
	assert_true(a.pause_ns_max < b.pause_ns_max);
	slow_block = SIZE_MAX;

	/* A's level change (a release and a commit), a migration of A's, one of B's */
	PAUSES_FOR(f, wa, wb,
		   assert_int_equal(cma_window_commit(e, P_CMA, 0, 2 * PB, CMA_RESIDENT), wa));
	assert_int_equal(moves_of(f, wa).commit_pause_ns, cma_engine_stats(e).pause_ns_last);
	assert_true(moves_of(f, wa).commit_ns != a.commit_ns);
	PAUSES_FOR(f, wa, wb, assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 1), NULL), 0));
	PAUSES_FOR(f, wb, wa, assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 0), NULL), 0));
	assert_int_equal(moves_of(f, wa).migrations, 1);
	assert_int_equal(moves_of(f, wb).migrations, 1);

	/* a pageblock in no window: neither's */
	b = moves_of(f, wb);
	PAUSES_FOR(f, -1, wa, assert_int_equal(cma_migrate_block(e, pgpa(f, P_LOW, 0), NULL), 0));
	assert_moves_equal(moves_of(f, wb), b);

	/* B's release rolled back: the guest paused for B all the same */
	inject(f, CMA_STEP_REMAP, gblock(f, P_GPU, 0), 1, -EIO);
	PAUSES_FOR(f, wb, wa, r = cma_window_release(e, win(f, wb).id));
	inject(f, 0, 0, 0, 0);
	assert_error(f, r, strerror(EIO));
	assert_window(f, wb);

	/* B committed again at its level: nothing moves, its figures stay */
	b = moves_of(f, wb);
	assert_int_equal(cma_window_commit(e, P_GPU, 0, 2 * PB, CMA_HUGE), wb);
	assert_moves_equal(moves_of(f, wb), b);

	/* every pause is one window's, or the lone pageblock's */
	a = moves_of(f, wa);
	st = cma_engine_stats(e);
	assert_int_equal(a.pauses, 3); /* commit, level change (its release), migration */
	assert_int_equal(b.pauses, 3); /* commit, migration, the release that rolled back */
	assert_int_equal(a.pauses + b.pauses + 1, st.pauses);
	assert_int_equal(st.pauses, (uint64_t)f->pauses);
	assert_int_equal(st.migrations, 3);
	assert_true(b.pause_ns_max >= LONG_NS);

	f->on_step = NULL;
	release_ok(f, wa);
	release_ok(f, wb);
	check_all(f);
	check_hooks(f);
	assert_clean(f);
}

/* ---- live: a writer held on a write-protected pageblock ---- */

struct held_writer {
	uint8_t *at;
	uint64_t value;
	pthread_t thread;
	bool started;
};

static struct held_writer held;
static size_t held_block = SIZE_MAX;

static void *write_held(void *arg)
{
	struct held_writer *h = arg;

	*(volatile uint64_t *)h->at = h->value;
	return NULL;
}

/*
 * Inside the write-protect of @held_block: a writer of its fifth page
 * waits (the userfaultfd has its fault to read), and keeps waiting
 * LONG_NS more before the copy goes on.
 */
static void hold_writer(struct fx *f, int step, size_t block)
{
	struct pollfd p = { .fd = f->e->uffd, .events = POLLIN };

	if (step != CMA_STEP_COPY || block != held_block)
		return;
	held_block = SIZE_MAX;
	held.at = block_host(f->e, block) + 5 * PAGE + 8;
	held.value++;
	assert_int_equal(pthread_create(&held.thread, NULL, write_held, &held), 0);
	held.started = true;
	assert_int_equal(poll(&p, 1, 10000), 1);
	sleep_ns(LONG_NS);
}

/* Run @op with a writer held on block @b while it moves: it waited, and wrote after. */
static void with_writer_held(struct fx *f, size_t b, int (*op)(struct fx *f, void *arg), void *arg)
{
	held_block = b;
	held.started = false;
	assert_int_equal(op(f, arg), 0);
	assert_true(held.started);
	assert_int_equal(pthread_join(held.thread, NULL), 0);
	memcpy(f->shadow + (held.at - f->host), &held.value, sizeof(held.value));
}

struct range {
	size_t pool;
	uint64_t off, len;
	int slot;
};

static int commit_huge(struct fx *f, void *arg)
{
	struct range *r = arg;

	r->slot = commit_ok(f, r->pool, r->off, r->len, CMA_HUGE);
	return 0;
}

static int migrate(struct fx *f, void *arg)
{
	return cma_migrate_block(f->e, *(uint64_t *)arg, NULL);
}

static void test_stalls_are_the_moving_window_s(void **state)
{
	struct fx *f = *state;
	struct range ra = { P_CMA, 0, 2 * PB, -1 }, rb = { P_GPU, 0, 2 * PB, -1 };
	struct cma_window_moves a, b;
	uint64_t gpa;
	struct cma_stats st;

	if (cma_engine_set_live(f->e, true))
		skip();
	f->live = true;
	fill_standard(f);
	f->on_step = hold_writer;

	/* A: one writer waited, long, in its commit; no pause */
	with_writer_held(f, gblock(f, P_CMA, 1), commit_huge, &ra);
	a = moves_of(f, ra.slot);
	assert_int_equal(a.stalls, 1);
	assert_true(a.stall_ns_max >= LONG_NS);
	assert_int_equal(a.stall_ns_max, cma_engine_stats(f->e).stall_ns_max);
	assert_int_equal(a.pauses + a.pause_ns_max + a.commit_pause_ns, 0);

	/* B: a commit and a migration, a writer in each; A's figures stay */
	with_writer_held(f, gblock(f, P_GPU, 0), commit_huge, &rb);
	gpa = pgpa(f, P_GPU, 1);
	with_writer_held(f, gblock(f, P_GPU, 1), migrate, &gpa);
	assert_moves_equal(moves_of(f, ra.slot), a);
	b = moves_of(f, rb.slot);
	assert_int_equal(b.stalls, 2);
	assert_true(b.stall_ns_max >= LONG_NS);
	assert_int_equal(b.migrations, 1);
	assert_int_equal(b.pauses, 0);

	/* a writer on a pageblock in no window: neither's */
	gpa = pgpa(f, P_LOW, 2);
	with_writer_held(f, gblock(f, P_LOW, 2), migrate, &gpa);
	assert_moves_equal(moves_of(f, ra.slot), a);
	assert_moves_equal(moves_of(f, rb.slot), b);

	st = cma_engine_stats(f->e);
	assert_int_equal(st.stalls, a.stalls + b.stalls + 1);
	assert_int_equal(st.pauses, 0);
	assert_int_equal(f->pauses, 0);

	f->on_step = NULL;
	release_ok(f, ra.slot);
	release_ok(f, rb.slot);
	check_all(f);
	check_hooks(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_pauses_are_the_moving_window_s),
		CMA_TEST(test_stalls_are_the_moving_window_s),
		CMA_TEST_PB(test_pauses_are_the_moving_window_s, 32),
		CMA_TEST_PB(test_stalls_are_the_moving_window_s, 32),
	};

	return run_cma_tests(tests);
}
