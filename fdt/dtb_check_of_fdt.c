// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the guest kernel reads from the flat tree before memblock is set
 * up: drivers/of/fdt.c early_init_dt_scan_root(), early_init_dt_scan_memory()
 * with early_init_dt_add_memory_arch() (whole pages of the guest's size) and
 * arm64_memblock_init()'s cut at the physical limit (48 bits in 6.1, 52 in
 * 6.12), early_init_dt_scan_chosen() for bootargs, and
 * the /memreserve/ entries early_init_fdt_scan_reserved_mem() reserves.
 *
 * Owns: the root's cells, the RAM as memblock will hold it and the end of
 * ZONE_DMA, which command line the guest acts on, and the /memreserve/
 * spans. What cma= on that line means is dtb_check_contiguous.c's.
 */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"

#define MAX_RAW_RAM 64
/* Linux reads numbers of up to 2 cells; more only make sense for garbage. */
#define MAX_CELLS 4

/* ---- the root ---------------------------------------------------------- */

static int root_cells(struct ctx *c, const char *name, uint32_t *out)
{
	int len;
	const uint8_t *p = prop(c, 0, name, &len);

	if (!p)
		return 0; /* early_init_dt_scan_root(): the default, 1 */
	if (len < 4)
		return fail(c->rep, "the root %s is %d bytes, not one 4-byte cell", name, len);
	*out = (uint32_t)read_cells(p, 1);
	if (*out > MAX_CELLS)
		return fail(c->rep,
			    "the root %s is %u: Linux reads numbers of at most 2 cells; use 2",
			    name, *out);
	return 0;
}

/* early_init_dt_scan_root(); -1 with @c->rep->error when unusable */
int scan_root(struct ctx *c)
{
	struct dtb_report *rep = c->rep;

	/* OF_ROOT_NODE_ADDR_CELLS_DEFAULT and _SIZE_CELLS_DEFAULT are both 1 */
	rep->addr_cells = 1;
	rep->size_cells = 1;
	if (root_cells(c, "#address-cells", &rep->addr_cells) ||
	    root_cells(c, "#size-cells", &rep->size_cells))
		return -1;
	if (!rep->size_cells)
		return fail(rep,
			    "the root #size-cells is 0: no memory node can give a size; use 2");
	return 0;
}

/* ---- RAM ----------------------------------------------------------------- */

static int cmp_region(const void *a, const void *b)
{
	const struct region *ra = a, *rb = b;

	return ra->base < rb->base ? -1 : ra->base > rb->base;
}

/*
 * early_init_dt_add_memory_arch(): whole pages only; arm64_memblock_init()
 * drops what lies above the physical address space.
 */
static bool clip_ram(const struct guest_kernel *g, uint64_t *base, uint64_t *size)
{
	uint64_t page = guest_page_size(g), phys_end = guest_phys_end(g);
	uint64_t start, end;

	if (*base >= phys_end)
		return false;
	start = align_up(*base, page);
	end = span_end(*base, *size);
	end = align_down(end < phys_end ? end : phys_end, page);
	if (start >= end)
		return false;
	*base = start;
	*size = end - start;
	return true;
}

static void merge_ram(struct dtb_report *rep, struct region *raw, size_t n)
{
	qsort(raw, n, sizeof(raw[0]), cmp_region);
	for (size_t i = 0; i < n; i++) {
		struct region *last = rep->nr_ram ? &rep->ram[rep->nr_ram - 1] : NULL;

		if (last && raw[i].base <= region_end(last)) {
			if (region_end(&raw[i]) > region_end(last))
				last->size = region_end(&raw[i]) - last->base;
			continue;
		}
		if (rep->nr_ram == DTB_MAX_RAM) {
			add_line(rep, DTB_LINE_WARNING,
				 "more than %d RAM ranges; the rest are not shown", DTB_MAX_RAM);
			return;
		}
		rep->ram[rep->nr_ram++] = raw[i];
	}
}

static bool is_memory_node(const struct ctx *c, int node)
{
	int len;
	const char *type = prop(c, node, "device_type", &len);

	return prop_str_is(type, len, "memory");
}

