// SPDX-License-Identifier: GPL-2.0-only
/*
 * A region for device buffers (cma/region.c): placement on pretend 64 KiB
 * pages of an ordinary memfd (cma_region_create_on), what creation makes
 * (seals, populated pages, the messages of a host short of huge pages),
 * measuring contiguity from /proc/self/pagemap, exporting a udmabuf.
 * Huge pages are used only where the host has them free; nothing here
 * changes the host's huge page pools.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cma/region.h"

#define KiB  (1ULL << 10)
#define MiB  (1ULL << 20)
#define GiB  (1ULL << 30)
#define PAGE (4 * KiB)
#define PG   (64 * KiB) /* the pretend page of placement tests */

static char err[512];

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int sealable_memfd(uint64_t size)
{
	int fd = memfd_create("test-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A region of @size on an ordinary memfd, placing on @page pages; its file in *@file. */
static struct cma_region *fake_region(uint64_t size, uint64_t page, int *file)
{
	int fd = sealable_memfd(size);
	struct cma_region *r;

	if (file)
		*file = dup(fd);
	r = cma_region_create_on("test", fd, page, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(cma_region_size(r), size);
	assert_int_equal(cma_region_page_size(r), page);
	return r;
}

static uint64_t alloc_ok(struct cma_region *r, uint64_t len)
{
	uint64_t off = UINT64_MAX;

	assert_int_equal(cma_region_alloc(r, len, &off), 0);
	assert_true(off < cma_region_size(r));
	return off;
}

/* The file behind the mapping at @p, opened through /proc/self/map_files (root). */
static int mapped_file(const void *p)
{
	char line[512], path[128];
	unsigned long lo, hi;
	FILE *f = fopen("/proc/self/maps", "r");
	int fd = -1;

	assert_non_null(f);
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || (uintptr_t)p < lo ||
		    (uintptr_t)p >= hi)
			continue;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", lo, hi);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	fclose(f);
	return fd;
}

/* A count of the host's huge pages of @page bytes (/sys/kernel/mm/hugepages); 0 if none. */
static uint64_t huge_stat(uint64_t page, const char *what)
{
	char path[128];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
		 (unsigned long long)(page >> 10), what);
	f = fopen(path, "r");
	if (f && fscanf(f, "%llu", &n) != 1)
		n = 0;
	if (f)
		fclose(f);
	return n;
}

/* Free huge pages of @page bytes, less those reserved. */
static uint64_t free_huge_pages(uint64_t page)
{
	uint64_t free = huge_stat(page, "free_hugepages"), resv = huge_stat(page, "resv_hugepages");

	return free > resv ? free - resv : 0;
}

static bool within_one_page(uint64_t off, uint64_t len, uint64_t page)
{
	return off / page == (off + len - 1) / page;
}

static void test_backing_names(void **state)
{
	enum cma_region_backing b = CMA_REGION_MEMFD;

	(void)state;
	assert_string_equal(cma_region_backing_name(CMA_REGION_HUGE), "huge");
	assert_string_equal(cma_region_backing_name(CMA_REGION_CONTIGUOUS), "contiguous");
	assert_string_equal(cma_region_backing_name(CMA_REGION_MEMFD), "memfd");
	for (int i = CMA_REGION_HUGE; i <= CMA_REGION_MEMFD; i++) {
		assert_int_equal(cma_region_backing_parse(cma_region_backing_name(i), &b), 0);
		assert_int_equal(b, i);
	}
	assert_int_equal(cma_region_backing_parse("hugetlb", &b), -1);
	assert_int_equal(cma_region_backing_parse("", &b), -1);
	assert_int_equal(b, CMA_REGION_MEMFD); /* untouched */
}

/* What fits in one page stays in one page, the lowest place first. */
static void test_fits_within_page(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);
	uint64_t a, b, c, d;

	(void)state;
	a = alloc_ok(r, 16 * KiB);
	b = alloc_ok(r, 48 * KiB);
	c = alloc_ok(r, 8 * KiB);
	d = alloc_ok(r, 60 * KiB);
	assert_int_equal(a, 0);
	assert_int_equal(b, 16 * KiB); /* the rest of page 0 exactly */
	assert_int_equal(c, PG);       /* page 0 is full */
	/* at 72 KiB it would cross into page 2: page 2 it is */
	assert_int_equal(d, 2 * PG);
	assert_true(within_one_page(d, 60 * KiB, PG));
	/* a page exactly, and one byte that rounds to 4 KiB into the hole in page 1 */
	assert_int_equal(alloc_ok(r, PG), 3 * PG);
	assert_int_equal(alloc_ok(r, 1), PG + 8 * KiB);
	cma_region_destroy(r);
}

