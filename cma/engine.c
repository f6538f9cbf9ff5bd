// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host CMA engine. A move of guest memory always goes: get the new
 * backing and fault it in (the guest still runs), pause the guest, copy,
 * map the new backing over the old at the same host address (KVM sees the
 * change through its MMU notifier and faults the new pages in), resume,
 * free the old backing. Until the map step the old backing is untouched,
 * so every failure can put the old mapping back with nothing lost.
 */
#include "cma/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/memfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGES_PER_BLOCK (CMA_PAGEBLOCK / CMA_PAGE)
#define GIGANTIC	(1ULL << 30)

static int fail(struct cma_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct cma_engine *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	va_end(ap);
	e->error_kind = CMA_ERR_HOST;
	return -1;
}

/* fail(), for another kind of failure than the host's (enum cma_error). */
#define fail_as(e, kind, ...) (fail(e, __VA_ARGS__), (e)->error_kind = (kind), -1)
#define conflict(e, ...)      fail_as(e, CMA_ERR_CONFLICT, __VA_ARGS__)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint8_t *block_host(const struct cma_engine *e, size_t b)
{
	return e->host + (e->blocks[b].gpa - e->gpa);
}

static uint64_t block_memfd_off(const struct cma_engine *e, size_t b)
{
	return e->blocks[b].gpa - e->gpa;
}

static int injected(struct cma_engine *e, enum cma_step step, size_t b)
{
	return e->hooks.inject ? e->hooks.inject(e->hooks.opaque, step, b) : 0;
}

/* ---- names ---- */

static const char *const state_names[CMA_NR_STATES] = {
	[CMA_UNBACKED] = "unbacked",   [CMA_BACKED] = "backed", [CMA_REPORTED] = "reported",
	[CMA_BALLOONED] = "ballooned", [CMA_WINDOW] = "window",
};

const char *cma_state_name(enum cma_block_state s)
{
	return s < CMA_NR_STATES ? state_names[s] : "?";
}

char cma_state_letter(enum cma_block_state s)
{
	static const char letters[CMA_NR_STATES] = "UBRLW";

	return s < CMA_NR_STATES ? letters[s] : '?';
}

static const char *const level_names[] = { "resident", "huge", "contiguous" };

const char *cma_level_name(enum cma_level level)
{
	return level <= CMA_CONTIGUOUS ? level_names[level] : "?";
}

int cma_level_parse(const char *name, enum cma_level *level)
{
	for (int l = CMA_RESIDENT; l <= CMA_CONTIGUOUS; l++) {
		if (!strcmp(name, level_names[l])) {
			*level = (enum cma_level)l;
			return 0;
		}
	}
	return -1;
}

/* ---- set-up ---- */

int cma_engine_init(struct cma_engine *e, uint8_t *host, uint64_t gpa, uint64_t size, int memfd,
		    const struct cma_hooks *hooks)
{
	memset(e, 0, sizeof(*e));
	e->host = host;
	e->gpa = gpa;
	e->size = size;
	e->memfd = memfd;
	e->map_end = host + size;
	e->gigantic.window = -1;
	if (hooks)
		e->hooks = *hooks;
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		e->windows[i].huge_fd = -1;
	return 0;
}

int cma_engine_add_pool(struct cma_engine *e, const struct pool_spec *spec, uint64_t base,
			uint64_t size)
{
	struct cma_engine_pool *p;
	struct cma_block *blocks;
	size_t n = size / CMA_PAGEBLOCK;

	if (e->nr_pools == POOL_MAX || base < e->gpa || base - e->gpa > e->size ||
	    size > e->size - (base - e->gpa) || (base | size) % CMA_PAGEBLOCK || !size)
		return fail(e, "pool '%s' is not a whole number of pageblocks inside guest RAM",
			    spec->name);
	blocks = realloc(e->blocks, (e->nr_blocks + n) * sizeof(*blocks));
	if (!blocks)
		return fail(e, "out of memory");
	e->blocks = blocks;
	p = &e->pools[e->nr_pools++];
	p->spec = *spec;
	p->base = base;
	p->size = size;
	p->first_block = e->nr_blocks;
	p->nr_blocks = n;
	for (size_t i = 0; i < n; i++)
		e->blocks[e->nr_blocks + i] = (struct cma_block){
			.gpa = base + i * CMA_PAGEBLOCK,
			.backing = CMA_BACKING_MEMFD,
			.fd = -1,
			.window = -1,
		};
	e->nr_blocks += n;
	return 0;
}

