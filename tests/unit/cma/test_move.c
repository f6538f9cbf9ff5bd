// SPDX-License-Identifier: GPL-2.0-only
/*
 * Moving guest memory (cma/move.c): every kind of move keeps the contents,
 * a migration keeps exactly the pages that were there, and a move failing
 * at any step of any pageblock puts everything back.
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
/* Contents stay through every kind of move; never-touched memory reads as zeros. */
static void test_every_move(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t pause_ns = 0, kb;
	int w1, w2, fd, r, before;
	ino_t ino;

	need_memlock(4 * PB);
	fill_standard(f);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 5), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_GPU, 1), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	check_all(f);

	/* resident: populated and locked */
	w1 = commit_ok(f, P_CMA, 2 * PB, 3 * PB, CMA_RESIDENT);
	assert_int_equal(win(f, w1).level, CMA_RESIDENT);
	if (mlock_works())
		assert_true(vmlck_kb() >= f->base_vmlck + 3 * PB / 1024);
	check_all(f);

	/* huge: onto the alloc_backing file; guest RAM's memfd gives its pages back */
	before = f->allocs;
	w2 = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	assert_int_equal(f->allocs, before + 1);
	assert_int_equal(f->alloc_size, 4 * PB);
	assert_int_equal(f->alloc_page, CMA_HUGE_PAGE); /* a pageblock of any size on 2 MiB pages */
	assert_int_equal(win(f, w2).length, 4 * PB);
	assert_false(fd_has_data(f->memfd, layout[P_GPU].off, layout[P_GPU].size));
	check_all(f);

	/*
	 * resident -> huge -> resident, and huge -> resident -> huge (in an
	 * order that never locks more than 4 pageblocks, 8 MiB: a common RLIMIT_MEMLOCK)
	 */
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_HUGE), w1);
	assert_window(f, w1);
	assert_false(fd_has_data(f->memfd, layout[P_CMA].off + 2 * PB, 3 * PB));
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_GPU, 0, 4 * PB, CMA_RESIDENT), w2);
	assert_window(f, w2);
	assert_int_equal(win(f, w2).level, CMA_RESIDENT);
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_GPU, 0, 0, CMA_HUGE), w2);
	assert_window(f, w2);
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_RESIDENT), w1);
	assert_window(f, w1);
	check_all(f);
	/* the same level again: nothing moves */
	before = f->pauses;
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_RESIDENT), w1);
	assert_int_equal(f->pauses, before);

	/* migrate a memfd pageblock outside windows, and one in the resident window */
	before = f->pauses;
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 7) + 12345, &pause_ns), 0);
	assert_int_equal(f->pauses, before + 1);
	assert_int_equal(pause_ns, cma_engine_stats(e).pause_ns_last);
	assert_plain(f, P_CMA, 7);
	check_all(f);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 3), NULL), 0);
	assert_window(f, w1);
	check_all(f);

	/* migrate a huge pageblock: onto a file of its own; its old page is freed */
	assert_true(fd_has_data(window_fd(f, w2), 1 * PB, PB));
	ino = fd_ino(blk(f, P_GPU, 1)->fd);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 1), &pause_ns), 0);
	assert_true(blk(f, P_GPU, 1)->own_fd);
	assert_int_not_equal(fd_ino(blk(f, P_GPU, 1)->fd), ino);
	assert_int_equal(f->alloc_size, PB);
	assert_false(fd_has_data(window_fd(f, w2), 1 * PB, PB));
	assert_window(f, w2);
	check_all(f);
	/* again: the file it had is closed */
	fd = blk(f, P_GPU, 1)->fd;
	before = fd_count();
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 1), NULL), 0);
	assert_int_equal(fd_count(), before);
	assert_int_equal(fcntl(fd, F_GETFD) == -1 || blk(f, P_GPU, 1)->fd == fd, true);
	assert_window(f, w2);
	check_all(f);
	assert_int_equal(cma_engine_stats(e).migrations, 4);

	/* contiguous: no 1 GiB alignment, no 1 GiB page; refused with the reason */
	before = f->pauses;
	r = cma_window_commit(e, P_CMA, 6 * PB, 2 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB");
	assert_non_null(strstr(cma_engine_error(e), "not 1 GiB aligned"));
	assert_int_equal(windows_used(f), 2);
	assert_plain(f, P_CMA, 6);
	assert_plain(f, P_CMA, 7);
	assert_int_equal(f->pauses, before);
	check_all(f);
	/* ... and as a level change, the window keeps its level */
	r = cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB");
	assert_int_equal(win(f, w1).level, CMA_RESIDENT);
	assert_window(f, w1);
	check_all(f);

	/* release: back to lazy memfd backing */
	release_ok(f, w1);
	check_all(f);
	release_ok(f, w2);
	check_all(f);
	assert_false(vma_locked(hva(f, pgpa(f, P_CMA, 3)), &kb));
	assert_int_equal(cma_engine_stats(e).releases, 2);
	assert_clean(f);
}

