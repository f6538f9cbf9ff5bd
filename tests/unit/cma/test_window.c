// SPDX-License-Identifier: GPL-2.0-only
/*
 * Windows (cma/window.c): resident commits and the locked-memory limit,
 * level changes and releases that fail midway, the 1 GiB page of a
 * contiguous window. What a window's moves cost: test_window_info.c.
 */
#include "tests/unit/cma/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
/* A resident commit failing midway unlocks what it locked. */
static void test_rollback_resident(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t rollbacks = cma_engine_stats(e).rollbacks;
	int r;

	need_memlock(2 * PB);
	fill_standard(f);
	inject(f, CMA_STEP_POPULATE, gblock(f, P_CMA, 3), -1, -ENOMEM);
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_RESIDENT);
	assert_error(f, r, "populating");
	assert_non_null(strstr(cma_engine_error(e), gpa_str(pgpa(f, P_CMA, 3))));
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1);
	assert_int_equal(cma_engine_stats(e).commits, 0);
	for (size_t i = 0; i < 8; i++)
		assert_plain(f, P_CMA, i);
	assert_int_equal(vmlck_kb(), f->base_vmlck);
	check_all(f);
	assert_clean(f);
}

/*
 * Over the locked-memory limit a resident commit fails at the pageblock that
 * does not fit, says what to do, and unlocks the rest. Returns 0, or the
 * number of the check that failed (this runs in a child when we are root).
 */
static int memlock_limit_case(struct fx *f)
{
	struct cma_engine *e = f->e;
	struct rlimit rl, low;
	uint64_t kb, rollbacks = cma_engine_stats(e).rollbacks;
	char limit[64];
	int r, ret = 0;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return 1;
	low = rl;
	low.rlim_cur = PB + PB / 2;
	snprintf(limit, sizeof(limit), "the locked-memory limit is %llu KiB",
		 (unsigned long long)(PB + PB / 2) / 1024);
	if (setrlimit(RLIMIT_MEMLOCK, &low))
		return 2;
	r = cma_window_commit(e, P_CMA, 0, 2 * PB, CMA_RESIDENT);
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (r != -1)
		ret = 3;
	else if (!strstr(cma_engine_error(e), limit) ||
		 !strstr(cma_engine_error(e), gpa_str(pgpa(f, P_CMA, 1))))
		ret = 4;
	else if (blk(f, P_CMA, 0)->locked || vma_locked(hva(f, pgpa(f, P_CMA, 0)), &kb))
		ret = 5;
	else if (cma_engine_stats(e).rollbacks != rollbacks + 1 || windows_used(f))
		ret = 6;
	else if (vmlck_kb() != 0)
		ret = 7;
	if (ret)
		print_message("memlock case %d: %s\n", ret, cma_engine_error(e));
	return ret;
}

static void test_memlock_limit(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status;

	if (!mlock_works())
		skip();
	fill_standard(f);
	if (geteuid() != 0) {
		assert_int_equal(memlock_limit_case(f), 0);
	} else {
		/* root has CAP_IPC_LOCK, which ignores the limit: a child without it */
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(100);
			_exit(memlock_limit_case(f));
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	check_all(f);
	assert_clean(f);
}

/* A level change that fails keeps the old level, contents intact. */
static void test_level_change_failure(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	size_t mid = gblock(f, P_CMA, 2);
	uint64_t rollbacks;
	unsigned int id;
	int w, r;

	need_memlock(3 * PB);
	fill_standard(f);

	/* resident -> huge fails at a copy: resident again, locked */
	w = commit_ok(f, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	id = win(f, w).id;
	rollbacks = cma_engine_stats(e).rollbacks;
	inject(f, CMA_STEP_COPY, mid, -1, -EFAULT);
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_HUGE);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	assert_non_null(strstr(cma_engine_error(e), strerror(EFAULT)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1);
	assert_int_equal(cma_window_find(e, id), w);
	assert_int_equal(win(f, w).level, CMA_RESIDENT);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails once while locking: back on huge pages */
	assert_int_equal(cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_HUGE), w);
	assert_window(f, w);
	inject(f, CMA_STEP_POPULATE, mid, 1, -ENOMEM);
	f->inj_skip = 1; /* leaving the huge page populates the memfd first */
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "populating");
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	assert_int_equal(win(f, w).level, CMA_HUGE);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails while leaving the huge pages: still huge */
	inject(f, CMA_STEP_REMAP, mid, 1, -EIO);
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(win(f, w).level, CMA_HUGE);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails, and so does going back: released, says so */
	inject(f, CMA_STEP_POPULATE, mid, -1, -ENOMEM);
	f->inj_skip = 1;
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "it is released");
	inject(f, 0, 0, 0, 0);
	assert_int_equal(cma_window_find(e, id), -1);
	check_all(f);
	assert_clean(f);
	/* discards work there again */
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 2), PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, pgpa(f, P_CMA, 2), PB);
	check_all(f);
}

