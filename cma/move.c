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
 * writer of the range, for one run of pageblocks at a time (uffd.c); elsewhere the
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
	note_move_pause(e, dt);
	engine_unlock(e);
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
 * What the moving thread and its helper each take at a time: a host huge
 * page, whatever the pageblock (a 512 MiB one is 256 pieces).
 */
#define PIECE CMA_HUGE_PAGE

static size_t pieces_of(const struct move *m)
{
	return (m->len + PIECE - 1) / PIECE;
}

/* Piece @i of @m as a move of its own: the same files, views and mapping, further on. */
static struct move piece_of(const struct move *m, size_t i)
{
	uint64_t at = i * PIECE;
	struct move p = *m;

	p.host += at;
	p.len = m->len - at < PIECE ? m->len - at : PIECE;
	p.from.off += at;
	p.to.off += at;
	if (p.view)
		p.view += at;
	if (p.src)
		p.src += at;
	return p;
}

/* Work on a move's pieces (split_work()); the first error stops the rest. */
struct pieces {
	struct cma_engine *e;
	const struct move *m;
	int err;
};

static void populate_piece(void *arg, size_t i)
{
	struct pieces *p = arg;
	struct move piece = piece_of(p->m, i);
	int r;

	if (__atomic_load_n(&p->err, __ATOMIC_RELAXED))
		return;
	if (piece.to.page_size == CMA_PAGE)
		r = for_each_data(&piece, populate_extent, &piece);
	else
		r = populate_extent(&piece, 0, piece.len);
	if (r)
		__atomic_store_n(&p->err, r, __ATOMIC_RELAXED);
}

/* Step @step of each block of @m, for tests that make it fail (0: go on). */
static int injected_move(struct cma_engine *e, enum cma_step step, struct move *m)
{
	int r = 0;

	for (size_t i = 0; i < (m->nblocks ? m->nblocks : 1) && !r; i++) {
		r = injected(e, step, m->b + i);
		if (r)
			m->bad = m->b + i;
	}
	return r;
}

/* Where @m failed, for its message: the block a step failed at, or its first. */
static uint64_t bad_gpa(const struct cma_engine *e, const struct move *m)
{
	return e->blocks[m->bad ? m->bad : m->b].gpa;
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
	uint64_t gpa = bad_gpa(e, m);
	struct pieces p = { e, m, 0 };
	int r;

	m->mapped = mapped_len(m->to.fd, m->len);
	m->view =
		mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->to.fd, (off_t)m->to.off);
	if (m->view == MAP_FAILED) {
		m->view = NULL;
		return cma_fail(e, "new backing for 0x%" PRIx64 ": %s; %s", gpa, strerror(errno),
				no_memory_hint(m->to.page_size));
	}
	if (m->to.page_size == CMA_PAGE)
		madvise(m->view, m->len, MADV_HUGEPAGE);
	split_work(e, populate_piece, &p, pieces_of(m));
	r = p.err;
	if (r)
		return cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s; %s", gpa,
				strerror(-r), no_memory_hint(m->to.page_size));
	return 0;
}

static int populate_read_extent(void *arg, uint64_t at, uint64_t n)
{
	struct move *m = arg;

	madvise(m->src + at, n, MADV_POPULATE_READ);
	return 0;
}

/*
 * The old backing mapped apart, read-only, to copy from, with its data
 * (not its holes, which reading would fill) mapped in at once. Not the
 * guest's mapping: write-protecting it splits a huge mapping, and reading
 * it back 4 KiB at a time made a 64 MiB copy 160-200 ms instead of 30 in
 * the emulated 6.12 host. Not pread(): arm64 copies to user memory 8 bytes
 * an instruction (50 ms there). Without a view, through the guest's
 * mapping.
 */
static void map_source_piece(void *arg, size_t i)
{
	struct pieces *p = arg;
	struct move piece = piece_of(p->m, i);

	for_each_data(&piece, populate_read_extent, &piece);
}

static void map_source(struct cma_engine *e, struct move *m)
{
	struct pieces p = { e, m, 0 };

	m->src = map_aligned(m->len, PROT_READ, m->from.fd, m->from.off);
	if (m->src)
		split_work(e, map_source_piece, &p, pieces_of(m));
}

