// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host CMA engine itself: created over guest RAM, given its pools,
 * asked what it holds. The pageblock map is in block.c, moves in move.c,
 * windows in window.c, measurements in pagemap.c (cma/internal.h).
 */
#include "cma/internal.h"
#include "cma/size.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int vfail(struct cma_engine *e, enum cma_error kind, const char *fmt, va_list ap)
{
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	e->error_kind = kind;
	return -1;
}

int cma_fail(struct cma_engine *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(e, CMA_ERR_HOST, fmt, ap);
	va_end(ap);
	return -1;
}

int cma_fail_as(struct cma_engine *e, enum cma_error kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int injected(struct cma_engine *e, enum cma_step step, size_t b)
{
	return e->hooks.inject ? e->hooks.inject(e->hooks.opaque, step, b) : 0;
}

/* 10 µs to 100 ms, as Prometheus histograms of latency usually go */
const uint64_t cma_hist_bound_ns[CMA_HIST_BUCKETS - 1] = {
	10000,	 20000,	  50000,    100000,   200000,	500000,	   1000000,
	2000000, 5000000, 10000000, 20000000, 50000000, 100000000,
};

void engine_lock(const struct cma_engine *e)
{
	pthread_mutex_lock(&((struct cma_engine *)e)->lock);
}

void engine_unlock(const struct cma_engine *e)
{
	pthread_mutex_unlock(&((struct cma_engine *)e)->lock);
}

int op_begin(struct cma_engine *e)
{
	if (e->busy)
		return cma_conflict(e, "another commit, release or migration is under way; "
				       "try again when it is done");
	e->busy = true;
	e->op_pause_ns = 0;
	e->move_window = -1;
	return 0;
}

void op_end(struct cma_engine *e)
{
	e->busy = false;
}

void hist_add(uint64_t *hist, uint64_t ns)
{
	size_t i = 0;

	while (i < CMA_HIST_BUCKETS - 1 && ns > cma_hist_bound_ns[i])
		i++;
	hist[i]++;
}

void cma_engine_set_guest_running(struct cma_engine *e, bool running)
{
	e->guest_stopped = !running;
}

bool cma_engine_live(const struct cma_engine *e)
{
	return e->live;
}

int cma_engine_set_live(struct cma_engine *e, bool live)
{
	if (live && e->uffd < 0)
		return -1;
	e->live = live;
	return 0;
}

void cma_engine_set_live_run(struct cma_engine *e, uint64_t bytes)
{
	e->live_run = bytes; /* rounded where used: the pageblock may change after */
}

void cma_engine_set_threads(struct cma_engine *e, unsigned int threads)
{
	helper_stop(e);
	e->threads = threads > 1 ? 2 : 1;
}

const char *cma_engine_live_why(const struct cma_engine *e)
{
	return e->uffd < 0 ? e->live_why : e->live ? "" : "live moves turned off";
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

/* ---- life ---- */

struct cma_engine *cma_engine_create(uint8_t *host, uint64_t gpa, uint64_t size, int memfd,
				     uint8_t *map_end, const struct cma_hooks *hooks)
{
	struct cma_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->host = host;
	e->gpa = gpa;
	e->size = size;
	e->memfd = memfd;
	e->map_end = map_end ? map_end : host + size;
	e->pageblock = CMA_PAGEBLOCK_4K;
	e->gigantic.window = -1;
	e->progress_slot = -1;
	e->move_window = -1;
	e->live_run = LIVE_RUN_DEFAULT;
	e->threads = default_threads();
	pthread_mutex_init(&e->lock, NULL);
	if (hooks)
		e->hooks = *hooks;
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		e->windows[i].huge_fd = -1;
	e->uffd = uffd_open(e->live_why, sizeof(e->live_why));
	e->live = e->uffd >= 0;
	pagemap_open();
	helper_start_now(e);
	return e;
}

void cma_engine_destroy(struct cma_engine *e)
{
	if (!e)
		return;
	helper_stop(e);
	for (size_t b = 0; b < e->nr_blocks; b++) {
		if (e->blocks[b].own_fd)
			close(e->blocks[b].fd);
		block_fini(e, b);
	}
	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		if (e->windows[i].huge_fd >= 0)
			close(e->windows[i].huge_fd);
	if (e->uffd >= 0)
		close(e->uffd);
	free(e->blocks);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

int cma_engine_set_pageblock(struct cma_engine *e, uint64_t bytes)
{
	char a[32], b[32], c[32];

	if (bytes < CMA_PAGEBLOCK_4K || bytes > CMA_PAGEBLOCK_MAX || !is_power_of_2(bytes))
		return cma_fail_as(e, CMA_ERR_INVALID,
				   "a pageblock of %s: the guest's pageblock is a power of two "
				   "from %s (4 KiB pages) to %s (64 KiB pages)",
				   size_str(bytes, a), size_str(CMA_PAGEBLOCK_4K, b),
				   size_str(CMA_PAGEBLOCK_MAX, c));
	if (e->nr_pools)
		return cma_conflict(e,
				    "the pageblock is set before the first pool is added; "
				    "the pools are in %s pageblocks already",
				    size_str(e->pageblock, a));
	e->pageblock = bytes;
	return 0;
}

/* ---- pools ---- */

/* Is the pool [base, base + size) guest RAM in whole pageblocks? (0, or -1 saying why) */
static int check_pool(struct cma_engine *e, const char *name, uint64_t base, uint64_t size)
{
	char sz[32], pb[32];

	if (e->nr_pools == POOL_MAX)
		return cma_fail_as(e, CMA_ERR_INVALID,
				   "pool '%s': the engine holds %d pools at most", name, POOL_MAX);
	if (!size || base < e->gpa || base - e->gpa > e->size || size > e->size - (base - e->gpa))
		return cma_fail_as(e, CMA_ERR_INVALID,
				   "pool '%s' (0x%" PRIx64 ", %s) is not inside guest RAM", name,
				   base, size_str(size, sz));
	if ((base | size) & (e->pageblock - 1))
		return cma_fail_as(
			e, CMA_ERR_INVALID,
			"pool '%s' (0x%" PRIx64 ", %s) is not a whole number of the "
			"guest's %s pageblocks: its base and size must be multiples of %s",
			name, base, size_str(size, sz), size_str(e->pageblock, pb), pb);
	return 0;
}

int cma_engine_add_pool(struct cma_engine *e, const struct pool_spec *spec, uint64_t base,
			uint64_t size)
{
	struct cma_engine_pool *p;
	struct cma_block *blocks;
	size_t n = size / e->pageblock;

	if (check_pool(e, spec->name, base, size))
		return -1;
	blocks = realloc(e->blocks, (e->nr_blocks + n) * sizeof(*blocks));
	if (!blocks)
		return cma_fail(e, "out of memory");
	e->blocks = blocks;
	p = &e->pools[e->nr_pools++];
	p->spec = *spec;
	p->base = base;
	p->size = size;
	p->first_block = e->nr_blocks;
	p->nr_blocks = n;
	for (size_t i = 0; i < n; i++)
		block_init(e, e->nr_blocks + i, base + i * e->pageblock);
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

size_t cma_engine_nr_pools(const struct cma_engine *e)
{
	return e->nr_pools;
}

int cma_pool_info(const struct cma_engine *e, size_t pool, struct cma_pool_info *out)
{
	const struct cma_engine_pool *p;

	if (pool >= e->nr_pools)
		return -1;
	p = &e->pools[pool];
	*out = (struct cma_pool_info){
		.name = p->spec.name,
		.kind = p->spec.kind,
		.is_default = p->spec.is_default,
		.base = p->base,
		.size = p->size,
		.nr_blocks = p->nr_blocks,
	};
	return 0;
}

/* The block holding guest-physical @gpa, or -1 when no pool has it. */
int find_block(const struct cma_engine *e, uint64_t gpa)
{
	for (size_t i = 0; i < e->nr_pools; i++) {
		const struct cma_engine_pool *p = &e->pools[i];

		if (gpa >= p->base && gpa - p->base < p->size)
			return (int)(p->first_block + (gpa - p->base) / e->pageblock);
	}
	return -1;
}

/* ---- what callers read ---- */

const char *cma_engine_error(const struct cma_engine *e)
{
	return e->error;
}

enum cma_error cma_engine_error_kind(const struct cma_engine *e)
{
	return e->error_kind;
}

struct cma_stats cma_engine_stats(const struct cma_engine *e)
{
	struct cma_stats s;

	engine_lock(e);
	s = e->stats;
	engine_unlock(e);
	return s;
}

uint64_t cma_engine_pageblock_size(const struct cma_engine *e)
{
	return e->pageblock;
}
