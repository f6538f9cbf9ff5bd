// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's CMA areas: kernel/dma/contiguous.c early_cma() (cma=, read
 * by fdt/cma_param.h), rmem_cma_setup() for "shared-dma-pool" regions
 * with "reusable", and dma_contiguous_reserve(), which makes the default
 * area dma_contiguous_default_area from cma= or CONFIG_CMA_SIZE_MBYTES
 * unless a linux,cma-default pool already is it; with mm/cma.c
 * cma_init_reserved_mem() and cma_declare_contiguous_nid() (the
 * CONFIG_CMA_AREAS slots, alignment, base and limit) and
 * cma_activate_area() (an area must not cross the end of ZONE_DMA).
 *
 * Owns: the cma= warnings, the CMA pool verdicts and their rejections
 * (bypassed by cma=, misaligned for the guest's pageblock, out of slots,
 * across ZONE_DMA, a second default), the notes on CMA pools, the default
 * area and CmaTotal. The logic is the same in 6.1 and 6.12; the pageblock
 * follows the page size, and some messages the series.
 */
#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"
#include "vmm/util/strbuf.h"

/* ---- cma= on the command line: early_cma() ------------------------------------ */

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

void read_cma_param(struct dtb_report *rep, const char *cmdline, bool cut)
{
	cma_param_from_cmdline(cmdline, &rep->cma);
	warn_cmdline(rep, cut);
}

/* ---- the DT pools: rmem_cma_setup() --------------------------------------------- */

static bool crosses_zone(const struct dtb_report *rep, uint64_t base, uint64_t size)
{
	uint64_t z = rep->dma_zone_end;

	return base < z && span_end(base, size) > z;
}

/* rmem_cma_setup() of kernel/dma/contiguous.c, the same in 6.1 and 6.12 */
enum cma_fail rmem_cma_setup(const struct ctx *c, size_t i)
{
	const struct dtb_entry *e = &c->rep->entries[i];
	uint64_t check = e->has_reg ? e->base | e->size : e->size;

	if (c->rep->cma.present && (e->flags & DTB_F_CMA_DEFAULT))
		return CMA_BYPASSED;
	if (!(e->flags & DTB_F_REUSABLE) || (e->flags & DTB_F_NO_MAP))
		return CMA_NOT_REUSABLE;
	/* a placed node gets a CMA-aligned base (__reserved_mem_alloc_size); its size does not */
	if (!is_aligned(check, c->pageblock))
		return CMA_MISALIGNED;
	if (c->rep->nr_cma_areas == guest_cma_areas(&c->rep->guest))
		return CMA_NO_SLOT;
	return CMA_MADE;
}

static void reject_bypassed(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	char buf[32];

	judge(c, i, DTB_REJECTED, DTB_RULE_BYPASSED,
	      "linux,cma-default, but cma=%s is on the command line: the kernel prints "
	      "\"Reserved memory: bypass %s node, using cmdline CMA params instead\" "
	      "(rmem_cma_setup), then rmem_dma_setup() refuses it for reusable; drop cma= from "
	      "the command line, or drop this pool",
	      c->rep->cma.value, fdt_get_name(c->fdt, c->kids[i].node, NULL));
	if (c->kids[i].extra_bytes)
		note(e,
		     "lost: %s of its further reg entries stay reserved and unused; its first "
		     "range goes back to the page allocator",
		     size_str(c->kids[i].extra_bytes, buf));
	else
		note(e, "lost: nothing, fdt_init_reserved_mem() gives its memory back as ordinary "
			"RAM (memblock_phys_free), but the pool it describes does not exist");
}

/* What to align to: the pageblock, or what kernels before 5.18 want too. */
static const char *align_advice(const struct ctx *c, char *buf, size_t size)
{
	uint64_t old = guest_cma_old_align(c->rep->guest.page_size);
	char a[32];

	if (old > c->pageblock)
		snprintf(buf, size, "align base and size to %s to suit kernels before 5.18 too",
			 size_str(old, a));
	else
		snprintf(buf, size, "align base and size to %s", size_str(c->pageblock, a));
	return buf;
}

