// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pageblock record. Every change of a block's state goes through the
 * block_set_*() and block_count_*() functions here; reading a state
 * (cma_block_state(), cma_pool_counts()) only measures and never writes,
 * so a GET of the map leaves the engine as it was.
 *
 * The balloon and free page reporting count 4 KiB pages (struct page_set),
 * so a pageblock of any size is ballooned or reported once each of its
 * pages is, and a page discarded twice counts once. A reported page goes
 * stale when the guest touches it again: the reader ranks "resident" above
 * a report. Commits and releases drop stale pages from the report;
 * discards do not look, as a sweep of a 512 MiB block for each of a
 * guest's reports would cost seconds. (A stale page the host has swapped
 * out since would show as reported: mincore() does not see it, and the
 * threads that read states may not lseek(SEEK_DATA). The state is only
 * shown; nothing is dropped for it.)
 */
#include "cma/internal.h"
#include "cma/size.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- page sets: which 4 KiB pages of a block ---- */

static bool set_full(const struct page_set *set, size_t pages)
{
	return set->count == pages;
}

static void set_clear(struct page_set *set)
{
	free(set->bits);
	*set = (struct page_set){ 0 };
}

static bool bit_flip(uint64_t *bits, size_t i, bool on)
{
	uint64_t mask = 1ULL << (i % 64);
	bool was = bits[i / 64] & mask;

	bits[i / 64] = on ? bits[i / 64] | mask : bits[i / 64] & ~mask;
	return was != on;
}

/*
 * Some pages in, some not: one bit each. Where there is no memory for the
 * bits, the set is emptied: a block never counts a page it may not have.
 */
static bool set_bits(struct page_set *set, size_t pages)
{
	size_t words = (pages + 63) / 64;

	if (set->bits)
		return true;
	set->bits = calloc(words, sizeof(uint64_t));
	if (!set->bits) {
		set->count = 0;
		return false;
	}
	if (set->count) /* all of them: every bit */
		memset(set->bits, 0xff, words * sizeof(uint64_t));
	return true;
}

/* Pages [first, first + n) of @pages in (@on) or out of @set. */
static void set_change(struct page_set *set, size_t pages, size_t first, size_t n, bool on)
{
	if (!n || set->count == (on ? pages : 0))
		return;
	if (n == pages) {
		set_clear(set);
		set->count = on ? (uint32_t)pages : 0;
		return;
	}
	if (!set_bits(set, pages))
		return;
	for (size_t i = first; i < first + n; i++)
		if (bit_flip(set->bits, i, on))
			set->count = on ? set->count + 1 : set->count - 1;
	if (!set->count || set->count == pages) { /* none or all: no bits needed */
		free(set->bits);
		set->bits = NULL;
	}
}

/* ---- reading ---- */

static bool block_resident(const struct cma_engine *e, size_t b)
{
	return resident_pages(block_host(e, b), e->pageblock) > 0;
}

static enum cma_block_state block_state(const struct cma_engine *e, size_t b)
{
	const struct cma_block *blk = &e->blocks[b];

	if (blk->window >= 0)
		return CMA_WINDOW;
	if (set_full(&blk->ballooned, block_pages(e)))
		return CMA_BALLOONED;
	if (block_resident(e, b))
		return CMA_BACKED; /* touched again: a whole report is stale */
	return set_full(&blk->reported, block_pages(e)) ? CMA_REPORTED : CMA_UNBACKED;
}

enum cma_block_state cma_block_state(const struct cma_engine *e, size_t pool, size_t i)
{
	enum cma_block_state s;

	engine_lock(e);
	s = block_state(e, e->pools[pool].first_block + i);
	engine_unlock(e);
	return s;
}

void cma_pool_counts(const struct cma_engine *e, size_t pool, uint64_t counts[CMA_NR_STATES])
{
	const struct cma_engine_pool *p = &e->pools[pool];

	for (int s = 0; s < CMA_NR_STATES; s++)
		counts[s] = 0;
	engine_lock(e);
	for (size_t i = 0; i < p->nr_blocks; i++)
		counts[block_state(e, p->first_block + i)] += e->pageblock;
	engine_unlock(e);
}

