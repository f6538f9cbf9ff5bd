// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest kernel's /reserved-memory: drivers/of/of_reserved_mem.c with
 * the scan that Linux 6.1 still keeps in drivers/of/fdt.c (later kernels
 * moved it here). The scan: fdt_scan_reserved_mem(),
 * __reserved_mem_check_root(), __reserved_mem_reserve_reg() and
 * fdt_reserved_mem_save_node(); then fdt_init_reserved_mem():
 * __rmem_check_for_overlap(), __reserved_mem_alloc_size() and
 * __reserved_mem_init_node(), which hands each region to the first handler
 * that takes it.
 *
 * Owns: every child's path, flags (reusable, no-map, linux,cma-default,
 * linux,dma-default, shared-dma-pool), reg or size, alignment and
 * alloc-ranges; the reserved spans and their overlaps; the
 * MAX_RESERVED_REGIONS count; the order the handlers run in and the
 * verdicts no handler reaches (reserved only, disabled, no handler took
 * it). The handlers themselves are dtb_check_contiguous.c (CMA) and
 * dtb_check_coherent.c (coherent DMA pools).
 */
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"
#include "vmm/util/strbuf.h"

/* ---- the reserved spans ---------------------------------------------------- */

void add_span(struct ctx *c, size_t owner, bool first, uint64_t base, uint64_t size)
{
	if (c->nr_spans == MAX_SPANS) {
		c->spans_dropped = true;
		return;
	}
	c->spans[c->nr_spans++] = (struct span){ owner, first, base, size };
}

void span_owner_text(const struct ctx *c, const struct span *sp, char *buf, size_t size)
{
	if (sp->owner == NO_OWNER)
		snprintf(buf, size, "the /memreserve/ entry 0x%" PRIx64 "..0x%" PRIx64, sp->base,
			 span_end(sp->base, sp->size) - 1);
	else
		snprintf(buf, size, "%s (0x%" PRIx64 "..0x%" PRIx64 ")",
			 c->rep->entries[sp->owner].path, sp->base,
			 span_end(sp->base, sp->size) - 1);
}

/* ---- the scan: fdt_scan_reserved_mem() -------------------------------------- */

static const char *cells_problem(const struct ctx *c, int rmem, const char *name, uint32_t want,
				 char *buf, size_t size)
{
	int len;
	const uint8_t *p = prop(c, rmem, name, &len);

	if (!p)
		snprintf(buf, size, "/reserved-memory has no %s (the root's is %u)", name, want);
	else if (len < 4)
		snprintf(buf, size, "/reserved-memory %s is %d bytes, not a cell", name, len);
	else if (read_cells(p, 1) != want)
		snprintf(buf, size, "/reserved-memory %s is %u but the root's is %u", name,
			 (uint32_t)read_cells(p, 1), want);
	else
		return NULL;
	return buf;
}

/* __reserved_mem_check_root() */
static const char *rmem_root_problem(const struct ctx *c, int rmem, char *buf, size_t size)
{
	const struct dtb_report *rep = c->rep;

	if (cells_problem(c, rmem, "#size-cells", rep->size_cells, buf, size) ||
	    cells_problem(c, rmem, "#address-cells", rep->addr_cells, buf, size))
		return buf;
	if (!has_prop(c, rmem, "ranges")) {
		snprintf(buf, size, "/reserved-memory has no ranges property");
		return buf;
	}
	return NULL;
}

static unsigned int read_flags(const struct ctx *c, int node)
{
	unsigned int flags = 0;

	if (has_prop(c, node, "reusable"))
		flags |= DTB_F_REUSABLE;
	if (has_prop(c, node, "no-map"))
		flags |= DTB_F_NO_MAP;
	if (has_prop(c, node, "linux,cma-default"))
		flags |= DTB_F_CMA_DEFAULT;
	if (has_prop(c, node, "linux,dma-default"))
		flags |= DTB_F_DMA_DEFAULT;
	if (node_compatible(c, node, "shared-dma-pool"))
		flags |= DTB_F_SHARED_DMA_POOL;
	return flags;
}