/* A memfd migration keeps exactly the pages that were there, and nothing else. */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t g = pgpa(f, P_CMA, 4); /* every 7th page touched */
	unsigned char *before = malloc(PAGES), *after = malloc(PAGES);
	uint8_t *race;
	int w, r;
	ino_t ino;

	assert_non_null(before);
	assert_non_null(after);
	fill_standard(f);
	assert_int_equal(mincore(hva(f, g), PB, before), 0);
	assert_int_equal(resident(hva(f, g), PB), (PAGES + 6) / 7);
	assert_int_equal(cma_migrate_block(e, g, NULL), 0);
	assert_int_equal(mincore(hva(f, g), PB, after), 0);
	for (size_t i = 0; i < PAGES; i++)
		assert_int_equal(before[i] & 1, after[i] & 1);
	free(before);
	free(after);
	check_ram_block(f, (g - RAM_GPA) / PB);
	check_hooks(f);

	/*
	 * A vCPU writes a never-touched page in the instant before the pause
	 * takes hold: the write must survive the migration.
	 */
	g = pgpa(f, P_CMA, 1); /* every 3rd page touched */
	race = hva(f, g + 4 * PAGE + 99);
	assert_int_equal(resident(hva(f, g + 4 * PAGE), PAGE), 0);
	f->touch_on_pause = race;
	f->touch_value = 0xa5;
	f->shadow[g - RAM_GPA + 4 * PAGE + 99] = 0xa5;
	assert_int_equal(cma_migrate_block(e, g, NULL), 0);
	assert_null(f->touch_on_pause);
	check_ram_block(f, (g - RAM_GPA) / PB);
	check_hooks(f);

	/* a failure while paused: nothing lost */
	g = pgpa(f, P_CMA, 7);
	inject(f, CMA_STEP_REMAP, gblock(f, P_CMA, 7), -1, -EIO);
	r = cma_migrate_block(e, g, NULL);
	assert_error(f, r, gpa_str(g));
	assert_non_null(strstr(cma_engine_error(e), "Input/output error"));
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	check_all(f);
	check_hooks(f);

	/* the pause does not come (a disk request in flight) */
	f->pause_err = -EBUSY;
	r = cma_migrate_block(e, g, NULL);
	assert_error(f, r, "could not pause the guest");
	assert_non_null(strstr(cma_engine_error(e), strerror(EBUSY)));
	f->pause_err = 0;
	check_all(f);
	check_hooks(f);

	/* a huge pageblock whose move fails stays on its page */
	w = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	ino = fd_ino(window_fd(f, w));
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		int fds = fd_count();

		inject(f, step, gblock(f, P_GPU, 2), -1, -ENOMEM);
		r = cma_migrate_block(e, pgpa(f, P_GPU, 2), NULL);
		assert_error(f, r, gpa_str(pgpa(f, P_GPU, 2)));
		assert_int_equal(f->inj_hits, 1);
		assert_int_equal(fd_count(), fds);
		assert_false(blk(f, P_GPU, 2)->own_fd);
		assert_block_maps(f, P_GPU, 2, ino, 2 * PB);
		assert_window(f, w);
		check_all(f);
		check_hooks(f);
	}
	inject(f, 0, 0, 0, 0);
	f->alloc_err = -ENOMEM;
	r = cma_migrate_block(e, pgpa(f, P_GPU, 2), NULL);
	assert_error(f, r, "huge page");
	f->alloc_err = 0;
	assert_window(f, w);
	assert_int_equal(cma_engine_stats(e).migrations, 2);

	/* not in a pool */
	r = cma_migrate_block(e, OUTSIDE_GPA, NULL);
	assert_error(f, r, "is not in a pool");
	assert_non_null(strstr(cma_engine_error(e), gpa_str(OUTSIDE_GPA)));
	r = cma_migrate_block(e, 0x1000, NULL);
	assert_error(f, r, "is not in a pool");
	r = cma_migrate_block(e, RAM_GPA + RAM_SIZE, NULL);
	assert_error(f, r, "is not in a pool");

	release_ok(f, w);
	check_all(f);
	assert_clean(f);
}

