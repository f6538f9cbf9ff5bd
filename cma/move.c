// SPDX-License-Identifier: GPL-2.0-only
/*
 * Moving guest memory. A move always goes: get the new backing and fault it
 * in (the guest still runs), pause the guest, copy, map the new backing over
 * the old at the same host address (KVM sees the change through its MMU
 * notifier and faults the new pages in), resume, free the old backing.
 * Until the map step the old backing is untouched, so every failure can put
 * the old mapping back with nothing lost.
 */
#include "cma/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/memfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- pausing ---- */

int pause_guest(struct cma_engine *e, uint64_t *t0)
{
	int r;

	*t0 = now_ns();
	if (e->guest_stopped)
		return 0; /* nothing runs that could see the move */
	r = e->hooks.pause ? e->hooks.pause(e->hooks.opaque) : 0;
	if (r)
		return cma_conflict(e, "could not pause the guest: %s", strerror(-r));
	*t0 = now_ns();
	return 0;
}

void resume_guest(struct cma_engine *e, uint64_t t0)
{
	uint64_t dt = now_ns() - t0;

	if (e->guest_stopped)
		return;
	if (e->hooks.resume)
		e->hooks.resume(e->hooks.opaque);
	hist_add(e->stats.pause_hist, dt);
	e->stats.pauses++;
	e->stats.pause_ns_total += dt;
	e->stats.pause_ns_last = dt;
	if (dt > e->stats.pause_ns_max)
		e->stats.pause_ns_max = dt;
	if (dt > e->op_pause_ns_max)
		e->op_pause_ns_max = dt;
}

/* ---- backings ---- */

/*
 * MAP_POPULATE: the pages exist already (just copied into); mapping them
 * now spares the guest the faults and lets pagemap see them at once.
 */
