// SPDX-License-Identifier: GPL-2.0-only
/*
 * Windows: a pool's range committed at a level (resident, huge,
 * contiguous), released, or moved to another level, every pageblock
 * rolled back with its contents when a step fails. A contiguous window
 * takes its whole 1 GiB-aligned host span onto one 1 GiB page.
 */
#include "cma/internal.h"
#include "cma/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static size_t window_blocks(const struct cma_engine *e, const struct cma_window *w)
{
	return w->length / e->pageblock;
}

static int window_slot(const struct cma_engine *e, const struct cma_window *w)
{
	return (int)(w - e->windows);
}

/* ---- resident ---- */

/* Fault in and lock a block's pages: without the engine's lock, which it takes long. */
static int populate_and_lock(uint8_t *host, uint64_t len)
{
	int err = 0;

	if (madvise(host, len, MADV_POPULATE_WRITE))
		err = -errno;
	else if (mlock(host, len))
		err = errno; /* positive: the lock, not the populate, failed */
	return err;
}

static int block_lock(struct cma_engine *e, size_t b)
{
	uint8_t *host = block_host(e, b);
	struct rlimit rl;
	int r;

	if ((r = injected(e, CMA_STEP_POPULATE, b)))
		return cma_fail(e, "populating 0x%" PRIx64 ": %s", e->blocks[b].gpa, strerror(-r));
	engine_unlock(e);
	r = populate_and_lock(host, e->pageblock);
	engine_lock(e);
	if (r < 0)
		return cma_fail(e, "populating 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
				strerror(-r), no_memory_hint(CMA_PAGE));
	if (r > 0) {
		int err = r;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		return cma_fail(
			e,
			"locking 0x%" PRIx64 ": %s; the locked-memory limit is %llu KiB: "
			"raise it for the user who runs cmavm (ulimit -l, systemd's LimitMEMLOCK=, "
			"memlock in limits.conf)",
			e->blocks[b].gpa, strerror(err), (unsigned long long)rl.rlim_cur / 1024);
	}
	block_set_locked(e, b, true);
	return 0;
}

static void block_unlock(struct cma_engine *e, size_t b)
{
	if (e->blocks[b].locked)
		munlock(block_host(e, b), e->pageblock);
	block_set_locked(e, b, false);
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
		engine_unlock(e);
		report_progress(e, (i + 1) * e->pageblock, n * e->pageblock);
		engine_lock(e);
	}
	return 0;
}

/* ---- huge ---- */

/*
 * Put blocks back on the memfd after a failure; keeps the first error message.
 * A block that cannot go back (the pause does not come) stays on the window's
 * file, which the caller closes: block_keep_fd() gives it a descriptor of its own.
 */
static void roll_back_to_memfd(struct cma_engine *e, size_t first, size_t n)
{
	char saved[sizeof(e->error)];
	enum cma_error kind = e->error_kind;
	size_t back;

	memcpy(saved, e->error, sizeof(saved));
	back = blocks_move(e, first, n, -1, 0);
	for (size_t i = back; i < n; i++)
		if (e->blocks[first + i].backing != CMA_BACKING_MEMFD)
			block_keep_fd(e, first + i);
	memcpy(e->error, saved, sizeof(saved));
	e->error_kind = kind;
	e->stats.rollbacks++;
}

static int commit_huge(struct cma_engine *e, struct cma_window *w, size_t first, size_t n)
{
	int fd = alloc_backing(e, n * e->pageblock, CMA_HUGE_PAGE);
	size_t done;

	if (fd < 0)
		return cma_fail(
			e,
			"a hugetlb file for the window: %s; the host needs hugetlbfs with 2 "
			"MiB pages",
			strerror(-fd));
	done = blocks_move(e, first, n, fd, 0);
	if (done < n) {
		roll_back_to_memfd(e, first, done);
		close(fd);
		return -1;
	}
	w->huge_fd = fd;
	w->huge_fd_size = n * e->pageblock;
	return 0;
}