/*
 * The reg entries of child @i; with @reserve, as __reserved_mem_reserve_reg()
 * treats them: every entry with a size is reserved, the first is saved.
 */
static void read_reg(struct ctx *c, size_t i, const uint8_t *reg, int len, bool reserve)
{
	struct dtb_entry *e = &c->rep->entries[i];
	size_t step = entry_bytes(c->rep);
	uint32_t ac = c->rep->addr_cells, sc = c->rep->size_cells;

	e->has_reg = true;
	e->nr_reg = (unsigned int)((size_t)len / step);
	for (size_t off = 0; off + step <= (size_t)len; off += step) {
		uint64_t base = read_cells(reg + off, ac);
		uint64_t size = read_cells(reg + off + 4 * ac, sc);

		if (!off) {
			e->base = base;
			e->size = size;
		} else {
			c->kids[i].extra_bytes += size;
		}
		if (reserve && size)
			add_span(c, i, !off, base, size);
	}
	/* saved even when the first entry has size 0 */
	c->kids[i].saved = reserve;
}

static void scan_reg(struct ctx *c, size_t i, const uint8_t *reg, int len)
{
	struct dtb_entry *e = &c->rep->entries[i];
	size_t step = entry_bytes(c->rep);

	if (!len) {
		e->has_reg = true;
		judge(c, i, DTB_REJECTED, DTB_RULE_EMPTY_REG,
		      "reg is empty: __reserved_mem_reserve_reg() reserves nothing and does not "
		      "save the node, so the guest ignores it; write reg = <base size>");
		return;
	}
	if ((size_t)len % step) {
		e->has_reg = true;
		judge(c, i, DTB_REJECTED, DTB_RULE_REG_LENGTH,
		      "reg is %d bytes, not a multiple of %zu (#address-cells %u + #size-cells "
		      "%u, 4 bytes a cell): the kernel prints \"Reserved memory: invalid reg "
		      "property in '%s', skipping node\" (__reserved_mem_reserve_reg); write "
		      "each entry as %u + %u cells",
		      len, step, c->rep->addr_cells, c->rep->size_cells,
		      fdt_get_name(c->fdt, c->kids[i].node, NULL), c->rep->addr_cells,
		      c->rep->size_cells);
		return;
	}
	read_reg(c, i, reg, len, true);
}

static void scan_size_only(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	int len;
	const uint8_t *p = prop(c, c->kids[i].node, "size", &len);

	if (!p) {
		judge(c, i, DTB_REJECTED, DTB_RULE_NO_REG_NO_SIZE,
		      "neither reg nor size: fdt_scan_reserved_mem() saves nothing for it, so the "
		      "guest ignores it; give reg = <base size>, or size = <...> to let the guest "
		      "place it");
		return;
	}
	/* fdt_scan_reserved_mem() saves it with base 0, size 0; the size is read later */
	c->kids[i].saved = true;
	if ((size_t)len == 4 * (size_t)c->rep->size_cells)
		e->size = read_cells(p, c->rep->size_cells);
}

static void scan_child(struct ctx *c, size_t i, bool root_ok, const char *root_why)
{
	struct dtb_entry *e = &c->rep->entries[i];
	int node = c->kids[i].node, len;
	const char *status;
	const uint8_t *reg = prop(c, node, "reg", &len);

	e->flags = read_flags(c, node);
	c->kids[i].compatible = first_compatible(c, node);
	if (!node_available(c, node, &status)) {
		if (reg && len && (size_t)len % entry_bytes(c->rep) == 0)
			read_reg(c, i, reg, len, false);
		judge(c, i, DTB_DISABLED, DTB_OK,
		      "status = \"%s\": fdt_scan_reserved_mem() skips it "
		      "(of_fdt_device_is_available), nothing is reserved",
		      status);
		return;
	}
	if (!root_ok) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_ROOT,
		      "malformed /reserved-memory node: %s, so the kernel prints \"Reserved "
		      "memory: unsupported node format, ignoring\" (__reserved_mem_check_root) "
		      "and ignores every child; give /reserved-memory #address-cells = <%u>, "
		      "#size-cells = <%u> and an empty ranges",
		      root_why, c->rep->addr_cells, c->rep->size_cells);
		return;
	}
	if (reg)
		scan_reg(c, i, reg, len);
	else
		scan_size_only(c, i);
}