int cma_engine_find_pool(const struct cma_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nr_pools; i++)
		if (!strcmp(e->pools[i].spec.name, name))
			return (int)i;
	return -1;
}

void cma_engine_destroy(struct cma_engine *e)
{
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].own_fd)
			close(e->blocks[b].fd);
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (e->windows[i].huge_fd >= 0)
			close(e->windows[i].huge_fd);
	free(e->blocks);
	e->blocks = NULL;
}

/* ---- measuring ---- */

static uint64_t resident_pages(const uint8_t *host, uint64_t len)
{
	size_t n = len / CMA_PAGE, count = 0;
	unsigned char *vec = malloc(n);

	if (!vec || mincore((void *)host, len, vec)) {
		free(vec);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

uint64_t cma_resident_bytes(struct cma_engine *e)
{
	return resident_pages(e->host, e->size) * CMA_PAGE;
}

static enum cma_block_state block_state(struct cma_engine *e, size_t b)
{
	struct cma_block *blk = &e->blocks[b];

	if (blk->window >= 0)
		return CMA_WINDOW;
	if (blk->ballooned_pages >= PAGES_PER_BLOCK)
		return CMA_BALLOONED;
	if (resident_pages(block_host(e, b), CMA_PAGEBLOCK)) {
		/* Touched again since a whole report: it is stale. A partial one still counts. */
		if (blk->reported_pages >= PAGES_PER_BLOCK)
			blk->reported_pages = 0;
		return CMA_BACKED;
	}
	return blk->reported_pages >= PAGES_PER_BLOCK ? CMA_REPORTED : CMA_UNBACKED;
}

enum cma_block_state cma_block_state(struct cma_engine *e, size_t pool, size_t i)
{
	return block_state(e, e->pools[pool].first_block + i);
}

void cma_pool_counts(struct cma_engine *e, size_t pool, uint64_t counts[CMA_NR_STATES])
{
	const struct cma_engine_pool *p = &e->pools[pool];

	memset(counts, 0, sizeof(uint64_t) * CMA_NR_STATES);
	for (size_t i = 0; i < p->nr_blocks; i++)
		counts[block_state(e, p->first_block + i)] += CMA_PAGEBLOCK;
}

uint64_t cma_largest_contiguous_run(const uint8_t *host, uint64_t len, uint64_t *contiguous_2m)
{
	size_t n = len / CMA_PAGE;
	uint64_t *pfn = calloc(n, sizeof(*pfn)), best = 0, run = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)host / CMA_PAGE * sizeof(uint64_t));

	*contiguous_2m = 0;
	if (!pfn || fd < 0 || pread(fd, pfn, n * sizeof(*pfn), off) != (ssize_t)(n * sizeof(*pfn)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool present = pfn[i] >> 63;

		pfn[i] &= (1ULL << 55) - 1;
		if (!present || !pfn[i]) { /* frame numbers are hidden unless root */
			run = 0;
			continue;
		}
		run = i && run && pfn[i] == pfn[i - 1] + 1 ? run + 1 : 1;
		if (run > best)
			best = run;
		if ((i + 1) % PAGES_PER_BLOCK == 0 && run >= PAGES_PER_BLOCK)
			(*contiguous_2m)++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(pfn);
	return best * CMA_PAGE;
}

/* ---- pausing ---- */

static int pause_guest(struct cma_engine *e, uint64_t *t0)
{
	int r = e->hooks.pause ? e->hooks.pause(e->hooks.opaque) : 0;

	if (r)
		return conflict(e, "could not pause the guest: %s", strerror(-r));
	*t0 = now_ns();
	return 0;
}

static void resume_guest(struct cma_engine *e, uint64_t t0)
{
	uint64_t dt = now_ns() - t0;

	if (e->hooks.resume)
		e->hooks.resume(e->hooks.opaque);
	e->stats.pauses++;
	e->stats.pause_ns_total += dt;
	e->stats.pause_ns_last = dt;
	if (dt > e->stats.pause_ns_max)
		e->stats.pause_ns_max = dt;
}

/* ---- moving ---- */

/*
 * MAP_POPULATE: the pages exist already (just copied into); mapping them
 * now spares the guest the faults and lets pagemap see them at once.
 */
static int map_over(uint8_t *host, uint64_t len, int fd, uint64_t off)
{
	void *p = mmap(host, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
		       (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM asks for transparent huge pages (guest_ram.c): keep asking. */
	madvise(host, len, MADV_HUGEPAGE);
	return 0;
}

static const char *no_memory_hint(uint64_t page_size)
{
	if (page_size == GIGANTIC)
		return "the host has no free 1 GiB huge page: boot it with hugepagesz=1G "
		       "hugepages=N (see HugePages_Free in /proc/meminfo)";
	if (page_size == CMA_PAGEBLOCK)
		return "the host has too few free 2 MiB huge pages: echo N > "
		       "/proc/sys/vm/nr_hugepages (see HugePages_Free in /proc/meminfo)";
	return "the host is out of memory";
}

struct backing {
	int fd;
	uint64_t off;
	uint64_t page_size; /* for messages: 4 KiB (memfd), 2 MiB or 1 GiB */
};

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

/*
 * Move [host, host + len), now mapped from @from, onto @to, contents and
 * all. @b is the first block, for fault injection and messages.
 */
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
		fail(e, "new backing for 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa, strerror(errno),
		     no_memory_hint(to->page_size));
		return NULL;
	}
	if (madvise(view, len, MADV_POPULATE_WRITE)) {
		fail(e, "populating new backing for 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
		     strerror(errno), no_memory_hint(to->page_size));
		munmap(view, mapped);
		return NULL;
	}
	return view;
}

static void punch(int fd, uint64_t off, uint64_t len);

static int move_range(struct cma_engine *e, size_t b, uint8_t *host, uint64_t len,
		      const struct backing *from, const struct backing *to)
{
	/* A hugetlb mapping is whole pages: unmap what mmap() really mapped. */
	uint64_t mapped = mapped_len(to->fd, len);
	uint8_t *view;
	uint64_t t0;
	int r;

	if ((r = injected(e, CMA_STEP_ALLOC, b)))
		return fail(e, "getting new backing for 0x%" PRIx64 ": %s", e->blocks[b].gpa,
			    strerror(-r));
	view = populated_view(e, b, len, to, mapped);
	if (!view)
		goto err_punch;
	if ((r = injected(e, CMA_STEP_POPULATE, b))) {
		munmap(view, mapped);
		fail(e, "populating new backing for 0x%" PRIx64 ": %s", e->blocks[b].gpa,
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
	fail(e, "moving 0x%" PRIx64 " onto new backing: %s (rolled back)", e->blocks[b].gpa,
	     strerror(-r));
err_punch:
	punch(to->fd, to->off, len); /* what the view populated is nobody's */
	return -1;
}

static void punch(int fd, uint64_t off, uint64_t len)
{
	if (fd >= 0)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

static struct backing memfd_backing(const struct cma_engine *e, size_t b)
{
	return (struct backing){ e->memfd, block_memfd_off(e, b), CMA_PAGE };
}

static struct backing block_backing(const struct cma_engine *e, size_t b)
{
	const struct cma_block *blk = &e->blocks[b];

	if (blk->backing == CMA_BACKING_MEMFD)
		return memfd_backing(e, b);
	return (struct backing){ blk->fd, blk->fd_off, CMA_PAGEBLOCK };
}

static void set_backing(struct cma_engine *e, size_t b, enum cma_backing kind, int fd, uint64_t off,
			bool own)
{
	struct cma_block *blk = &e->blocks[b];

	if (blk->own_fd && blk->fd != fd)
		close(blk->fd);
	blk->backing = kind;
	blk->fd = fd;
	blk->fd_off = off;
	blk->own_fd = own;
	/* New backing holds what the guest had: old balloon and report counts are stale. */
	blk->ballooned_pages = 0;
	blk->reported_pages = 0;
}

/* Block @b onto 2 MiB page @off of @fd; its old backing is freed. */
static int block_to_huge(struct cma_engine *e, size_t b, int fd, uint64_t off, bool own)
{
	struct backing from = block_backing(e, b), to = { fd, off, CMA_PAGEBLOCK };

	if (move_range(e, b, block_host(e, b), CMA_PAGEBLOCK, &from, &to))
		return -1;
	punch(from.fd, from.off, CMA_PAGEBLOCK);
	set_backing(e, b, CMA_BACKING_HUGE, fd, off, own);
	return 0;
}

/* Block @b back onto guest RAM's memfd; its huge page is freed. */
static int block_to_memfd(struct cma_engine *e, size_t b)
{
	struct backing from = block_backing(e, b), to = memfd_backing(e, b);

	if (e->blocks[b].backing == CMA_BACKING_MEMFD)
		return 0;
	if (move_range(e, b, block_host(e, b), CMA_PAGEBLOCK, &from, &to))
		return -1;
	punch(from.fd, from.off, CMA_PAGEBLOCK);
	set_backing(e, b, CMA_BACKING_MEMFD, -1, 0, false);
	return 0;
}

static int block_lock(struct cma_engine *e, size_t b)
{
	uint8_t *host = block_host(e, b);
	struct rlimit rl;
	int r;

	if ((r = injected(e, CMA_STEP_POPULATE, b)))
		return fail(e, "populating 0x%" PRIx64 ": %s", e->blocks[b].gpa, strerror(-r));
	if (madvise(host, CMA_PAGEBLOCK, MADV_POPULATE_WRITE))
		return fail(e, "populating 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
			    strerror(errno), no_memory_hint(CMA_PAGE));
	if (mlock(host, CMA_PAGEBLOCK)) {
		int err = errno;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		return fail(e,
			    "locking 0x%" PRIx64 ": %s; the locked-memory limit is %llu KiB: "
			    "raise it (ulimit -l, LimitMEMLOCK=) or run cmavm with CAP_IPC_LOCK",
			    e->blocks[b].gpa, strerror(err),
			    (unsigned long long)rl.rlim_cur / 1024);
	}
	e->blocks[b].locked = true;
	return 0;
}

static void block_unlock(struct cma_engine *e, size_t b)
{
	if (e->blocks[b].locked)
		munlock(block_host(e, b), CMA_PAGEBLOCK);
	e->blocks[b].locked = false;
}

/* ---- windows ---- */

static int alloc_backing(struct cma_engine *e, uint64_t size, uint64_t page_size)
{
	unsigned int flags =
		MFD_CLOEXEC | MFD_HUGETLB | (page_size == GIGANTIC ? MFD_HUGE_1GB : MFD_HUGE_2MB);
	int fd, err;

	if (e->hooks.alloc_backing)
		return e->hooks.alloc_backing(e->hooks.opaque, size, page_size);
	fd = memfd_create("cmavm-window", flags);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static size_t window_first_block(const struct cma_engine *e, const struct cma_window *w)
{
	return e->pools[w->pool].first_block + w->offset / CMA_PAGEBLOCK;
}

static size_t window_blocks(const struct cma_window *w)
{
	return w->length / CMA_PAGEBLOCK;
}

static void progress(struct cma_engine *e, size_t done, size_t n)
{
	if (e->hooks.progress)
		e->hooks.progress(e->hooks.opaque, done * CMA_PAGEBLOCK, n * CMA_PAGEBLOCK);
}

static int commit_resident(struct cma_engine *e, size_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (block_lock(e, first + i)) {
			while (i--)
				block_unlock(e, first + i);
			e->stats.rollbacks++;
			return -1;
		}
		progress(e, i + 1, n);
	}
	return 0;
}

/*
 * Put blocks back on the memfd after a failure; keeps the first error message.
 * A block that cannot go back (the pause does not come) stays on the window's
 * file, which the caller closes: it gets a descriptor of its own, so it never
 * names a closed one that another file may get.
 */
static void roll_back_to_memfd(struct cma_engine *e, size_t first, size_t n)
{
	char saved[sizeof(e->error)];
	enum cma_error kind = e->error_kind;

	memcpy(saved, e->error, sizeof(saved));
	for (size_t i = 0; i < n; i++) {
		struct cma_block *blk = &e->blocks[first + i];

		if (block_to_memfd(e, first + i) && !blk->own_fd) {
			blk->fd = fcntl(blk->fd, F_DUPFD_CLOEXEC, 0);
			blk->own_fd = blk->fd >= 0;
		}
	}
	memcpy(e->error, saved, sizeof(saved));
	e->error_kind = kind;
	e->stats.rollbacks++;
}

static int commit_huge(struct cma_engine *e, struct cma_window *w, size_t first, size_t n)
{
	int fd = alloc_backing(e, n * CMA_PAGEBLOCK, CMA_PAGEBLOCK);

	if (fd < 0)
		return fail(e,
			    "a hugetlb file for the window: %s; the host needs hugetlbfs with 2 "
			    "MiB pages",
			    strerror(-fd));
	for (size_t i = 0; i < n; i++) {
		if (block_to_huge(e, first + i, fd, i * CMA_PAGEBLOCK, false)) {
			roll_back_to_memfd(e, first, i);
			close(fd);
			return -1;
		}
		progress(e, i + 1, n);
	}
	w->huge_fd = fd;
	w->huge_fd_size = n * CMA_PAGEBLOCK;
	return 0;
}

/* On the memfd and in no window but @self (whose level is changing). */
static bool blocks_on_memfd(const struct cma_engine *e, uint64_t gpa, uint64_t len, int self)
{
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].gpa >= gpa && e->blocks[b].gpa < gpa + len &&
		    (e->blocks[b].backing != CMA_BACKING_MEMFD ||
		     (e->blocks[b].window >= 0 && e->blocks[b].window != self)))
			return false;
	return true;
}

/*
 * The window's 1 GiB-aligned host span moves onto one 1 GiB page: guest RAM
 * inside the span is copied; the part of the span past RAM is only mapped.
 */
static int commit_contiguous(struct cma_engine *e, struct cma_window *w, size_t first, size_t n)
{
	uint8_t *start = block_host(e, first),
		*span = (uint8_t *)((uintptr_t)start & ~(GIGANTIC - 1));
	uint8_t *ram_end = e->host + e->size;
	uint64_t ram_len, gpa;
	struct backing from, to;
	int fd;

	if (start + n * CMA_PAGEBLOCK > span + GIGANTIC)
		return fail(e, "the window crosses a 1 GiB boundary of host memory; a contiguous "
			       "window must fit in one 1 GiB page: commit it in two parts");
	if (e->gigantic.window >= 0)
		return conflict(e, "another window already has the host's 1 GiB page span");
	if (span < e->host || span + GIGANTIC > e->map_end)
		return fail(e, "the 1 GiB span around the window is not cmavm's to map (guest RAM "
			       "is not 1 GiB aligned on the host)");
	gpa = e->gpa + (uint64_t)(span - e->host);
	ram_len = (uint64_t)((ram_end < span + GIGANTIC ? ram_end : span + GIGANTIC) - span);
	if (!blocks_on_memfd(e, gpa, ram_len, (int)(w - e->windows)))
		return conflict(e, "part of the 1 GiB span is in another window; release it first");
	fd = alloc_backing(e, GIGANTIC, GIGANTIC);
	if (fd < 0)
		return fail(e, "a 1 GiB hugetlb file: %s; %s", strerror(-fd),
			    no_memory_hint(GIGANTIC));
	from = (struct backing){ e->memfd, gpa - e->gpa, CMA_PAGE };
	to = (struct backing){ fd, 0, GIGANTIC };
	if (move_range(e, first, span, ram_len, &from, &to)) {
		close(fd);
		e->stats.rollbacks++;
		return -1;
	}
	/* mmap() rounds a hugetlb mapping up to whole pages: the page also covers
	 * the reserved address space past RAM, which is why map_end matters. */
	punch(e->memfd, gpa - e->gpa, ram_len);
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].gpa >= gpa && e->blocks[b].gpa < gpa + ram_len)
			set_backing(e, b, CMA_BACKING_GIGANTIC, fd, e->blocks[b].gpa - gpa, false);
	w->huge_fd = fd;
	w->huge_fd_size = GIGANTIC;
	e->gigantic.window = (int)(w - e->windows);
	e->gigantic.span = span;
	e->gigantic.ram_gpa = gpa;
	e->gigantic.ram_len = ram_len;
	return 0;
}

/*
 * A hugetlb mapping splits only at its page size, so the 1 GiB span is
 * replaced as a whole: reserved address space first, then guest RAM's
 * memfd over the RAM part. Until the memfd is mapped, the 1 GiB page still
 * holds everything, so a failure maps it back.
 */
static int release_contiguous(struct cma_engine *e, struct cma_window *w)
{
	uint8_t *span = e->gigantic.span, *view;
	uint64_t ram_len = e->gigantic.ram_len, off = e->gigantic.ram_gpa - e->gpa, t0;
	size_t first = window_first_block(e, w);
	int r;

	if ((r = injected(e, CMA_STEP_ALLOC, first)))
		return fail(e, "getting memory back for the window: %s", strerror(-r));
	view = mmap(NULL, ram_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, e->memfd,
		    (off_t)off);
	if (view == MAP_FAILED)
		return fail(e, "guest RAM for the window's span: %s; %s", strerror(errno),
			    no_memory_hint(CMA_PAGE));
	if (pause_guest(e, &t0)) {
		munmap(view, ram_len);
		return -1;
	}
	memcpy(view, span, ram_len);
	r = injected(e, CMA_STEP_REMAP, first);
	if (!r &&
	    mmap(span, GIGANTIC, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		r = -errno;
	if (!r)
		r = map_over(span, ram_len, e->memfd, off);
	if (r && map_over(span, GIGANTIC, w->huge_fd, 0))
		abort(); /* the 1 GiB page is intact but cannot be mapped back */
	resume_guest(e, t0);
	munmap(view, ram_len);
	if (r) {
		punch(e->memfd, off, ram_len);
		return fail(e, "moving the window off its 1 GiB page: %s (rolled back)",
			    strerror(-r));
	}
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].backing == CMA_BACKING_GIGANTIC)
			set_backing(e, b, CMA_BACKING_MEMFD, -1, 0, false);
	e->gigantic.window = -1;
	return 0;
}

static int commit_level(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(w);

	switch (w->level) {
	case CMA_RESIDENT:
		return commit_resident(e, first, n);
	case CMA_HUGE:
		return commit_huge(e, w, first, n);
	case CMA_CONTIGUOUS:
		return commit_contiguous(e, w, first, n);
	}
	return -1;
}

/* Undo commit_level(): the blocks are lazily backed by the memfd again. */
static int release_level(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(w);
	int ret = 0;

	if (w->level == CMA_CONTIGUOUS) {
		ret = release_contiguous(e, w);
	} else {
		for (size_t i = 0; i < n; i++) {
			block_unlock(e, first + i);
			if (block_to_memfd(e, first + i))
				ret = -1; /* keep going: put back as much as possible */
		}
	}
	if (!ret && w->huge_fd >= 0) {
		close(w->huge_fd);
		w->huge_fd = -1;
	}
	return ret;
}

static void mark_blocks(struct cma_engine *e, const struct cma_window *w, int window)
{
	size_t first = window_first_block(e, w), n = window_blocks(w);

	for (size_t i = 0; i < n; i++)
		e->blocks[first + i].window = window;
}

void cma_window_measure(struct cma_engine *e, struct cma_window *w)
{
	const uint8_t *host = block_host(e, window_first_block(e, w));

	w->largest_run = cma_largest_contiguous_run(host, w->length, &w->contiguous_2m);
	w->verified = w->largest_run > 0;
}

static struct cma_window *find_window(struct cma_engine *e, size_t pool, uint64_t offset,
				      uint64_t length, bool *overlaps)
{
	*overlaps = false;
	for (int i = 0; i < CMA_MAX_WINDOWS; i++) {
		struct cma_window *w = &e->windows[i];

		if (!w->used || w->pool != pool)
			continue;
		if (w->offset == offset && w->length == length)
			return w;
		if (offset < w->offset + w->length && w->offset < offset + length)
			*overlaps = true;
	}
	return NULL;
}

/* Does [offset, offset + length) of @pool lie partly on the contiguous window's 1 GiB page? */
static bool on_gigantic_page(const struct cma_engine *e, size_t pool, uint64_t offset,
			     uint64_t length)
{
	uint64_t gpa = e->pools[pool].base + offset;

	return e->gigantic.window >= 0 && gpa < e->gigantic.ram_gpa + e->gigantic.ram_len &&
	       e->gigantic.ram_gpa < gpa + length;
}

static int check_range(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t *length)
{
	const struct cma_engine_pool *p;

	if (pool >= e->nr_pools)
		return fail_as(e, CMA_ERR_NOT_FOUND, "no such pool");
	p = &e->pools[pool];
	if (!*length && offset < p->size)
		*length = p->size - offset;
	if ((offset | *length) % CMA_PAGEBLOCK)
		return fail_as(e, CMA_ERR_INVALID,
			       "offset and length must be multiples of the 2 MiB pageblock");
	if (offset >= p->size || *length > p->size - offset || !*length)
		return fail_as(e, CMA_ERR_INVALID,
			       "[%" PRIu64 ", +%" PRIu64 ") is not inside pool '%s' (%" PRIu64
			       " bytes)",
			       offset, *length, p->spec.name, p->size);
	if (e->memfd < 0)
		return fail(e, "guest RAM has no memfd: windows need one");
	return 0;
}

static struct cma_window *new_window(struct cma_engine *e)
{
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (!e->windows[i].used)
			return &e->windows[i];
	return NULL;
}

/* A huge window whose release failed midway: blocks already on the memfd go back. */
static void restore_huge(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(w);
	char saved[sizeof(e->error)];

	memcpy(saved, e->error, sizeof(saved));
	for (size_t i = 0; i < n; i++)
		if (e->blocks[first + i].backing == CMA_BACKING_MEMFD)
			block_to_huge(e, first + i, w->huge_fd, i * CMA_PAGEBLOCK, false);
	memcpy(e->error, saved, sizeof(saved));
	e->stats.rollbacks++;
}

/* A committed window at another level: release it, commit anew, or go back. */
static int change_level(struct cma_engine *e, struct cma_window *w, enum cma_level level)
{
	enum cma_level old = w->level;
	char why[sizeof(e->error)];

	if (old == level)
		return 0;
	if (release_level(e, w)) {
		if (old == CMA_HUGE)
			restore_huge(e, w);
		return -1;
	}
	w->level = level;
	if (!commit_level(e, w))
		return 0;
	memcpy(why, e->error, sizeof(why));
	w->level = old;
	if (commit_level(e, w)) {
		mark_blocks(e, w, -1);
		w->used = false;
		return fail(e, "%s; and the window could not go back to %s (%s): it is released",
			    why, cma_level_name(old), e->error);
	}
	memcpy(e->error, why, sizeof(why));
	return -1;
}

int cma_window_commit(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t length,
		      enum cma_level level)
{
	struct cma_window *w;
	uint64_t t0 = now_ns();
	bool overlaps;

	if (check_range(e, pool, offset, &length))
		return -1;
	w = find_window(e, pool, offset, length, &overlaps);
	if (w) {
		if (change_level(e, w, level))
			return -1;
	} else {
		if (overlaps)
			return conflict(
				e, "the range overlaps a committed window; release it first, or "
				   "commit exactly its range to change its level");
		if (on_gigantic_page(e, pool, offset, length))
			return conflict(e,
					"the range is on window %u's 1 GiB page; release it first",
					e->windows[e->gigantic.window].id);
		w = new_window(e);
		if (!w)
			return conflict(e, "%d windows are committed already; release one",
					CMA_MAX_WINDOWS);
		*w = (struct cma_window){ .used = true,
					  .id = ++e->next_window_id,
					  .pool = (unsigned)pool,
					  .offset = offset,
					  .length = length,
					  .level = level,
					  .huge_fd = -1 };
		if (commit_level(e, w)) {
			w->used = false;
			return -1;
		}
	}
	mark_blocks(e, w, (int)(w - e->windows));
	w->commit_ns = now_ns() - t0;
	cma_window_measure(e, w);
	e->stats.commits++;
	return (int)(w - e->windows);
}

struct cma_window *cma_window_by_id(struct cma_engine *e, unsigned int id)
{
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (e->windows[i].used && e->windows[i].id == id)
			return &e->windows[i];
	return NULL;
}

int cma_window_release(struct cma_engine *e, unsigned int id)
{
	struct cma_window *w = cma_window_by_id(e, id);

	if (!w)
		return fail_as(e, CMA_ERR_NOT_FOUND, "no window %u", id);
	if (release_level(e, w))
		return -1;
	mark_blocks(e, w, -1);
	w->used = false;
	e->stats.releases++;
	return 0;
}

/* ---- migration ---- */

static int find_block(const struct cma_engine *e, uint64_t gpa)
{
	for (size_t i = 0; i < e->nr_pools; i++) {
		const struct cma_engine_pool *p = &e->pools[i];

		if (gpa >= p->base && gpa - p->base < p->size)
			return (int)(p->first_block + (gpa - p->base) / CMA_PAGEBLOCK);
	}
	return -1;
}

/* New memfd pages for a memfd-backed block: copy out, punch, write back what was there. */
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

static int migrate_memfd_block(struct cma_engine *e, size_t b)
{
	uint8_t *host = block_host(e, b), *copy = malloc(CMA_PAGEBLOCK);
	unsigned char vec[PAGES_PER_BLOCK];
	bool locked = e->blocks[b].locked;
	uint64_t t0;
	int r;

	if (!copy)
		return fail(e, "out of memory");
	if (pause_guest(e, &t0)) {
		free(copy);
		return -1;
	}
	/* Measured paused: a page the guest wrote just before the pause must not be dropped. */
	if (mincore(host, CMA_PAGEBLOCK, vec)) {
		r = errno;
		resume_guest(e, t0);
		free(copy);
		return fail(e, "mincore: %s", strerror(r));
	}
	memcpy(copy, host, CMA_PAGEBLOCK);
	if ((r = injected(e, CMA_STEP_REMAP, b))) {
		resume_guest(e, t0);
		free(copy);
		return fail(e, "migrating 0x%" PRIx64 ": %s", e->blocks[b].gpa, strerror(-r));
	}
	if (locked)
		munlock(host, CMA_PAGEBLOCK);
	punch(e->memfd, block_memfd_off(e, b), CMA_PAGEBLOCK);
	/*
	 * mincore() misses pages swapped out: write back every page that was
	 * resident or is not all zeroes (a hole reads as zeroes anyway).
	 */
	write_back(e, b, copy, vec);
	if (locked)
		mlock(host, CMA_PAGEBLOCK);
	resume_guest(e, t0);
	free(copy);
	return 0;
}

int cma_migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns)
{
	int b = find_block(e, gpa), fd, r;

	if (b < 0)
		return fail_as(e, CMA_ERR_NOT_FOUND, "0x%" PRIx64 " is not in a pool", gpa);
	switch (e->blocks[b].backing) {
	case CMA_BACKING_GIGANTIC:
		return fail(e, "0x%" PRIx64 " is on a 1 GiB page; it moves only with its window",
			    gpa);
	case CMA_BACKING_HUGE:
		fd = alloc_backing(e, CMA_PAGEBLOCK, CMA_PAGEBLOCK);
		if (fd < 0)
			return fail(e, "a new huge page: %s; %s", strerror(-fd),
				    no_memory_hint(CMA_PAGEBLOCK));
		r = block_to_huge(e, (size_t)b, fd, 0, true);
		if (r)
			close(fd);
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

/* ---- the balloon and free page reporting ---- */

static bool protected(const struct cma_engine *e, int b, uint64_t gpa)
{
	if (e->gigantic.window >= 0 && gpa >= e->gigantic.ram_gpa &&
	    gpa - e->gigantic.ram_gpa < e->gigantic.ram_len)
		return true;
	return b >= 0 && (e->blocks[b].window >= 0 || e->blocks[b].backing != CMA_BACKING_MEMFD);
}

static void count_discard(struct cma_engine *e, int b, uint64_t len, enum cma_discard_reason why)
{
	struct cma_block *blk;
	uint64_t pages = len / CMA_PAGE;

	if (b < 0)
		return;
	blk = &e->blocks[b];
	if (why == CMA_DISCARD_BALLOON)
		blk->ballooned_pages = (uint16_t)(blk->ballooned_pages + pages > PAGES_PER_BLOCK
							  ? PAGES_PER_BLOCK
							  : blk->ballooned_pages + pages);
	else
		blk->reported_pages = (uint16_t)(blk->reported_pages + pages > PAGES_PER_BLOCK
							 ? PAGES_PER_BLOCK
							 : blk->reported_pages + pages);
}

uint64_t cma_discard(struct cma_engine *e, uint64_t gpa, uint64_t len, enum cma_discard_reason why)
{
	uint64_t end = gpa + len, refused = 0;

	if (gpa < e->gpa || gpa - e->gpa > e->size || len > e->size - (gpa - e->gpa))
		return 0; /* not guest RAM: the caller has checked and counted it */
	while (gpa < end) {
		uint64_t next = (gpa & ~(CMA_PAGEBLOCK - 1)) + CMA_PAGEBLOCK;
		uint64_t n = (next < end ? next : end) - gpa;
		int b = find_block(e, gpa);

		if (protected(e, b, gpa)) {
			refused += n;
		} else {
			punch(e->memfd, gpa - e->gpa, n);
			count_discard(e, b, n, why);
		}
		gpa += n;
	}
	if (refused) {
		e->stats.refused_discards++;
		e->stats.refused_discard_bytes += refused;
	}
	return refused;
}

void cma_deflated(struct cma_engine *e, uint64_t gpa, uint64_t len)
{
	for (uint64_t end = gpa + len; gpa < end; gpa += CMA_PAGE) {
		int b = find_block(e, gpa);

		if (b >= 0 && e->blocks[b].ballooned_pages)
			e->blocks[b].ballooned_pages--;
	}
}