/* A huge window whose release failed midway: blocks already on the memfd go back. */
static void restore_huge(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(e, w);
	char saved[sizeof(e->error)];

	memcpy(saved, e->error, sizeof(saved));
	for (size_t i = 0; i < n; i++)
		if (e->blocks[first + i].backing == CMA_BACKING_MEMFD)
			block_to_huge(e, first + i, w->huge_fd, i * e->pageblock, false);
	memcpy(e->error, saved, sizeof(saved));
	e->stats.rollbacks++;
}

/* ---- contiguous: the 1 GiB page ---- */

/* On ordinary pages and in no window but @self (whose level is changing). */
static bool blocks_on_memfd(const struct cma_engine *e, uint64_t gpa, uint64_t len, int self)
{
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].gpa >= gpa && e->blocks[b].gpa < gpa + len &&
		    (e->blocks[b].backing == CMA_BACKING_HUGE ||
		     e->blocks[b].backing == CMA_BACKING_GIGANTIC ||
		     (e->blocks[b].window >= 0 && e->blocks[b].window != self)))
			return false;
	return true;
}

/* The 1 GiB-aligned host span around a window, and the guest RAM inside it. */
struct span {
	uint8_t *host;
	uint64_t gpa, ram_len;
};

static struct span span_of(const struct cma_engine *e, const struct cma_window *w)
{
	uintptr_t start = (uintptr_t)block_host(e, window_first_block(e, w));
	uintptr_t span = start & ~(uintptr_t)(GIGANTIC - 1), ram = (uintptr_t)e->host;
	uintptr_t ram_end = ram + e->size, end = span + GIGANTIC;

	return (struct span){ (uint8_t *)span, e->gpa + (span - ram),
			      (ram_end < end ? ram_end : end) - span };
}

/*
 * A pageblock the span would cut in two (part on the 1 GiB page, part
 * not), or -1. None does where guest RAM's host mapping is aligned like
 * its guest-physical addresses, to the pageblock at least.
 */
static int block_cut_by(const struct cma_engine *e, const struct span *s)
{
	uint64_t end = s->gpa + s->ram_len;

	for (size_t b = 0; b < e->nr_blocks; b++) {
		uint64_t lo = e->blocks[b].gpa, hi = lo + e->pageblock;

		if (lo < end && hi > s->gpa && (lo < s->gpa || hi > end))
			return (int)b;
	}
	return -1;
}

/* Can window @w's span go onto one 1 GiB page? */
static int check_span(struct cma_engine *e, const struct cma_window *w, const struct span *s)
{
	const uint8_t *start = block_host(e, window_first_block(e, w));
	char pb[32];
	int cut;

	if (start + w->length > s->host + GIGANTIC)
		return cma_fail(e,
				"the window crosses a 1 GiB boundary of host memory; a contiguous "
				"window must fit in one 1 GiB page: commit it in two parts");
	if (e->gigantic.window >= 0)
		return cma_conflict(e, "another window already has the host's 1 GiB page span");
	if (s->host < e->host || s->host + GIGANTIC > e->map_end)
		return cma_fail(e,
				"the 1 GiB span around the window is not cmavm's to map (guest RAM "
				"is not 1 GiB aligned on the host)");
	cut = block_cut_by(e, s);
	if (cut >= 0)
		return cma_fail(
			e,
			"the 1 GiB span around the window would cut pageblock 0x%" PRIx64
			" in two (guest RAM is not aligned on the host to the %s pageblock)",
			e->blocks[cut].gpa, size_str(e->pageblock, pb));
	if (!blocks_on_memfd(e, s->gpa, s->ram_len, window_slot(e, w)))
		return cma_conflict(
			e, "part of the 1 GiB span is in another window; release it first");
	return 0;
}

/*
 * The window's 1 GiB-aligned host span moves onto one 1 GiB page: guest RAM
 * inside the span is copied; the part of the span past RAM is only mapped.
 */
/*
 * Blocks of the span that a migration put on memfds of their own go home
 * to guest RAM's memfd first: the span moves from that one file.
 */
