// SPDX-License-Identifier: GPL-2.0-only
#include "fdt/dtb_check.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cma/size.h"

/* arm64_memblock_init() drops RAM above the 48-bit physical address space */
#define GUEST_PHYS_END	(1ULL << 48)
#define GUEST_PAGE_SIZE SZ_4K
/* Reg ranges remembered for the overlap checks; more are noted, not checked. */
#define MAX_SPANS   256
#define MAX_RAW_RAM 64
#define NO_OWNER    SIZE_MAX
/* Linux reads numbers of up to 2 cells; more only make sense for garbage. */
#define MAX_CELLS 4

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
	bool judged;		/* verdict final */
	bool saved;		/* in the kernel's reserved_mem[] */
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

struct ctx {
	const void *fdt;
	struct dtb_report *rep;
	struct child kids[DTB_MAX_ENTRIES];
	struct span spans[MAX_SPANS];
	size_t nr_spans;
	bool spans_dropped;
	unsigned int nr_saved;
	size_t default_idx; /* entry that is dma_contiguous_default_area */
};

/* ---- small helpers ---------------------------------------------------- */

static void vappend(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t used = strnlen(buf, size);

	if (used + 1 < size)
		vsnprintf(buf + used, size - used, fmt, ap);
}

static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(buf, size, fmt, ap);
	va_end(ap);
}

static void add_line(struct dtb_report *rep, enum dtb_line_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_line(struct dtb_report *rep, enum dtb_line_kind kind, const char *fmt, ...)
{
	struct dtb_line *line;
	va_list ap;

	if (rep->nr_lines == DTB_MAX_LINES) {
		rep->nr_lines_dropped++;
		return;
	}
	line = &rep->lines[rep->nr_lines++];
	line->kind = kind;
	va_start(ap, fmt);
	vsnprintf(line->text, sizeof(line->text), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3))) note(struct dtb_entry *e, const char *fmt, ...)
{
	va_list ap;

	if (e->note[0])
		append(e->note, sizeof(e->note), "; ");
	va_start(ap, fmt);
	vappend(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
reject(struct ctx *c, size_t i, enum dtb_rule rule, const char *fmt, ...)
{
	struct dtb_entry *e = &c->rep->entries[i];
	va_list ap;

	e->verdict = DTB_REJECTED;
	e->rule = rule;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	c->kids[i].judged = true;
}

static void __attribute__((format(printf, 4, 5)))
judge(struct ctx *c, size_t i, enum dtb_verdict verdict, const char *fmt, ...)
{
	struct dtb_entry *e = &c->rep->entries[i];
	va_list ap;

	e->verdict = verdict;
	e->rule = DTB_OK;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	c->kids[i].judged = true;
}

static const char *sz(uint64_t bytes, char buf[static 32])
{
	return size_str(bytes, buf);
}

static uint64_t span_end(uint64_t base, uint64_t size)
{
	/* saturate: a range that wraps past 2^64 ends at the top */
	return base + size < base ? UINT64_MAX : base + size;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return as && bs && a < span_end(b, bs) && b < span_end(a, as);
}

/* ---- bounded property access ------------------------------------------ */

static const void *prop(const struct ctx *c, int node, const char *name, int *len)
{
	int l = 0;
	const void *p = fdt_getprop(c->fdt, node, name, &l);

	*len = p && l > 0 ? l : 0;
	return p;
}

static bool has_prop(const struct ctx *c, int node, const char *name)
{
	int len;

	return prop(c, node, name, &len) != NULL;
}

/* The kernel strcmp()s string properties; only a terminated match counts. */
static bool prop_str_is(const char *p, int len, const char *want)
{
	size_t n = strlen(want) + 1;

	return p && (size_t)len >= n && !memcmp(p, want, n);
}

/* drivers/of/fdt.c of_fdt_device_is_available() */
static bool node_available(const struct ctx *c, int node, const char **status)
{
	int len;
	const char *p = prop(c, node, "status", &len);

	*status = p && len && memchr(p, '\0', (size_t)len) ? p : "(unterminated)";
	return !p || prop_str_is(p, len, "okay") || prop_str_is(p, len, "ok");
}

/* of_fdt_is_compatible(): any string of the list, compared case-blind */
static bool node_compatible(const struct ctx *c, int node, const char *compat)
{
	int len;
	const char *p = prop(c, node, "compatible", &len);
	const char *end = p + len;

	while (p && p < end) {
		size_t l = strnlen(p, (size_t)(end - p));

		if (l < (size_t)(end - p) && !strcasecmp(p, compat))
			return true;
		p += l + 1;
	}
	return false;
}

/* The first compatible string, for messages; NULL when there is none. */
static const char *first_compatible(const struct ctx *c, int node)
{
	int len;
	const char *p = prop(c, node, "compatible", &len);

	return p && len && memchr(p, '\0', (size_t)len) ? p : NULL;
}

/* of_read_number(): big-endian cells, keeping the low 64 bits */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < cells; i++, p += 4)
		v = (v << 32) |
		    ((uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3]);
	return v;
}

static size_t entry_bytes(const struct dtb_report *rep)
{
	return 4 * (size_t)(rep->addr_cells + rep->size_cells);
}

