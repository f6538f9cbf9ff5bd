/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to fdt/dtb_check.c and the fdt/dtb_check_*.c files: the state one
 * dtb_check() run shares between the files that mirror the guest kernel's
 * boot steps, and the calls between them. Everyone else goes through
 * fdt/dtb_check.h.
 *
 * Who owns what (each file's top comment names the kernel code it mirrors):
 *   dtb_check_blob.c            the untrusted blob and bounded property reads
 *   dtb_check_of_fdt.c          root cells, RAM, bootargs, /memreserve/
 *   dtb_check_of_reserved_mem.c /reserved-memory: scan, counts, sizes
 *   dtb_check_rmem_init.c       overlap, handing each region to its handler
 *   dtb_check_contiguous.c      cma=, rmem_cma_setup(), the default CMA area
 *   dtb_check_coherent.c        rmem_dma_setup()
 *   dtb_check_report.c          verdicts, notes, lines, printing
 *   dtb_check.c                 dtb_check(): the steps in the kernel's order
 *
 * Where Linux 6.1 and 6.12 differ, the step asks c->rules
 * (fdt/guest_rules.h) and words its message for that series.
 */
#ifndef FDT_DTB_CHECK_INTERNAL_H
#define FDT_DTB_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdt/dtb_check.h"

/* Reg ranges remembered for the overlap checks; more are noted, not checked. */
#define MAX_SPANS 256
/* The owner of a /memreserve/ span, or no default area yet. */
#define NO_OWNER SIZE_MAX

/* Why rmem_cma_setup() (kernel/dma/contiguous.c) did not make a CMA area. */
enum cma_fail {
	CMA_MADE,
	CMA_BYPASSED,	  /* -EBUSY: cma= beats linux,cma-default */
	CMA_NOT_REUSABLE, /* -EINVAL: no reusable, or no-map */
	CMA_MISALIGNED,	  /* -EINVAL: "incorrect alignment of CMA region" */
	CMA_NO_SLOT,	  /* -ENOSPC from cma_init_reserved_mem() */
};

/* What the checker knows of one child beyond what the report shows. */
struct child {
	int node;
	bool judged;	      /* verdict final */
	bool saved;	      /* in the kernel's reserved_mem[] */
	bool zero_reg_placed; /* 6.1: reg of size 0, placed by its size property */
	uint64_t saved_base;  /* as saved: 6.1 sorts the handlers by these */
	uint64_t saved_size;
	bool first_freed;	/* a failing handler gave the first range back */
	uint64_t extra_bytes;	/* reg entries after the first */
	uint64_t alloc_ranges;	/* alloc-ranges entries, for the note */
	const char *compatible; /* first string, for messages */
};

/* One reg range (or /memreserve/ entry) that memblock holds reserved. */
struct span {
	size_t owner; /* entry index, or NO_OWNER for /memreserve/ */
	bool first;   /* the entry's first reg range */
	uint64_t base, size;
};

/* One dtb_check() run; child i of kids[] is entry i of rep->entries[]. */
struct ctx {
	const void *fdt;
	struct dtb_report *rep;
	const struct guest_rmem_rules *rules; /* of rep->guest's series */
	uint64_t pageblock;		      /* CMA_MIN_ALIGNMENT_BYTES of rep->guest */
	struct child kids[DTB_MAX_ENTRIES];
	struct span spans[MAX_SPANS];
	size_t nr_spans;
	bool spans_dropped;
	unsigned int nr_saved;
	size_t default_idx; /* entry that is dma_contiguous_default_area */
};

static inline uint64_t span_end(uint64_t base, uint64_t size)
{
	/* saturate: a range that wraps past 2^64 ends at the top */
	return base + size < base ? UINT64_MAX : base + size;
}

static inline bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return as && bs && a < span_end(b, bs) && b < span_end(a, as);
}

/* ---- dtb_check_blob.c ---- */

/* A validated, aligned copy of @blob to free(); NULL with @rep->error set. */
void *load_blob(const void *blob, size_t size, struct dtb_report *rep);
/* The property's bytes, or NULL; @len is 0 unless there are some. */
const void *prop(const struct ctx *c, int node, const char *name, int *len);
bool has_prop(const struct ctx *c, int node, const char *name);
bool prop_str_is(const char *p, int len, const char *want);
bool node_available(const struct ctx *c, int node, const char **status);
bool node_compatible(const struct ctx *c, int node, const char *compat);
const char *first_compatible(const struct ctx *c, int node);
uint64_t read_cells(const uint8_t *p, uint32_t cells);
/* Bytes of one reg entry: the root's #address-cells + #size-cells. */
size_t entry_bytes(const struct dtb_report *rep);

/* ---- dtb_check_report.c ---- */

/* " twice" when 6.12 prints a scan message from both of its scans. */
static inline const char *twice(const struct ctx *c)
{
	return c->rules->reg_nodes_rescan ? " twice" : "";
}

/* Set @rep->error; returns -1. */
int fail(struct dtb_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void add_line(struct dtb_report *rep, enum dtb_line_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add a fact to @e->note, after a "; " when there is one already. */
void note(struct dtb_entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Entry @i's final verdict, with @rule (DTB_OK unless rejected) and reason. */
void judge(struct ctx *c, size_t i, enum dtb_verdict verdict, enum dtb_rule rule, const char *fmt,
	   ...) __attribute__((format(printf, 5, 6)));

/* ---- dtb_check_of_fdt.c ---- */

int scan_root(struct ctx *c);
void scan_memory(struct ctx *c);
bool in_ram(const struct dtb_report *rep, uint64_t base, uint64_t size);
void scan_chosen(struct ctx *c, const char *cmdline);
void scan_memreserve(struct ctx *c);

/* ---- dtb_check_of_reserved_mem.c ---- */

void add_span(struct ctx *c, size_t owner, bool first, uint64_t base, uint64_t size);
/* Who holds @sp, for a message: a /memreserve/ entry or a node's path. */
void span_owner_text(const struct ctx *c, const struct span *sp, char *buf, size_t size);
void scan_reserved_mem(struct ctx *c);
void size_reserved_mem(struct ctx *c);

/* ---- dtb_check_rmem_init.c ---- */

void init_reserved_mem(struct ctx *c);

/* ---- dtb_check_contiguous.c ---- */

/* early_cma() over @cmdline, and the warnings it deserves; @cut: bootargs cut. */
void read_cma_param(struct dtb_report *rep, const char *cmdline, bool cut);
enum cma_fail rmem_cma_setup(const struct ctx *c, size_t i);
/* rmem_cma_setup() succeeded for entry @i. */
void cma_make_area(struct ctx *c, size_t i);
/* It succeeded for a pool already rejected for its place. */
void cma_make_misplaced_area(struct ctx *c, size_t i);
/* It failed for entry @i with @why, other than CMA_NOT_REUSABLE. */
void cma_reject(struct ctx *c, size_t i, enum cma_fail why);
void cma_note(struct ctx *c, size_t i);
/* CmaTotal of the DT pools; the default area adds its own. */
void cma_sum_total(struct dtb_report *rep);
void dma_contiguous_reserve(struct ctx *c);

/* ---- dtb_check_coherent.c ---- */

/* True when rmem_dma_setup() takes entry @i: it is then judged. */
bool rmem_dma_setup(struct ctx *c, size_t i);
void dma_note(struct ctx *c, size_t i);

#endif