static void reject_misaligned(struct ctx *c, size_t i)
{
	const struct dtb_entry *e = &c->rep->entries[i];
	bool base_bad = e->has_reg && !is_aligned(e->base, c->pageblock);
	bool size_bad = !is_aligned(e->size, c->pageblock);
	char what[96], buf[32], block[80], advice[80];

	what[0] = '\0';
	if (base_bad)
		str_appendf(what, sizeof(what), "base 0x%" PRIx64, e->base);
	if (size_bad)
		str_appendf(what, sizeof(what), "%ssize %s", base_bad ? " and " : "",
			    size_str(e->size, buf));
	judge(c, i, DTB_REJECTED, DTB_RULE_CMA_ALIGN,
	      "%s %s not a multiple of %s (CMA_MIN_ALIGNMENT_BYTES): the kernel prints "
	      "\"Reserved memory: incorrect alignment of CMA region\" (rmem_cma_setup), then "
	      "\"OF: reserved mem: node %s compatible matching fail\"; %s",
	      what, base_bad && size_bad ? "are" : "is",
	      guest_pageblock_text(&c->rep->guest, block, sizeof(block)),
	      fdt_get_name(c->fdt, c->kids[i].node, NULL), align_advice(c, advice, sizeof(advice)));
}

void cma_reject(struct ctx *c, size_t i, enum cma_fail why)
{
	if (why == CMA_BYPASSED)
		reject_bypassed(c, i);
	else if (why == CMA_MISALIGNED)
		reject_misaligned(c, i);
	else
		judge(c, i, DTB_REJECTED, DTB_RULE_TOO_MANY_CMA,
		      "CMA area %u of at most %u (%s): cma_init_reserved_mem() prints \"cma: Not "
		      "enough slots for CMA reserved regions!\", rmem_cma_setup() \"Reserved "
		      "memory: unable to setup CMA region\", then \"OF: reserved mem: node %s "
		      "compatible matching fail\"; use fewer CMA pools",
		      guest_cma_areas(&c->rep->guest) + 1, guest_cma_areas(&c->rep->guest),
		      c->rules->cma_areas_rule, fdt_get_name(c->fdt, c->kids[i].node, NULL));
}

static void reject_second_default(struct ctx *c, size_t i, size_t first)
{
	const char *name = c->rep->entries[first].path;

	judge(c, i, DTB_REJECTED, DTB_RULE_SECOND_DEFAULT,
	      "a second linux,cma-default: %s already is the default, and rmem_cma_setup() "
	      "sets dma_contiguous_default_area again, so this pool takes its place and %s "
	      "is left a CMA area nothing allocates from; keep linux,cma-default on one pool",
	      name, name);
	note(&c->rep->entries[i], "still created and counted in CmaTotal");
	note(&c->rep->entries[first], "was the default until %s replaced it",
	     c->rep->entries[i].path);
}

void cma_make_area(struct ctx *c, size_t i)
{
	struct dtb_report *rep = c->rep;
	struct dtb_entry *e = &rep->entries[i];
	size_t previous = c->default_idx;

	rep->nr_cma_areas++;
	e->in_cma_total = true;
	judge(c, i, DTB_CMA_POOL, DTB_OK, "rmem_cma_setup() makes it a CMA area");
	if (e->flags & DTB_F_CMA_DEFAULT)
		c->default_idx = i;
	if (e->has_reg && crosses_zone(rep, e->base, e->size)) {
		e->in_cma_total = false;
		judge(c, i, DTB_REJECTED, DTB_RULE_ZONE_CROSSING,
		      "0x%" PRIx64 "..0x%" PRIx64 " crosses the end of ZONE_DMA at 0x%" PRIx64
		      ": cma_activate_area() prints \"cma: CMA area %s could not be activated\" "
		      "and hands the pages to the page allocator, so the pool stays empty and "
		      "CmaTotal leaves it out; keep it wholly below or wholly above 0x%" PRIx64,
		      e->base, span_end(e->base, e->size) - 1, rep->dma_zone_end,
		      fdt_get_name(c->fdt, c->kids[i].node, NULL), rep->dma_zone_end);
	} else if ((e->flags & DTB_F_CMA_DEFAULT) && previous != NO_OWNER) {
		reject_second_default(c, i, previous);
	}
}

void cma_make_misplaced_area(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];

	c->rep->nr_cma_areas++;
	if (e->flags & DTB_F_CMA_DEFAULT)
		c->default_idx = i;
	e->in_cma_total = e->rule == DTB_RULE_OVERLAP && !crosses_zone(c->rep, e->base, e->size);
}

void cma_note(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];
	uint64_t check = e->has_reg ? e->base | e->size : e->size;

	if (!is_aligned(check, guest_cma_old_align(c->rep->guest.page_size)))
		note(e, "2 MiB aligned but not 4 MiB: kernels before 5.18 reject it");
	if (c->default_idx == i)
		note(e, "the default CMA area: dma_alloc_coherent() of devices without a pool of "
			"their own allocates from it");
	else if (!(e->flags & DTB_F_CMA_DEFAULT))
		note(e, "only a device whose driver calls of_reserved_mem_device_init() on a "
			"memory-region pointing here uses it (virtio-mmio never does)");
}