static int prepare_move(struct cma_engine *e, struct move *m)
{
	int r = injected_move(e, CMA_STEP_ALLOC, m);

	if (r)
		return cma_fail(e, "getting new backing for 0x%" PRIx64 ": %s", bad_gpa(e, m),
				strerror(-r));
	if (populate_view(e, m))
		return -1;
	map_source(e, m);
	r = injected_move(e, CMA_STEP_POPULATE, m);
	if (r)
		return cma_fail(e, "populating new backing for 0x%" PRIx64 ": %s", bad_gpa(e, m),
				strerror(-r));
	return 0;
}

/* The view goes; unless the move took place, what it populated is nobody's. */
static void finish_view(struct move *m, bool moved)
{
	if (m->view)
		munmap(m->view, m->mapped);
	if (m->src)
		munmap(m->src, m->len);
	m->view = m->src = NULL;
	if (!moved)
		punch(m->to.fd, m->to.off, m->len);
}

#define COPY_CHUNK (256 * 1024) /* a live copy looks for waiting writers this often */

/* From the old backing's view, or where there is none, through the guest's mapping. */
static void copy_piece(const struct move *m, uint64_t at, uint64_t n)
{
	memcpy(m->view + at, (m->src ? m->src : m->host) + at, n);
}

struct copy {
	struct cma_engine *e;
	const struct move *m;
	bool looks; /* looks for waiting writers between chunks (live) */
};

static int copy_extent(void *arg, uint64_t at, uint64_t len)
{
	struct copy *c = arg;

	for (uint64_t done = 0; done < len; done += COPY_CHUNK) {
		copy_piece(c->m, at + done, len - done < COPY_CHUNK ? len - done : COPY_CHUNK);
		if (c->looks)
			uffd_note_writers(c->e);
	}
	return 0;
}

static void copy_present_piece(void *arg, size_t i)
{
	struct pieces *p = arg;
	struct move piece = piece_of(p->m, i);
	struct copy c = { p->e, &piece, move_is_live(p->e) };

	for_each_data(&piece, copy_extent, &c);
}

/*
 * Copy what the old backing holds: its data, never its holes, which read
 * as zeroes and are zeroes in the new backing already, and which reading
 * through the mapping would only allocate.
 */
static void copy_present(struct cma_engine *e, const struct move *m)
{
	struct pieces p = { e, m, 0 };

	if (!move_is_live(e)) {
		split_work(e, copy_present_piece, &p, pieces_of(m));
		return;
	}
	/* A writer waits for this copy: never for a helper starved of a CPU. */
	for (size_t i = 0; i < pieces_of(m); i++)
		copy_present_piece(&p, i);
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
	int r = injected_move(e, CMA_STEP_COPY, m);

	if (!r) {
		copy_present(e, m);
		r = injected_move(e, CMA_STEP_REMAP, m);
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

	if (fence_range(e, m->host, m->len))
		return -1;
	r = registered ? uffd_wp(e, m->host, m->len) : uffd_protect(e, m->host, m->len);
	if (r) {
		unfence_range(e, m->host, m->len);
		return cma_fail(e, "write-protecting 0x%" PRIx64 ": %s", bad_gpa(e, m),
				strerror(-r));
	}
	r = copy_and_remap(e, m);
	if (r)
		uffd_unprotect(e, m->host, m->len);
	else
		uffd_wake(e, m->host, m->len);
	unfence_range(e, m->host, m->len);
	if (r)
		return cma_fail(e, "moving 0x%" PRIx64 " onto new backing: %s (rolled back)",
				bad_gpa(e, m), strerror(-r));
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
				bad_gpa(e, &m[i - 1]), strerror(-r));
	return 0;
}

