// SPDX-License-Identifier: GPL-2.0-only
/*
 * Moving guest memory. A move always goes: get the new backing and fault it
 * in (the guest still runs); stop what could write the range; copy what
 * the old backing holds; map the new backing over the old at the same host
 * address (KVM sees the change through its MMU notifier and faults the new
 * pages in); let the writers go on; free the old backing. Until the map
 * step the old backing is untouched, so every failure can put the old
 * mapping back with nothing lost.
 *
 * What stops: where the host kernel has userfaultfd write-protect, only a
 * writer of the range, for one range at a time (uffd.c); elsewhere the
 * whole guest, once for all the ranges of a commit or release. Before the
 * guest's first instruction, nothing (a boot window).
 *
 * The engine's lock is let go of for the whole of a move (move_ranges()):
 * populating, fencing, pausing and copying take long, and need nothing of
 * the engine but the move's own records. What a move counts (pauses,
 * stalls, progress) is written under the lock.
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

/* ---- pausing (called without the engine's lock) ---- */

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
	engine_lock(e);
	hist_add(e->stats.pause_hist, dt);
	e->stats.pauses++;
	e->stats.pause_ns_total += dt;
	e->stats.pause_ns_last = dt;
	if (dt > e->stats.pause_ns_max)
		e->stats.pause_ns_max = dt;
	if (dt > e->op_pause_ns_max)
		e->op_pause_ns_max = dt;
	engine_unlock(e);
}

/* ---- backings ---- */

static uint64_t file_page_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) || st.st_blksize <= 0 ? CMA_PAGE : (uint64_t)st.st_blksize;
}

/*
 * Huge pages exist already (populated, copied into): MAP_POPULATE maps them
 * now, sparing the guest the faults and letting pagemap see them at once.
 * An ordinary file is mapped lazily: populating it would fill its holes.
 */
int map_over(uint8_t *host, uint64_t len, int fd, uint64_t off)
{
	int populate = file_page_size(fd) > CMA_PAGE ? MAP_POPULATE : 0;
	void *p = mmap(host, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | populate, fd,
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
	uint64_t page = file_page_size(fd);

	return (len + page - 1) & ~(page - 1);
}

/* Did a failed MAP_FIXED leave the old mapping in place? (ENOMEM can come first.) */
static bool still_mapped(uint8_t *host)
{
	unsigned char v;

	return !mincore(host, CMA_PAGE, &v) || errno != ENOMEM;
}

/*
 * Where the old backing of @m holds data: pages resident in its page cache
 * (mincore() over the guest's mapping: one call for the whole range), and
 * pages swapped out, which mincore() misses and SEEK_DATA finds (a
 * non-resident run with data in it is taken from that data to its end). A
 * range mincore() cannot read is one extent. @fn(arg, at, n) on each;
 * stops at the first non-zero return.
 */
static int for_each_data(const struct move *m, int (*fn)(void *arg, uint64_t at, uint64_t n),
			 void *arg)
{
	size_t pages = m->len / CMA_PAGE, i = 0, j;
	unsigned char *vec = malloc(pages);
	int r = 0;

	if (!vec || mincore(m->host, m->len, vec)) {
		free(vec);
		return fn(arg, 0, m->len);
	}
	while (i < pages && !r) {
		bool resident = vec[i] & 1;
		off_t data;

		for (j = i; j < pages && (vec[j] & 1) == resident; j++)
			;
		if (resident) {
			r = fn(arg, i * CMA_PAGE, (j - i) * CMA_PAGE);
		} else {
			data = lseek(m->from.fd, (off_t)(m->from.off + i * CMA_PAGE), SEEK_DATA);
			if (data >= 0 && (uint64_t)data < m->from.off + j * CMA_PAGE)
				r = fn(arg, (uint64_t)data - m->from.off,
				       m->from.off + j * CMA_PAGE - (uint64_t)data);
		}
		i = j;
	}
	free(vec);
	return r;
}

static int populate_extent(void *arg, uint64_t at, uint64_t n)
{
	struct move *m = arg;

	return madvise(m->view + at, n, MADV_POPULATE_WRITE) ? -errno : 0;
}

/*
 * Fault the new backing in while the guest still runs: a host short of
 * memory (or of huge pages in a cgroup) says so here, with an error, not
 * as SIGBUS or the OOM killer inside the move. Huge pages are taken whole;
 * ordinary pages only where the old backing holds data, so a sparse block
 * stays as sparse, asked for as transparent huge pages as guest RAM is.
 */
static int populate_view(struct cma_engine *e, struct move *m)
{
	uint64_t gpa = e->blocks[m->b].gpa;
	int r;

	m->mapped = mapped_len(m->to.fd, m->len);
	m->view =
		mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->to.fd, (off_t)m->to.off);
	if (m->view == MAP_FAILED) {
		m->view = NULL;
		return cma_fail(e, "new backing for 0x%" PRIx64 ": %s; %s", gpa, strerror(errno),
				no_memory_hint(m->to.page_size));
	}
	if (m->to.page_size == CMA_PAGE) {
		madvise(m->view, m->len, MADV_HUGEPAGE);
		r = for_each_data(m, populate_extent, m);
	} else {
		r = populate_extent(m, 0, m->len);
	}
	if (r)
		return cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s; %s", gpa,
				strerror(-r), no_memory_hint(m->to.page_size));
	return 0;
}

