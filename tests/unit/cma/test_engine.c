// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host CMA engine itself (cma/engine.c): names, pools and range checks,
 * destroying it, and what the accessors and error kinds say.
 */
#include "tests/unit/cma/harness.h"

#include "cma/size.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CLANG_SANITIZER 1 /* clang says so this way, gcc with __SANITIZE_*__ */
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !defined(CLANG_SANITIZER)
#define WATCH_FREE 1
/*
 * free() watched, to see cma_engine_destroy() free what the caller can no
 * longer look at: the engine library is linked into this program, so its
 * free() calls land here first. glibc's own is __libc_free(). (Under a
 * sanitizer, which replaces free() itself, its leak checker watches instead.)
 */
void __libc_free(void *p);
static const void *watched[2];
static bool watched_freed[2];

void free(void *p)
{
	for (int i = 0; p && i < 2; i++)
		if (p == watched[i])
			watched_freed[i] = true;
	__libc_free(p);
}
#else
static bool watched_freed[2] = { true, true };
#endif

static void watch_free(const void *a, const void *b)
{
#ifdef WATCH_FREE
	watched[0] = a;
	watched[1] = b;
	watched_freed[0] = watched_freed[1] = false;
#endif
}

static void test_names(void **state)
{
	enum cma_level l;

	assert_string_equal(cma_state_name(CMA_REPORTED), "reported");
	assert_int_equal(cma_state_letter(CMA_BALLOONED), 'L');
	assert_int_equal(cma_state_letter(CMA_WINDOW), 'W');
	assert_string_equal(cma_level_name(CMA_HUGE), "huge");
	assert_int_equal(cma_level_parse("contiguous", &l), 0);
	assert_int_equal(l, CMA_CONTIGUOUS);
	assert_int_equal(cma_level_parse("gigantic", &l), -1);
}

static void test_range_checks(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	struct pool_spec spec = { .name = "bad", .size = PB };
	int w[CMA_MAX_WINDOWS], r;
	unsigned int newest;
	size_t n = 0;
	char multiples[64], size[32];

	snprintf(multiples, sizeof(multiples), "multiples of the %s pageblock", size_str(PB, size));

	r = cma_window_commit(e, P_CMA, PAGE, PB, CMA_RESIDENT);
	assert_error(f, r, multiples);
	r = cma_window_commit(e, P_CMA, 0, PB + PAGE, CMA_HUGE);
	assert_error(f, r, multiples);
	if (PB > CMA_PAGEBLOCK_4K) { /* whole host huge pages, but not whole pageblocks */
		r = cma_window_commit(e, P_CMA, CMA_HUGE_PAGE, PB, CMA_HUGE);
		assert_error(f, r, multiples);
		r = cma_window_commit(e, P_CMA, 0, PB / 2, CMA_RESIDENT);
		assert_error(f, r, multiples);
	}
	r = cma_window_commit(e, P_CMA, 8 * PB, 0, CMA_HUGE);
	assert_error(f, r, "is not inside pool 'linux,cma'");
	r = cma_window_commit(e, P_CMA, 7 * PB, 2 * PB, CMA_HUGE);
	assert_error(f, r, "is not inside pool 'linux,cma'");
	r = cma_window_commit(e, P_GPU, 0, 8 * PB, CMA_RESIDENT);
	assert_error(f, r, "is not inside pool 'gpu'");
	r = cma_window_commit(e, P_CMA, 2 * PB, UINT64_MAX - PB + 1, CMA_HUGE);
	assert_error(f, r, "is not inside pool");
	r = cma_window_commit(e, NR_POOLS, 0, 0, CMA_HUGE);
	assert_error(f, r, "no such pool");
	assert_int_equal(windows_used(f), 0);

	/* overlaps */
	w[0] = commit_ok(f, P_CMA, 2 * PB, 2 * PB, CMA_HUGE);
	r = cma_window_commit(e, P_CMA, 3 * PB, 2 * PB, CMA_HUGE);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 0, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 0, 0, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 2 * PB, PB, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	assert_int_equal(windows_used(f), 1);
	assert_window(f, w[0]);
	release_ok(f, w[0]);

	/* at most CMA_MAX_WINDOWS, across pools */
	for (size_t p = P_LOW; p <= P_CMA; p++)
		for (size_t i = 0; i < 8; i++)
			w[n++] = commit_ok(f, p, i * PB, PB, CMA_HUGE);
	assert_int_equal(n, CMA_MAX_WINDOWS);
	r = cma_window_commit(e, P_GPU, 0, PB, CMA_HUGE);
	assert_error(f, r, "16 windows are committed already");
	assert_plain(f, P_GPU, 0);
	release_ok(f, w[5]);
	w[5] = commit_ok(f, P_GPU, 0, PB, CMA_HUGE);
	newest = win(f, w[5]).id;
	for (size_t i = 0; i < n; i++)
		release_ok(f, w[i]);

	/* releases */
	r = cma_window_release(e, 12345);
	assert_error(f, r, "no window 12345");
	r = cma_window_release(e, newest);
	assert_error(f, r, "no window");
	assert_int_equal(cma_window_find(e, 0), -1);

	/* pools */
	r = cma_engine_add_pool(e, &spec, RAM_GPA + PAGE, PB);
	assert_error(f, r, "pool 'bad' (0x80001000, ");
	assert_non_null(strstr(cma_engine_error(e), "is not a whole number of the guest's"));
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_INVALID);
	r = cma_engine_add_pool(e, &spec, RAM_GPA + RAM_SIZE - PB, 2 * PB);
	assert_error(f, r, "is not inside guest RAM");
	r = cma_engine_add_pool(e, &spec, RAM_GPA - PB, PB);
	assert_error(f, r, "is not inside guest RAM");
	r = cma_engine_add_pool(e, &spec, OUTSIDE_GPA, 0);
	assert_error(f, r, "is not inside guest RAM");
	assert_int_equal(cma_engine_nr_pools(e), NR_POOLS);
	assert_clean(f);
}