/*
 * A release that fails midway puts back what it can and keeps the window
 * (still refusing discards); a retry finishes it.
 */
static void test_release_failure(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	size_t mid = gblock(f, P_CMA, 2);
	unsigned int id;
	int w, r;

	fill_standard(f);
	w = commit_ok(f, P_CMA, 1 * PB, 3 * PB, CMA_HUGE);
	id = win(f, w).id;
	inject(f, CMA_STEP_COPY, mid, 1, -EIO);
	r = cma_window_release(e, id);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(cma_window_find(e, id), w);
	assert_int_equal(cma_engine_stats(e).releases, 0);
	assert_int_equal(blk(f, P_CMA, 2)->backing, CMA_BACKING_HUGE);
	assert_block_maps(f, P_CMA, 2, fd_ino(window_fd(f, w)), 1 * PB);
	for (size_t i = 1; i <= 3; i++)
		assert_int_equal(cma_block_state(e, P_CMA, i), CMA_WINDOW);
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 1), 3 * PB, CMA_DISCARD_BALLOON), 3 * PB);
	check_all(f);
	check_hooks(f);

	release_ok(f, w);
	assert_int_equal(cma_engine_stats(e).releases, 1);
	check_all(f);
	assert_clean(f);
}

/*
 * The VMM's own layout: guest RAM 1 GiB aligned, address space reserved to
 * the next 1 GiB. A contiguous window moves the whole span onto one
 * (here ordinary) 1 GiB file.
 */