/* Longer than a page: from a page boundary, over consecutive pages. */
static void test_larger_starts_at_boundary(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);

	(void)state;
	assert_int_equal(alloc_ok(r, 4 * KiB), 0);
	assert_int_equal(alloc_ok(r, 100 * KiB), PG); /* not at 4 KiB */
	assert_int_equal(alloc_ok(r, 4 * KiB), 4 * KiB);
	/* the first boundary after 164 KiB */
	assert_int_equal(alloc_ok(r, PG + 4 * KiB), 3 * PG);
	/* small ones fill page 0 and the rest of page 2 before page 5 */
	assert_int_equal(alloc_ok(r, 56 * KiB), 8 * KiB);
	assert_int_equal(alloc_ok(r, 28 * KiB), PG + 100 * KiB);
	assert_int_equal(alloc_ok(r, 8 * KiB), 3 * PG + PG + 4 * KiB);
	/* the whole rest: 11 pages from page 5 */
	assert_int_equal(alloc_ok(r, 11 * PG), 5 * PG);
	cma_region_destroy(r);
}

/* Full, holes, first fit into the holes, nothing where nothing fits. */
static void test_holes_and_full(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);
	uint64_t off = 12345;

	(void)state;
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(alloc_ok(r, PG), i * PG);
	assert_int_equal(cma_region_alloc(r, PAGE, &off), -ENOSPC);
	assert_int_equal(off, 12345); /* untouched */
	cma_region_free(r, 7 * PG);
	cma_region_free(r, 3 * PG);
	cma_region_free(r, 4 * PG);
	assert_int_equal(cma_region_used(r), 13 * PG);
	/* two free pages in a row (3, 4), but 100 KiB must start at a boundary: 3 */
	assert_int_equal(alloc_ok(r, 100 * KiB), 3 * PG);
	/* the rest of page 4 (28 KiB) fits 20 KiB; 40 KiB goes to page 7 */
	assert_int_equal(alloc_ok(r, 40 * KiB), 7 * PG);
	assert_int_equal(alloc_ok(r, 20 * KiB), 4 * PG + 36 * KiB);
	/* 8 KiB free at the end of page 4, 24 KiB at the end of page 7: not 2 pages */
	assert_int_equal(cma_region_alloc(r, 2 * PG, &off), -ENOSPC);
	assert_int_equal(cma_region_alloc(r, 28 * KiB, &off), -ENOSPC);
	assert_int_equal(alloc_ok(r, 24 * KiB), 7 * PG + 40 * KiB);
	assert_int_equal(alloc_ok(r, 8 * KiB), 4 * PG + 56 * KiB);
	assert_int_equal(cma_region_used(r), 1 * MiB);
	cma_region_destroy(r);
}

static void test_bad_lengths(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);
	uint64_t off = 777;

	(void)state;
	assert_int_equal(cma_region_alloc(r, 0, &off), -EINVAL);
	assert_int_equal(cma_region_alloc(r, 1 * MiB + 1, &off), -ENOSPC);
	assert_int_equal(cma_region_alloc(r, UINT64_MAX, &off), -ENOSPC);
	assert_int_equal(off, 777);
	assert_int_equal(cma_region_used(r), 0);
	assert_int_equal(alloc_ok(r, 1 * MiB), 0); /* the whole region is one allocation */
	cma_region_destroy(r);
}

