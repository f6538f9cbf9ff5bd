/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the arm64 guest kernel demands of the memory it is given, per
 * series (Debian 12's Linux 6.1, Debian 13's 6.12) and page size, with
 * Debian's configs. The layout planner obeys these rules and the DTB
 * checker judges by them, so they live in one place.
 *
 * Owns: every number that encodes a guest kernel rule (alignments, area
 * and region counts, zone limits), what differs between the series in how
 * /reserved-memory is handled (struct guest_rmem_rules), the names used in
 * messages ("Linux 6.12, 16 KiB pages") and the parsing of a series and a
 * page size; nobody else writes them down. Functions longer than one line
 * are in fdt/guest_rules.c.
 *
 * Source references are to the Debian kernel sources of each series; the
 * comparison, rule by rule, is docs/guests.md.
 */
#ifndef FDT_GUEST_RULES_H
#define FDT_GUEST_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/size.h"

/*
 * Which guest kernel the rules are those of. The series are the kernels
 * cmavm is tested with (docs/guests.md): Debian 12's 6.1 and Debian 13's
 * 6.12 (also in bookworm-backports), each with its page size.
 */
enum guest_series {
	GUEST_LINUX_6_1,
	GUEST_LINUX_6_12,
	GUEST_NR_SERIES,
};

struct guest_kernel {
	enum guest_series series;
	uint64_t page_size; /* SZ_4K, 16 KiB or SZ_64K; 0 is taken as 4 KiB */
};

/* What cmavm assumes of a guest that says nothing: Debian 13's kernel. */
#define GUEST_KERNEL_DEFAULT ((struct guest_kernel){ GUEST_LINUX_6_12, SZ_4K })

/* CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE << pageblock_order with 4 KiB pages */
#define GUEST_CMA_MIN_ALIGN SZ_2M
/* Before 5.18 it was PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order). */
#define GUEST_CMA_OLD_ALIGN SZ_4M
/*
 * CMA_MIN_ALIGNMENT_BYTES for any page size, in both series: pageblock_order
 * is arm64's HUGETLB_PAGE_ORDER (a PMD), capped by the largest buddy order
 * (include/linux/pageblock-flags.h), which Debian's ARCH_FORCE_MAX_ORDER
 * never makes smaller. So the pageblock is 2 MiB with 4 KiB pages, 32 MiB
 * with 16 KiB and 512 MiB with 64 KiB. 0 for a page size arm64 does not have.
 */
static inline uint64_t guest_cma_min_align(uint64_t page_size)
{
	switch (page_size) {
	case SZ_4K:
		return SZ_2M;
	case 4 * SZ_4K:
		return 16 * SZ_2M;
	case SZ_64K:
		return 256 * SZ_2M;
	default:
		return 0;
	}
}
/*
 * Before 5.18, for any page size: MAX_ORDER - 1 is 10 with 4 KiB pages
 * (4 MiB), 11 with 16 KiB and 13 with 64 KiB (arch/arm64/Kconfig
 * ARCH_FORCE_MAX_ORDER), the pageblock's order for the larger pages.
 */
static inline uint64_t guest_cma_old_align(uint64_t page_size)
{
	return page_size == SZ_4K ? GUEST_CMA_OLD_ALIGN : guest_cma_min_align(page_size);
}
/*
 * CONFIG_CMA_ALIGNMENT: dma_alloc_contiguous() starts an allocation at
 * its own order of pages, but at most at this order (kernel/dma/contiguous.c).
 */
#define GUEST_CMA_ALIGNMENT_ORDER 8
/*
 * MAX_CMA_AREAS: 1 + CONFIG_CMA_AREAS (19) in 6.1, CONFIG_CMA_AREAS (20) in
 * 6.12 (include/linux/cma.h, Debian's configs): 20 slots in both.
 */
#define GUEST_CMA_AREAS 20
/* MAX_RESERVED_REGIONS (of_reserved_mem.c in 6.1, of_private.h in 6.12) */
#define GUEST_RESERVED_REGIONS 64
/* CONFIG_CMA_SIZE_MBYTES: the default area the guest makes by itself */
#define GUEST_CMA_DEFAULT_SIZE (64 * SZ_1M)
/* Device tree blob limit (Documentation/arm64/booting.rst) */
#define GUEST_DTB_MAX SZ_2M
/* The Image's text_offset is from a 2 MiB aligned base (booting.rst) */
#define GUEST_IMAGE_ALIGN SZ_2M

/*
 * End of ZONE_DMA for RAM [start, end): arm64 zone_sizes_init() and
 * max_zone_phys() in arch/arm64/mm/init.c. Without dma-ranges in the DT
 * (cmavm writes none) 6.1 and 6.12 agree. A CMA area must lie inside one
 * zone (cma_activate_area), so no pool may straddle this address. Returns
 * @end when all RAM is in one zone.
 */