/* Called without the lock: the window's progress is read meanwhile. */
void report_progress(struct cma_engine *e, uint64_t done, uint64_t total)
{
	engine_lock(e);
	if (e->progress_slot >= 0)
		e->windows[e->progress_slot].done_bytes = done;
	engine_unlock(e);
	if (total > e->pageblock && e->hooks.progress)
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

/* Does @b continue @a: the next blocks, next in the guest's mapping and in both files? */
static bool continues(const struct move *a, const struct move *b)
{
	uint64_t len = a->len;

	return b->b == a->b + (a->nblocks ? a->nblocks : 1) && b->host == a->host + len &&
	       b->from.fd == a->from.fd && b->from.off == a->from.off + len &&
	       b->from.page_size == a->from.page_size && b->to.fd == a->to.fd &&
	       b->to.off == a->to.off + len && b->to.page_size == a->to.page_size;
}

/*
 * @m[0..n) as runs of consecutive moves of at most @cap bytes each: one
 * mapping, one populate, one protect, one copy pass and one remap for a
 * whole run, where a move per pageblock costs a dozen system calls each.
 * @parts[i]: how many of @m run i covers. Returns the number of runs.
 */
static size_t coalesce(const struct move *m, size_t n, uint64_t cap, struct move *runs,
		       size_t *parts)
{
	size_t r = 0;

	for (size_t i = 0; i < n; i++) {
		struct move *run = r ? &runs[r - 1] : NULL;

		if (run && continues(run, &m[i]) && run->len + m[i].len <= cap) {
			run->len += m[i].len;
			run->nblocks = (run->nblocks ? run->nblocks : 1) +
				       (m[i].nblocks ? m[i].nblocks : 1);
			parts[r - 1]++;
			continue;
		}
		runs[r] = m[i];
		parts[r++] = 1;
	}
	return r;
}

/* Moves of @parts[0..runs): how many of the moves the first @runs runs covered. */
static size_t moves_in(const size_t *parts, size_t runs)
{
	size_t n = 0;

	for (size_t i = 0; i < runs; i++)
		n += parts[i];
	return n;
}

/*
 * Runs of @m[0..n) onto their new backing, contents and all. The new
 * backing is populated first, while the guest runs. Then, live, one run
 * at a time under write-protect; otherwise all of them in one pause.
 * Returns how many runs moved.
 */
static size_t move_unlocked(struct cma_engine *e, struct move *m, size_t n)
{
	size_t done = 0, i;

	for (i = 0; i < n; i++)
		if (prepare_move(e, &m[i]))
			break;
	if (i == n && move_is_live(e)) {
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
 * Live, a run is at most live_run() long: its writers wait for its copy.
 * In a pause everything waits anyway, so runs are as long as they come.
 */
static size_t move_runs(struct cma_engine *e, struct move *m, size_t n)
{
	struct move *runs = calloc(n, sizeof(*runs));
	size_t *parts = calloc(n, sizeof(*parts)), nr;

	if (!runs || !parts) {
		free(runs);
		free(parts);
		return move_unlocked(e, m, n); /* one move per range, then */
	}
	nr = coalesce(m, n, move_is_live(e) ? live_run(e) : UINT64_MAX, runs, parts);
	n = moves_in(parts, move_unlocked(e, runs, nr));
	free(runs);
	free(parts);
	return n;
}

/*
 * Move each of @m[0..n) onto its new backing, contents and all. Returns
 * how many moved: @n, or fewer with the error set, those past the count
 * left on their old backing, intact. The caller frees the old backing of
 * those that moved. Called with the engine's lock held, which it lets go
 * of while it moves: the span it moves refuses discards meanwhile.
 */
size_t move_ranges(struct cma_engine *e, struct move *m, size_t n)
{
	size_t done;

	if (!n)
		return 0;
	span_of(m, n, &e->moving_lo, &e->moving_hi);
	engine_unlock(e);
	done = move_runs(e, m, n);
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
			      .len = e->pageblock,
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
	struct backing to = { fd, off, CMA_HUGE_PAGE };
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
 * Blocks [first, first + n) onto consecutive pageblocks of @fd, a file
 * of 2 MiB pages (from @off), or back onto guest RAM's memfd when @fd < 0.
 * Returns how many moved, in order; the rest stay where they were.
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
			       : (struct backing){ fd, off + i * e->pageblock, CMA_HUGE_PAGE };

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
