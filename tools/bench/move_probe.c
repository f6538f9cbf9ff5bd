// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-bench move-probe N [nowp|view]: what one live pageblock move costs the host
 * kernel, with no guest and no KVM. The same calls as the CMA engine's
 * live migration of a pageblock on guest RAM's memfd (cma/move.c,
 * cma/uffd.c), on N 2 MiB blocks of a memfd mapping asked for as
 * transparent huge pages (as guest RAM is): a new memfd populated where
 * the old block holds data; then, timed, what a writer of the block waits
 * for: userfaultfd register and write-protect, the copy in 256 KiB chunks
 * (looking for waiting writers between them), the new memfd mapped over
 * the block, the wake. One line per step, the median and the longest in
 * microseconds (`cmavm-bench memcpy 2` is the copy alone). With "nowp",
 * the same move without userfaultfd (the pausing path's copy); with
 * "view", write-protected but copied from a mapping of the old backing of
 * its own, which is not write-protected:
 *
 *   move-probe register_us 12.0 40.1
 *   ...
 *   move-probe protected_us 1450.2 2210.9   (register to wake)
 */
#include "tools/bench/move_probe.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (2ull << 20)
#define CHUNK (256u << 10)

#define MAX_BLOCKS 64

enum step { REGISTER, PROTECT, COPY, REMAP, WAKE, PROTECTED, NSTEPS };
static const char *const step_names[NSTEPS] = { "register", "writeprotect", "copy",
						"remap",    "wake",	    "protected" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "move-probe: %s: %s\n", what, strerror(errno));
	return -1;
}

static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return fail("userfaultfd");
	if (ioctl(fd, UFFDIO_API, &api) || !(api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		fprintf(stderr, "move-probe: no userfaultfd write-protect for shmem here\n");
		close(fd);
		return -1;
	}
	return fd;
}

/* A memfd of @len bytes mapped at @at (or anywhere), asked for as huge pages. */
static uint8_t *map_memfd(int *fd, uint64_t len, uint8_t *at)
{
	uint8_t *p;

	*fd = memfd_create("move-probe", MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, (off_t)len)) {
		fail("memfd");
		return NULL;
	}
	p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), *fd, 0);
	if (p == MAP_FAILED) {
		fail("mmap");
		return NULL;
	}
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* Guest RAM's stand-in: @n blocks, 2 MiB aligned, every page written. */
static uint8_t *ram(int *fd, size_t n)
{
	uint8_t *area = mmap(NULL, (n + 1) * BLOCK, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *at = (uint8_t *)(((uintptr_t)area + BLOCK - 1) & ~(BLOCK - 1));

	if (area == MAP_FAILED || !map_memfd(fd, n * BLOCK, at))
		return NULL;
	memset(at, 0x5a, n * BLOCK);
	return at;
}

static void wp(int uffd, uint8_t *p, uint64_t mode)
{
	struct uffdio_writeprotect w = { .range = { (uintptr_t)p, BLOCK }, .mode = mode };

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w))
		fail("UFFDIO_WRITEPROTECT");
}

/*
 * One move of the block at @p (offset @off of @memfd), write-protected if
 * @uffd >= 0, copied from @p or, if @from_view, from a mapping of its own
 * of the old backing; @t gets each step's ns.
 */
static int move_one(int uffd, int memfd, uint8_t *p, uint64_t off, bool from_view,
		    uint64_t t[NSTEPS])
{
	struct uffdio_register reg = { .range = { (uintptr_t)p, BLOCK },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_range r = { (uintptr_t)p, BLOCK };
	struct uffd_msg msg;
	uint64_t s[NSTEPS];
	int fd;
	uint8_t *view = map_memfd(&fd, BLOCK, NULL), *src = p;

	if (!view || madvise(view, BLOCK, MADV_POPULATE_WRITE))
		return fail("populating the new backing");
	if (from_view)
		src = mmap(NULL, BLOCK, PROT_READ, MAP_SHARED, memfd, (off_t)off);
	if (src == MAP_FAILED)
		return fail("mapping the old backing");
	s[REGISTER] = now_ns();
	if (uffd >= 0 && ioctl(uffd, UFFDIO_REGISTER, &reg))
		return fail("UFFDIO_REGISTER");
	s[PROTECT] = now_ns();
	if (uffd >= 0)
		wp(uffd, p, UFFDIO_WRITEPROTECT_MODE_WP);
	s[COPY] = now_ns();
	for (uint64_t done = 0; done < BLOCK; done += CHUNK) {
		memcpy(view + done, src + done, CHUNK);
		while (uffd >= 0 && read(uffd, &msg, sizeof(msg)) == sizeof(msg))
			;
	}
	s[REMAP] = now_ns();
	if (mmap(p, BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		return fail("mmap over");
	madvise(p, BLOCK, MADV_HUGEPAGE);
	s[WAKE] = now_ns();
	if (uffd >= 0)
		ioctl(uffd, UFFDIO_WAKE, &r);
	s[PROTECTED] = now_ns();
	for (int i = REGISTER; i < PROTECTED; i++)
		t[i] = s[i + 1] - s[i];
	t[PROTECTED] = s[PROTECTED] - s[REGISTER];
	munmap(view, BLOCK);
	if (from_view)
		munmap(src, BLOCK);
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int move_probe_main(unsigned int n, enum move_probe_mode mode)
{
	bool protect = mode != MOVE_PROBE_NOWP;
	static uint64_t t[MAX_BLOCKS][NSTEPS];
	uint64_t v[MAX_BLOCKS];
	int memfd, uffd;
	uint8_t *p;

	if (!n || n > MAX_BLOCKS) {
		fprintf(stderr, "move-probe: 1 to %d blocks\n", MAX_BLOCKS);
		return 2;
	}
	uffd = protect ? uffd_open() : -1;
	p = ram(&memfd, n);
	if ((protect && uffd < 0) || !p)
		return 1;
	for (unsigned int b = 0; b < n; b++)
		if (move_one(uffd, memfd, p + b * BLOCK, b * BLOCK, mode == MOVE_PROBE_VIEW, t[b]))
			return 1;
	for (int i = 0; i < NSTEPS; i++) {
		for (unsigned int b = 0; b < n; b++)
			v[b] = t[b][i];
		qsort(v, n, sizeof(v[0]), cmp_u64);
		printf("move-probe %s_us %.1f %.1f\n", step_names[i], v[n / 2] / 1e3,
		       v[n - 1] / 1e3);
	}
	return 0;
}
