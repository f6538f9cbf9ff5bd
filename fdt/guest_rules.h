/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the arm64 guest kernel (Linux 6.1, 4 KiB pages, Debian's config)
 * demands of the memory it is given. The layout planner obeys these rules
 * and the DTB checker judges by them, so they live in one place.
 *
 * Owns: every number that encodes a guest kernel rule (alignments, area
 * and region counts, zone limits); nobody else writes them down.
 *
 * Source references are to Linux 6.1; see docs/architecture.md.
 */
#ifndef FDT_GUEST_RULES_H
#define FDT_GUEST_RULES_H

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
	uint64_t page_size; /* SZ_4K, 16 KiB or SZ_64K */
};

/* What cmavm assumes of a guest that says nothing: Debian 13's kernel. */
#define GUEST_KERNEL_DEFAULT ((struct guest_kernel){ GUEST_LINUX_6_12, SZ_4K })

/* CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE << pageblock_order (mm/cma.h) */
#define GUEST_CMA_MIN_ALIGN SZ_2M
/* Before 5.18 it was PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order). */
#define GUEST_CMA_OLD_ALIGN SZ_4M
/*
 * The same rule for any page size: pageblock_order is arm64's
 * HUGETLB_PAGE_ORDER, a PMD (include/linux/pageblock-flags.h), so the
 * pageblock is 2 MiB with 4 KiB pages, 32 MiB with 16 KiB and 512 MiB with
 * 64 KiB. 0 for a page size arm64 does not have.
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
 * MAX_CMA_AREAS = 1 + CONFIG_CMA_AREAS in 6.1 (include/linux/cma.h), and
 * Debian's arm64 config has CONFIG_CMA_AREAS=19 (mm/cma.c, cma_areas[]).
 */
#define GUEST_CMA_AREAS 20
/* MAX_RESERVED_REGIONS (drivers/of/of_reserved_mem.c) */
#define GUEST_RESERVED_REGIONS 64
/* CONFIG_CMA_SIZE_MBYTES: the default area the guest makes by itself */
#define GUEST_CMA_DEFAULT_SIZE (64 * SZ_1M)
/* Device tree blob limit (Documentation/arm64/booting.rst) */
#define GUEST_DTB_MAX SZ_2M
/* The Image's text_offset is from a 2 MiB aligned base (booting.rst) */
#define GUEST_IMAGE_ALIGN SZ_2M

/*
 * End of ZONE_DMA for RAM [start, end): arm64 max_zone_phys(32) in
 * arch/arm64/mm/init.c. A CMA area must lie inside one zone
 * (cma_activate_area), so no pool may straddle this address. Returns @end
 * when all RAM is in one zone.
 */
static inline uint64_t guest_dma_zone_end(uint64_t start, uint64_t end)
{
	if (start > 0xffffffffULL)
		return end;
	return end < SZ_4G ? end : SZ_4G;
}

#endif
