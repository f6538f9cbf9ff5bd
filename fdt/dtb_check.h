/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Judging a device tree blob the way a given arm64 guest kernel (Linux 6.1
 * or 6.12, with its page size) will treat it at boot.
 *
 * Owns: reading an untrusted DTB safely, finding the RAM, the ZONE_DMA
 * boundary, the cma= the kernel acts on and every /reserved-memory child,
 * and the verdict the guest will reach on each child: a CMA pool, a
 * coherent DMA pool, memory only reserved, disabled, or rejected with the
 * kernel's reason and what to change, by the rules of the guest asked
 * for. The rules come from fdt/guest_rules.h, where 6.1 and 6.12 differ
 * too; the cma= parsing from fdt/cma_param.h.
 */
#ifndef FDT_DTB_CHECK_H
#define FDT_DTB_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fdt/cma_param.h"
#include "fdt/guest_rules.h"
#include "fdt/layout.h"

/* More children than the guest can hold, so that overflow can be shown. */
#define DTB_MAX_ENTRIES (GUEST_RESERVED_REGIONS + 16)
#define DTB_MAX_RAM	16
#define DTB_MAX_LINES	16
#define DTB_PATH_MAX	96
#define DTB_TEXT_MAX	384

enum dtb_verdict {
	DTB_CMA_POOL,	   /* rmem_cma_setup() accepted it */
	DTB_COHERENT_POOL, /* rmem_dma_setup() accepted it */
	DTB_RESERVED_ONLY, /* no shared-dma-pool: reserved, no handler */
	DTB_DISABLED,	   /* status is neither "okay" nor "ok" */
	DTB_REJECTED,
};

/* Which rule rejected an entry; DTB_OK for any other verdict. */
enum dtb_rule {
	DTB_OK,
	DTB_RULE_BAD_ROOT,   /* /reserved-memory cells or ranges wrong */
	DTB_RULE_EMPTY_REG,  /* reg with no bytes */
	DTB_RULE_REG_LENGTH, /* reg not a multiple of the entry size */
	DTB_RULE_NO_REG_NO_SIZE,
	DTB_RULE_BAD_SIZE_PROP, /* size, alignment or alloc-ranges of the wrong length */
	DTB_RULE_SIZE_ZERO,
	DTB_RULE_TOO_MANY_REGIONS, /* past MAX_RESERVED_REGIONS (6.12: placed nodes only) */
	DTB_RULE_OUTSIDE_RAM,
	DTB_RULE_OVERLAP,
	DTB_RULE_REUSABLE_NO_MAP,
	DTB_RULE_CMA_ALIGN,
	DTB_RULE_TOO_MANY_CMA, /* more than GUEST_CMA_AREAS */
	DTB_RULE_ZONE_CROSSING,
	DTB_RULE_SECOND_DEFAULT,
	DTB_RULE_BYPASSED, /* linux,cma-default with cma= on the command line */
};

#define DTB_F_REUSABLE	      (1u << 0)
#define DTB_F_NO_MAP	      (1u << 1)
#define DTB_F_CMA_DEFAULT     (1u << 2) /* linux,cma-default */
#define DTB_F_DMA_DEFAULT     (1u << 3) /* linux,dma-default */
#define DTB_F_SHARED_DMA_POOL (1u << 4) /* compatible has "shared-dma-pool" */

struct dtb_entry {
	char path[DTB_PATH_MAX];
	bool has_reg;	     /* base is known; else the guest places it */
	uint64_t base;	     /* first reg entry; 0 when !has_reg */
	uint64_t size;	     /* first reg entry, or the size property */
	unsigned int nr_reg; /* entries in reg */
	unsigned int flags;  /* DTB_F_* */
	enum dtb_verdict verdict;
	enum dtb_rule rule;
	bool in_cma_total;	   /* counted in the guest's CmaTotal */
	char reason[DTB_TEXT_MAX]; /* why rejected (or disabled / reserved only) */
	char note[DTB_TEXT_MAX];   /* further facts worth knowing; may be empty */
};

/* The default CMA area: dma_contiguous_default_area, whoever makes it. */
enum dtb_default_source {
	DTB_DEFAULT_NONE,    /* cma=0 or a failed area: no default area */
	DTB_DEFAULT_DT,	     /* a linux,cma-default pool */
	DTB_DEFAULT_CMDLINE, /* cma= */
	DTB_DEFAULT_CONFIG,  /* CONFIG_CMA_SIZE_MBYTES, placed by the guest */
};

struct dtb_default_area {
	enum dtb_default_source source;
	bool failed;	/* the guest will try and fail: a rejection */
	uint64_t size;	/* as the guest will create it (pageblock rounded) */
	uint64_t base;	/* fixed base, or the lowest allowed */
	uint64_t limit; /* end of the range it is placed in */
	bool fixed;
	char text[DTB_TEXT_MAX];
};

enum dtb_line_kind { DTB_LINE_INFO, DTB_LINE_WARNING };

struct dtb_line {
	enum dtb_line_kind kind;
	char text[DTB_TEXT_MAX];
};

/* About 80 KiB: keep it static or on the heap rather than on a thread's stack. */
struct dtb_report {
	char error[DTB_TEXT_MAX];	 /* set when dtb_check() returns -1 */
	struct guest_kernel guest;	 /* whose rules judged it, page size never 0 */
	uint32_t addr_cells, size_cells; /* of the root, kernel defaults 1 and 1 */

	size_t nr_ram;
	struct region ram[DTB_MAX_RAM]; /* as memblock will hold them, merged */
	uint64_t ram_start, ram_end;	/* lowest start, highest end */
	uint64_t dma_zone_end;		/* guest_dma_zone_end() */

	char cmdline_source[32]; /* "/chosen/bootargs", "--cmdline" or "none" */
	struct cma_param cma;

	bool has_reserved_memory;
	size_t nr_entries;
	size_t nr_entries_dropped;		   /* children beyond DTB_MAX_ENTRIES */
	struct dtb_entry entries[DTB_MAX_ENTRIES]; /* in DT order */

	struct dtb_default_area default_area;
	unsigned int nr_cma_areas; /* CMA areas the guest will create */
	uint64_t cma_total;	   /* bytes, what CmaTotal will show */

	size_t nr_lines;
	size_t nr_lines_dropped;
	struct dtb_line lines[DTB_MAX_LINES];
};

/*
 * Check @blob of @size bytes by the rules of @guest (NULL: the default,
 * GUEST_KERNEL_DEFAULT; page size 0: 4 KiB). @cmdline NULL: use
 * /chosen/bootargs of the blob, as the kernel does. Never trusts the blob.
 * Returns 0 when the blob could be read (the verdicts in @rep tell the
 * rest), or -1 when it is malformed or @guest is no known kernel, with a
 * sentence in @rep->error.
 */
int dtb_check_guest(const void *blob, size_t size, const char *cmdline,
		    const struct guest_kernel *guest, struct dtb_report *rep);

/* dtb_check_guest() for GUEST_KERNEL_DEFAULT. */
int dtb_check(const void *blob, size_t size, const char *cmdline, struct dtb_report *rep);

/* One block per /reserved-memory child, verdict first, then a summary. */
void dtb_report_print(const struct dtb_report *rep, FILE *out);

/* True when a pool is rejected or the default area cannot be created. */
bool dtb_report_rejects(const struct dtb_report *rep);

const char *dtb_verdict_str(enum dtb_verdict verdict);

#endif
