// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest kernel's scan of /reserved-memory: drivers/of/fdt.c in Linux
 * 6.1, drivers/of/of_reserved_mem.c in 6.12 (which moved it there and
 * reworked it): fdt_scan_reserved_mem(), __reserved_mem_check_root(),
 * __reserved_mem_reserve_reg() and fdt_reserved_mem_save_node() (6.12 also
 * fdt_scan_reserved_mem_reg_nodes()), and the property checks of
 * __reserved_mem_alloc_size(). What happens to the saved regions next is
 * dtb_check_rmem_init.c's.
 *
 * Owns: every child's path, flags (reusable, no-map, linux,cma-default,
 * linux,dma-default, shared-dma-pool), reg or size, alignment and
 * alloc-ranges; the reserved spans; the MAX_RESERVED_REGIONS count (every
 * region in 6.1, the size-placed ones in 6.12); the verdicts of nodes the
 * scan drops or disables. c->rules says where 6.1 and 6.12 differ.
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
			e->base = c->kids[i].saved_base = base;
			e->size = c->kids[i].saved_size = size;
		} else {
			c->kids[i].extra_bytes += size;
		}
		if (reserve && size)
			add_span(c, i, !off, base, size);
	}
	/* saved even when the first entry has size 0 */
	c->kids[i].saved = reserve;
}

/*
 * 6.12 fdt_scan_reserved_mem_reg_nodes() reads one entry from an empty reg
 * all the same: the bytes that follow the property in the blob.
 */
static void judge_empty_reg_read_past(struct ctx *c, size_t i, const uint8_t *reg)
{
	const uint8_t *end = (const uint8_t *)c->fdt + fdt_totalsize(c->fdt);
	size_t step = entry_bytes(c->rep);
	uint64_t base, size;

	if ((size_t)(end - reg) < step) {
		judge(c, i, DTB_REJECTED, DTB_RULE_EMPTY_REG,
		      "reg is empty: Linux 6.12 counts it and reads its base and size past the "
		      "end of the blob (fdt_scan_reserved_mem_reg_nodes); write reg = <base size>");
		return;
	}
	base = read_cells(reg, c->rep->addr_cells);
	size = read_cells(reg + 4 * c->rep->addr_cells, c->rep->size_cells);
	judge(c, i, DTB_REJECTED, DTB_RULE_EMPTY_REG,
	      "reg is empty: Linux 6.12 counts it and takes the %zu bytes after the empty "
	      "property for its reg (fdt_scan_reserved_mem_reg_nodes): base 0x%" PRIx64
	      ", size 0x%" PRIx64 ", %s; write reg = <base size>",
	      step, base, size,
	      size ? "so its handlers set up a region at that garbage place"
		   : "so it saves nothing and the guest ignores it");
}

