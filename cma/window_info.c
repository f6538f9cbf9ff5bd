// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a window reports: how host-physically contiguous it is, and what
 * its moves cost the guest. A pause or a writer's stall is the window's
 * whose move took it (its commit, level change or release, or the
 * migration of one of its pageblocks), never another's: the engine-wide
 * figures (struct cma_stats) are counted beside, in move.c and uffd.c.
 */
#include "cma/internal.h"

static void keep_max(uint64_t *max, uint64_t ns)
{
	if (ns > *max)
		*max = ns;
}

/* The figures of the window whose move runs, or NULL (no window's: a lone pageblock's). */
static struct cma_window_moves *moving_window(struct cma_engine *e)
{
	int slot = e->move_window;

	if (slot < 0 || slot >= CMA_MAX_WINDOWS || !e->windows[slot].used)
		return NULL;
	return &e->windows[slot].moves;
}

void note_move_pause(struct cma_engine *e, uint64_t ns)
{
	struct cma_window_moves *m = moving_window(e);

	e->op_pause_ns += ns;
	if (m) {
		m->pauses++;
		keep_max(&m->pause_ns_max, ns);
	}
}

void note_move_stall(struct cma_engine *e, uint64_t ns)
{
	struct cma_window_moves *m = moving_window(e);

	if (m) {
		m->stalls++;
		keep_max(&m->stall_ns_max, ns);
	}
}

void window_measure(struct cma_engine *e, int slot)
{
	struct cma_window *w;
	const uint8_t *host;

	if (slot < 0 || slot >= CMA_MAX_WINDOWS || !e->windows[slot].used ||
	    e->windows[slot].state != CMA_WINDOW_COMMITTED)
		return;
	w = &e->windows[slot];
	host = block_host(e, window_first_block(e, w));
	w->largest_run = cma_largest_contiguous_run(host, w->length, &w->contiguous_2m);
	w->verified = w->largest_run > 0;
}

void cma_window_measure(struct cma_engine *e, int slot)
{
	engine_lock(e);
	window_measure(e, slot);
	engine_unlock(e);
}

int cma_window_info(const struct cma_engine *e, int slot, struct cma_window_info *out)
{
	const struct cma_window *w;

	if (slot < 0 || slot >= CMA_MAX_WINDOWS)
		return -1;
	engine_lock(e);
	w = &e->windows[slot];
	if (!w->used) {
		engine_unlock(e);
		return -1;
	}
	*out = (struct cma_window_info){
		.id = w->id,
		.pool = w->pool,
		.offset = w->offset,
		.length = w->length,
		.gpa = e->pools[w->pool].base + w->offset,
		.level = w->level,
		.largest_run = w->largest_run,
		.contiguous_2m = w->contiguous_2m,
		.verified = w->verified,
		.moves = w->moves,
		.state = w->state,
		.done_bytes = w->done_bytes,
	};
	engine_unlock(e);
	return 0;
}
