/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The layout planner: where each thing goes in guest RAM.
 *
 * Owns: the placement of the kernel Image, the initrd, the DTB and every
 * DMA pool, so that nothing overlaps, every pool obeys the guest kernel's
 * rules (fdt/guest_rules.h) and each placement comes with a reason a
 * person can read. It touches no memory; it only computes addresses.
 */
#ifndef FDT_LAYOUT_H
#define FDT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "cma/pool.h"
#include "fdt/guest_rules.h"

/* RAM left outside pools and boot blobs for the guest kernel to boot. */
#define LAYOUT_MIN_FREE_RAM (64ULL << 20)

struct layout_request {
	uint64_t ram_base; /* 2 MiB aligned */
	uint64_t ram_size;
	uint64_t text_offset;	   /* from the Image header */
	uint64_t image_size;	   /* from the Image header: includes BSS */
	uint64_t initrd_size;	   /* 0: no initrd */
	uint64_t pool_align;	   /* base alignment of pools, a power of 2; at least a pageblock */
	struct guest_kernel guest; /* whose rules every pool obeys; zero: 6.1, 4 KiB */
	const struct pool_spec *pools;
	size_t nr_pools;
};

struct region {
	uint64_t base;
	uint64_t size;
};

struct placed_pool {
	const struct pool_spec *spec;
	struct region r;
	char why[224];
};

struct layout {
	struct region ram;
	struct region kernel;
	struct region initrd; /* size 0: none */
	struct region dtb;    /* the slot the DTB must fit in */
	uint64_t dma_zone_end;
	size_t nr_pools;
	struct placed_pool pools[POOL_MAX]; /* in the order requested */
};

/*
 * Plan @req into @out. Returns 0, or -1 with @err saying what does not fit
 * and which flag to change.
 */
int layout_plan(const struct layout_request *req, struct layout *out, char *err, size_t errlen);

static inline uint64_t region_end(const struct region *r)
{
	return r->base + r->size;
}

static inline int regions_overlap(const struct region *a, const struct region *b)
{
	return a->size && b->size && a->base < region_end(b) && b->base < region_end(a);
}

#endif