static void scan_reg(struct ctx *c, size_t i, const uint8_t *reg, int len)
{
	struct dtb_entry *e = &c->rep->entries[i];
	size_t step = entry_bytes(c->rep);

	if (!len) {
		e->has_reg = true;
		if (c->rules->empty_reg_reads_past)
			judge_empty_reg_read_past(c, i, reg);
		else
			judge(c, i, DTB_REJECTED, DTB_RULE_EMPTY_REG,
			      "reg is empty: __reserved_mem_reserve_reg() reserves nothing and "
			      "does "
			      "not save the node, so the guest ignores it; write reg = <base "
			      "size>");
		return;
	}
	if ((size_t)len % step) {
		e->has_reg = true;
		judge(c, i, DTB_REJECTED, DTB_RULE_REG_LENGTH,
		      "reg is %d bytes, not a multiple of %zu (#address-cells %u + #size-cells "
		      "%u, 4 bytes a cell): the kernel prints \"%sReserved memory: invalid reg "
		      "property in '%s', skipping node.\"%s (__reserved_mem_reserve_reg); write "
		      "each entry as %u + %u cells",
		      len, step, c->rep->addr_cells, c->rep->size_cells, c->rules->scan_prefix,
		      fdt_get_name(c->fdt, c->kids[i].node, NULL), twice(c), c->rep->addr_cells,
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
		      "malformed /reserved-memory node: %s, so the kernel prints \"%sReserved "
		      "memory: unsupported node format, ignoring\"%s (__reserved_mem_check_root) "
		      "and ignores every child; give /reserved-memory #address-cells = <%u>, "
		      "#size-cells = <%u> and an empty ranges",
		      root_why, c->rules->scan_prefix, twice(c), c->rep->addr_cells,
		      c->rep->size_cells);
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

static void reject_past_region_limit(struct ctx *c, size_t i)
{
	const struct dtb_entry *e = &c->rep->entries[i];
	unsigned int limit = guest_reserved_regions(&c->rep->guest);

	c->kids[i].saved = false;
	if (c->rules->region_limit_dynamic_only)
		judge(c, i, DTB_REJECTED, DTB_RULE_TOO_MANY_REGIONS,
		      "size-placed node %u of at most %u (MAX_RESERVED_REGIONS): Linux 6.12 "
		      "prints \"OF: reserved mem: too many defined dynamic regions, skip '%s'\" "
		      "(fdt_scan_reserved_mem) and never places it; give it reg (reg nodes "
		      "have no limit in 6.12), or use fewer size-only nodes",
		      c->nr_saved, limit, fdt_get_name(c->fdt, c->kids[i].node, NULL));
	else
		judge(c, i, DTB_REJECTED, DTB_RULE_TOO_MANY_REGIONS,
		      "region %u of at most %u (MAX_RESERVED_REGIONS): Linux 6.1 prints \"OF: "
		      "reserved mem: not enough space for all defined regions.\" "
		      "(fdt_reserved_mem_save_node) and never sets it up; %s; use fewer "
		      "/reserved-memory nodes",
		      c->nr_saved, limit,
		      e->has_reg ? "its memory stays reserved and unused"
				 : "it is never allocated");
}

/*
 * MAX_RESERVED_REGIONS: 6.1 fdt_reserved_mem_save_node() has that many
 * slots for every region; 6.12 fdt_scan_reserved_mem() for the size-placed
 * nodes only, and sizes the array for the rest.
 */
static void check_region_count(struct ctx *c)
{
	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		if (!c->kids[i].saved)
			continue;
		if (c->rules->region_limit_dynamic_only && c->rep->entries[i].has_reg)
			continue;
		if (++c->nr_saved > guest_reserved_regions(&c->rep->guest))
			reject_past_region_limit(c, i);
	}
}

/* Every child, and which of them the kernel saves in reserved_mem[]. */
void scan_reserved_mem(struct ctx *c)
{
	int rmem = fdt_path_offset(c->fdt, "/reserved-memory");

	if (rmem < 0) {
		add_line(c->rep, DTB_LINE_INFO, "no /reserved-memory node: no pools in the DT%s",
			 c->rules->reg_nodes_rescan
				 ? " (Linux 6.12 prints \"OF: reserved mem: Reserved memory: No "
				   "reserved-memory node in the DT\")"
				 : "");
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
		      "size is %d bytes, not #size-cells (%u) cells: the kernel prints \"OF: "
		      "reserved mem: invalid size property in '%s' node.\" "
		      "(__reserved_mem_alloc_size); write size with %u cells",
		      len, rep->size_cells, name, rep->size_cells);
		return;
	}
	if (prop(c, node, "alignment", &len) && (size_t)len != 4 * (size_t)rep->addr_cells) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "alignment is %d bytes, not #address-cells (%u) cells: the kernel prints "
		      "\"OF: reserved mem: invalid alignment property in '%s' node.\" "
		      "(__reserved_mem_alloc_size)",
		      len, rep->addr_cells, name);
		return;
	}
	if (prop(c, node, "alloc-ranges", &len) && (size_t)len % step) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "alloc-ranges is %d bytes, not a multiple of %zu: the kernel prints "
		      "\"OF: reserved mem: invalid alloc-ranges property in '%s', skipping "
		      "node.\" (__reserved_mem_alloc_size)",
		      len, step, name);
		return;
	}
	if (has_prop(c, node, "alloc-ranges") && !len) {
		judge(c, i, DTB_REJECTED, DTB_RULE_BAD_SIZE_PROP,
		      "alloc-ranges is empty: __reserved_mem_alloc_size() tries no range and "
		      "prints \"OF: reserved mem: failed to allocate memory for node '%s'\"; "
		      "give at least one <base size> range, or drop alloc-ranges",
		      name);
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
		      "reg gives size 0: the kernel prints \"%sReserved memory: failed to reserve "
		      "memory for node '%s': ...\" and reserves nothing; give the real size",
		      c->rules->scan_prefix, name);
	else
		judge(c, i, DTB_REJECTED, DTB_RULE_SIZE_ZERO,
		      "size is 0: __reserved_mem_alloc_size() cannot place it (\"OF: reserved "
		      "mem: failed to allocate memory for node '%s': size 0 MiB\"); give the real "
		      "size",
		      name);
}

/*
 * 6.1 saves a reg whose first size is 0 like a size-only node, so
 * fdt_init_reserved_mem() has __reserved_mem_alloc_size() place it when
 * it has a size property.
 */
static void take_zero_reg_as_placed(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	int len;
	const uint8_t *p = prop(c, c->kids[i].node, "size", &len);

	if (!e->has_reg || e->size || !p || !c->rules->zero_reg_placed_by_size)
		return;
	e->has_reg = false;
	e->base = 0;
	c->kids[i].zero_reg_placed = true;
	if ((size_t)len == 4 * (size_t)c->rep->size_cells)
		e->size = read_cells(p, c->rep->size_cells);
}

/* __reserved_mem_alloc_size()'s checks, and what a reg of size 0 becomes */
void size_reserved_mem(struct ctx *c)
{
	for (size_t i = 0; i < c->rep->nr_entries; i++) {
		if (c->kids[i].judged)
			continue;
		take_zero_reg_as_placed(c, i);
		if (!c->rep->entries[i].has_reg)
			check_size_props(c, i);
		if (!c->kids[i].judged)
			check_size_zero(c, i);
	}
}