struct backing memfd_backing(const struct cma_engine *e, size_t b)
{
	return (struct backing){ e->memfd, block_memfd_off(e, b), CMA_PAGE };
}

struct backing block_backing(const struct cma_engine *e, size_t b)
{
	const struct cma_block *blk = &e->blocks[b];

	switch (blk->backing) {
	case CMA_BACKING_MEMFD:
		return memfd_backing(e, b);
	case CMA_BACKING_OWN:
		return (struct backing){ blk->fd, blk->fd_off, CMA_PAGE };
	case CMA_BACKING_GIGANTIC:
		return (struct backing){ blk->fd, blk->fd_off, GIGANTIC };
	default:
		return (struct backing){ blk->fd, blk->fd_off, CMA_HUGE_PAGE };
	}
}

/* ---- writing ---- */

/* A new record: on guest RAM's memfd, in no window, nothing counted. */
void block_init(struct cma_engine *e, size_t b, uint64_t gpa)
{
	e->blocks[b] = (struct cma_block){
		.gpa = gpa,
		.backing = CMA_BACKING_MEMFD,
		.fd = -1,
		.window = -1,
	};
}

void block_fini(struct cma_engine *e, size_t b)
{
	set_clear(&e->blocks[b].reported);
	set_clear(&e->blocks[b].ballooned);
}

/*
 * A page the guest has touched since it was reported is in use again: its
 * report says nothing any more. (Without a look at the pages, none stays.)
 */
static void block_drop_stale_report(struct cma_engine *e, size_t b)
{
	struct cma_block *blk = &e->blocks[b];
	size_t pages = block_pages(e);
	unsigned char *vec;

	if (!blk->reported.count)
		return;
	vec = malloc(pages);
	if (!vec || mincore(block_host(e, b), e->pageblock, vec)) {
		set_clear(&blk->reported);
	} else {
		for (size_t i = 0; i < pages; i++)
			if (vec[i] & 1)
				set_change(&blk->reported, pages, i, 1, false);
	}
	free(vec);
}

void block_set_backing(struct cma_engine *e, size_t b, enum cma_backing kind, int fd, uint64_t off,
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
	block_fini(e, b);
}

/*
 * Block @b stays on a file its holder is about to close: it gets a
 * descriptor of its own, so it never names a closed one that another file
 * may get.
 */
void block_keep_fd(struct cma_engine *e, size_t b)
{
	struct cma_block *blk = &e->blocks[b];

	if (blk->own_fd)
		return;
	blk->fd = fcntl(blk->fd, F_DUPFD_CLOEXEC, 0);
	blk->own_fd = blk->fd >= 0;
}

/* Into window @window (an index into windows[]), or out of every window (-1). */
void block_set_window(struct cma_engine *e, size_t b, int window)
{
	block_drop_stale_report(e, b);
	e->blocks[b].window = window;
}

void block_set_locked(struct cma_engine *e, size_t b, bool locked)
{
	e->blocks[b].locked = locked;
}

void block_count_discard(struct cma_engine *e, size_t b, uint64_t gpa, uint64_t len,
			 enum cma_discard_reason why)
{
	struct cma_block *blk = &e->blocks[b];
	/* whole pages only: a page partly discarded still holds the rest */
	uint64_t first = align_up(gpa - blk->gpa, CMA_PAGE) / CMA_PAGE;
	uint64_t end = align_down(gpa + len - blk->gpa, CMA_PAGE) / CMA_PAGE;

	if (end > first)
		set_change(why == CMA_DISCARD_BALLOON ? &blk->ballooned : &blk->reported,
			   block_pages(e), first, end - first, true);
}