/*
 * The old backing mapped apart, read-only, to copy from: write-protecting
 * the guest's mapping splits a huge mapping into 4 KiB entries, and
 * copying through it would fault each in again (5.7 ms instead of 0.5 ms
 * for 2 MiB in the emulated 6.12 host). Not populated: only its data is
 * read. Without it, the copy reads through the guest's mapping.
 */
static void map_source(struct move *m)
{
	m->src_mapped = mapped_len(m->from.fd, m->len);
	m->src = mmap(NULL, m->len, PROT_READ, MAP_SHARED, m->from.fd, (off_t)m->from.off);
	if (m->src == MAP_FAILED)
		m->src = NULL;
	else
		madvise(m->src, m->len, MADV_HUGEPAGE);
}

static int prepare_move(struct cma_engine *e, struct move *m)
{
	int r = injected(e, CMA_STEP_ALLOC, m->b);

	if (r)
		return cma_fail(e, "getting new backing for 0x%" PRIx64 ": %s", e->blocks[m->b].gpa,
				strerror(-r));
	if (populate_view(e, m))
		return -1;
	map_source(m);
	r = injected(e, CMA_STEP_POPULATE, m->b);
	if (r)
		return cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s",
				e->blocks[m->b].gpa, strerror(-r));
	return 0;
}

/* The view goes; unless the move took place, what it populated is nobody's. */
static void finish_view(struct move *m, bool moved)
{
	if (m->view)
		munmap(m->view, m->mapped);
	if (m->src)
		munmap(m->src, m->src_mapped);
	m->view = m->src = NULL;
	if (!moved)
		punch(m->to.fd, m->to.off, m->len);
}

#define COPY_CHUNK (256 * 1024) /* a live copy looks for waiting writers this often */

static void copy_chunked(struct cma_engine *e, uint8_t *dst, const uint8_t *src, uint64_t len)
{
	for (uint64_t done = 0; done < len; done += COPY_CHUNK) {
		uint64_t n = len - done < COPY_CHUNK ? len - done : COPY_CHUNK;

		memcpy(dst + done, src + done, n);
		if (e->uffd >= 0 && e->live && !e->guest_stopped)
			uffd_note_writers(e);
	}
}

struct copy {
	struct cma_engine *e;
	const struct move *m;
};

static int copy_extent(void *arg, uint64_t at, uint64_t n)
{
	struct copy *c = arg;

	copy_chunked(c->e, c->m->view + at, (c->m->src ? c->m->src : c->m->host) + at, n);
	return 0;
}

/*
 * Copy what the old backing holds: its data, never its holes, which read
 * as zeroes and are zeroes in the new backing already, and which reading
 * through the mapping would only allocate.
 */
static void copy_present(struct cma_engine *e, const struct move *m)
{
	struct copy c = { e, m };

	for_each_data(m, copy_extent, &c);
}

/* The old backing back in place of a failed remap; nothing sane is left without it. */
static void restore_mapping(const struct move *m)
{
	if (!still_mapped(m->host) && map_over(m->host, m->len, m->from.fd, m->from.off))
		abort();
}

/* Copy and map over; on failure the old backing is mapped again, intact. */
static int copy_and_remap(struct cma_engine *e, struct move *m)
{
	int r = injected(e, CMA_STEP_COPY, m->b);

	if (!r) {
		copy_present(e, m);
		r = injected(e, CMA_STEP_REMAP, m->b);
	}
	if (!r)
		r = map_over(m->host, m->len, m->to.fd, m->to.off);
	if (r)
		restore_mapping(m);
	return r;
}

