// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-bench engine-commit MIB [pause] [single]: the CMA engine's own commit of a
 * MIB window at huge, and its release, on a memfd mapped as cmavm maps
 * guest RAM (2 MiB aligned, transparent huge pages asked for), every page
 * of it holding data; no guest, no KVM, no devices (the engine's hooks do
 * nothing). What a commit costs the engine and the host kernel, and where
 * the time goes: the engine's fault-injection hook is called at the start
 * of each step of each move, so the time between the calls is each
 * step's. Needs MIB/2 free 2 MiB huge pages. "pause": without
 * write-protect, the pausing path (with a pause that costs nothing);
 * "single": one thread populates and copies (the engine's helper thread
 * off).
 *
 *   commit_ms 12.30 ms        best of the rounds
 *   release_ms 10.10 ms
 *   populate_ms 4.10 ms       new backing faulted in, old mapped to copy from
 *   copy_ms 6.00 ms           data copied
 *   other_ms 2.20 ms          the rest: protect, remap, wake, free the old
 *
 * Its baseline is `cmavm-bench memcpy MIB`, run beside it.
 */
#include "tools/bench/engine_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cma/engine.h"

#define BLOCK (2ULL << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Time spent in each step, summed over every move of a commit. */
struct steps {
	uint64_t last;
	int step;
	uint64_t ns[4];
};

static struct steps steps;

/* The engine calls it as each step begins: the step before has ended. */
static int note_step(void *opaque, int step, size_t block)
{
	uint64_t t = now_ns();

	(void)opaque;
	(void)block;
	if (steps.last && steps.step >= 0)
		steps.ns[steps.step] += t - steps.last;
	steps.last = t;
	steps.step = step;
	return 0;
}

static int no_pause(void *opaque)
{
	(void)opaque;
	return 0;
}

static void no_resume(void *opaque)
{
	(void)opaque;
}

static uint8_t *guest_ram(uint64_t size, int *memfd)
{
	uint8_t *resv, *ram;

	*memfd = memfd_create("engine-probe", MFD_CLOEXEC);
	resv = mmap(NULL, size + BLOCK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*memfd < 0 || ftruncate(*memfd, (off_t)size) || resv == MAP_FAILED)
		return NULL;
	ram = (uint8_t *)(((uintptr_t)resv + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
	if (mmap(ram, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, *memfd, 0) ==
	    MAP_FAILED)
		return NULL;
	madvise(ram, size, MADV_HUGEPAGE);
	for (uint64_t off = 0; off < size; off += 4096)
		memset(ram + off, (int)(off >> 12) | 1, 4096);
	return ram;
}

static struct cma_engine *engine_over(uint8_t *ram, uint64_t size, int memfd, bool live)
{
	struct cma_hooks hooks = { .pause = no_pause, .resume = no_resume, .inject = note_step };
	struct pool_spec spec = { .name = "linux,cma", .kind = POOL_CMA, .is_default = true };
	struct cma_engine *e = cma_engine_create(ram, 0x80000000ULL, size, memfd, NULL, &hooks);

	if (!e || cma_engine_add_pool(e, &spec, 0x80000000ULL, size))
		return NULL;
	cma_engine_set_guest_running(e, true);
	if (cma_engine_set_live(e, live) && live)
		fprintf(stderr, "engine-commit: no live moves here (%s): pausing\n",
			cma_engine_live_why(e));
	return e;
}

int engine_probe_main(uint64_t mib, unsigned int rounds, bool live, unsigned int threads)
{
	uint64_t size = mib << 20, best_commit = UINT64_MAX, best_release = UINT64_MAX;
	struct steps best_steps = { 0 };
	struct cma_window_info w;
	struct cma_engine *e;
	uint8_t *ram;
	int memfd, slot;

	ram = guest_ram(size, &memfd);
	e = ram ? engine_over(ram, size, memfd, live) : NULL;
	if (!e) {
		perror("engine-commit: guest RAM");
		return 1;
	}
	cma_engine_set_threads(e, threads);
	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t t0;

		steps = (struct steps){ .step = -1 };
		t0 = now_ns();
		slot = cma_window_commit(e, 0, 0, size, CMA_HUGE);
		if (slot < 0) {
			fprintf(stderr, "engine-commit: %s\n", cma_engine_error(e));
			return 1;
		}
		note_step(NULL, -1, 0);
		if (now_ns() - t0 < best_commit) {
			best_commit = now_ns() - t0;
			best_steps = steps;
		}
		cma_window_info(e, slot, &w);
		t0 = now_ns();
		if (cma_window_release(e, w.id)) {
			fprintf(stderr, "engine-commit: %s\n", cma_engine_error(e));
			return 1;
		}
		if (now_ns() - t0 < best_release)
			best_release = now_ns() - t0;
	}
	printf("commit_ms %.2f ms\n", (double)best_commit / 1e6);
	printf("release_ms %.2f ms\n", (double)best_release / 1e6);
	printf("populate_ms %.2f ms\n", (double)best_steps.ns[CMA_STEP_POPULATE - 1] / 1e6);
	printf("copy_ms %.2f ms\n", (double)best_steps.ns[CMA_STEP_COPY] / 1e6);
	printf("other_ms %.2f ms\n", (double)(best_commit - best_steps.ns[CMA_STEP_ALLOC] -
					      best_steps.ns[CMA_STEP_COPY]) /
					     1e6);
	cma_engine_destroy(e);
	return 0;
}