static void test_contiguous(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	struct vma v;
	uint64_t rollbacks = cma_engine_stats(e).rollbacks;
	int w, w2, r, fd;

	need_memlock(4 * PB);
	fill_standard(f);

	/* a failure at any step rolls the whole span back */
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		inject(f, step, gblock(f, P_CMA, 2), -1, -EIO);
		r = cma_window_commit(e, P_CMA, 2 * PB, 4 * PB, CMA_CONTIGUOUS);
		assert_error(f, r, strerror(EIO));
		assert_int_equal(f->inj_hits, 1);
		inject(f, 0, 0, 0, 0);
		assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1 + (uint64_t)step);
		assert_int_equal(gigantic_window(f), -1);
		assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
		assert_string_equal(v.perms, "---p");
		check_all(f);
		assert_clean(f);
	}
	f->alloc_err = -ENOMEM;
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "hugepagesz=1G");
	f->alloc_err = 0;
	assert_clean(f);

	w = commit_ok(f, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_int_equal(f->alloc_size, GiB);
	assert_int_equal(f->alloc_page, GiB);
	fd = window_fd(f, w);
	/*
	 * All of RAM is on the file now. The address space past RAM is too
	 * with a real 1 GiB page (mmap() maps whole huge pages); with this
	 * ordinary file it may stay reserved, but nothing else may be there.
	 */
	for (uint64_t off = 0; off < RAM_SIZE; off += 2 * PB)
		assert_maps(f->host + off, fd_ino(fd), off);
	for (uint64_t off = RAM_SIZE; off < GiB; off += 32 * MiB) {
		assert_int_equal(find_vma(f->host + off, &v), 0);
		if (strcmp(v.perms, "---p"))
			assert_maps(f->host + off, fd_ino(fd), off);
	}
	assert_false(fd_has_data(f->memfd, 0, RAM_SIZE));
	assert_int_equal(blk(f, P_GPU, 1)->backing, CMA_BACKING_GIGANTIC);
	check_all(f);

	/* what is on the page stays on it */
	r = cma_migrate_block(e, pgpa(f, P_GPU, 1), NULL);
	assert_error(f, r, "on a 1 GiB page");
	/* the whole span is on the page: nothing in it can be given back */
	assert_int_equal(cma_discard(e, pgpa(f, P_GPU, 0), PB, CMA_DISCARD_BALLOON), PB);
	assert_int_equal(cma_discard(e, OUTSIDE_GPA, PB, CMA_DISCARD_REPORTED), PB);
	r = cma_window_commit(e, P_GPU, 0, PB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB page");
	check_all(f);

	/* another window inside the span would be torn off the page: refused */
	r = cma_window_commit(e, P_GPU, 0, 2 * PB, CMA_HUGE);
	if (r >= 0) {
		w2 = r;
		release_ok(f, w);
		/* if it was allowed, it must still be where it says */
		assert_window(f, w2);
		check_all(f);
		release_ok(f, w2);
		fail_msg("a window inside another window's 1 GiB span was allowed");
	}
	assert_error(f, r, "1 GiB");
	r = cma_window_commit(e, P_LOW, 0, PB, CMA_RESIDENT);
	assert_error(f, r, "1 GiB");
	check_all(f);

	/* contiguous -> huge -> contiguous */
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_HUGE), w);
	assert_window(f, w);
	assert_int_equal(gigantic_window(f), -1);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	/* a window in the span: no contiguous window there */
	w2 = commit_ok(f, P_GPU, 0, PB, CMA_RESIDENT);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "in another window");
	assert_window(f, w);
	assert_int_equal(win(f, w).level, CMA_HUGE);
	check_all(f);
	release_ok(f, w2);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	if (r != w)
		fail_msg("huge -> contiguous: %d, %s", r, cma_engine_error(e));
	assert_window(f, w);
	check_all(f);

	/* contiguous -> resident -> contiguous */
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_RESIDENT), w);
	assert_window(f, w);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS), w);
	assert_window(f, w);
	check_all(f);

	/* contiguous -> huge failing: contiguous again */
	rollbacks = cma_engine_stats(e).rollbacks;
	inject(f, CMA_STEP_COPY, gblock(f, P_CMA, 3), -1, -EIO);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_HUGE);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 3)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1);
	assert_int_equal(win(f, w).level, CMA_CONTIGUOUS);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* a release failing off the page keeps the window on it */
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		inject(f, step, gblock(f, P_CMA, 0), -1, -EIO);
		r = cma_window_release(e, win(f, w).id);
		inject(f, 0, 0, 0, 0);
		if (!r) /* a step the release does not take */
			w = commit_ok(f, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
		else
			assert_error(f, r, strerror(EIO));
		assert_int_equal(win(f, w).level, CMA_CONTIGUOUS);
		assert_int_equal(gigantic_window(f), w);
		assert_window(f, w);
		assert_int_equal(fd_has_data(f->memfd, 0, RAM_SIZE), false);
		check_all(f);
		check_hooks(f);
	}

	release_ok(f, w);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_rollback_resident),      CMA_TEST(test_memlock_limit),
		CMA_TEST(test_level_change_failure),   CMA_TEST(test_release_failure),
		CMA_TEST_GIG(test_contiguous),	       CMA_TEST_PB(test_level_change_failure, 32),
		CMA_TEST_PB(test_release_failure, 32),
	};

	return run_cma_tests(tests);
}