/* Used bytes count whole 4 KiB pages; freeing what is not there changes nothing. */
static void test_used(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);
	uint64_t a, b;

	(void)state;
	assert_int_equal(cma_region_used(r), 0);
	a = alloc_ok(r, 1);
	assert_int_equal(cma_region_used(r), PAGE);
	b = alloc_ok(r, 70 * KiB);
	assert_int_equal(cma_region_used(r), PAGE + 72 * KiB);
	cma_region_free(r, a + PAGE); /* inside nothing's start */
	cma_region_free(r, b + PAGE);
	cma_region_free(r, 999 * MiB);
	assert_int_equal(cma_region_used(r), PAGE + 72 * KiB);
	cma_region_free(r, a);
	assert_int_equal(cma_region_used(r), 72 * KiB);
	cma_region_free(r, a); /* twice: nothing */
	assert_int_equal(cma_region_used(r), 72 * KiB);
	cma_region_free(r, b);
	assert_int_equal(cma_region_used(r), 0);
	cma_region_destroy(r);
}

/* A buffer handed out again reads as zeros, whatever the last one left. */
static void test_reuse_zeroed(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);
	uint8_t *base = cma_region_base(r);
	uint64_t a, b;

	(void)state;
	a = alloc_ok(r, 3 * PG);
	memset(base + a, 0xab, 3 * PG);
	memset(base + 3 * PG, 0xcd, PG); /* nobody's memory, scribbled on */
	cma_region_free(r, a);
	b = alloc_ok(r, 4 * PG);
	assert_int_equal(b, a);
	for (uint64_t i = 0; i < 4 * PG; i++)
		assert_int_equal(base[b + i], 0);
	cma_region_destroy(r);
}

/* At most CMA_REGION_MAX_ALLOCS at once, space or not. */
static void test_allocation_bound(void **state)
{
	uint64_t size = 2ULL * CMA_REGION_MAX_ALLOCS * PAGE, off;
	struct cma_region *r = fake_region(size, PG, NULL);

	(void)state;
	for (uint64_t i = 0; i < CMA_REGION_MAX_ALLOCS; i++)
		assert_int_equal(alloc_ok(r, PAGE), i * PAGE);
	assert_int_equal(cma_region_alloc(r, PAGE, &off), -ENOSPC);
	cma_region_free(r, 100 * PAGE);
	assert_int_equal(alloc_ok(r, PAGE), 100 * PAGE);
	cma_region_free(r, (CMA_REGION_MAX_ALLOCS - 1) * PAGE);
	/* the last slot, at the far end of the table; its old place would cross a page */
	assert_int_equal(alloc_ok(r, 2 * PAGE), CMA_REGION_MAX_ALLOCS * PAGE);
	assert_int_equal(cma_region_used(r), (CMA_REGION_MAX_ALLOCS + 1) * PAGE);
	cma_region_destroy(r);
}

static void assert_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	assert_true(seals >= 0);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_false(seals & F_SEAL_WRITE); /* udmabuf refuses it */
	assert_false(seals & F_SEAL_FUTURE_WRITE);
}

