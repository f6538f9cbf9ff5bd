// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the guest kernel does with the /reserved-memory regions it saved:
 * __rmem_check_for_overlap(), and __reserved_mem_init_node(), which hands
 * each region to the first handler that takes it — from
 * fdt_init_reserved_mem() in order of base in Linux 6.1, from
 * fdt_init_reserved_mem_node() as each is saved in 6.12 (size-placed
 * nodes first, then reg nodes, each in DT order). drivers/of/of_reserved_mem.c.
 *
 * Owns: whether a region lies in RAM and overlaps another, the order the
 * handlers run in, the verdicts no handler reaches (reserved only, no
 * handler took it), and the notes on accepted regions. The handlers
 * themselves are dtb_check_contiguous.c (CMA) and dtb_check_coherent.c
 * (coherent DMA pools).
 */
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"
#include "vmm/util/strbuf.h"

/* ---- place: inside RAM, __rmem_check_for_overlap() ---------------------------- */

static void ram_text(const struct dtb_report *rep, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!rep->nr_ram)
		snprintf(buf, size, "there is none");
	for (size_t i = 0; i < rep->nr_ram; i++)
		str_appendf(buf, size, "%s0x%" PRIx64 "..0x%" PRIx64, i ? ", " : "",
			    rep->ram[i].base, region_end(&rep->ram[i]) - 1);
}

static bool is_pool(const struct dtb_entry *e)
{
	return e->flags & DTB_F_SHARED_DMA_POOL;
}

static void check_in_ram(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	char ram[128];

	for (size_t s = 0; s < c->nr_spans; s++) {
		const struct span *sp = &c->spans[s];

		if (sp->owner != i || in_ram(c->rep, sp->base, sp->size))
			continue;
		ram_text(c->rep, ram, sizeof(ram));
		if (!is_pool(e)) {
			note(e, "0x%" PRIx64 "..0x%" PRIx64 " is outside guest RAM", sp->base,
			     span_end(sp->base, sp->size) - 1);
			return;
		}
		judge(c, i, DTB_REJECTED, DTB_RULE_OUTSIDE_RAM,
		      "0x%" PRIx64 "..0x%" PRIx64 " is not inside guest RAM (%s): the guest has no "
		      "memory there, so the pool cannot work (cma_activate_area() needs valid "
		      "pages, a coherent pool maps nothing); move it inside RAM",
		      sp->base, span_end(sp->base, sp->size) - 1, ram);
		return;
	}
}

static void check_overlap(struct ctx *c, size_t i)
{
	char other[DTB_PATH_MAX + 48];

	for (size_t s = 0; s < c->nr_spans; s++) {
		const struct span *mine = &c->spans[s];

		if (mine->owner != i)
			continue;
		for (size_t t = 0; t < c->nr_spans; t++) {
			const struct span *sp = &c->spans[t];

			if (sp->owner == i ||
			    !ranges_overlap(mine->base, mine->size, sp->base, sp->size))
				continue;
			span_owner_text(c, sp, other, sizeof(other));
			judge(c, i, DTB_REJECTED, DTB_RULE_OVERLAP,
			      "0x%" PRIx64 "..0x%" PRIx64 " overlaps %s: the kernel only prints "
			      "\"OVERLAP DETECTED!\" (__rmem_check_for_overlap) and sets both up "
			      "on the same memory; move one so that they share no byte",
			      mine->base, span_end(mine->base, mine->size) - 1, other);
			return;
		}
	}
}

static void check_placement(struct ctx *c)
{
	if (c->spans_dropped)
		add_line(c->rep, DTB_LINE_WARNING,
			 "more than %d reserved ranges: overlaps among the rest are not checked",
			 MAX_SPANS);
	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		if (!c->kids[i].judged && c->rep->entries[i].has_reg)
			check_in_ram(c, i);
		if (!c->kids[i].judged && c->rep->entries[i].has_reg)
			check_overlap(c, i);
	}
}

/* ---- the handlers: __reserved_mem_init_node() --------------------------------- */

/*
 * 6.1: fdt_init_reserved_mem() sorts reserved_mem[] by base, then size,
 * before it calls the handlers (__rmem_check_for_overlap); the nodes the
 * guest places still have base 0 then, so they come first. Ties keep DT
 * order here; the kernel's sort() does not promise that.
 * 6.12: the size-placed nodes' handlers run in fdt_scan_reserved_mem(),
 * the reg nodes' later in fdt_scan_reserved_mem_reg_nodes(), each in DT
 * order.
 */
static bool kernel_before(const struct ctx *c, size_t a, size_t b)
{
	const struct child *ka = &c->kids[a], *kb = &c->kids[b];

	if (c->rules->handlers_in_dt_order)
		return !c->rep->entries[a].has_reg && c->rep->entries[b].has_reg;
	return ka->saved_base < kb->saved_base ||
	       (ka->saved_base == kb->saved_base && ka->saved_size < kb->saved_size);
}