/* A huge commit failing at any step of any pageblock puts everything back. */
static void test_rollback_huge(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t rollbacks;
	int r;

	fill_standard(f);
	rollback_each_step(f);

	/* no backing file at all */
	f->alloc_err = -ENOMEM;
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "hugetlb");
	assert_non_null(strstr(cma_engine_error(e), strerror(ENOMEM)));
	f->alloc_err = 0;
	check_all(f);
	assert_clean(f);

	/* the pause does not come */
	f->pause_err = -EBUSY;
	rollbacks = cma_engine_stats(e).rollbacks;
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "could not pause the guest");
	f->pause_err = 0;
	assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1);
	check_all(f);
	assert_clean(f);
}

/*
 * On the pause path a commit whose pause does not come moves nothing. On
 * the live path a commit can fail midway, after pageblocks moved, and
 * moving those back can fail too: they must stay usable, and the engine
 * must never touch a file it does not hold.
 */
static void test_rollback_incomplete(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint8_t *want = malloc(2 * PB), *got = malloc(2 * PB);
	uint64_t x = 42;
	int r, canary;

	assert_non_null(want);
	assert_non_null(got);
	fill_standard(f);
	f->pause_err = -EAGAIN; /* device I/O in flight, as the VMM says */
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "could not pause the guest");
	f->pause_err = 0;
	for (size_t i = 1; i <= 4; i++)
		assert_on_ram(f, P_CMA, i);
	check_all(f);

	if (cma_engine_set_live(e, true))
		skip();
	f->live = true;
	cma_engine_set_live_run(e, PB); /* one pageblock at a time: some move before one fails */
	inject(f, CMA_STEP_REMAP, gblock(f, P_CMA, 3), 1, -EIO);     /* 1 and 2 have moved */
	inject2(f, CMA_STEP_ALLOC, gblock(f, P_CMA, 1), 1, -ENOMEM); /* and cannot go back */
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 3)));
	assert_non_null(strstr(cma_engine_error(e), "Input/output error"));
	inject(f, 0, 0, 0, 0);
	inject2(f, 0, 0, 0, 0);
	check_all(f);
	check_hooks(f);
	assert_int_equal(windows_used(f), 0);

	/* A file opened now (a disk image, say) gets the lowest free descriptor. */
	canary = memfd_create("cmatest-canary", MFD_CLOEXEC);
	assert_true(canary >= 0);
	for (size_t i = 0; i < 2 * PB / 8; i++)
		((uint64_t *)want)[i] = splitmix(&x);
	assert_int_equal(pwrite(canary, want, 2 * PB, 0), (ssize_t)(2 * PB));

	/* The stranded pageblocks are still guest memory: kept, movable. */
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 1), 2 * PB, CMA_DISCARD_BALLOON), 2 * PB);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 1), NULL), 0);
	check_all(f);
	assert_int_equal(pread(canary, got, 2 * PB, 0), (ssize_t)(2 * PB));
	if (memcmp(got, want, 2 * PB))
		fail_msg("the engine punched a file it does not hold (fd %d)", canary);

	for (size_t i = 1; i <= 2; i++) {
		struct cma_block *b = blk(f, P_CMA, i);

		assert_int_equal(b->backing, CMA_BACKING_HUGE);
		assert_int_equal(b->window, -1);
		assert_true(b->own_fd);
		assert_int_not_equal(b->fd, canary);
		assert_int_not_equal(fcntl(b->fd, F_GETFD), -1);
		assert_block_maps(f, P_CMA, i, fd_ino(b->fd), b->fd_off);
	}
	assert_plain(f, P_CMA, 3);
	assert_plain(f, P_CMA, 4);

	/* Committed over and released, everything is back on the memfd. */
	release_ok(f, commit_ok(f, P_CMA, 1 * PB, 2 * PB, CMA_HUGE));
	assert_int_equal(pread(canary, got, 2 * PB, 0), (ssize_t)(2 * PB));
	assert_memory_equal(got, want, 2 * PB);
	close(canary);
	free(want);
	free(got);
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_every_move),
		CMA_TEST(test_migrate),
		CMA_TEST(test_rollback_huge),
		CMA_TEST(test_rollback_incomplete),
		CMA_TEST_PB(test_every_move, 32),
		CMA_TEST_PB(test_migrate, 32),
		CMA_TEST_PB(test_rollback_incomplete, 32),
	};

	return run_cma_tests(tests);
}
