// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pageblock record. Every change of a block's state goes through the
 * block_set_*() and block_count_*() functions here; reading a state
 * (cma_block_state(), cma_pool_counts()) only measures and never writes,
 * so a GET of the map leaves the engine as it was.
 *
 * A whole-block free page report goes stale when the guest touches the
 * block again. The writers that see the block next (another discard, a
 * commit or release) drop such a report; until then the reader ranks
 * "resident" above it.
 */
#include "cma/internal.h"

#include <fcntl.h>
#include <unistd.h>

/* ---- reading ---- */

static bool block_resident(const struct cma_engine *e, size_t b)
{
	return resident_pages(block_host(e, b), CMA_PAGEBLOCK) > 0;
}

static enum cma_block_state block_state(const struct cma_engine *e, size_t b)
{
	const struct cma_block *blk = &e->blocks[b];

	if (blk->window >= 0)
		return CMA_WINDOW;
	if (blk->ballooned_pages >= PAGES_PER_BLOCK)
		return CMA_BALLOONED;
	if (block_resident(e, b))
		return CMA_BACKED; /* touched again: a whole report is stale */
	return blk->reported_pages >= PAGES_PER_BLOCK ? CMA_REPORTED : CMA_UNBACKED;
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
		counts[block_state(e, p->first_block + i)] += CMA_PAGEBLOCK;
	engine_unlock(e);
}

struct backing memfd_backing(const struct cma_engine *e, size_t b)
{
	return (struct backing){ e->memfd, block_memfd_off(e, b), CMA_PAGE };
}

struct backing block_backing(const struct cma_engine *e, size_t b)
{
	const struct cma_block *blk = &e->blocks[b];

	if (blk->backing == CMA_BACKING_MEMFD)
		return memfd_backing(e, b);
	if (blk->backing == CMA_BACKING_OWN)
		return (struct backing){ blk->fd, blk->fd_off, CMA_PAGE };
	return (struct backing){ blk->fd, blk->fd_off, CMA_PAGEBLOCK };
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

/* A whole report of a block the guest has touched since says nothing any more. */
static void block_drop_stale_report(struct cma_engine *e, size_t b)
{
	struct cma_block *blk = &e->blocks[b];

	if (blk->reported_pages >= PAGES_PER_BLOCK && block_resident(e, b))
		blk->reported_pages = 0;
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
	blk->ballooned_pages = 0;
	blk->reported_pages = 0;
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

static uint16_t add_pages(uint16_t have, uint64_t pages)
{
	return (uint16_t)(have + pages > PAGES_PER_BLOCK ? PAGES_PER_BLOCK : have + pages);
}

/* @len bytes of block @b are about to be discarded for @why. */
void block_count_discard(struct cma_engine *e, size_t b, uint64_t len, enum cma_discard_reason why)
{
	struct cma_block *blk = &e->blocks[b];
	uint64_t pages = len / CMA_PAGE;

	block_drop_stale_report(e, b);
	if (why == CMA_DISCARD_BALLOON)
		blk->ballooned_pages = add_pages(blk->ballooned_pages, pages);
	else
		blk->reported_pages = add_pages(blk->reported_pages, pages);
}

/* One page of block @b is out of the balloon. */
void block_count_deflate(struct cma_engine *e, size_t b)
{
	if (e->blocks[b].ballooned_pages)
		e->blocks[b].ballooned_pages--;
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

static uint64_t discard(struct cma_engine *e, uint64_t gpa, uint64_t len,
			enum cma_discard_reason why)
{
	uint64_t end = gpa + len, refused = 0;

	while (gpa < end) {
		uint64_t next = (gpa & ~(CMA_PAGEBLOCK - 1)) + CMA_PAGEBLOCK;
		uint64_t n = (next < end ? next : end) - gpa;
		int b = find_block(e, gpa);

		if (protected(e, b, gpa)) {
			refused += n;
		} else {
			/* counted first: a stale report is judged by what is resident now */
			if (b >= 0)
				block_count_discard(e, (size_t)b, n, why);
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
	for (uint64_t end = gpa + len; gpa < end; gpa += CMA_PAGE) {
		int b = find_block(e, gpa);

		if (b >= 0)
			block_count_deflate(e, (size_t)b);
	}
	engine_unlock(e);
}