/* drivers/of/fdt.c early_init_dt_scan_memory(): memory nodes under / only */
static size_t scan_memory_node(struct ctx *c, int node, struct region *raw, size_t n)
{
	const char *status;
	const uint8_t *reg;
	size_t step = entry_bytes(c->rep);
	int len;

	if (!node_available(c, node, &status))
		return n;
	reg = prop(c, node, "linux,usable-memory", &len);
	if (!reg)
		reg = prop(c, node, "reg", &len);
	for (size_t off = 0; reg && off + step <= (size_t)len; off += step) {
		uint64_t base = read_cells(reg + off, c->rep->addr_cells);
		uint64_t size = read_cells(reg + off + 4 * c->rep->addr_cells, c->rep->size_cells);

		if (!size || !clip_ram(&c->rep->guest, &base, &size))
			continue;
		if (n == MAX_RAW_RAM) {
			add_line(c->rep, DTB_LINE_WARNING,
				 "more than %d RAM ranges in memory nodes; the rest are ignored",
				 MAX_RAW_RAM);
			return n;
		}
		raw[n++] = (struct region){ base, size };
	}
	return n;
}

/* The RAM, merged as memblock holds it, and where ZONE_DMA ends in it. */
void scan_memory(struct ctx *c)
{
	struct dtb_report *rep = c->rep;
	struct region raw[MAX_RAW_RAM];
	size_t n = 0;
	int node;

	fdt_for_each_subnode (node, c->fdt, 0) {
		if (is_memory_node(c, node))
			n = scan_memory_node(c, node, raw, n);
	}
	merge_ram(rep, raw, n);
	if (!rep->nr_ram) {
		add_line(rep, DTB_LINE_WARNING,
			 "no RAM: no enabled device_type = \"memory\" node under / has a non-empty "
			 "reg; the guest cannot boot");
		return;
	}
	rep->ram_start = rep->ram[0].base;
	rep->ram_end = region_end(&rep->ram[rep->nr_ram - 1]);
	rep->dma_zone_end = guest_dma_zone_end(rep->ram_start, rep->ram_end);
}

/* True when [@base, @base + @size) lies wholly inside one RAM range. */
bool in_ram(const struct dtb_report *rep, uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < rep->nr_ram; i++) {
		const struct region *r = &rep->ram[i];

		if (base >= r->base && size <= region_end(r) - base && base < region_end(r))
			return true;
	}
	return false;
}

/* ---- the command line ------------------------------------------------------ */

/*
 * early_init_dt_scan_chosen(): strscpy(cmdline, bootargs, min(len,
 * COMMAND_LINE_SIZE)), which copies at most one byte less than that count.
 */
static void read_bootargs(const struct ctx *c, char *buf, size_t size, bool *cut)
{
	int chosen = fdt_path_offset(c->fdt, "/chosen");
	int len = 0;
	const char *p = chosen >= 0 ? prop(c, chosen, "bootargs", &len) : NULL;
	size_t count, n;

	buf[0] = '\0';
	*cut = false;
	if (!p || !len)
		return;
	count = (size_t)len < size ? (size_t)len : size;
	n = strnlen(p, count - 1);
	*cut = n == size - 1 && (size_t)len > size - 1 && p[n];
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* @cmdline (--cmdline) when given, else /chosen/bootargs as the kernel reads it */
void scan_chosen(struct ctx *c, const char *cmdline)
{
	struct dtb_report *rep = c->rep;
	char buf[CMA_PARAM_CMDLINE_SIZE];
	bool cut = false;

	if (cmdline) {
		snprintf(rep->cmdline_source, sizeof(rep->cmdline_source), "--cmdline");
	} else {
		read_bootargs(c, buf, sizeof(buf), &cut);
		snprintf(rep->cmdline_source, sizeof(rep->cmdline_source), "%s",
			 buf[0] ? "/chosen/bootargs" : "none");
		cmdline = buf;
	}
	read_cma_param(rep, cmdline, cut);
}

/* ---- /memreserve/ ------------------------------------------------------------ */

/* /memreserve/ entries are memblock_reserve()d first (early_init_fdt_scan_reserved_mem) */
void scan_memreserve(struct ctx *c)
{
	int n = fdt_num_mem_rsv(c->fdt);

	for (int i = 0; i < n; i++) {
		uint64_t base, size;

		if (!fdt_get_mem_rsv(c->fdt, i, &base, &size) && size)
			add_span(c, NO_OWNER, false, base, size);
	}
}