static size_t kernel_order(const struct ctx *c, size_t order[])
{
	size_t n = 0;

	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		size_t j = n++;

		while (j && kernel_before(c, i, order[j - 1])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return n;
}

/* Both handlers refused a shared-dma-pool: "compatible matching fail". */
static void reject_unhandled(struct ctx *c, size_t i, enum cma_fail why)
{
	if (why == CMA_NOT_REUSABLE)
		judge(c, i, DTB_REJECTED, DTB_RULE_REUSABLE_NO_MAP,
		      "reusable and no-map together: rmem_cma_setup() wants reusable without "
		      "no-map and rmem_dma_setup() refuses reusable, both silently, so the kernel "
		      "prints only \"OF: reserved mem: node %s compatible matching fail\"; drop "
		      "no-map for a CMA pool, or reusable for a coherent pool",
		      fdt_get_name(c->fdt, c->kids[i].node, NULL));
	else
		cma_reject(c, i, why);
	/* fdt_init_reserved_mem(): a node no handler took gives its range back */
	c->kids[i].first_freed = true;
}

static void run_handlers(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	enum cma_fail why;

	if (!is_pool(e)) {
		judge(c, i, DTB_RESERVED_ONLY, DTB_OK,
		      "compatible is %s%s%s, not shared-dma-pool: the memory is only reserved, for "
		      "a driver that claims it through memory-region",
		      c->kids[i].compatible ? "\"" : "", c->kids[i].compatible ?: "missing",
		      c->kids[i].compatible ? "\"" : "");
		return;
	}
	why = rmem_cma_setup(c, i);
	if (why == CMA_MADE) {
		cma_make_area(c, i);
		return;
	}
	if (!rmem_dma_setup(c, i))
		reject_unhandled(c, i, why);
}

/*
 * A pool this checker rejects for its place (outside RAM, overlapping)
 * still goes through the kernel's handlers: it may take a CMA slot, become
 * the default area, or give its memory back.
 */
static void run_handlers_quietly(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];

	if (!is_pool(e))
		return;
	if (rmem_cma_setup(c, i) != CMA_MADE) {
		c->kids[i].first_freed = e->flags & DTB_F_REUSABLE;
		return;
	}
	cma_make_misplaced_area(c, i);
}

static void check_handlers(struct ctx *c)
{
	size_t order[DTB_MAX_ENTRIES];
	size_t n = kernel_order(c, order);

	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		enum dtb_rule rule = c->rep->entries[i].rule;

		if (!c->kids[i].judged)
			run_handlers(c, i);
		else if (rule == DTB_RULE_OVERLAP || rule == DTB_RULE_OUTSIDE_RAM)
			run_handlers_quietly(c, i);
	}
}

/* ---- notes on what was accepted ------------------------------------------------ */

static bool has_memreserve(const struct ctx *c)
{
	for (size_t s = 0; s < c->nr_spans; s++)
		if (c->spans[s].owner == NO_OWNER)
			return true;
	return false;
}

/* Where the series places a size-only node differently. */
static void note_placed_by_series(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];

	if (c->kids[i].zero_reg_placed)
		note(e,
		     "reg gives size 0, so Linux 6.1 places it by its size property instead "
		     "(fdt_init_reserved_mem), after printing \"%sReserved memory: failed to "
		     "reserve memory for node '%s': ...\"",
		     c->rules->scan_prefix, fdt_get_name(c->fdt, c->kids[i].node, NULL));
	if (c->rules->memreserve_after_placed && has_memreserve(c))
		note(e, "Linux 6.12 places it before it reserves the /memreserve/ entries "
			"(early_init_fdt_scan_reserved_mem), so it may land on one of them");
}

static void note_placed(struct ctx *c, size_t i)
{
	struct dtb_report *rep = c->rep;
	struct dtb_entry *e = &rep->entries[i];
	char buf[32];

	note(e,
	     "placed by the guest (__reserved_mem_alloc_size, top-down%s): the host cannot "
	     "know where; write reg to fix it",
	     c->kids[i].alloc_ranges ? ", within alloc-ranges" : "");
	note_placed_by_series(c, i);
	if (e->verdict != DTB_CMA_POOL || c->kids[i].alloc_ranges)
		return;
	if (rep->dma_zone_end < rep->ram_end && rep->dma_zone_end > rep->ram_start &&
	    rep->ram_end - rep->dma_zone_end < e->size)
		note(e,
		     "RAM above 0x%" PRIx64 " is only %s: the guest may place it across "
		     "that ZONE_DMA boundary and then cannot activate it",
		     rep->dma_zone_end, size_str(rep->ram_end - rep->dma_zone_end, buf));
}

static void note_entry(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	char buf[32];

	if (e->verdict == DTB_DISABLED)
		return;
	if (e->nr_reg > 1 && c->kids[i].extra_bytes)
		note(e,
		     "reg has %u entries: only the first is the region; the other %s are only "
		     "reserved, not part of the pool",
		     e->nr_reg, size_str(c->kids[i].extra_bytes, buf));
	if (e->nr_reg > 1 && c->rules->reg_nodes_rescan)
		note(e,
		     "Linux 6.12 warns \"OF: reserved mem: fdt_scan_reserved_mem_reg_nodes() "
		     "ignores %u regions in node '%s'\"",
		     e->nr_reg - 1, fdt_get_name(c->fdt, c->kids[i].node, NULL));
	if (e->has_reg && has_prop(c, c->kids[i].node, "size"))
		note(e, "its size property is ignored: reg wins");
	if (!e->has_reg && e->verdict != DTB_REJECTED)
		note_placed(c, i);
	if (e->verdict == DTB_CMA_POOL)
		cma_note(c, i);
	if (e->verdict == DTB_COHERENT_POOL)
		dma_note(c, i);
}

/*
 * Place and handler of every saved region: 6.1 fdt_init_reserved_mem(),
 * 6.12 fdt_init_reserved_mem_node() as each is saved.
 */
void init_reserved_mem(struct ctx *c)
{
	check_placement(c);
	check_handlers(c);
	for (size_t i = 0; i < c->rep->nr_entries; i++)
		note_entry(c, i);
}