static void fill_path(struct ctx *c, size_t i, int rmem, int node)
{
	const char *parent = fdt_get_name(c->fdt, rmem, NULL);
	const char *name = fdt_get_name(c->fdt, node, NULL);

	snprintf(c->rep->entries[i].path, DTB_PATH_MAX, "/%s/%s", parent ? parent : "?",
		 name ? name : "?");
}

static void scan_children(struct ctx *c, int rmem)
{
	struct dtb_report *rep = c->rep;
	char why[160];
	const char *root_why = rmem_root_problem(c, rmem, why, sizeof(why));
	int node;

	fdt_for_each_subnode (node, c->fdt, rmem) {
		size_t i = rep->nr_entries;

		if (i == DTB_MAX_ENTRIES) {
			rep->nr_entries_dropped++;
			continue;
		}
		rep->nr_entries++;
		c->kids[i].node = node;
		fill_path(c, i, rmem, node);
		scan_child(c, i, !root_why, root_why);
	}
	if (rep->nr_entries_dropped)
		add_line(rep, DTB_LINE_WARNING,
			 "%zu more /reserved-memory children are not checked (room for %d)",
			 rep->nr_entries_dropped, DTB_MAX_ENTRIES);
}

/* fdt_reserved_mem_save_node(): reserved_mem[] has MAX_RESERVED_REGIONS slots */
static void check_region_count(struct ctx *c)
{
	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		if (!c->kids[i].saved || ++c->nr_saved <= GUEST_RESERVED_REGIONS)
			continue;
		c->kids[i].saved = false;
		judge(c, i, DTB_REJECTED, DTB_RULE_TOO_MANY_REGIONS,
		      "region %u of at most %d (MAX_RESERVED_REGIONS): the kernel prints \"not "
		      "enough space for all defined regions\" (fdt_reserved_mem_save_node) and "
		      "never sets it up; %s; use fewer /reserved-memory nodes",
		      c->nr_saved, GUEST_RESERVED_REGIONS,
		      c->rep->entries[i].has_reg ? "its memory stays reserved and unused"
						 : "it is never allocated");
	}
}

/* Every child, and which of them the kernel saves in reserved_mem[]. */
void scan_reserved_mem(struct ctx *c)
{
	int rmem = fdt_path_offset(c->fdt, "/reserved-memory");

	if (rmem < 0) {
		add_line(c->rep, DTB_LINE_INFO, "no /reserved-memory node: no pools in the DT");
	} else {
		c->rep->has_reserved_memory = true;
		scan_children(c, rmem);
	}
	check_region_count(c);
}

/* ---- sizes: __reserved_mem_alloc_size() -------------------------------------- */

/* __reserved_mem_alloc_size(): the properties of a node the guest places */
static void check_size_props(struct ctx *c, size_t i)
{
	const struct dtb_report *rep = c->rep;
	int node = c->kids[i].node, len;
	const char *name = fdt_get_name(c->fdt, node, NULL);
	size_t step = entry_bytes(rep);

	prop(c, node, "size", &len);
	if ((size_t)len != 4 * (size_t)rep->size_cells) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "size is %d bytes, not #size-cells (%u) cells: the kernel prints \"invalid "
		      "size property in '%s' node\" (__reserved_mem_alloc_size); write size with "
		      "%u cells",
		      len, rep->size_cells, name, rep->size_cells);
		return;
	}
	if (prop(c, node, "alignment", &len) && (size_t)len != 4 * (size_t)rep->addr_cells) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "alignment is %d bytes, not #address-cells (%u) cells: the kernel prints "
		      "\"invalid alignment property in '%s' node\" (__reserved_mem_alloc_size)",
		      len, rep->addr_cells, name);
		return;
	}
	if (prop(c, node, "alloc-ranges", &len) && (!len || (size_t)len % step)) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "alloc-ranges is %d bytes, not a multiple of %zu: the kernel prints "
		      "\"invalid alloc-ranges property in '%s', skipping node\" "
		      "(__reserved_mem_alloc_size)",
		      len, step, name);
		return;
	}
	c->kids[i].alloc_ranges = (uint64_t)len / step;
}