void block_count_deflate(struct cma_engine *e, size_t b, uint64_t gpa, uint64_t len)
{
	struct cma_block *blk = &e->blocks[b];
	/* every page touched: a page partly given back is the guest's again */
	uint64_t first = align_down(gpa - blk->gpa, CMA_PAGE) / CMA_PAGE;
	uint64_t end = align_up(gpa + len - blk->gpa, CMA_PAGE) / CMA_PAGE;

	set_change(&blk->ballooned, block_pages(e), first, end - first, false);
}

/* ---- the balloon and free page reporting ---- */

/* Give [gpa, gpa + len) of block @b (or of RAM outside pools, @b < 0) back to the host. */
static void punch_guest(const struct cma_engine *e, int b, uint64_t gpa, uint64_t len)
{
	struct backing bk;

	if (b < 0) {
		punch(e->memfd, gpa - e->gpa, len);
		return;
	}
	bk = block_backing(e, (size_t)b);
	punch(bk.fd, bk.off + (gpa - e->blocks[b].gpa), len);
}

/* Is guest-physical @gpa in the range a move has under way? */
static bool moving(const struct cma_engine *e, uint64_t gpa)
{
	const uint8_t *host = e->host + (gpa - e->gpa);

	return e->moving_lo && host >= e->moving_lo && host < e->moving_hi;
}

static bool protected(const struct cma_engine *e, int b, uint64_t gpa)
{
	if (moving(e, gpa))
		return true; /* its pages are being copied: a hole punched now would be lost */
	if (e->gigantic.window >= 0 && gpa >= e->gigantic.ram_gpa &&
	    gpa - e->gigantic.ram_gpa < e->gigantic.ram_len)
		return true;
	return b >= 0 && (e->blocks[b].window >= 0 || e->blocks[b].backing == CMA_BACKING_HUGE ||
			  e->blocks[b].backing == CMA_BACKING_GIGANTIC);
}

/*
 * The end of the part of [gpa, end) in @gpa's pageblock (pools are
 * pageblock aligned); outside pools, in its 2 MiB, the unit a 1 GiB span's
 * edge is judged in whatever the guest's pageblock.
 */
static uint64_t block_part_end(const struct cma_engine *e, int b, uint64_t gpa, uint64_t end)
{
	uint64_t unit = b >= 0 ? e->pageblock : CMA_HUGE_PAGE;
	uint64_t next = align_down(gpa, unit) + unit;

	return next < end ? next : end;
}

static uint64_t discard(struct cma_engine *e, uint64_t gpa, uint64_t len,
			enum cma_discard_reason why)
{
	uint64_t end = gpa + len, refused = 0;

	while (gpa < end) {
		int b = find_block(e, gpa);
		uint64_t n = block_part_end(e, b, gpa, end) - gpa;

		if (protected(e, b, gpa)) {
			refused += n;
		} else {
			/* counted first: a stale report is judged by what is resident now */
			if (b >= 0)
				block_count_discard(e, (size_t)b, gpa, n, why);
			punch_guest(e, b, gpa, n);
		}
		gpa += n;
	}
	if (refused) {
		e->stats.refused_discards++;
		e->stats.refused_discard_bytes += refused;
	}
	return refused;
}

uint64_t cma_discard(struct cma_engine *e, uint64_t gpa, uint64_t len, enum cma_discard_reason why)
{
	uint64_t refused;

	if (gpa < e->gpa || gpa - e->gpa > e->size || len > e->size - (gpa - e->gpa))
		return 0; /* not guest RAM: the caller has checked and counted it */
	engine_lock(e);
	refused = discard(e, gpa, len, why);
	engine_unlock(e);
	return refused;
}

void cma_deflated(struct cma_engine *e, uint64_t gpa, uint64_t len)
{
	engine_lock(e);
	for (uint64_t end = gpa + len, next; gpa < end; gpa = next) {
		int b = find_block(e, gpa);

		next = block_part_end(e, b, gpa, end);
		if (b >= 0)
			block_count_deflate(e, (size_t)b, gpa, next - gpa);
	}
	engine_unlock(e);
}
