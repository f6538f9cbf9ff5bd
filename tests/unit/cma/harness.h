/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the host CMA engine's tests (test_engine.c, test_block.c,
 * test_move.c, test_window.c, test_pagemap.c and the others): fake guest
 * RAM, a memfd mapped shared at a pageblock-aligned host address as the
 * VMM maps guest RAM, with hooks that count pauses, hand out ordinary
 * memfds as "huge" backing (no hugetlb pages here; the engine's logic is
 * the same) and inject failures.
 *
 * Guest RAM and its pools are laid out in pageblocks of the guest's size,
 * PB: 2 MiB (a 4 KiB-page guest), or what a test runs with
 * (CMA_TEST_PB(test, 32): a 16 KiB-page guest's 32 MiB, over 1 GiB of RAM).
 *
 * Every move is checked against a shadow copy of what guest RAM must read
 * as, compared per pageblock, and against /proc/self/maps (which file
 * backs each pageblock), /proc/self/smaps (locked or not) and mincore().
 * Where a check needs the engine's records (which file a pageblock is on,
 * whether it is locked) it reads them through cma/internal.h; everything
 * else goes through cma/engine.h.
 */
#ifndef TESTS_CMA_HARNESS_H
#define TESTS_CMA_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <cmocka.h>

#include "cma/engine.h"
#include "cma/internal.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
/* The guest's pageblock in this test (set by its setup). */
extern uint64_t pb;
#define PB	 pb
#define PAGE	 CMA_PAGE
#define PAGES	 (PB / PAGE)
#define RAM_GPA	 0x80000000ULL
#define RAM_BLKS 32
#define RAM_SIZE (RAM_BLKS * PB)

/*
 * Three pools: pageblocks 0..7, 8..15 and 20..23 of guest RAM (16 MiB,
 * 16 MiB and 8 MiB with 2 MiB ones); 16..19 and 24..31 are in none.
 */
enum { P_LOW, P_CMA, P_GPU, NR_POOLS };
struct pool_layout {
	const char *name;
	uint64_t off, size; /* bytes, of this test's pageblock */
};
extern struct pool_layout layout[NR_POOLS];
#define OUTSIDE_GPA (RAM_GPA + 16 * PB) /* guest RAM in no pool */

struct fx {
	int memfd;
	ino_t ram_ino;
	uint8_t *resv;
	size_t resv_size;
	uint8_t *host;
	uint8_t *map_end;
	uint8_t *shadow; /* what guest RAM must read as */
	struct cma_engine *e;
	int base_fds;
	uint64_t base_vmlck;

	/* hooks */
	int pauses, resumes, violations;
	bool paused;
	int pause_err;
	int pause_calls, pause_fail_from; /* pause calls from this one on fail (0: none) */
	uint8_t *touch_on_pause;	  /* a "vCPU" writes here just as the pause begins */
	uint8_t touch_value;
	int alloc_err, allocs;
	uint64_t alloc_size, alloc_page;
	int inj_step;
	size_t inj_block;
	int inj_skip;  /* matches let through before failing */
	int inj_times; /* 0: off; -1: every time */
	int inj_err, inj_hits;
	int steps[4];
	bool live; /* new_engine(): live moves (write-protect) instead of pauses */
	int fence_err, fences, fenced; /* device I/O fences asked for, and held now */
	int inj2_step, inj2_skip, inj2_times, inj2_err; /* a second injection (inject2) */
	size_t inj2_block;
	/* called at each step of each block a move takes (inside the pause, or
	 * the write-protect, for the copy and the remap), before injections */
	void (*on_step)(struct fx *f, int step, size_t block);
};

/* ---- fixtures (cmocka setup and teardown) ---- */

/*
 * Guest RAM pageblock aligned, not 1 GiB aligned, not crossing a 1 GiB
 * boundary (1 GiB of RAM must cross one: there at the end of the first
 * pool). *@state on entry: the pageblock's size (a uint64_t), or NULL for
 * 2 MiB.
 */
int setup(void **state);
/* Guest RAM 1 GiB aligned, address space reserved to the next 1 GiB, as the VMM maps it. */
int setup_gig(void **state);
int teardown(void **state);
/* An engine over @f's RAM, with PB for its pageblock and its three pools (the old one gone). */
struct cma_engine *new_engine(struct fx *f);
/*
 * THP off (exact residency counts), RLIMIT_MEMLOCK raised, and the tests
 * filtered by $CMA_TEST_FILTER (a cmocka pattern): before the tests run.
 */