/* Device I/O into [host, host + len): none in flight, new held back; or a conflict. */
static int fence_range(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	uint64_t gpa = e->gpa + (uint64_t)(host - e->host);
	int r = e->hooks.fence ? e->hooks.fence(e->hooks.opaque, gpa, len) : 0;

	if (r)
		return cma_conflict(e,
				    "device I/O into [0x%" PRIx64 ", +0x%" PRIx64
				    ") did not finish (%s); try again",
				    gpa, len, strerror(-r));
	return 0;
}

static void unfence_range(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	if (e->hooks.unfence)
		e->hooks.unfence(e->hooks.opaque, e->gpa + (uint64_t)(host - e->host), len);
}

static int fence(struct cma_engine *e, const struct move *m)
{
	return fence_range(e, m->host, m->len);
}

static void unfence(struct cma_engine *e, const struct move *m)
{
	unfence_range(e, m->host, m->len);
}

/* The host span from the lowest range of @m to the end of the highest. */
static void span_of(const struct move *m, size_t n, uint8_t **lo, uint8_t **hi)
{
	*lo = m[0].host;
	*hi = m[0].host + m[0].len;
	for (size_t i = 1; i < n; i++) {
		if (m[i].host < *lo)
			*lo = m[i].host;
		if (m[i].host + m[i].len > *hi)
			*hi = m[i].host + m[i].len;
	}
}

/*
 * The guest runs on: the range is write-protected while it is copied and
 * remapped, so only a writer of the range waits, and device I/O into it is
 * fenced for that long.
 */
static int move_live(struct cma_engine *e, struct move *m, bool registered)
{
	int r;

	if (fence(e, m))
		return -1;
	r = registered ? uffd_wp(e, m->host, m->len) : uffd_protect(e, m->host, m->len);
	if (r) {
		unfence(e, m);
		return cma_fail(e, "write-protecting 0x%" PRIx64 ": %s", e->blocks[m->b].gpa,
				strerror(-r));
	}
	r = copy_and_remap(e, m);
	if (r)
		uffd_unprotect(e, m->host, m->len);
	else
		uffd_wake(e, m->host, m->len);
	unfence(e, m);
	if (r)
		return cma_fail(e, "moving 0x%" PRIx64 " onto new backing: %s (rolled back)",
				e->blocks[m->b].gpa, strerror(-r));
	return 0;
}

/*
 * One pause for them all, once device I/O into none of them is in flight
 * (one fence over their whole span); a failure puts every old mapping back.
 */
static int move_paused(struct cma_engine *e, struct move *m, size_t n)
{
	uint8_t *lo, *hi;
	size_t i;
	uint64_t t0;
	int r = 0;

	span_of(m, n, &lo, &hi);
	if (fence_range(e, lo, (uint64_t)(hi - lo)))
		return -1;
	if (pause_guest(e, &t0)) {
		unfence_range(e, lo, (uint64_t)(hi - lo));
		return -1;
	}
	for (i = 0; i < n && !r; i++)
		r = copy_and_remap(e, &m[i]);
	if (r)
		for (size_t j = 0; j + 1 < i; j++)
			map_over(m[j].host, m[j].len, m[j].from.fd, m[j].from.off);
	resume_guest(e, t0);
	unfence_range(e, lo, (uint64_t)(hi - lo));
	if (r)
		return cma_fail(e, "moving 0x%" PRIx64 " onto new backing: %s (rolled back)",
				e->blocks[m[i - 1].b].gpa, strerror(-r));
	return 0;
}

/* Called without the lock: the window's progress is read meanwhile. */
void report_progress(struct cma_engine *e, uint64_t done, uint64_t total)
{
	engine_lock(e);
	if (e->progress_slot >= 0)
		e->windows[e->progress_slot].done_bytes = done;
	engine_unlock(e);
	if (total > CMA_PAGEBLOCK && e->hooks.progress)
		e->hooks.progress(e->hooks.opaque, done, total);
}

static uint64_t moves_bytes(const struct move *m, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += m[i].len;
	return total;
}

static bool host_contiguous(const struct move *m, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (m[i].host != m[i - 1].host + m[i - 1].len)
			return false;
	return true;
}

/*
 * One range after the other, each write-protected only while it moves.
 * Consecutive ranges (a window's pageblocks) are registered with the
 * userfaultfd once: each remap takes its range out of the registration.
 */