static int own_blocks_home(struct cma_engine *e, const struct span *s)
{
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].backing == CMA_BACKING_OWN && e->blocks[b].gpa >= s->gpa &&
		    e->blocks[b].gpa < s->gpa + s->ram_len && block_to_memfd(e, b))
			return -1;
	return 0;
}

static int commit_contiguous(struct cma_engine *e, struct cma_window *w)
{
	struct span s = span_of(e, w);
	struct backing from, to;
	int fd;

	if (check_span(e, w, &s) || own_blocks_home(e, &s))
		return -1;
	fd = alloc_backing(e, GIGANTIC, GIGANTIC);
	if (fd < 0)
		return cma_fail(e, "a 1 GiB hugetlb file: %s; %s", strerror(-fd),
				no_memory_hint(GIGANTIC));
	from = (struct backing){ e->memfd, s.gpa - e->gpa, CMA_PAGE };
	to = (struct backing){ fd, 0, GIGANTIC };
	if (move_range(e, window_first_block(e, w), s.host, s.ram_len, &from, &to)) {
		close(fd);
		e->stats.rollbacks++;
		return -1;
	}
	/* mmap() rounds a hugetlb mapping up to whole pages: the page also covers
	 * the reserved address space past RAM, which is why map_end matters. */
	punch(e->memfd, s.gpa - e->gpa, s.ram_len);
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].gpa >= s.gpa && e->blocks[b].gpa < s.gpa + s.ram_len)
			block_set_backing(e, b, CMA_BACKING_GIGANTIC, fd, e->blocks[b].gpa - s.gpa,
					  false);
	w->huge_fd = fd;
	w->huge_fd_size = GIGANTIC;
	e->gigantic.window = window_slot(e, w);
	e->gigantic.span = s.host;
	e->gigantic.ram_gpa = s.gpa;
	e->gigantic.ram_len = s.ram_len;
	return 0;
}

/*
 * In the pause, without the engine's lock: the span's guest RAM copied to
 * @view (guest RAM's memfd), then mapped in place of the 1 GiB page.
 * 0, or a negative errno with the 1 GiB page mapped back.
 */
static int span_to_memfd(struct cma_engine *e, const struct cma_window *w, uint8_t *view,
			 size_t first)
{
	uint8_t *span = e->gigantic.span;
	uint64_t ram_len = e->gigantic.ram_len, off = e->gigantic.ram_gpa - e->gpa;
	int r;

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
	return r;
}

/*
 * A hugetlb mapping splits only at its page size, so the 1 GiB span is
 * replaced as a whole: reserved address space first, then guest RAM's
 * memfd over the RAM part. Until the memfd is mapped, the 1 GiB page still
 * holds everything, so a failure maps it back.
 */
static int release_contiguous(struct cma_engine *e, struct cma_window *w)
{
	uint64_t ram_len = e->gigantic.ram_len, off = e->gigantic.ram_gpa - e->gpa, t0;
	size_t first = window_first_block(e, w);
	bool paused;
	uint8_t *view;
	int r;

	if ((r = injected(e, CMA_STEP_ALLOC, first)))
		return cma_fail(e, "getting memory back for the window: %s", strerror(-r));
	view = mmap(NULL, ram_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, e->memfd,
		    (off_t)off);
	if (view == MAP_FAILED)
		return cma_fail(e, "guest RAM for the window's span: %s; %s", strerror(errno),
				no_memory_hint(CMA_PAGE));
	engine_unlock(e); /* the span is the gigantic window's: discards keep off it */
	paused = !pause_guest(e, &t0);
	if (paused) {
		r = span_to_memfd(e, w, view, first);
		resume_guest(e, t0);
	}
	engine_lock(e);
	munmap(view, ram_len);
	if (!paused)
		return -1;
	if (r) {
		punch(e->memfd, off, ram_len);
		return cma_fail(e, "moving the window off its 1 GiB page: %s (rolled back)",
				strerror(-r));
	}
	for (size_t b = 0; b < e->nr_blocks; b++)
		if (e->blocks[b].backing == CMA_BACKING_GIGANTIC)
			block_set_backing(e, b, CMA_BACKING_MEMFD, -1, 0, false);
	e->gigantic.window = -1;
	return 0;
}