void prepare_process(void);
#define CMA_TEST(fn)	     cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define CMA_TEST_GIG(fn)     cmocka_unit_test_setup_teardown(fn, setup_gig, teardown)
#define run_cma_tests(tests) (prepare_process(), cmocka_run_group_tests(tests, NULL, NULL))
/* The test again, with a pageblock of @mib MiB (named "fn/32M"). */
#define CMA_TEST_PB_WITH(fn, mib, set_up)                                                          \
	{                                                                                          \
		.name = #fn "/" #mib "M", .test_func = fn, .setup_func = set_up,                   \
		.teardown_func = teardown, .initial_state = &(uint64_t){ (mib)*MiB },              \
	}
#define CMA_TEST_PB(fn, mib)	 CMA_TEST_PB_WITH(fn, mib, setup)
#define CMA_TEST_GIG_PB(fn, mib) CMA_TEST_PB_WITH(fn, mib, setup_gig)

/* Make step @step of moving block @block fail with @err, @times times (-1: always). */
void inject(struct fx *f, int step, size_t block, int times, int err);
/* A second injection beside the first: after @skip matches, every match fails with @err. */
void inject2(struct fx *f, int step, size_t block, int skip, int err);

/* ---- /proc and friends ---- */

struct vma {
	unsigned long start, end, ino;
	uint64_t off;
	char perms[8];
	char path[256];
};

int find_vma(const void *addr, struct vma *v);
int backing_mappings(void);
bool vma_locked(const void *addr, uint64_t *locked_kb);
/* vma_locked() answers from one reading of /proc/self/smaps up to @up_to, until released. */
void smaps_hold(const void *up_to);
void smaps_release(void);
uint64_t vmlck_kb(void);
bool mlock_works(void);
void need_memlock(uint64_t bytes);
int fd_count(void);
ino_t fd_ino(int fd);
bool fd_has_data(int fd, uint64_t off, uint64_t len);
size_t resident(const void *p, uint64_t len);

/* ---- guest memory and its shadow ---- */

uint8_t *hva(struct fx *f, uint64_t gpa);
uint64_t pgpa(struct fx *f, size_t pool, size_t i);
size_t pool_blocks(struct fx *f, size_t pool);
size_t gblock(struct fx *f, size_t pool, size_t i);
uint64_t splitmix(uint64_t *x);
void fill_pages(struct fx *f, uint64_t gpa, unsigned int stride, uint64_t seed);
void expect_zero(struct fx *f, uint64_t gpa, uint64_t len);
void fill_standard(struct fx *f);
void check_ram_block(struct fx *f, size_t r);
void check_all(struct fx *f);
void check_hooks(struct fx *f);

/* ---- the engine's records (cma/internal.h) ---- */

struct cma_block *blk(struct fx *f, size_t pool, size_t i);
int window_fd(struct fx *f, int w); /* the window's hugetlb file, or -1 */
int gigantic_window(struct fx *f);  /* the window on the 1 GiB page, or -1 */

/* ---- where a pageblock lives ---- */

/* Window @w as cma_window_info() has it; it must be committed. */
struct cma_window_info win(struct fx *f, int w);
bool window_used(struct fx *f, int w);
int windows_used(struct fx *f);
void assert_maps(const uint8_t *addr, ino_t ino, uint64_t off);
void assert_block_maps(struct fx *f, size_t pool, size_t i, ino_t ino, uint64_t off);
void assert_unlocked(struct fx *f, size_t pool, size_t i);
void assert_plain(struct fx *f, size_t pool, size_t i);
void assert_on_ram(struct fx *f, size_t pool, size_t i);
void assert_window(struct fx *f, int w);
int commit_ok(struct fx *f, size_t pool, uint64_t off, uint64_t len, enum cma_level level);
void release_ok(struct fx *f, int w);
void assert_error(struct fx *f, int ret, const char *what);
const char *gpa_str(uint64_t gpa);
void assert_clean(struct fx *f);
/* A huge commit failing at every step of pageblocks at the start, middle and end. */
void rollback_each_step(struct fx *f);

#endif