void cma_sum_total(struct dtb_report *rep)
{
	for (size_t i = 0; i < rep->nr_entries; i++)
		if (rep->entries[i].in_cma_total)
			rep->cma_total += rep->entries[i].size;
}

/* ---- the default area: dma_contiguous_reserve() ---------------------------------- */

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
	str_appendf(a->text, sizeof(a->text), ": ");
	va_start(ap, fmt);
	str_vappendf(a->text, sizeof(a->text), fmt, ap);
	va_end(ap);
}

static bool area_slot_free(struct ctx *c)
{
	if (c->rep->nr_cma_areas < guest_cma_areas(&c->rep->guest))
		return true;
	area_fail(c,
		  "all %u CMA slots (%s) are taken by the DT pools, so "
		  "cma_declare_contiguous_nid() prints \"cma: Not enough slots for CMA reserved "
		  "regions!\"; use fewer CMA pools",
		  guest_cma_areas(&c->rep->guest), c->rules->cma_areas_rule);
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
		area_fail(
			c,
			"it overlaps %s, so memblock refuses it (-EBUSY, \"cma: Failed to reserve "
			"%" PRIu64 " MiB%s\"); choose a free base",
			other, (uint64_t)(a->size / SZ_1M), c->rules->cma_node_text);
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
	char buf[32], block[80];

	/* dma_contiguous_reserve(): min_not_zero(limit_cmdline, arm64_dma_phys_limit) */
	if (!limit || (c->rep->dma_zone_end && c->rep->dma_zone_end < limit))
		limit = c->rep->dma_zone_end;
	if (cma->fixed && !is_aligned(cma->base, c->pageblock)) {
		area_fail(c,
			  "\"cma: Region at 0x%016" PRIx64 " must be aligned to 0x%016" PRIx64
			  " bytes\" (cma_declare_contiguous_nid); use a base aligned to %s",
			  cma->base, c->pageblock,
			  guest_pageblock_text(&c->rep->guest, block, sizeof(block)));
		return false;
	}
	a->base = align_up(cma->base, c->pageblock);
	a->size = align_up(cma->size, c->pageblock);
	a->fixed = cma->fixed && a->base;
	limit = align_down(limit, c->pageblock);
	if (!limit || limit > c->rep->ram_end)
		limit = c->rep->ram_end;
	a->limit = limit;
	if (!a->size || a->base > limit || a->size > limit - a->base) {
		area_fail(c,
			  "\"cma: Size (0x%016" PRIx64 ") of region at 0x%016" PRIx64
			  " exceeds limit (0x%016" PRIx64
			  ")\" (cma_declare_contiguous_nid): the area "
			  "is %s, and on arm64 it must end by 0x%" PRIx64 ", the end of ZONE_DMA",
			  a->size, a->base, limit, size_str(a->size, buf), c->rep->dma_zone_end);
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
		str_appendf(a->text, sizeof(a->text),
			    " asks for 0 bytes: the guest makes no default CMA area at all "
			    "(dma_contiguous_reserve skips size 0), so devices get no CMA memory");
		return;
	}
	if (!area_slot_free(c) || !shape_cmdline_area(c))
		return;
	if (a->fixed) {
		str_appendf(a->text, sizeof(a->text),
			    ": the guest makes a %s default CMA area fixed at 0x%" PRIx64,
			    size_str(a->size, buf), a->base);
		check_fixed_area(c);
		return;
	}
	str_appendf(a->text, sizeof(a->text),
		    ": the guest makes a %s default CMA area where it chooses "
		    "in 0x%" PRIx64 "..0x%" PRIx64 " (cma_declare_contiguous_nid, top-down)",
		    size_str(a->size, buf),
		    a->base > c->rep->ram_start ? a->base : c->rep->ram_start, a->limit - 1);
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
	a->size = guest_cma_default_size(&c->rep->guest);
	a->limit = c->rep->dma_zone_end;
	snprintf(a->text, sizeof(a->text),
		 "no linux,cma-default pool and no cma=: the guest makes its own %s default area "
		 "(CONFIG_CMA_SIZE_MBYTES%s) where it chooses below 0x%" PRIx64,
		 size_str(a->size, buf),
		 a->size != GUEST_CMA_DEFAULT_SIZE ? ", rounded up to the pageblock" : "",
		 a->limit);
	if (area_slot_free(c))
		count_area(c);
}

/* dma_contiguous_default_area: from cma=, a linux,cma-default pool, or the config */
void dma_contiguous_reserve(struct ctx *c)
{
	if (c->rep->cma.present)
		cmdline_area(c);
	else if (c->default_idx != NO_OWNER)
		dt_default_area(c);
	else
		config_area(c);
}