/* ---- the blob ----------------------------------------------------------- */

static int fail(struct dtb_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct dtb_report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Copy the blob into an aligned buffer of its own and validate all of it
 * before anything walks it: header, sizes, and every tag and name.
 */
static void *load_blob(const void *blob, size_t size, struct dtb_report *rep)
{
	struct fdt_header hdr;
	uint32_t total;
	void *copy;
	int err;

	if (!blob || size < sizeof(hdr)) {
		fail(rep, "the blob is %zu bytes, less than the %zu-byte DTB header: not a DTB",
		     blob ? size : 0, sizeof(hdr));
		return NULL;
	}
	memcpy(&hdr, blob, sizeof(hdr));
	if (fdt32_to_cpu(hdr.magic) != FDT_MAGIC) {
		fail(rep, "not a DTB: the magic is 0x%08x, a DTB starts with 0xd00dfeed",
		     fdt32_to_cpu(hdr.magic));
		return NULL;
	}
	total = fdt32_to_cpu(hdr.totalsize);
	if (total > size) {
		fail(rep, "the header says the DTB is %u bytes but only %zu are there: truncated",
		     total, size);
		return NULL;
	}
	if (total < sizeof(hdr)) {
		fail(rep, "the header says the DTB is %u bytes, less than its own header", total);
		return NULL;
	}
	copy = malloc(total);
	if (!copy) {
		fail(rep, "out of memory reading a %u-byte DTB", total);
		return NULL;
	}
	memcpy(copy, blob, total);
	err = fdt_check_header(copy);
	if (!err)
		err = fdt_check_full(copy, total);
	if (err) {
		fail(rep, "the DTB is malformed: %s (libfdt)", fdt_strerror(err));
		free(copy);
		return NULL;
	}
	return copy;
}

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

static int read_root(struct ctx *c)
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

/* ---- RAM ------------------------------------------------------------- */

static int cmp_region(const void *a, const void *b)
{
	const struct region *ra = a, *rb = b;

	return ra->base < rb->base ? -1 : ra->base > rb->base;
}

/* early_init_dt_add_memory_arch(): whole pages only, below the PA limit */
static bool clip_ram(uint64_t *base, uint64_t *size)
{
	uint64_t start, end;

	if (*base >= GUEST_PHYS_END)
		return false;
	start = align_up(*base, GUEST_PAGE_SIZE);
	end = span_end(*base, *size);
	end = align_down(end < GUEST_PHYS_END ? end : GUEST_PHYS_END, GUEST_PAGE_SIZE);
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

		if (!size || !clip_ram(&base, &size))
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

static void scan_ram(struct ctx *c)
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

static bool in_ram(const struct dtb_report *rep, uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < rep->nr_ram; i++) {
		const struct region *r = &rep->ram[i];

		if (base >= r->base && size <= region_end(r) - base && base < region_end(r))
			return true;
	}
	return false;
}

static bool crosses_zone(const struct dtb_report *rep, uint64_t base, uint64_t size)
{
	uint64_t z = rep->dma_zone_end;

	return base < z && span_end(base, size) > z;
}

/* ---- command line ------------------------------------------------------ */

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

static void warn_cmdline(struct dtb_report *rep, bool cut)
{
	const struct cma_param *cma = &rep->cma;

	if (cut || cma->truncated)
		add_line(
			rep, DTB_LINE_WARNING,
			"the command line is longer than %d bytes: the kernel keeps only the first "
			"%d (COMMAND_LINE_SIZE), anything after is lost",
			CMA_PARAM_CMDLINE_SIZE - 1, CMA_PARAM_CMDLINE_SIZE - 1);
	if (cma->nr_bare)
		add_line(rep, DTB_LINE_WARNING,
			 "\"cma\" without '=': early_cma() prints \"Config string not provided\" "
			 "and ignores it; write cma=SIZE[@BASE[-LIMIT]]");
	if (cma->nr_values > 1)
		add_line(rep, DTB_LINE_WARNING,
			 "cma= appears %u times: early_cma() runs for each, so the last (cma=%s) "
			 "wins%s",
			 cma->nr_values, cma->value,
			 cma->range_carried
				 ? ", keeping the base and limit of an earlier cma=...@..."
				 : "");
	if (cma->present && cma->ignored[0])
		add_line(rep, DTB_LINE_WARNING,
			 "cma=%s: early_cma() stops at \"%s\" and silently ignores the rest; "
			 "write cma=SIZE[@BASE[-LIMIT]] with an optional K, M or G suffix on each",
			 cma->value, cma->ignored);
	if (cma->after_dashes)
		add_line(rep, DTB_LINE_WARNING,
			 "a cma after \"--\" goes to init, not to the kernel (parse_args stops at "
			 "\"--\"): move it before \"--\"");
}

static void read_cmdline(struct ctx *c, const char *cmdline)
{
	struct dtb_report *rep = c->rep;
	char buf[CMA_PARAM_CMDLINE_SIZE];
	bool cut = false;

	if (cmdline) {
		snprintf(rep->cmdline_source, sizeof(rep->cmdline_source), "--cmdline");
		cma_param_from_cmdline(cmdline, &rep->cma);
	} else {
		read_bootargs(c, buf, sizeof(buf), &cut);
		snprintf(rep->cmdline_source, sizeof(rep->cmdline_source), "%s",
			 buf[0] ? "/chosen/bootargs" : "none");
		cma_param_from_cmdline(buf, &rep->cma);
	}
	warn_cmdline(rep, cut);
}

/* ---- /reserved-memory: the scan ---------------------------------------- */

static void add_span(struct ctx *c, size_t owner, bool first, uint64_t base, uint64_t size)
{
	if (c->nr_spans == MAX_SPANS) {
		c->spans_dropped = true;
		return;
	}
	c->spans[c->nr_spans++] = (struct span){ owner, first, base, size };
}

/* /memreserve/ entries are memblock_reserve()d first (early_init_fdt_scan_reserved_mem) */
static void scan_memreserve(struct ctx *c)
{
	int n = fdt_num_mem_rsv(c->fdt);

	for (int i = 0; i < n; i++) {
		uint64_t base, size;

		if (!fdt_get_mem_rsv(c->fdt, i, &base, &size) && size)
			add_span(c, NO_OWNER, false, base, size);
	}
}

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

/* drivers/of/fdt.c __reserved_mem_check_root() */
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
		reject(c, i, DTB_RULE_EMPTY_REG,
		       "reg is empty: __reserved_mem_reserve_reg() reserves nothing and does not "
		       "save the node, so the guest ignores it; write reg = <base size>");
		return;
	}
	if ((size_t)len % step) {
		e->has_reg = true;
		reject(c, i, DTB_RULE_REG_LENGTH,
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
		reject(c, i, DTB_RULE_NO_REG_NO_SIZE,
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
		judge(c, i, DTB_DISABLED,
		      "status = \"%s\": fdt_scan_reserved_mem() skips it "
		      "(of_fdt_device_is_available), nothing is reserved",
		      status);
		return;
	}
	if (!root_ok) {
		reject(c, i, DTB_RULE_BAD_ROOT,
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
		reject(c, i, DTB_RULE_TOO_MANY_REGIONS,
		       "region %u of at most %d (MAX_RESERVED_REGIONS): the kernel prints \"not "
		       "enough space for all defined regions\" (fdt_reserved_mem_save_node) and "
		       "never sets it up; %s; use fewer /reserved-memory nodes",
		       c->nr_saved, GUEST_RESERVED_REGIONS,
		       c->rep->entries[i].has_reg ? "its memory stays reserved and unused"
						  : "it is never allocated");
	}
}

/* __reserved_mem_alloc_size(): the properties of a node the guest places */
static void check_size_props(struct ctx *c, size_t i)
{
	const struct dtb_report *rep = c->rep;
	int node = c->kids[i].node, len;
	const char *name = fdt_get_name(c->fdt, node, NULL);
	size_t step = entry_bytes(rep);

	prop(c, node, "size", &len);
	if ((size_t)len != 4 * (size_t)rep->size_cells) {
		reject(c, i, DTB_RULE_BAD_SIZE_PROP,
		       "size is %d bytes, not #size-cells (%u) cells: the kernel prints \"invalid "
		       "size property in '%s' node\" (__reserved_mem_alloc_size); write size with "
		       "%u cells",
		       len, rep->size_cells, name, rep->size_cells);
		return;
	}
	if (prop(c, node, "alignment", &len) && (size_t)len != 4 * (size_t)rep->addr_cells) {
		reject(c, i, DTB_RULE_BAD_SIZE_PROP,
		       "alignment is %d bytes, not #address-cells (%u) cells: the kernel prints "
		       "\"invalid alignment property in '%s' node\" (__reserved_mem_alloc_size)",
		       len, rep->addr_cells, name);
		return;
	}
	if (prop(c, node, "alloc-ranges", &len) && (!len || (size_t)len % step)) {
		reject(c, i, DTB_RULE_BAD_SIZE_PROP,
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
		reject(c, i, DTB_RULE_SIZE_ZERO,
		       "reg gives size 0: the kernel prints \"Reserved memory: failed to reserve "
		       "memory for node '%s'\" and reserves nothing; give the real size",
		       name);
	else
		reject(c, i, DTB_RULE_SIZE_ZERO,
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

/* ---- RAM and overlap ------------------------------------------------------ */

static void ram_text(const struct dtb_report *rep, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!rep->nr_ram)
		snprintf(buf, size, "there is none");
	for (size_t i = 0; i < rep->nr_ram; i++)
		append(buf, size, "%s0x%" PRIx64 "..0x%" PRIx64, i ? ", " : "", rep->ram[i].base,
		       region_end(&rep->ram[i]) - 1);
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
		reject(c, i, DTB_RULE_OUTSIDE_RAM,
		       "0x%" PRIx64 "..0x%" PRIx64
		       " is not inside guest RAM (%s): the guest has no "
		       "memory there, so the pool cannot work (cma_activate_area() needs valid "
		       "pages, a coherent pool maps nothing); move it inside RAM",
		       sp->base, span_end(sp->base, sp->size) - 1, ram);
		return;
	}
}

static void span_owner_text(const struct ctx *c, const struct span *sp, char *buf, size_t size)
{
	if (sp->owner == NO_OWNER)
		snprintf(buf, size, "the /memreserve/ entry 0x%" PRIx64 "..0x%" PRIx64, sp->base,
			 span_end(sp->base, sp->size) - 1);
	else
		snprintf(buf, size, "%s (0x%" PRIx64 "..0x%" PRIx64 ")",
			 c->rep->entries[sp->owner].path, sp->base,
			 span_end(sp->base, sp->size) - 1);
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
			reject(c, i, DTB_RULE_OVERLAP,
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

/* ---- the handlers, in the kernel's order ---------------------------------- */

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

/* rmem_cma_setup() of kernel/dma/contiguous.c, 6.1 */
static enum cma_fail cma_setup(struct ctx *c, size_t i)
{
	const struct dtb_entry *e = &c->rep->entries[i];
	uint64_t check = e->has_reg ? e->base | e->size : e->size;

	if (c->rep->cma.present && (e->flags & DTB_F_CMA_DEFAULT))
		return CMA_BYPASSED;
	if (!(e->flags & DTB_F_REUSABLE) || (e->flags & DTB_F_NO_MAP))
		return CMA_NOT_REUSABLE;
	/* a placed node gets a CMA-aligned base (__reserved_mem_alloc_size); its size does not */
	if (!is_aligned(check, GUEST_CMA_MIN_ALIGN))
		return CMA_MISALIGNED;
	if (c->rep->nr_cma_areas == GUEST_CMA_AREAS)
		return CMA_NO_SLOT;
	return CMA_MADE;
}

static void reject_bypassed(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	char buf[32];

	reject(c, i, DTB_RULE_BYPASSED,
	       "linux,cma-default, but cma=%s is on the command line: the kernel prints "
	       "\"Reserved memory: bypass %s node, using cmdline CMA params instead\" "
	       "(rmem_cma_setup), then rmem_dma_setup() refuses it for reusable; drop cma= from "
	       "the command line, or drop this pool",
	       c->rep->cma.value, fdt_get_name(c->fdt, c->kids[i].node, NULL));
	if (c->kids[i].extra_bytes)
		note(e,
		     "lost: %s of its further reg entries stay reserved and unused; its first "
		     "range goes back to the page allocator",
		     sz(c->kids[i].extra_bytes, buf));
	else
		note(e, "lost: nothing, fdt_init_reserved_mem() gives its memory back as ordinary "
			"RAM (memblock_phys_free), but the pool it describes does not exist");
}

static void reject_misaligned(struct ctx *c, size_t i)
{
	const struct dtb_entry *e = &c->rep->entries[i];
	bool base_bad = e->has_reg && !is_aligned(e->base, GUEST_CMA_MIN_ALIGN);
	bool size_bad = !is_aligned(e->size, GUEST_CMA_MIN_ALIGN);
	char what[96], buf[32];

	what[0] = '\0';
	if (base_bad)
		append(what, sizeof(what), "base 0x%" PRIx64, e->base);
	if (size_bad)
		append(what, sizeof(what), "%ssize %s", base_bad ? " and " : "", sz(e->size, buf));
	reject(c, i, DTB_RULE_CMA_ALIGN,
	       "%s %s not a multiple of 2 MiB (CMA_MIN_ALIGNMENT_BYTES): the kernel prints "
	       "\"Reserved memory: incorrect alignment of CMA region\" (rmem_cma_setup); align "
	       "base and size to 4 MiB to suit kernels before 5.18 too",
	       what, base_bad && size_bad ? "are" : "is");
}

static void reject_handlers(struct ctx *c, size_t i, enum cma_fail why)
{
	switch (why) {
	case CMA_BYPASSED:
		reject_bypassed(c, i);
		break;
	case CMA_MISALIGNED:
		reject_misaligned(c, i);
		break;
	case CMA_NO_SLOT:
		reject(c, i, DTB_RULE_TOO_MANY_CMA,
		       "CMA area %d of at most %d (CONFIG_CMA_AREAS): cma_init_reserved_mem() "
		       "prints \"Not enough slots for CMA reserved regions!\" and rmem_cma_setup() "
		       "fails (\"unable to setup CMA region\"); use fewer CMA pools",
		       GUEST_CMA_AREAS + 1, GUEST_CMA_AREAS);
		break;
	default:
		reject(c, i, DTB_RULE_REUSABLE_NO_MAP,
		       "reusable and no-map together: rmem_cma_setup() wants reusable without "
		       "no-map and rmem_dma_setup() refuses reusable, so no handler takes it "
		       "(\"node %s compatible matching fail\"); drop no-map for a CMA pool, or "
		       "reusable for a coherent pool",
		       fdt_get_name(c->fdt, c->kids[i].node, NULL));
		break;
	}
	/* fdt_init_reserved_mem(): a node no handler took gives its range back */
	c->kids[i].first_freed = true;
}

static void reject_second_default(struct ctx *c, size_t i, size_t first)
{
	const char *name = c->rep->entries[first].path;

	reject(c, i, DTB_RULE_SECOND_DEFAULT,
	       "a second linux,cma-default: %s already is the default, and rmem_cma_setup() "
	       "sets dma_contiguous_default_area again, so this pool takes its place and %s "
	       "is left a CMA area nothing allocates from; keep linux,cma-default on one pool",
	       name, name);
	note(&c->rep->entries[i], "still created and counted in CmaTotal");
	note(&c->rep->entries[first], "was the default until %s replaced it",
	     c->rep->entries[i].path);
}

static void make_cma(struct ctx *c, size_t i)
{
	struct dtb_report *rep = c->rep;
	struct dtb_entry *e = &rep->entries[i];
	size_t previous = c->default_idx;

	rep->nr_cma_areas++;
	e->in_cma_total = true;
	judge(c, i, DTB_CMA_POOL, "rmem_cma_setup() makes it a CMA area");
	if (e->flags & DTB_F_CMA_DEFAULT)
		c->default_idx = i;
	if (e->has_reg && crosses_zone(rep, e->base, e->size)) {
		e->in_cma_total = false;
		reject(c, i, DTB_RULE_ZONE_CROSSING,
		       "0x%" PRIx64 "..0x%" PRIx64 " crosses the end of ZONE_DMA at 0x%" PRIx64
		       ": cma_activate_area() prints \"CMA area %s could not be activated\" and "
		       "hands the pages to the page allocator, so the pool stays empty and "
		       "CmaTotal leaves it out; keep it wholly below or wholly above 0x%" PRIx64,
		       e->base, span_end(e->base, e->size) - 1, rep->dma_zone_end,
		       fdt_get_name(c->fdt, c->kids[i].node, NULL), rep->dma_zone_end);
	} else if ((e->flags & DTB_F_CMA_DEFAULT) && previous != NO_OWNER) {
		reject_second_default(c, i, previous);
	}
}

static void run_handlers(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	enum cma_fail why;

	if (!is_pool(e)) {
		judge(c, i, DTB_RESERVED_ONLY,
		      "compatible is %s%s%s, not shared-dma-pool: the memory is only reserved, for "
		      "a driver that claims it through memory-region",
		      c->kids[i].compatible ? "\"" : "", c->kids[i].compatible ?: "missing",
		      c->kids[i].compatible ? "\"" : "");
		return;
	}
	why = cma_setup(c, i);
	if (why == CMA_MADE) {
		make_cma(c, i);
		return;
	}
	/* rmem_dma_setup() of kernel/dma/coherent.c: anything not reusable */
	if (!(e->flags & DTB_F_REUSABLE)) {
		judge(c, i, DTB_COHERENT_POOL, "rmem_dma_setup() makes it a coherent DMA pool");
		return;
	}
	reject_handlers(c, i, why);
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
	if (cma_setup(c, i) != CMA_MADE) {
		c->kids[i].first_freed = e->flags & DTB_F_REUSABLE;
		return;
	}
	c->rep->nr_cma_areas++;
	if (e->flags & DTB_F_CMA_DEFAULT)
		c->default_idx = i;
	e->in_cma_total = e->rule == DTB_RULE_OVERLAP && !crosses_zone(c->rep, e->base, e->size);
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

/* ---- notes on what was accepted ------------------------------------------- */

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
		     rep->dma_zone_end, sz(rep->ram_end - rep->dma_zone_end, buf));
}

static void note_cma(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	uint64_t check = e->has_reg ? e->base | e->size : e->size;

	if (!is_aligned(check, GUEST_CMA_OLD_ALIGN))
		note(e, "2 MiB aligned but not 4 MiB: kernels before 5.18 reject it");
	if (c->default_idx == i)
		note(e, "the default CMA area: dma_alloc_coherent() of devices without a pool of "
			"their own allocates from it");
	else if (!(e->flags & DTB_F_CMA_DEFAULT))
		note(e, "only a device whose driver calls of_reserved_mem_device_init() on a "
			"memory-region pointing here uses it (virtio-mmio never does)");
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
		     e->nr_reg, sz(c->kids[i].extra_bytes, buf));
	if (e->has_reg && has_prop(c, c->kids[i].node, "size"))
		note(e, "its size property is ignored: reg wins");
	if (!e->has_reg && e->verdict != DTB_REJECTED)
		note_placed(c, i);
	if (e->verdict == DTB_CMA_POOL)
		note_cma(c, i);
	if ((e->flags & DTB_F_DMA_DEFAULT) && e->verdict == DTB_COHERENT_POOL)
		note(e, "linux,dma-default is ignored on arm64: rmem_dma_setup() honours it only "
			"with CONFIG_DMA_GLOBAL_POOL");
}

/* ---- the default area ---------------------------------------------------- */

/* What memblock still holds reserved when dma_contiguous_reserve() runs. */
static const struct span *reserved_at_cma_time(const struct ctx *c, uint64_t base, uint64_t size)
{
	for (size_t s = 0; s < c->nr_spans; s++) {
		const struct span *sp = &c->spans[s];

		if (sp->owner != NO_OWNER && sp->first && c->kids[sp->owner].first_freed)
			continue;
		if (ranges_overlap(base, size, sp->base, sp->size))
			return sp;
	}
	return NULL;
}

static void __attribute__((format(printf, 2, 3))) area_fail(struct ctx *c, const char *fmt, ...)
{
	struct dtb_default_area *a = &c->rep->default_area;
	va_list ap;

	a->failed = true;
	append(a->text, sizeof(a->text), ": ");
	va_start(ap, fmt);
	vappend(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
}

static bool area_slot_free(struct ctx *c)
{
	if (c->rep->nr_cma_areas < GUEST_CMA_AREAS)
		return true;
	area_fail(c,
		  "all %d CMA slots are taken by the DT pools, so cma_declare_contiguous_nid() "
		  "prints \"Not enough slots for CMA reserved regions!\"; use fewer CMA pools",
		  GUEST_CMA_AREAS);
	return false;
}

static void count_area(struct ctx *c)
{
	c->rep->nr_cma_areas++;
	c->rep->cma_total += c->rep->default_area.size;
}

static void check_fixed_area(struct ctx *c)
{
	struct dtb_default_area *a = &c->rep->default_area;
	char other[DTB_PATH_MAX + 48];
	const struct span *sp;

	if (!in_ram(c->rep, a->base, a->size)) {
		area_fail(c, "0x%" PRIx64 "..0x%" PRIx64 " is not inside guest RAM; move it there",
			  a->base, a->base + a->size - 1);
		return;
	}
	sp = reserved_at_cma_time(c, a->base, a->size);
	if (sp) {
		span_owner_text(c, sp, other, sizeof(other));
		area_fail(c,
			  "it overlaps %s, so memblock refuses it (-EBUSY, \"Failed to reserve\"); "
			  "choose a free base",
			  other);
		return;
	}
	count_area(c);
}

/* Round and limit as cma_declare_contiguous_nid() does; false when it refuses. */
static bool shape_cmdline_area(struct ctx *c)
{
	const struct cma_param *cma = &c->rep->cma;
	struct dtb_default_area *a = &c->rep->default_area;
	uint64_t limit = cma->limit;
	char buf[32];

	/* dma_contiguous_reserve(): min_not_zero(limit_cmdline, arm64_dma_phys_limit) */
	if (!limit || (c->rep->dma_zone_end && c->rep->dma_zone_end < limit))
		limit = c->rep->dma_zone_end;
	if (cma->fixed && !is_aligned(cma->base, GUEST_CMA_MIN_ALIGN)) {
		area_fail(c,
			  "\"Region at 0x%" PRIx64 " must be aligned to 0x200000 bytes\" "
			  "(cma_declare_contiguous_nid); use a 2 MiB aligned base",
			  cma->base);
		return false;
	}
	a->base = align_up(cma->base, GUEST_CMA_MIN_ALIGN);
	a->size = align_up(cma->size, GUEST_CMA_MIN_ALIGN);
	a->fixed = cma->fixed && a->base;
	limit = align_down(limit, GUEST_CMA_MIN_ALIGN);
	if (!limit || limit > c->rep->ram_end)
		limit = c->rep->ram_end;
	a->limit = limit;
	if (!a->size || a->base > limit || a->size > limit - a->base) {
		area_fail(c,
			  "\"Size (%s) of region at 0x%" PRIx64 " exceeds limit (0x%" PRIx64 ")\" "
			  "(cma_declare_contiguous_nid): on arm64 the area must end by 0x%" PRIx64
			  ", the end of ZONE_DMA",
			  sz(a->size, buf), a->base, limit, c->rep->dma_zone_end);
		return false;
	}
	return true;
}

static void cmdline_area(struct ctx *c)
{
	const struct cma_param *cma = &c->rep->cma;
	struct dtb_default_area *a = &c->rep->default_area;
	char buf[32];

	a->source = DTB_DEFAULT_CMDLINE;
	snprintf(a->text, sizeof(a->text), "cma=%s", cma->value);
	if (!cma->size) {
		a->source = DTB_DEFAULT_NONE;
		append(a->text, sizeof(a->text),
		       " asks for 0 bytes: the guest makes no default CMA area at all "
		       "(dma_contiguous_reserve skips size 0), so devices get no CMA memory");
		return;
	}
	if (!area_slot_free(c) || !shape_cmdline_area(c))
		return;
	if (a->fixed) {
		append(a->text, sizeof(a->text),
		       ": the guest makes a %s default CMA area fixed at 0x%" PRIx64,
		       sz(a->size, buf), a->base);
		check_fixed_area(c);
		return;
	}
	append(a->text, sizeof(a->text),
	       ": the guest makes a %s default CMA area where it chooses "
	       "in 0x%" PRIx64 "..0x%" PRIx64 " (cma_declare_contiguous_nid, top-down)",
	       sz(a->size, buf), a->base > c->rep->ram_start ? a->base : c->rep->ram_start,
	       a->limit - 1);
	count_area(c);
}

static void dt_default_area(struct ctx *c)
{
	struct dtb_default_area *a = &c->rep->default_area;
	const struct dtb_entry *e = &c->rep->entries[c->default_idx];

	a->source = DTB_DEFAULT_DT;
	a->base = e->base;
	a->size = e->size;
	a->fixed = e->has_reg;
	/* Rejected for its place (outside RAM, across a zone, overlapping): unusable. */
	if (e->verdict == DTB_REJECTED) {
		a->failed = true;
		snprintf(a->text, sizeof(a->text),
			 "%s is the default area but the guest cannot use it (%s): the guest has "
			 "no usable default CMA area",
			 e->path,
			 e->rule == DTB_RULE_ZONE_CROSSING ? "it cannot be activated"
							   : "see its verdict above");
		return;
	}
	snprintf(a->text, sizeof(a->text), "%s (linux,cma-default)", e->path);
}

static void config_area(struct ctx *c)
{
	struct dtb_default_area *a = &c->rep->default_area;
	char buf[32];

	a->source = DTB_DEFAULT_CONFIG;
	a->size = GUEST_CMA_DEFAULT_SIZE;
	a->limit = c->rep->dma_zone_end;
	snprintf(a->text, sizeof(a->text),
		 "no linux,cma-default pool and no cma=: the guest makes its own %s default area "
		 "(CONFIG_CMA_SIZE_MBYTES) where it chooses below 0x%" PRIx64,
		 sz(a->size, buf), a->limit);
	if (area_slot_free(c))
		count_area(c);
}

static void check_default_area(struct ctx *c)
{
	if (c->rep->cma.present)
		cmdline_area(c);
	else if (c->default_idx != NO_OWNER)
		dt_default_area(c);
	else
		config_area(c);
}

/* ---- putting it together ---------------------------------------------------- */

static void sum_cma(struct dtb_report *rep)
{
	for (size_t i = 0; i < rep->nr_entries; i++)
		if (rep->entries[i].in_cma_total)
			rep->cma_total += rep->entries[i].size;
}

static void check_reserved_memory(struct ctx *c)
{
	int rmem = fdt_path_offset(c->fdt, "/reserved-memory");

	scan_memreserve(c);
	if (rmem < 0) {
		add_line(c->rep, DTB_LINE_INFO, "no /reserved-memory node: no pools in the DT");
	} else {
		c->rep->has_reserved_memory = true;
		scan_children(c, rmem);
	}
	check_region_count(c);
	check_shapes(c);
	check_placement(c);
	check_handlers(c);
	for (size_t i = 0; i < c->rep->nr_entries; i++)
		note_entry(c, i);
	sum_cma(c->rep);
	check_default_area(c);
}

static void warn_blob_size(struct dtb_report *rep, const void *fdt)
{
	char buf[32];

	if (fdt_totalsize(fdt) > GUEST_DTB_MAX)
		add_line(rep, DTB_LINE_WARNING,
			 "the DTB is %u bytes: the arm64 kernel takes at most %s "
			 "(Documentation/arm64/booting.rst)",
			 fdt_totalsize(fdt), sz(GUEST_DTB_MAX, buf));
}

int dtb_check(const void *blob, size_t size, const char *cmdline, struct dtb_report *rep)
{
	struct ctx *c;
	void *fdt;
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	fdt = load_blob(blob, size, rep);
	if (!fdt)
		return -1;
	c = calloc(1, sizeof(*c));
	if (!c) {
		free(fdt);
		return fail(rep, "out of memory");
	}
	c->fdt = fdt;
	c->rep = rep;
	c->default_idx = NO_OWNER;
	if (!read_root(c)) {
		warn_blob_size(rep, fdt);
		scan_ram(c);
		read_cmdline(c, cmdline);
		check_reserved_memory(c);
		ret = 0;
	}
	free(c);
	free(fdt);
	return ret;
}

bool dtb_report_rejects(const struct dtb_report *rep)
{
	for (size_t i = 0; i < rep->nr_entries; i++)
		if (rep->entries[i].verdict == DTB_REJECTED)
			return true;
	return rep->default_area.failed;
}

const char *dtb_verdict_str(enum dtb_verdict verdict)
{
	switch (verdict) {
	case DTB_CMA_POOL:
		return "CMA POOL";
	case DTB_COHERENT_POOL:
		return "COHERENT POOL";
	case DTB_RESERVED_ONLY:
		return "RESERVED ONLY";
	case DTB_DISABLED:
		return "DISABLED";
	case DTB_REJECTED:
		return "REJECTED";
	}
	return "?";
}

/* ---- printing ----------------------------------------------------------- */

#define PRINT_WIDTH  100
#define PRINT_INDENT "                " /* under the path, past the verdict */

/* @text after @head, wrapped at spaces; further lines start with @indent. */
static void print_wrapped(FILE *out, const char *head, const char *indent, const char *text)
{
	size_t col = strlen(head), room;

	fputs(head, out);
	if (!*text)
		fputc('\n', out);
	while (*text) {
		size_t len = strlen(text), cut = len;

		room = col < PRINT_WIDTH ? PRINT_WIDTH - col : 1;
		if (len > room) {
			cut = room;
			while (cut && text[cut] != ' ')
				cut--;
			if (!cut)
				cut = strcspn(text, " ");
		}
		fprintf(out, "%.*s\n", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
		if (*text) {
			fputs(indent, out);
			col = strlen(indent);
		}
	}
}

static void flags_text(unsigned int flags, char *buf, size_t size)
{
	static const struct {
		unsigned int flag;
		const char *name;
	} names[] = {
		{ DTB_F_SHARED_DMA_POOL, "shared-dma-pool" },
		{ DTB_F_REUSABLE, "reusable" },
		{ DTB_F_NO_MAP, "no-map" },
		{ DTB_F_CMA_DEFAULT, "linux,cma-default" },
		{ DTB_F_DMA_DEFAULT, "linux,dma-default" },
	};

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag)
			append(buf, size, "%s%s", buf[0] ? ", " : "", names[i].name);
	if (!buf[0])
		snprintf(buf, size, "no flags");
}

static void print_place(const struct dtb_entry *e, FILE *out)
{
	char buf[32], flags[96];

	flags_text(e->flags, flags, sizeof(flags));
	if (e->has_reg && e->size)
		fprintf(out, PRINT_INDENT "0x%" PRIx64 "..0x%" PRIx64 "  %s  [%s]\n", e->base,
			span_end(e->base, e->size) - 1, sz(e->size, buf), flags);
	else if (e->has_reg)
		fprintf(out, PRINT_INDENT "base 0x%" PRIx64 ", size 0  [%s]\n", e->base, flags);
	else if (e->size)
		fprintf(out, PRINT_INDENT "size %s, base chosen by the guest  [%s]\n",
			sz(e->size, buf), flags);
	else
		fprintf(out, PRINT_INDENT "no usable reg or size  [%s]\n", flags);
}

static void print_entry(const struct dtb_entry *e, FILE *out)
{
	fprintf(out, "%-15s %s\n", dtb_verdict_str(e->verdict), e->path);
	print_place(e, out);
	if (e->verdict != DTB_CMA_POOL && e->verdict != DTB_COHERENT_POOL)
		print_wrapped(out, PRINT_INDENT "why: ", PRINT_INDENT "     ", e->reason);
	if (e->note[0])
		print_wrapped(out, PRINT_INDENT "note: ", PRINT_INDENT "      ", e->note);
}

static void print_ram(const struct dtb_report *rep, FILE *out)
{
	char buf[32];

	if (!rep->nr_ram)
		fprintf(out, "RAM            none\n");
	for (size_t i = 0; i < rep->nr_ram; i++)
		fprintf(out, "%-15s0x%" PRIx64 "..0x%" PRIx64 "  %s\n", i ? "" : "RAM",
			rep->ram[i].base, region_end(&rep->ram[i]) - 1, sz(rep->ram[i].size, buf));
	if (rep->nr_ram)
		fprintf(out, "ZONE_DMA end   0x%" PRIx64 "  (no CMA pool may cross it)\n",
			rep->dma_zone_end);
}

static void print_cma_param(const struct dtb_report *rep, FILE *out)
{
	const struct cma_param *cma = &rep->cma;
	char buf[32];

	fprintf(out, "command line   from %s\n", rep->cmdline_source);
	if (!cma->present) {
		fprintf(out, "cma=           none\n");
		return;
	}
	fprintf(out, "cma=           %s  (size %s", cma->value, sz(cma->size, buf));
	if (cma->base || cma->limit)
		fprintf(out, ", base 0x%" PRIx64 ", limit 0x%" PRIx64, cma->base, cma->limit);
	fprintf(out, ", %s)\n", cma->fixed ? "fixed" : "not fixed");
}

static void print_summary(const struct dtb_report *rep, FILE *out)
{
	size_t count[DTB_REJECTED + 1] = { 0 };

	for (size_t i = 0; i < rep->nr_entries; i++)
		count[rep->entries[i].verdict]++;
	fprintf(out,
		"summary: %s, %zu regions: %zu CMA, %zu coherent, %zu reserved only, %zu disabled, "
		"%zu rejected; %u of %d CMA areas; expected CmaTotal: %" PRIu64 " kB\n",
		dtb_report_rejects(rep) ? "PROBLEMS" : "OK", rep->nr_entries, count[DTB_CMA_POOL],
		count[DTB_COHERENT_POOL], count[DTB_RESERVED_ONLY], count[DTB_DISABLED],
		count[DTB_REJECTED], rep->nr_cma_areas, GUEST_CMA_AREAS, rep->cma_total / 1024);
}

void dtb_report_print(const struct dtb_report *rep, FILE *out)
{
	if (rep->error[0]) {
		print_wrapped(out, "error: ", "       ", rep->error);
		return;
	}
	print_ram(rep, out);
	print_cma_param(rep, out);
	fputc('\n', out);
	for (size_t i = 0; i < rep->nr_entries; i++) {
		print_entry(&rep->entries[i], out);
		fputc('\n', out);
	}
	print_wrapped(out, rep->default_area.failed ? "default area   FAILS: " : "default area   ",
		      "               ", rep->default_area.text);
	for (size_t i = 0; i < rep->nr_lines; i++)
		print_wrapped(out, rep->lines[i].kind == DTB_LINE_WARNING ? "warning: " : "info: ",
			      "         ", rep->lines[i].text);
	if (rep->nr_lines_dropped)
		fprintf(out, "warning: %zu more messages not shown\n", rep->nr_lines_dropped);
	print_summary(rep, out);
}