static void check_size_zero(struct ctx *c, size_t i)
{
	const char *name = fdt_get_name(c->fdt, c->kids[i].node, NULL);

	if (c->rep->entries[i].size)
		return;
	if (c->rep->entries[i].has_reg)
		judge(c, i, DTB_REJECTED, DTB_RULE_SIZE_ZERO,
		      "reg gives size 0: the kernel prints \"Reserved memory: failed to reserve "
		      "memory for node '%s'\" and reserves nothing; give the real size",
		      name);
	else
		judge(c, i, DTB_REJECTED, DTB_RULE_SIZE_ZERO,
		      "size is 0: __reserved_mem_alloc_size() cannot place it (\"failed to "
		      "allocate memory for node '%s'\"); give the real size",
		      name);
}

static void check_shapes(struct ctx *c)
{
	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		if (c->kids[i].judged)
			continue;
		if (!c->rep->entries[i].has_reg)
			check_size_props(c, i);
		if (!c->kids[i].judged)
			check_size_zero(c, i);
	}
}

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
 * fdt_init_reserved_mem() sorts reserved_mem[] by base, then size, before
 * it calls the handlers (__rmem_check_for_overlap); the nodes the guest
 * places still have base 0 then, so they come first. Ties keep DT order
 * here; the kernel's sort() does not promise that.
 */
static bool kernel_before(const struct dtb_entry *a, const struct dtb_entry *b)
{
	uint64_t ab = a->has_reg ? a->base : 0, as = a->has_reg ? a->size : 0;
	uint64_t bb = b->has_reg ? b->base : 0, bs = b->has_reg ? b->size : 0;

	return ab < bb || (ab == bb && as < bs);
}

static size_t kernel_order(const struct ctx *c, size_t order[])
{
	size_t n = 0;

	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		size_t j = n++;

		while (j && kernel_before(&c->rep->entries[i], &c->rep->entries[order[j - 1]])) {
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
		      "no-map and rmem_dma_setup() refuses reusable, so no handler takes it "
		      "(\"node %s compatible matching fail\"); drop no-map for a CMA pool, or "
		      "reusable for a coherent pool",
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

static void note_placed(struct ctx *c, size_t i)
{
	struct dtb_report *rep = c->rep;
	struct dtb_entry *e = &rep->entries[i];
	char buf[32];

	note(e,
	     "placed by the guest (__reserved_mem_alloc_size, top-down%s): the host cannot "
	     "know where; write reg to fix it",
	     c->kids[i].alloc_ranges ? ", within alloc-ranges" : "");
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
	if (e->has_reg && has_prop(c, c->kids[i].node, "size"))
		note(e, "its size property is ignored: reg wins");
	if (!e->has_reg && e->verdict != DTB_REJECTED)
		note_placed(c, i);
	if (e->verdict == DTB_CMA_POOL)
		cma_note(c, i);
	if (e->verdict == DTB_COHERENT_POOL)
		dma_note(c, i);
}

/* fdt_init_reserved_mem(): size, place and handler of every saved region */
void init_reserved_mem(struct ctx *c)
{
	check_shapes(c);
	check_placement(c);
	check_handlers(c);
	for (size_t i = 0; i < c->rep->nr_entries; i++)
		note_entry(c, i);
}
