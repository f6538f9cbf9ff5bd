// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pages of a guest-physical pool, found from inside the guest. The guest
 * puts movable allocations (anonymous memory) into its CMA pool once the
 * pool holds more than half its free memory, so touching enough anonymous
 * memory lands some of it in the pool; /proc/self/pagemap (frames shown to
 * root only) says which. The pages in the pool are kept and locked, the
 * others freed, a few kept aside where a caller needs memory outside the
 * pool.
 */
#include "tools/bench/pool_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define HUNT_STEP  (4ull << 20)	 /* touched between two looks at the pagemap */
#define HUNT_FLOOR (64ull << 20) /* MemAvailable the hunt leaves the guest */

enum page_kind { FREE_LATER, HELD, TAKEN };

static int fail(const char *what)
{
	fprintf(stderr, "cma-load: %s: %s\n", what, strerror(errno));
	return -1;
}

static void *fail_null(const char *what)
{
	fail(what);
	return NULL;
}

int pool_pages_open(struct pool_pages *pp, uint64_t base, uint64_t size)
{
	*pp = (struct pool_pages){ .base = base, .size = size };
	pp->page = (size_t)sysconf(_SC_PAGESIZE);
	pp->pagemap = open("/proc/self/pagemap", O_RDONLY);
	return pp->pagemap < 0 ? fail("/proc/self/pagemap") : 0;
}

/* The frame of each of @n pages from @addr (0: not present); -1 if unreadable. */
static int read_pfns(const struct pool_pages *pp, const void *addr, size_t n, uint64_t *out)
{
	off_t off = (off_t)((uintptr_t)addr / pp->page * 8);
	size_t want = n * 8, got = 0;

	while (got < want) {
		ssize_t r = pread(pp->pagemap, (uint8_t *)out + got, want - got, off + (off_t)got);

		if (r <= 0)
			return r ? fail("reading /proc/self/pagemap") : -1;
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = out[i] >> 63 ? out[i] & ((1ull << 55) - 1) : 0;
	return 0;
}

uint64_t pool_pages_pfn(const struct pool_pages *pp, const void *addr)
{
	uint64_t pfn = 0;

	return read_pfns(pp, addr, 1, &pfn) ? 0 : pfn;
}

bool pool_pages_in_pool(const struct pool_pages *pp, uint64_t pfn)
{
	uint64_t pa = pfn * pp->page;

	return pfn && pa >= pp->base && pa - pp->base < pp->size;
}

bool pool_pages_holds(const struct pool_pages *pp, const void *addr)
{
	return pool_pages_in_pool(pp, pool_pages_pfn(pp, addr));
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

static int hunt_reserve(struct pool_pages *pp)
{
	struct sysinfo si;

	if (sysinfo(&si))
		return fail("sysinfo");
	pp->pages = (size_t)((uint64_t)si.totalram * si.mem_unit / pp->page);
	pp->region = mmap(NULL, pp->pages * pp->page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pp->region == MAP_FAILED)
		return fail("reserving memory");
	/* 4 KiB pages: a transparent huge page would be held or freed whole */
	madvise(pp->region, pp->pages * pp->page, MADV_NOHUGEPAGE);
	pp->pfn = calloc(pp->pages, sizeof(*pp->pfn));
	pp->kind = calloc(pp->pages, 1);
	if (!pp->pfn || !pp->kind)
		return fail("calloc");
	return 0;
}

int pool_pages_hunt(struct pool_pages *pp, uint64_t hold)
{
	size_t step = HUNT_STEP / pp->page, want = hold / pp->page, held = 0;

	if (hunt_reserve(pp))
		return -1;
	while (held < want && pp->touched + step <= pp->pages && mem_available() > HUNT_FLOOR) {
		uint8_t *at = pp->region + pp->touched * pp->page;

		for (size_t i = 0; i < step; i++)
			at[i * pp->page] = 1;
		if (read_pfns(pp, at, step, pp->pfn + pp->touched))
			return -1;
		for (size_t i = pp->touched; i < pp->touched + step && held < want; i++)
			if (pool_pages_in_pool(pp, pp->pfn[i])) {
				pp->kind[i] = HELD;
				held++;
			}
		pp->touched += step;
	}
	if (!held) {
		fprintf(stderr, "cma-load: no page of [0x%llx, +0x%llx) among %zu touched%s\n",
			(unsigned long long)pp->base, (unsigned long long)pp->size, pp->touched,
			pp->touched && !pp->pfn[0] ? " (pagemap shows no frames: run as root)"
						   : "");
		return -1;
	}
	return 0;
}

void *pool_pages_outside(struct pool_pages *pp, size_t n)
{
	uint8_t *dst = mmap(NULL, n * pp->page, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	size_t j = 0;

	if (dst == MAP_FAILED)
		return fail_null("mmap");
	for (size_t k = 0; k < n; k++, j++) {
		while (j < pp->touched && (pp->kind[j] != FREE_LATER || !pp->pfn[j] ||
					   pool_pages_in_pool(pp, pp->pfn[j])))
			j++;
		if (j == pp->touched) {
			fprintf(stderr, "cma-load: too few pages outside the pool\n");
			return NULL;
		}
		if (mremap(pp->region + j * pp->page, pp->page, pp->page,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst + k * pp->page) == MAP_FAILED)
			return fail_null("mremap");
		pp->kind[j] = TAKEN;
	}
	if (mlock(dst, n * pp->page))
		return fail_null("mlock");
	return dst;
}

/* Lock what is present, between the holes the taken pages left; the freed
 * pages stay free (nothing touches them again). */
static int lock_held(struct pool_pages *pp)
{
	for (size_t i = 0, start; i < pp->touched; i++) {
		for (start = i; i < pp->touched && pp->kind[i] != TAKEN; i++)
			;
		if (i > start && syscall(SYS_mlock2, pp->region + start * pp->page,
					 (i - start) * pp->page, MLOCK_ONFAULT))
			return fail("mlock2");
	}
	return 0;
}

int pool_pages_keep(struct pool_pages *pp, uint64_t ***pages, size_t *n)
{
	size_t i = 0, start;
	int r;

	*n = 0;
	*pages = calloc(pp->touched, sizeof(**pages));
	if (!*pages)
		return fail("calloc");
	while (i < pp->touched) {
		for (start = i; i < pp->touched && pp->kind[i] == FREE_LATER; i++)
			;
		if (i > start)
			madvise(pp->region + start * pp->page, (i - start) * pp->page,
				MADV_DONTNEED);
		for (; i < pp->touched && pp->kind[i] == HELD; i++)
			(*pages)[(*n)++] = (uint64_t *)(pp->region + i * pp->page);
		if (i < pp->touched && pp->kind[i] == TAKEN)
			i++;
	}
	r = lock_held(pp);
	free(pp->pfn);
	free(pp->kind);
	pp->pfn = NULL;
	pp->kind = NULL;
	return r;
}