/* Does [offset, offset + length) of @pool lie partly on the contiguous window's 1 GiB page? */
static bool on_gigantic_page(const struct cma_engine *e, size_t pool, uint64_t offset,
			     uint64_t length)
{
	uint64_t gpa = e->pools[pool].base + offset;

	return e->gigantic.window >= 0 && gpa < e->gigantic.ram_gpa + e->gigantic.ram_len &&
	       e->gigantic.ram_gpa < gpa + length;
}

/* ---- levels ---- */

static int commit_level(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(e, w);

	switch (w->level) {
	case CMA_RESIDENT:
		return commit_resident(e, first, n);
	case CMA_HUGE:
		return commit_huge(e, w, first, n);
	case CMA_CONTIGUOUS:
		return commit_contiguous(e, w);
	}
	return -1;
}

/* Undo commit_level(): the blocks are lazily backed by the memfd again. */
static int release_level(struct cma_engine *e, struct cma_window *w)
{
	size_t first = window_first_block(e, w), n = window_blocks(e, w);
	int ret = 0;

	if (w->level == CMA_CONTIGUOUS) {
		ret = release_contiguous(e, w);
	} else {
		for (size_t i = 0; i < n; i++)
			block_unlock(e, first + i);
		if (blocks_move(e, first, n, -1, 0) < n)
			ret = -1;
	}
	if (!ret && w->huge_fd >= 0) {
		close(w->huge_fd);
		w->huge_fd = -1;
	}
	return ret;
}

/* Every block of @w into window slot @slot, or out of every window (-1). */
static void mark_blocks(struct cma_engine *e, const struct cma_window *w, int slot)
{
	size_t first = window_first_block(e, w), n = window_blocks(e, w);

	for (size_t i = 0; i < n; i++)
		block_set_window(e, first + i, slot);
}

/*
 * A commit or release of @w under way, or none (COMMITTED): for GET
 * windows, and for the figures of @w's moves.
 */
static void set_window_state(struct cma_engine *e, struct cma_window *w,
			     enum cma_window_state state)
{
	w->state = state;
	w->done_bytes = 0;
	e->progress_slot = state == CMA_WINDOW_COMMITTED ? -1 : window_slot(e, w);
	e->move_window = e->progress_slot;
}

/* A committed window at another level: release it, commit anew, or go back. */
static int change_level(struct cma_engine *e, struct cma_window *w, enum cma_level level)
{
	enum cma_level old = w->level;
	char why[sizeof(e->error)], back[sizeof(e->error)];

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
		memcpy(back, e->error, sizeof(back));
		mark_blocks(e, w, -1);
		w->used = false;
		return cma_fail(e,
				"%s; and the window could not go back to %s (%s): it is released",
				why, cma_level_name(old), back);
	}
	memcpy(e->error, why, sizeof(why));
	return -1;
}

/* ---- windows ---- */

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

static int check_range(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t *length)
{
	const struct cma_engine_pool *p;
	char pb[32];

	if (pool >= e->nr_pools)
		return cma_fail_as(e, CMA_ERR_NOT_FOUND, "no such pool");
	p = &e->pools[pool];
	if (!*length && offset < p->size)
		*length = p->size - offset;
	if ((offset | *length) & (e->pageblock - 1))
		return cma_fail_as(e, CMA_ERR_INVALID,
				   "offset and length must be multiples of the %s pageblock",
				   size_str(e->pageblock, pb));
	if (offset >= p->size || *length > p->size - offset || !*length)
		return cma_fail_as(e, CMA_ERR_INVALID,
				   "[%" PRIu64 ", +%" PRIu64 ") is not inside pool '%s' (%" PRIu64
				   " bytes)",
				   offset, *length, p->spec.name, p->size);
	if (e->memfd < 0)
		return cma_fail(e, "guest RAM has no memfd: windows need one");
	return 0;
}

static struct cma_window *free_slot(struct cma_engine *e)
{
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (!e->windows[i].used)
			return &e->windows[i];
	return NULL;
}