static inline uint64_t guest_dma_zone_end(uint64_t start, uint64_t end)
{
	if (start > 0xffffffffULL)
		return end;
	return end < SZ_4G ? end : SZ_4G;
}

/* ---- per guest ------------------------------------------------------------ */

/*
 * How a series handles /reserved-memory where 6.1 and 6.12 differ
 * (drivers/of/fdt.c and drivers/of/of_reserved_mem.c; the 6.12 rework).
 */
struct guest_rmem_rules {
	/*
	 * 6.1: fdt_init_reserved_mem() sorts every saved region by base, then
	 * size, and runs the handlers in that order (size-placed ones first).
	 * 6.12: each region's handlers run when it is saved: size-placed
	 * nodes in DT order (fdt_scan_reserved_mem), then reg nodes in DT
	 * order (fdt_scan_reserved_mem_reg_nodes).
	 */
	bool handlers_in_dt_order;
	/*
	 * MAX_RESERVED_REGIONS bounds every saved region (6.1: "not enough
	 * space for all defined regions.") or only the size-placed nodes
	 * (6.12: "too many defined dynamic regions, skip '%s'").
	 */
	bool region_limit_dynamic_only;
	/* 6.12 counts an empty reg and reads the cells that follow it. */
	bool empty_reg_reads_past;
	/* 6.1 saves a reg of size 0, and a size property then places it. */
	bool zero_reg_placed_by_size;
	/* 6.12 places size-only nodes before it reserves /memreserve/. */
	bool memreserve_after_placed;
	/* 6.12 warns of reg entries after the first, and scans twice. */
	bool reg_nodes_rescan;
	const char *scan_prefix;    /* pr_fmt of the code that scans /reserved-memory */
	const char *cma_node_text;  /* cma_declare_contiguous_nid()'s " on node %d" */
	const char *cma_areas_rule; /* how MAX_CMA_AREAS comes to GUEST_CMA_AREAS */
	unsigned int phys_bits;	    /* CONFIG_ARM64_PA_BITS: RAM above is dropped */
};

/* @g's page size: 4 KiB for 0, a zero-initialised struct guest_kernel. */
static inline uint64_t guest_page_size(const struct guest_kernel *g)
{
	return g->page_size ? g->page_size : SZ_4K;
}

/* CMA_MIN_ALIGNMENT_BYTES, the pageblock; 0 for a page size arm64 lacks. */
static inline uint64_t guest_pageblock(const struct guest_kernel *g)
{
	return guest_cma_min_align(guest_page_size(g));
}

/* MAX_CMA_AREAS: the same 20 in both series, see GUEST_CMA_AREAS. */
static inline unsigned int guest_cma_areas(const struct guest_kernel *g)
{
	(void)g;
	return GUEST_CMA_AREAS;
}

/* MAX_RESERVED_REGIONS; whom it bounds is guest_rmem_rules()'s. */
static inline unsigned int guest_reserved_regions(const struct guest_kernel *g)
{
	(void)g;
	return GUEST_RESERVED_REGIONS;
}

/* True when the series is known and the page size is one arm64 has. */
bool guest_kernel_valid(const struct guest_kernel *g);

/* @g with a 0 page size made 4 KiB; @g must be valid. */
struct guest_kernel guest_kernel_normal(const struct guest_kernel *g);

/* The series' differences in /reserved-memory handling; @g must be valid. */
const struct guest_rmem_rules *guest_rmem_rules(const struct guest_kernel *g);

/*
 * CONFIG_CMA_SIZE_MBYTES as the guest makes it: cma_declare_contiguous_nid()
 * rounds the size up to the pageblock (512 MiB with 64 KiB pages).
 */
uint64_t guest_cma_default_size(const struct guest_kernel *g);

/* First byte of physical memory the guest drops: 1 << ARM64_PA_BITS. */
uint64_t guest_phys_end(const struct guest_kernel *g);

/* "6.1", "6.12"; "?" for no series. */
const char *guest_series_name(enum guest_series series);

/* "Linux 6.12, 16 KiB pages" into @buf; returns @buf. */
const char *guest_kernel_name(const struct guest_kernel *g, char *buf, size_t size);

/* "32 MiB, the pageblock of a 16 KiB-page guest" into @buf; returns @buf. */
const char *guest_pageblock_text(const struct guest_kernel *g, char *buf, size_t size);

/* What the parsers accept, for messages. */
#define GUEST_SERIES_CHOICES	"6.1 or 6.12"
#define GUEST_PAGE_SIZE_CHOICES "4K, 16K or 64K"

/* "6.1" or "6.12" (an optional "linux-" or "Linux " before): 0, or -1. */
int guest_series_from_text(const char *text, enum guest_series *series);

/*
 * A page size as size_parse() reads it ("16K", "16KiB", "16384",
 * "0x4000"): 0 when it is 4, 16 or 64 KiB, -1 otherwise.
 */
int guest_page_size_from_text(const char *text, uint64_t *page_size);

#endif