/*
 * Destroying the engine with windows committed closes every file it holds
 * and frees its pageblock records and itself.
 */
static void test_destroy(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	int uffd;

	need_memlock(PB);
	fill_standard(f);
	commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	commit_ok(f, P_CMA, 0, PB, CMA_RESIDENT);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 3), NULL), 0);
	assert_int_equal(fd_count(), f->base_fds + 2);
	watch_free(e, e->blocks);
	uffd = e->uffd >= 0; /* its userfaultfd goes too */
	cma_engine_destroy(e);
	f->e = NULL;
	assert_int_equal(fd_count(), f->base_fds - uffd);
	assert_true(watched_freed[0]); /* the engine */
	assert_true(watched_freed[1]); /* its pageblock records */
	watch_free(NULL, NULL);
	/* the mappings stay: guest RAM still reads right */
	check_all(f);
	cma_engine_destroy(NULL);
	/* a fresh engine for teardown */
	f->e = new_engine(f);
}

/* What callers read through the accessors, and the kind of every failure. */
static void test_accessors(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = f->e;
	struct cma_pool_info p;
	struct cma_window_info info;
	int w, r;

	assert_int_equal(cma_engine_pageblock_size(e), PB);
	assert_int_equal(cma_engine_nr_pools(e), NR_POOLS);
	for (size_t i = 0; i < NR_POOLS; i++) {
		assert_int_equal(cma_pool_info(e, i, &p), 0);
		assert_string_equal(p.name, layout[i].name);
		assert_int_equal(p.kind, POOL_CMA);
		assert_int_equal(p.is_default, i == P_CMA);
		assert_int_equal(p.base, RAM_GPA + layout[i].off);
		assert_int_equal(p.size, layout[i].size);
		assert_int_equal(p.nr_blocks, layout[i].size / PB);
	}
	assert_int_equal(cma_pool_info(e, NR_POOLS, &p), -1);

	/* a window as committed */
	w = commit_ok(f, P_CMA, 2 * PB, 2 * PB, CMA_HUGE);
	info = win(f, w);
	assert_true(info.id > 0);
	assert_int_equal(info.pool, P_CMA);
	assert_int_equal(info.offset, 2 * PB);
	assert_int_equal(info.length, 2 * PB);
	assert_int_equal(info.gpa, RAM_GPA + layout[P_CMA].off + 2 * PB);
	assert_int_equal(info.level, CMA_HUGE);
	assert_true(info.moves.commit_ns > 0);
	assert_int_equal(cma_window_find(e, info.id), w);
	assert_int_equal(cma_window_info(e, -1, &info), -1);
	assert_int_equal(cma_window_info(e, CMA_MAX_WINDOWS, &info), -1);
	assert_int_equal(cma_engine_stats(e).commits, 1);
	cma_window_measure(e, w);
	assert_int_equal(win(f, w).verified, win(f, w).largest_run > 0);
	assert_true(win(f, w).contiguous_2m <= 2 * PB / CMA_HUGE_PAGE);

	/* each failure says what kind it is */
	r = cma_window_commit(e, NR_POOLS, 0, 0, CMA_HUGE);
	assert_error(f, r, "no such pool");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_NOT_FOUND);
	r = cma_window_commit(e, P_CMA, PAGE, PB, CMA_HUGE);
	assert_error(f, r, "multiples");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_INVALID);
	r = cma_window_commit(e, P_CMA, 3 * PB, 2 * PB, CMA_HUGE);
	assert_error(f, r, "overlaps");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_CONFLICT);
	f->alloc_err = -ENOMEM;
	r = cma_window_commit(e, P_GPU, 0, PB, CMA_HUGE);
	f->alloc_err = 0;
	assert_error(f, r, "hugetlb");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_HOST);
	f->pause_err = -EBUSY;
	r = cma_migrate_block(e, pgpa(f, P_CMA, 7), NULL);
	f->pause_err = 0;
	assert_error(f, r, "could not pause the guest");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_CONFLICT);
	r = cma_migrate_block(e, OUTSIDE_GPA, NULL);
	assert_error(f, r, "is not in a pool");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_NOT_FOUND);
	r = cma_window_release(e, info.id + 100);
	assert_error(f, r, "no window");
	assert_int_equal(cma_engine_error_kind(e), CMA_ERR_NOT_FOUND);
	release_ok(f, w);
	assert_int_equal(cma_window_find(e, info.id), -1);
	cma_window_measure(e, w); /* a free slot: nothing to measure, nothing changes */
	cma_window_measure(e, -1);
	assert_int_equal(windows_used(f), 0);
	assert_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		CMA_TEST(test_range_checks),
		CMA_TEST(test_destroy),
		CMA_TEST(test_accessors),
		CMA_TEST_PB(test_range_checks, 32),
		CMA_TEST_PB(test_accessors, 32),
	};

	return run_cma_tests(tests);
}
