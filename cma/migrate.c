// SPDX-License-Identifier: GPL-2.0-only
/*
 * Migrating one pageblock onto new host memory of the same kind: a block
 * on ordinary pages onto a memfd of its own, a block on 2 MiB pages onto
 * other 2 MiB pages (as many as the pageblock needs). One copy, through
 * the same move as a window's (move.c), so it stops what a move stops and
 * nothing more.
 */
#include "cma/internal.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * A block on ordinary pages onto a memfd of its own: new pages of the same
 * kind (transparent huge pages where guest RAM gets them), one copy.
 */
static int migrate_memfd_block(struct cma_engine *e, size_t b)
{
	int fd = memfd_sized("cmavm-block", MFD_CLOEXEC, e->pageblock);
	struct backing to = { fd, 0, CMA_PAGE };
	bool locked = e->blocks[b].locked;
	struct move m;

	if (fd < 0)
		return cma_fail(e, "a memfd for 0x%" PRIx64 ": %s; %s", e->blocks[b].gpa,
				strerror(-fd), no_memory_hint(CMA_PAGE));
	m = block_move(e, b, &to);
	if (move_ranges(e, &m, 1) != 1) {
		close(fd);
		return -1;
	}
	free_old_backing(&m);
	block_set_backing(e, b, CMA_BACKING_OWN, fd, 0, true);
	/* The new mapping is not locked: lock it as the old one was (it fits: the old one went). */
	if (locked)
		mlock(m.host, e->pageblock);
	return 0;
}

/* A huge block onto 2 MiB pages of its own. */
static int migrate_huge_block(struct cma_engine *e, size_t b)
{
	int fd = alloc_backing(e, e->pageblock, CMA_HUGE_PAGE);

	if (fd < 0)
		return cma_fail(e, "new huge pages for a pageblock: %s; %s", strerror(-fd),
				no_memory_hint(CMA_HUGE_PAGE));
	if (block_to_huge(e, b, fd, 0, true)) {
		close(fd);
		return -1;
	}
	return 0;
}

static int migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns)
{
	int b = find_block(e, gpa), r, window;

	if (b < 0)
		return cma_fail_as(e, CMA_ERR_NOT_FOUND, "0x%" PRIx64 " is not in a pool", gpa);
	if (e->blocks[b].backing == CMA_BACKING_GIGANTIC)
		return cma_fail(
			e, "0x%" PRIx64 " is on a 1 GiB page; it moves only with its window", gpa);
	window = e->blocks[b].window;
	e->move_window = window; /* its pauses and stalls are the window's */
	if (e->blocks[b].backing == CMA_BACKING_HUGE)
		r = migrate_huge_block(e, (size_t)b);
	else
		r = migrate_memfd_block(e, (size_t)b);
	e->move_window = -1;
	if (r)
		return -1;
	e->stats.migrations++;
	if (window >= 0)
		e->windows[window].moves.migrations++;
	if (pause_ns) /* this migration's: a live move pauses nobody */
		*pause_ns = e->op_pause_ns;
	return 0;
}

int cma_migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns)
{
	int r;

	engine_lock(e);
	r = op_begin(e);
	if (!r) {
		r = migrate_block(e, gpa, pause_ns);
		op_end(e);
	}
	engine_unlock(e);
	return r;
}