/* A window over a range no window has yet. */
static struct cma_window *commit_new(struct cma_engine *e, size_t pool, uint64_t offset,
				     uint64_t length, enum cma_level level, bool overlaps)
{
	struct cma_window *w;

	if (overlaps) {
		cma_conflict(e, "the range overlaps a committed window; release it first, or "
				"commit exactly its range to change its level");
		return NULL;
	}
	if (on_gigantic_page(e, pool, offset, length)) {
		cma_conflict(e, "the range is on window %u's 1 GiB page; release it first",
			     e->windows[e->gigantic.window].id);
		return NULL;
	}
	w = free_slot(e);
	if (!w) {
		cma_conflict(e, "%d windows are committed already; release one", CMA_MAX_WINDOWS);
		return NULL;
	}
	*w = (struct cma_window){ .used = true,
				  .id = ++e->next_window_id,
				  .pool = (unsigned)pool,
				  .offset = offset,
				  .length = length,
				  .level = level,
				  .huge_fd = -1 };
	/* Its blocks are the window's from now: no discard while they move. */
	mark_blocks(e, w, window_slot(e, w));
	set_window_state(e, w, CMA_WINDOW_COMMITTING);
	if (commit_level(e, w)) {
		mark_blocks(e, w, -1);
		set_window_state(e, w, CMA_WINDOW_COMMITTED);
		w->used = false;
		e->next_window_id--; /* a failed commit uses up no id */
		return NULL;
	}
	return w;
}

static int window_commit(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t length,
			 enum cma_level level)
{
	struct cma_window *w;
	uint64_t t0 = now_ns();
	bool overlaps, moves;
	int r = 0;

	if (check_range(e, pool, offset, &length))
		return -1;
	w = find_window(e, pool, offset, length, &overlaps);
	moves = !w || w->level != level; /* the same level again: nothing moves */
	if (w) {
		set_window_state(e, w, CMA_WINDOW_COMMITTING);
		r = change_level(e, w, level);
	} else {
		w = commit_new(e, pool, offset, length, level, overlaps);
	}
	if (w)
		set_window_state(e, w, CMA_WINDOW_COMMITTED);
	if (!w || r)
		return -1;
	if (moves) {
		w->moves.commit_ns = now_ns() - t0;
		w->moves.commit_pause_ns = e->op_pause_ns;
	}
	window_measure(e, window_slot(e, w));
	e->stats.commits++;
	if (e->guest_stopped)
		e->stats.boot_commits++;
	return window_slot(e, w);
}

int cma_window_commit(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t length,
		      enum cma_level level)
{
	int slot = -1;

	engine_lock(e);
	if (!op_begin(e)) {
		slot = window_commit(e, pool, offset, length, level);
		op_end(e);
	}
	engine_unlock(e);
	return slot;
}

static int window_find(const struct cma_engine *e, unsigned int id)
{
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (e->windows[i].used && e->windows[i].id == id)
			return i;
	return -1;
}

int cma_window_find(const struct cma_engine *e, unsigned int id)
{
	int slot;

	engine_lock(e);
	slot = window_find(e, id);
	engine_unlock(e);
	return slot;
}

static int window_release(struct cma_engine *e, unsigned int id)
{
	int slot = window_find(e, id), r;
	struct cma_window *w;

	if (slot < 0)
		return cma_fail_as(e, CMA_ERR_NOT_FOUND, "no window %u", id);
	w = &e->windows[slot];
	set_window_state(e, w, CMA_WINDOW_RELEASING);
	r = release_level(e, w);
	set_window_state(e, w, CMA_WINDOW_COMMITTED);
	if (r)
		return -1;
	mark_blocks(e, w, -1);
	w->used = false;
	e->stats.releases++;
	return 0;
}

int cma_window_release(struct cma_engine *e, unsigned int id)
{
	int r;

	engine_lock(e);
	r = op_begin(e);
	if (!r) {
		r = window_release(e, id);
		op_end(e);
	}
	engine_unlock(e);
	return r;
}
