// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measuring (cma/pagemap.c): host-physically contiguous runs from
 * /proc/self/pagemap (hidden unless root), and resident bytes (mincore).
 */
#include "tests/unit/cma/harness.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
/* Frame numbers are for root; without them the run is 0 ("unknown"). */
static void test_contiguous_run(void **state)
{
	struct fx *f = *state;
	uint8_t *h = hva(f, pgpa(f, P_CMA, 0));
	uint64_t run, c2m, pm = 0;
	bool visible;
	pid_t pid;
	int w, fd, status = 0;

	need_memlock(2 * PB);
	w = commit_ok(f, P_CMA, 0, 2 * PB, CMA_RESIDENT);
	fd = open("/proc/self/pagemap", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &pm, 8, (off_t)((uintptr_t)h / PAGE * 8)), 8);
	close(fd);
	assert_true(pm >> 63); /* present: the window is resident */
	visible = (pm & ((1ULL << 55) - 1)) != 0;

	run = cma_largest_contiguous_run(h, 2 * PB, &c2m);
	if (visible) {
		assert_true(run >= PAGE);
		assert_true(run <= 2 * PB);
		assert_true(c2m <= 2 * PB / CMA_HUGE_PAGE);
		assert_true(win(f, w).verified);
		assert_true(win(f, w).largest_run >= PAGE);
	} else {
		assert_int_equal(run, 0);
		assert_int_equal(c2m, 0);
		assert_false(win(f, w).verified);
	}

	/* Not root: 0, whatever the memory. */
	if (geteuid() == 0) {
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(2);
			/* dumpable again, so /proc/self/pagemap is ours to open */
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			/* a forked child has no page table entries for shared memory yet */
			for (uint64_t off = 0; off < 2 * PB; off += PAGE)
				status += ((volatile uint8_t *)h)[off];
			fd = open("/proc/self/pagemap", O_RDONLY);
			if (fd < 0 || pread(fd, &pm, 8, (off_t)((uintptr_t)h / PAGE * 8)) != 8 ||
			    !(pm >> 63) || (pm & ((1ULL << 55) - 1)))
				_exit(3); /* not the case under test: readable, present, hidden */
			close(fd);
			run = cma_largest_contiguous_run(h, 2 * PB, &c2m);
			_exit(run == 0 && c2m == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	release_ok(f, w);
	assert_clean(f);
}

static void test_resident_bytes(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	uint64_t r0 = cma_resident_bytes(e), r1, r2;

	assert_int_equal(r0, 0);
	for (size_t i = 0; i < 10; i++)
		hva(f, OUTSIDE_GPA)[i * PAGE] = 1;
	fill_pages(f, pgpa(f, P_CMA, 0), 1, 5);
	r1 = cma_resident_bytes(e);
	assert_int_equal(r1, r0 + 10 * PAGE + PB);
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 0), PB / 2, CMA_DISCARD_BALLOON), 0);
	r2 = cma_resident_bytes(e);
	assert_int_equal(r2, r1 - PB / 2);
	assert_int_equal(cma_discard(e, OUTSIDE_GPA, PB, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_resident_bytes(e), r2 - 10 * PAGE);
	/* a huge window counts, too */
	{
		int w = commit_ok(f, P_GPU, 0, PB, CMA_HUGE);

		assert_int_equal(cma_resident_bytes(e), r2 - 10 * PAGE + PB);
		release_ok(f, w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CMA_TEST(test_contiguous_run),
		CMA_TEST(test_resident_bytes),
		CMA_TEST_PB(test_contiguous_run, 32),
		CMA_TEST_PB(test_resident_bytes, 32),
	};

	return run_cma_tests(tests);
}
