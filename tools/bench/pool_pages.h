/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns: a process's own pages by guest-physical frame, for cma-load
 * (pool_pages.c): which frame a page has (/proc/self/pagemap, as root),
 * the hunt for anonymous pages that lie in a pool, and pages taken from
 * outside the pool onto one range of their own.
 */
#ifndef CMAVM_TOOLS_BENCH_POOL_PAGES_H
#define CMAVM_TOOLS_BENCH_POOL_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool_pages {
	uint64_t base, size; /* the pool, guest-physical */
	size_t page;	     /* bytes */
	int pagemap;
	/* the hunt: one reserved region, touched in steps */
	uint8_t *region;
	size_t pages, touched;
	uint64_t *pfn;
	uint8_t *kind;
};

/* Opens the pagemap; -1 (said on stderr) if it cannot. */
int pool_pages_open(struct pool_pages *pp, uint64_t base, uint64_t size);

/* The frame of the page at @addr, 0 when not present or not shown. */
uint64_t pool_pages_pfn(const struct pool_pages *pp, const void *addr);

bool pool_pages_in_pool(const struct pool_pages *pp, uint64_t pfn);

/* Is the page at @addr in the pool now? */
bool pool_pages_holds(const struct pool_pages *pp, const void *addr);

/* Touch anonymous pages until @hold bytes of them lie in the pool (or the
 * guest's memory runs short); -1 if none does. */
int pool_pages_hunt(struct pool_pages *pp, uint64_t hold);

/* @n pages the hunt touched outside the pool, moved to one locked range
 * (mremap keeps their frames); NULL if too few. */
void *pool_pages_outside(struct pool_pages *pp, size_t n);

/* The end of the hunt: what is neither held nor taken is freed, the held
 * pages are locked where they are; their addresses in @pages (*n of them). */
int pool_pages_keep(struct pool_pages *pp, uint64_t ***pages, size_t *n);

#endif