/* Sealed against shrinking and growing, populated, its files closed at the end. */
static void test_create_memfd(void **state)
{
	int fds = fd_count(), fd;
	struct cma_region *r =
		cma_region_create("test-memfd", CMA_REGION_MEMFD, 3 * MiB + 1, err, sizeof(err));
	unsigned char vec[4 * MiB / PAGE];
	uint8_t *base;

	(void)state;
	assert_non_null(r);
	base = cma_region_base(r);
	assert_int_equal(cma_region_size(r), 4 * MiB); /* rounded up to 2 MiB */
	assert_int_equal(cma_region_page_size(r), 2 * MiB);
	assert_int_equal(cma_region_backing(r), CMA_REGION_MEMFD);
	assert_int_equal((uintptr_t)base % (2 * MiB), 0);
	assert_int_equal(cma_region_used(r), 0);
	assert_int_equal(mincore(base, 4 * MiB, vec), 0);
	for (size_t i = 0; i < sizeof(vec); i++)
		assert_true(vec[i] & 1);

	fd = mapped_file(base);
	assert_true(fd >= 0);
	assert_sealed(fd);
	close(fd);
	cma_region_destroy(r);
	assert_int_equal(fd_count(), fds);
}

/* The seals hold: the file neither grows nor shrinks, and is still written. */
static void test_seals_hold(void **state)
{
	int fd;
	struct cma_region *r = fake_region(1 * MiB, PG, &fd);

	(void)state;
	assert_sealed(fd);
	assert_int_equal(ftruncate(fd, 2 * MiB), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, PG), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(pwrite(fd, "x", 1, 0), 1);
	assert_int_equal(cma_region_base(r)[0], 'x');
	close(fd);
	cma_region_destroy(r);
}

/* Refusals name the problem; the file handed to create_on() is closed all the same. */
static void test_create_refused(void **state)
{
	int fds = fd_count(), fd;

	(void)state;
	assert_null(cma_region_create("t", CMA_REGION_MEMFD, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "region t"));

	fd = sealable_memfd(PG + PAGE);
	assert_null(cma_region_create_on("t", fd, PG, err, sizeof(err)));
	assert_non_null(strstr(err, "not a multiple"));
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	fd = sealable_memfd(3 * PG);
	assert_null(cma_region_create_on("t", fd, 3 * PG, err, sizeof(err)));
	assert_non_null(strstr(err, "power of two"));

	fd = memfd_create("unsealable", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PG), 0);
	assert_null(cma_region_create_on("t", fd, PG, err, sizeof(err)));
	assert_non_null(strstr(err, "MFD_ALLOW_SEALING"));
	assert_int_equal(fd_count(), fds);
}

/* "(N missing)" in @msg: N. */
static uint64_t missing_in(const char *msg)
{
	const char *p = strstr(msg, " missing)");
	unsigned long long n = 0;

	assert_non_null(p);
	while (p > msg && p[-1] >= '0' && p[-1] <= '9')
		p--;
	assert_int_equal(sscanf(p, "%llu", &n), 1);
	return n;
}

/*
 * More huge pages than the host has free: refused before any is taken,
 * saying how many are missing and how to add them.
 */
static void test_short_of_huge_pages(void **state)
{
	uint64_t free2m = free_huge_pages(2 * MiB), free1g = free_huge_pages(GiB);
	uint64_t missing;

	(void)state;
	assert_null(cma_region_create("t", CMA_REGION_HUGE, (free2m + 1000) * 2 * MiB, err,
				      sizeof(err)));
	assert_non_null(strstr(err, "echo N > /proc/sys/vm/nr_hugepages"));
	assert_non_null(strstr(err, "N = "));
	missing = missing_in(err);
	/* others may take or give back pages meanwhile */
	assert_true(missing >= 900 && missing <= 1100);
	assert_null(strstr(err, "could not be populated")); /* refused before trying */

	assert_null(cma_region_create("t", CMA_REGION_CONTIGUOUS, (free1g + 1) * GiB, err,
				      sizeof(err)));
	assert_non_null(strstr(err, "hugepagesz=1G hugepages=N"));
	assert_true(missing_in(err) >= 1);
}