int map_over(uint8_t *host, uint64_t len, int fd, uint64_t off)
{
	void *p = mmap(host, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
		       (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM asks for transparent huge pages (guest_ram.c): keep asking. */
	madvise(host, len, MADV_HUGEPAGE);
	return 0;
}

const char *no_memory_hint(uint64_t page_size)
{
	if (page_size == GIGANTIC)
		return "the host has no free 1 GiB huge page: boot it with hugepagesz=1G "
		       "hugepages=N (see HugePages_Free in /proc/meminfo)";
	if (page_size == CMA_PAGEBLOCK)
		return "the host has too few free 2 MiB huge pages: echo N > "
		       "/proc/sys/vm/nr_hugepages (see HugePages_Free in /proc/meminfo)";
	return "the host is out of memory";
}

void punch(int fd, uint64_t off, uint64_t len)
{
	if (fd >= 0)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

int memfd_sized(const char *name, unsigned int flags, uint64_t size)
{
	int fd = memfd_create(name, flags), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int alloc_backing(struct cma_engine *e, uint64_t size, uint64_t page_size)
{
	unsigned int flags =
		MFD_CLOEXEC | MFD_HUGETLB | (page_size == GIGANTIC ? MFD_HUGE_1GB : MFD_HUGE_2MB);

	if (e->hooks.alloc_backing)
		return e->hooks.alloc_backing(e->hooks.opaque, size, page_size);
	return memfd_sized("cmavm-window", flags, size);
}

/*
 * What mmap() maps for @len bytes of @fd: whole huge pages of a hugetlb file
 * (its st_blksize is the huge page size), just @len of an ordinary memfd (as
 * tests give), where unmapping more would unmap the neighbours.
 */
static uint64_t mapped_len(int fd, uint64_t len)
{
	struct stat st;
	uint64_t page = fstat(fd, &st) || st.st_blksize <= 0 ? CMA_PAGE : (uint64_t)st.st_blksize;

	return (len + page - 1) & ~(page - 1);
}

/* Did a failed MAP_FIXED leave the old mapping in place? (ENOMEM can come first.) */
static bool still_mapped(uint8_t *host)
{
	unsigned char v;

	return !mincore(host, CMA_PAGE, &v) || errno != ENOMEM;
}

/*
 * Map @len bytes of @to and fault them all in while the guest still runs:
 * a host short of memory (or of huge pages in a cgroup) says so here, with
 * an error, not as SIGBUS or the OOM killer inside the pause.
 */
static uint8_t *populated_view(struct cma_engine *e, size_t b, uint64_t len,
			       const struct backing *to, uint64_t mapped)
{
	uint8_t *view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, to->fd, (off_t)to->off);

	if (view == MAP_FAILED) {
		cma_fail(e, "new backing for 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
			 strerror(errno), no_memory_hint(to->page_size));
		return NULL;
	}
	if (madvise(view, len, MADV_POPULATE_WRITE)) {
		cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
			 strerror(errno), no_memory_hint(to->page_size));
		munmap(view, mapped);
		return NULL;
	}
	return view;
}

/*
 * Move [host, host + len), now mapped from @from, onto @to, contents and
 * all. @b is the first block, for fault injection and messages.
 */
int move_range(struct cma_engine *e, size_t b, uint8_t *host, uint64_t len,
	       const struct backing *from, const struct backing *to)
{
	/* A hugetlb mapping is whole pages: unmap what mmap() really mapped. */
	uint64_t mapped = mapped_len(to->fd, len);
	uint8_t *view;
	uint64_t t0;
	int r;

	if ((r = injected(e, CMA_STEP_ALLOC, b)))
		return cma_fail(e, "getting new backing for 0x%" PRIx64 ": %s", e->blocks[b].gpa,
				strerror(-r));
	view = populated_view(e, b, len, to, mapped);
	if (!view)
		goto err_punch;
	if ((r = injected(e, CMA_STEP_POPULATE, b))) {
		munmap(view, mapped);
		cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s", e->blocks[b].gpa,
			 strerror(-r));
		goto err_punch;
	}
	if (pause_guest(e, &t0)) {
		munmap(view, mapped);
		goto err_punch;
	}
	r = injected(e, CMA_STEP_COPY, b);
	if (!r) {
		memcpy(view, host, len);
		r = injected(e, CMA_STEP_REMAP, b);
	}
	if (!r)
		r = map_over(host, len, to->fd, to->off);
	/* The old backing is intact; if it cannot be mapped back, nothing sane is left. */
	if (r && !still_mapped(host) && map_over(host, len, from->fd, from->off))
		abort();
	resume_guest(e, t0);
	munmap(view, mapped);
	if (!r)
		return 0;
	cma_fail(e, "moving 0x%" PRIx64 " onto new backing: %s (rolled back)", e->blocks[b].gpa,
		 strerror(-r));
err_punch:
	punch(to->fd, to->off, len); /* what the view populated is nobody's */
	return -1;
}

/* Block @b onto 2 MiB page @off of @fd; its old backing is freed. */
int block_to_huge(struct cma_engine *e, size_t b, int fd, uint64_t off, bool own)
{
	struct backing from = block_backing(e, b), to = { fd, off, CMA_PAGEBLOCK };

	if (move_range(e, b, block_host(e, b), CMA_PAGEBLOCK, &from, &to))
		return -1;
	punch(from.fd, from.off, CMA_PAGEBLOCK);
	block_set_backing(e, b, CMA_BACKING_HUGE, fd, off, own);
	return 0;
}

/* Block @b back onto guest RAM's memfd; its huge page is freed. */
int block_to_memfd(struct cma_engine *e, size_t b)
{
	struct backing from = block_backing(e, b), to = memfd_backing(e, b);

	if (e->blocks[b].backing == CMA_BACKING_MEMFD)
		return 0;
	if (move_range(e, b, block_host(e, b), CMA_PAGEBLOCK, &from, &to))
		return -1;
	punch(from.fd, from.off, CMA_PAGEBLOCK);
	block_set_backing(e, b, CMA_BACKING_MEMFD, -1, 0, false);
	return 0;
}

/* ---- migrating one pageblock ---- */

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[CMA_PAGE];

	return !memcmp(p, zero, CMA_PAGE);
}