static size_t moves_live(struct cma_engine *e, struct move *m, size_t n)
{
	uint8_t *end = m[n - 1].host + m[n - 1].len;
	bool once = n > 1 && host_contiguous(m, n) &&
		    !uffd_register(e, m[0].host, (uint64_t)(end - m[0].host));
	uint64_t bytes = 0, total = moves_bytes(m, n);
	size_t done = 0;

	while (done < n && !move_live(e, &m[done], once)) {
		bytes += m[done++].len;
		report_progress(e, bytes, total);
	}
	if (once && done < n)
		uffd_unregister(e, m[done].host, (uint64_t)(end - m[done].host));
	return done;
}

/*
 * Move each of @m[0..n) onto its new backing, contents and all. The new
 * backing is populated first, while the guest runs. Then, live, one range
 * at a time under write-protect; otherwise all of them in one pause.
 * Returns how many moved: @n, or fewer with the error set, those past the
 * count left on their old backing, intact. The caller frees the old
 * backing of those that moved.
 */
static size_t move_unlocked(struct cma_engine *e, struct move *m, size_t n)
{
	bool live = e->live && !e->guest_stopped;
	size_t done = 0, i;

	for (i = 0; i < n; i++)
		if (prepare_move(e, &m[i]))
			break;
	if (i == n && live) {
		done = moves_live(e, m, n);
	} else if (i == n && !move_paused(e, m, n)) {
		done = n;
		report_progress(e, moves_bytes(m, n), moves_bytes(m, n));
	}
	for (i = 0; i < n; i++)
		finish_view(&m[i], i < done);
	return done;
}

/*
 * Called with the engine's lock held, which it lets go of while it moves:
 * the span it moves refuses discards meanwhile.
 */
size_t move_ranges(struct cma_engine *e, struct move *m, size_t n)
{
	size_t done;

	if (!n)
		return 0;
	span_of(m, n, &e->moving_lo, &e->moving_hi);
	engine_unlock(e);
	done = move_unlocked(e, m, n);
	engine_lock(e);
	e->moving_lo = e->moving_hi = NULL;
	return done;
}

int move_range(struct cma_engine *e, size_t b, uint8_t *host, uint64_t len,
	       const struct backing *from, const struct backing *to)
{
	struct move m = { .b = b, .host = host, .len = len, .from = *from, .to = *to };

	return move_ranges(e, &m, 1) == 1 ? 0 : -1;
}

struct move block_move(const struct cma_engine *e, size_t b, const struct backing *to)
{
	return (struct move){ .b = b,
			      .host = block_host(e, b),
			      .len = CMA_PAGEBLOCK,
			      .from = block_backing(e, b),
			      .to = *to };
}

/* The old backing of a block that moved: its pages freed, its own file closed later. */
void free_old_backing(const struct move *m)
{
	punch(m->from.fd, m->from.off, m->len);
}

int block_to_huge(struct cma_engine *e, size_t b, int fd, uint64_t off, bool own)
{
	struct backing to = { fd, off, CMA_PAGEBLOCK };
	struct move m = block_move(e, b, &to);

	if (move_ranges(e, &m, 1) != 1)
		return -1;
	free_old_backing(&m);
	block_set_backing(e, b, CMA_BACKING_HUGE, fd, off, own);
	return 0;
}

int block_to_memfd(struct cma_engine *e, size_t b)
{
	return blocks_move(e, b, 1, -1, 0) == 1 ? 0 : -1;
}

/*
 * Blocks [first, first + n) onto consecutive 2 MiB pages of @fd (from
 * @off), or back onto guest RAM's memfd when @fd < 0. Returns how many
 * moved, in order; the rest stay where they were.
 */
size_t blocks_move(struct cma_engine *e, size_t first, size_t n, int fd, uint64_t off)
{
	struct move *m = calloc(n, sizeof(*m));
	size_t done, to_move = 0, moved;

	if (!m) {
		cma_fail(e, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct backing to =
			fd < 0 ? memfd_backing(e, first + i)
			       : (struct backing){ fd, off + i * CMA_PAGEBLOCK, CMA_PAGEBLOCK };

		if (fd < 0 && e->blocks[first + i].backing == CMA_BACKING_MEMFD)
			continue;
		m[to_move++] = block_move(e, first + i, &to);
	}
	done = move_ranges(e, m, to_move);
	for (size_t k = 0; k < done; k++) {
		free_old_backing(&m[k]);
		if (fd < 0)
			block_set_backing(e, m[k].b, CMA_BACKING_MEMFD, -1, 0, false);
		else
			block_set_backing(e, m[k].b, CMA_BACKING_HUGE, fd, m[k].to.off, false);
	}
	/* blocks that needed no move count as moved, up to the first that failed */
	moved = done == to_move ? n : m[done].b - first;
	free(m);
	return moved;
}