/* The test's own reading of pagemap: runs and the longest one, in pages; false if hidden. */
static bool pagemap_runs(const uint8_t *p, uint64_t pages, uint64_t *runs, uint64_t *longest,
			 uint64_t *first_pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e, prev = 0, run = 0;

	assert_true(fd >= 0);
	*runs = *longest = 0;
	for (uint64_t i = 0; i < pages; i++) {
		off_t at = (off_t)(((uintptr_t)p / PAGE + i) * 8);
		uint64_t pfn;

		assert_int_equal(pread(fd, &e, 8, at), 8);
		pfn = (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
		if (!pfn) {
			close(fd);
			return false;
		}
		if (!i)
			*first_pfn = pfn;
		run = run && pfn == prev + 1 ? run + 1 : 1;
		*runs += run == 1;
		*longest = run > *longest ? run : *longest;
		prev = pfn;
	}
	close(fd);
	return true;
}

/* What measure() says of [off, off + len) is what pagemap says. */
static void check_measure(struct cma_region *r, uint64_t off, uint64_t len,
			  struct cma_region_contiguity *c)
{
	uint64_t first = off / PAGE, pages = (off + len + PAGE - 1) / PAGE - first;
	uint64_t runs, longest, pfn = 0;
	bool visible;

	cma_region_measure(r, off, len, c);
	visible = pagemap_runs(cma_region_base(r) + first * PAGE, pages, &runs, &longest, &pfn);
	assert_int_equal(c->verified, visible);
	if (!visible) {
		assert_int_equal(c->largest_run, 0);
		assert_int_equal(c->runs, 0);
		assert_int_equal(c->host_phys, 0);
		return;
	}
	assert_int_equal(c->runs, runs);
	assert_int_equal(c->largest_run, longest * PAGE);
	assert_int_equal(c->host_phys, pfn * PAGE + off % PAGE);
	assert_true(c->runs >= 1 && c->largest_run <= pages * PAGE);
	if (c->runs == 1)
		assert_int_equal(c->largest_run, pages * PAGE);
}

/* An ordinary memfd: whatever its pages are, measure() tells the truth. */
static void test_measure_memfd(void **state)
{
	struct cma_region *r =
		cma_region_create("test-measure", CMA_REGION_MEMFD, 4 * MiB, err, sizeof(err));
	struct cma_region_contiguity c;

	(void)state;
	assert_non_null(r);
	check_measure(r, 0, 4 * MiB, &c); /* more than one read of 512 frames */
	if (geteuid() == 0)
		assert_true(c.verified);
	check_measure(r, 2 * MiB, 2 * MiB, &c);
	check_measure(r, PAGE + 100, 10, &c); /* one page, from its 100th byte */
	if (c.verified) {
		assert_int_equal(c.runs, 1);
		assert_int_equal(c.largest_run, PAGE);
		assert_int_equal(c.host_phys % PAGE, 100);
	}
	check_measure(r, 3 * PAGE - 1, 2, &c); /* two pages */
	/* nothing, or outside the region: not verified */
	cma_region_measure(r, 0, 0, &c);
	assert_false(c.verified);
	cma_region_measure(r, 4 * MiB - PAGE, 2 * PAGE, &c);
	assert_false(c.verified);
	assert_int_equal(c.runs, 0);
	cma_region_destroy(r);
}

/* 2 MiB huge pages, where the host has two free: each page is one physical run. */
static void test_measure_huge(void **state)
{
	struct cma_region *r;
	struct cma_region_contiguity c;
	uint64_t a, b;
	int fd;

	(void)state;
	if (free_huge_pages(2 * MiB) < 2)
		skip();
	r = cma_region_create("test-huge", CMA_REGION_HUGE, 3 * MiB, err, sizeof(err));
	if (!r && strstr(err, "huge pages")) /* others took them meanwhile */
		skip();
	assert_non_null(r);
	assert_int_equal(cma_region_size(r), 4 * MiB);
	assert_int_equal(cma_region_backing(r), CMA_REGION_HUGE);
	fd = mapped_file(cma_region_base(r));
	assert_true(fd >= 0);
	assert_sealed(fd);
	close(fd);

	a = alloc_ok(r, 1 * MiB);
	b = alloc_ok(r, 1536 * KiB); /* does not fit beside a: the second page */
	assert_int_equal(a, 0);
	assert_int_equal(b, 2 * MiB);
	for (uint64_t off = 0; off < 4 * MiB; off += 2 * MiB) {
		check_measure(r, off, 2 * MiB, &c);
		if (geteuid() == 0) {
			assert_true(c.verified);
			assert_int_equal(c.runs, 1);
			assert_int_equal(c.largest_run, 2 * MiB);
			assert_int_equal(c.host_phys % (2 * MiB), 0);
		}
	}
	check_measure(r, 0, 4 * MiB, &c); /* two pages, adjacent or not */
	if (c.verified)
		assert_true(c.runs <= 2 && c.largest_run >= 2 * MiB);
	cma_region_destroy(r);
}

/* A range that is no page-aligned part of the region: refused, whatever the host. */
static void test_export_bad_range(void **state)
{
	struct cma_region *r = fake_region(1 * MiB, PG, NULL);

	(void)state;
	assert_int_equal(cma_region_export(r, 100, PAGE, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "4 KiB aligned"));
	assert_int_equal(cma_region_export(r, 0, 100, err, sizeof(err)), -1);
	assert_int_equal(cma_region_export(r, 0, 0, err, sizeof(err)), -1);
	assert_int_equal(cma_region_export(r, 1 * MiB - PAGE, 2 * PAGE, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "inside the region"));
	cma_region_destroy(r);
}

/* The dma-buf shows the region's bytes, both ways. */
static void check_dmabuf(struct cma_region *r, uint64_t off, uint64_t len)
{
	uint8_t *base = cma_region_base(r), *view;
	int fd;

	for (uint64_t i = 0; i < len; i++)
		base[off + i] = (uint8_t)(i * 7 + 3);
	fd = cma_region_export(r, off, len, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(view != MAP_FAILED);
	assert_memory_equal(view, base + off, len);
	view[len - 1] ^= 0xff;
	assert_int_equal(base[off + len - 1], view[len - 1]);
	munmap(view, len);
	close(fd);
}

/* With /dev/udmabuf: a working dma-buf; without: an error that names udmabuf. */
static void test_export(void **state)
{
	struct cma_region *r =
		cma_region_create("test-export", CMA_REGION_MEMFD, 4 * MiB, err, sizeof(err));
	bool have = access("/dev/udmabuf", F_OK) == 0;
	uint64_t off;

	(void)state;
	assert_non_null(r);
	off = alloc_ok(r, 3 * MiB);
	if (have) {
		assert_string_equal(cma_region_export_why(r), "");
		check_dmabuf(r, off, 3 * MiB);
		check_dmabuf(r, off + PAGE, 16 * PAGE);
	} else {
		assert_non_null(strstr(cma_region_export_why(r), "no /dev/udmabuf"));
		assert_non_null(strstr(cma_region_export_why(r), "CONFIG_UDMABUF"));
		err[0] = '\0';
		assert_int_equal(cma_region_export(r, off, 3 * MiB, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "udmabuf"));
		assert_string_equal(err, cma_region_export_why(r));
	}
	cma_region_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backing_names),
		cmocka_unit_test(test_fits_within_page),
		cmocka_unit_test(test_larger_starts_at_boundary),
		cmocka_unit_test(test_holes_and_full),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_used),
		cmocka_unit_test(test_reuse_zeroed),
		cmocka_unit_test(test_allocation_bound),
		cmocka_unit_test(test_create_memfd),
		cmocka_unit_test(test_seals_hold),
		cmocka_unit_test(test_create_refused),
		cmocka_unit_test(test_short_of_huge_pages),
		cmocka_unit_test(test_measure_memfd),
		cmocka_unit_test(test_measure_huge),
		cmocka_unit_test(test_export_bad_range),
		cmocka_unit_test(test_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