/*
 * Into the punched block: every page that was resident or is not all
 * zeroes (mincore() misses pages swapped out; a hole reads as zeroes). By
 * pwrite() in runs, which allocates the new pages without a page fault
 * each, then through the mapping if pwrite() falls short.
 */
static void write_back(struct cma_engine *e, size_t b, const uint8_t *copy,
		       const unsigned char *vec)
{
	uint8_t *host = block_host(e, b);
	uint64_t off = block_memfd_off(e, b);

	for (size_t i = 0; i < PAGES_PER_BLOCK;) {
		size_t n = 0;

		while (i + n < PAGES_PER_BLOCK &&
		       ((vec[i + n] & 1) || !page_is_zero(copy + (i + n) * CMA_PAGE)))
			n++;
		if (n && pwrite(e->memfd, copy + i * CMA_PAGE, n * CMA_PAGE,
				(off_t)(off + i * CMA_PAGE)) != (ssize_t)(n * CMA_PAGE))
			memcpy(host + i * CMA_PAGE, copy + i * CMA_PAGE, n * CMA_PAGE);
		i += n ? n : 1;
	}
}

/* New memfd pages for a memfd-backed block: copy out, punch, write back what was there. */
static int migrate_memfd_block(struct cma_engine *e, size_t b)
{
	uint8_t *host = block_host(e, b), *copy = malloc(CMA_PAGEBLOCK);
	unsigned char vec[PAGES_PER_BLOCK];
	bool locked = e->blocks[b].locked;
	uint64_t t0;
	int r;

	if (!copy)
		return cma_fail(e, "out of memory");
	if (pause_guest(e, &t0)) {
		free(copy);
		return -1;
	}
	/* Measured paused: a page the guest wrote just before the pause must not be dropped. */
	if (mincore(host, CMA_PAGEBLOCK, vec)) {
		r = errno;
		resume_guest(e, t0);
		free(copy);
		return cma_fail(e, "mincore: %s", strerror(r));
	}
	memcpy(copy, host, CMA_PAGEBLOCK);
	if ((r = injected(e, CMA_STEP_REMAP, b))) {
		resume_guest(e, t0);
		free(copy);
		return cma_fail(e, "migrating 0x%" PRIx64 ": %s", e->blocks[b].gpa, strerror(-r));
	}
	if (locked)
		munlock(host, CMA_PAGEBLOCK);
	punch(e->memfd, block_memfd_off(e, b), CMA_PAGEBLOCK);
	write_back(e, b, copy, vec);
	if (locked)
		mlock(host, CMA_PAGEBLOCK);
	resume_guest(e, t0);
	free(copy);
	return 0;
}

/* A huge block onto a 2 MiB page of its own. */
static int migrate_huge_block(struct cma_engine *e, size_t b)
{
	int fd = alloc_backing(e, CMA_PAGEBLOCK, CMA_PAGEBLOCK);

	if (fd < 0)
		return cma_fail(e, "a new huge page: %s; %s", strerror(-fd),
				no_memory_hint(CMA_PAGEBLOCK));
	if (block_to_huge(e, b, fd, 0, true)) {
		close(fd);
		return -1;
	}
	return 0;
}

int cma_migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns)
{
	int b = find_block(e, gpa), r;

	if (b < 0)
		return cma_fail_as(e, CMA_ERR_NOT_FOUND, "0x%" PRIx64 " is not in a pool", gpa);
	switch (e->blocks[b].backing) {
	case CMA_BACKING_GIGANTIC:
		return cma_fail(
			e, "0x%" PRIx64 " is on a 1 GiB page; it moves only with its window", gpa);
	case CMA_BACKING_HUGE:
		r = migrate_huge_block(e, (size_t)b);
		break;
	default:
		r = migrate_memfd_block(e, (size_t)b);
		break;
	}
	if (r)
		return -1;
	e->stats.migrations++;
	if (pause_ns)
		*pause_ns = e->stats.pause_ns_last;
	return 0;
}
