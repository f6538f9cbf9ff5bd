// SPDX-License-Identifier: GPL-2.0-only
/*
 * Layout planner. The boot blobs go low (the kernel where its Image header
 * says, then initrd and DTB on the next free 2 MiB boundaries); pools go
 * high, top-down, as the guest kernel itself would place a size-only pool.
 * Pools prefer ZONE_DMA, where the guest puts its own default CMA area, and
 * never straddle a zone boundary. Pools the operator pinned with @ADDR are
 * placed first and only checked. Every pool's base and size are whole
 * pageblocks of the guest (2 MiB with 4 KiB pages, 32 MiB with 16 KiB,
 * 512 MiB with 64 KiB), whatever --pool-align says.
 */
#include "fdt/layout.h"
#include "fdt/guest_rules.h"
#include "vmm/util/strbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_OCCUPIED (POOL_MAX + 3)

struct planner {
	const struct layout_request *req;
	struct layout *out;
	struct region occupied[MAX_OCCUPIED];
	const char *occupant[MAX_OCCUPIED];
	size_t nr_occupied;
	char *err;
	size_t errlen;
};

static int fail(struct planner *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct planner *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void occupy(struct planner *p, const struct region *r, const char *what)
{
	p->occupied[p->nr_occupied] = *r;
	p->occupant[p->nr_occupied] = what;
	p->nr_occupied++;
}

static const char *overlapping(const struct planner *p, const struct region *r, size_t *idx)
{
	for (size_t i = 0; i < p->nr_occupied; i++) {
		if (regions_overlap(&p->occupied[i], r)) {
			if (idx)
				*idx = i;
			return p->occupant[i];
		}
	}
	return NULL;
}

/* The alignment of every pool's base: --pool-align, at least a pageblock. */
static uint64_t pool_align(const struct planner *p)
{
	uint64_t block = guest_pageblock(&p->req->guest);

	return p->req->pool_align > block ? p->req->pool_align : block;
}

/* "32 MiB, the pageblock of a 16 KiB-page guest" */
static const char *block_text(const struct planner *p, char *buf, size_t size)
{
	return guest_pageblock_text(&p->req->guest, buf, size);
}

static int check_request(struct planner *p)
{
	const struct layout_request *req = p->req;
	char a[32], b[32];

	if (!is_aligned(req->ram_base, GUEST_IMAGE_ALIGN) ||
	    !is_aligned(req->ram_size, GUEST_CMA_MIN_ALIGN))
		return fail(p, "guest RAM size %s is not a multiple of 2 MiB; round --memory",
			    size_str(req->ram_size, a));
	if (!is_power_of_2(req->pool_align) || req->pool_align < GUEST_CMA_MIN_ALIGN)
		return fail(p,
			    "pool alignment %s is not a power of two of at least %s; the guest "
			    "rejects CMA pools aligned to less",
			    size_str(req->pool_align, a), size_str(GUEST_CMA_MIN_ALIGN, b));
	if (!guest_pageblock(&req->guest))
		return fail(p,
			    "guest page size %s is not one arm64 has; use " GUEST_PAGE_SIZE_CHOICES,
			    size_str(req->guest.page_size, a));
	if (req->text_offset + req->image_size > req->ram_size)
		return fail(p, "the kernel Image needs %s but guest RAM is %s; raise --memory",
			    size_str(req->text_offset + req->image_size, a),
			    size_str(req->ram_size, b));
	return 0;
}

/*
 * Base and size in whole pageblocks; the base also at --pool-align. The
 * guest takes a no-map pool of any whole pages, but the host CMA engine
 * keeps every pool in pageblocks, so cmavm asks that of them too, and says
 * whose rule it is.
 */
static int check_pool_alignment(struct planner *p, const struct pool_spec *s)
{
	uint64_t block = guest_pageblock(&p->req->guest), align = pool_align(p);
	const char *whose = s->kind == POOL_COHERENT ? " (cmavm's rule for no-map pools: its "
						       "engine works in whole pageblocks)"
						     : "";
	char a[32], b[32], c[32], text[80];

	if (!is_aligned(s->size, block)) {
		uint64_t lo = align_down(s->size, block), hi = align_up(s->size, block);

		if (!lo)
			return fail(p, "%s: size %s is smaller than %s%s; use %s", s->flag,
				    size_str(s->size, a), block_text(p, text, sizeof(text)), whose,
				    size_str(hi, c));
		return fail(p, "%s: size %s is not a multiple of %s%s; use %s or %s", s->flag,
			    size_str(s->size, a), block_text(p, text, sizeof(text)), whose,
			    size_str(lo, b), size_str(hi, c));
	}
	if (!s->fixed_base || is_aligned(s->fixed_base, align))
		return 0;
	if (align == block && block > p->req->pool_align)
		return fail(p,
			    "%s: address 0x%" PRIx64 " is not aligned to %s; use 0x%" PRIx64
			    " or 0x%" PRIx64,
			    s->flag, s->fixed_base, block_text(p, text, sizeof(text)),
			    align_down(s->fixed_base, align), align_up(s->fixed_base, align));
	return fail(p,
		    "%s: address 0x%" PRIx64 " is not aligned to %s; use 0x%" PRIx64
		    " or 0x%" PRIx64 ", or lower --pool-align (down to %s, %s)",
		    s->flag, s->fixed_base, size_str(align, a), align_down(s->fixed_base, align),
		    align_up(s->fixed_base, align), size_str(block, b),
		    block == GUEST_CMA_MIN_ALIGN ? "which suits guests from Linux 5.18"
						 : "the guest's pageblock");
}

static int check_pool_spec(struct planner *p, size_t i)
{
	const struct pool_spec *s = &p->req->pools[i];
	char a[32], b[32];

	for (size_t j = 0; j < i; j++) {
		const struct pool_spec *o = &p->req->pools[j];

		if (!strcmp(o->name, s->name))
			return fail(p,
				    "%s: a pool named '%s' already exists (%s); give each pool "
				    "its own name",
				    s->flag, s->name, o->flag);
		if (o->is_default && s->is_default)
			return fail(p,
				    "%s: there is already a default pool (%s); the guest has "
				    "one default CMA area",
				    s->flag, o->flag);
	}
	if (s->size > p->req->ram_size)
		return fail(p,
			    "%s: size %s is larger than guest RAM (%s); lower it or raise --memory",
			    s->flag, size_str(s->size, a), size_str(p->req->ram_size, b));
	return check_pool_alignment(p, s);
}

static int check_totals(struct planner *p)
{
	const struct layout_request *req = p->req;
	uint64_t used = req->text_offset + req->image_size + align_up(req->initrd_size, SZ_2M) +
			GUEST_DTB_MAX;
	char a[32], b[32], c[32];

	for (size_t i = 0; i < req->nr_pools; i++)
		used += req->pools[i].size;
	if (used > req->ram_size || req->ram_size - used < LAYOUT_MIN_FREE_RAM)
		return fail(p,
			    "pools, kernel, initrd and DTB need %s of the %s of guest RAM, "
			    "leaving less than the %s the guest kernel needs to boot; lower "
			    "--cma or --dma-pool sizes, or raise --memory",
			    size_str(used, a), size_str(req->ram_size, b),
			    size_str(LAYOUT_MIN_FREE_RAM, c));
	return 0;
}

static int place_fixed_pool(struct planner *p, struct placed_pool *pp)
{
	const struct pool_spec *s = pp->spec;
	struct region r = { s->fixed_base, s->size };
	const struct region *ram = &p->out->ram;
	uint64_t zone = p->out->dma_zone_end;
	const char *other;

	if (r.base < ram->base || r.base > region_end(ram) || r.size > region_end(ram) - r.base)
		return fail(p,
			    "%s: [0x%" PRIx64 ", 0x%" PRIx64 ") is outside guest RAM [0x%" PRIx64
			    ", 0x%" PRIx64 "); choose an address inside it or raise --memory",
			    s->flag, r.base, r.base + r.size, ram->base, region_end(ram));
	if (r.base < zone && region_end(&r) > zone)
		return fail(p,
			    "%s: [0x%" PRIx64 ", 0x%" PRIx64 ") crosses the guest's zone "
			    "boundary at 0x%" PRIx64 " (4 GiB); the guest cannot activate a CMA "
			    "area across zones: keep it on one side",
			    s->flag, r.base, region_end(&r), zone);
	other = overlapping(p, &r, NULL);
	if (other)
		return fail(p,
			    "%s: [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps %s; choose another "
			    "address or omit @ADDR to let cmavm place it",
			    s->flag, r.base, region_end(&r), other);
	pp->r = r;
	snprintf(pp->why, sizeof(pp->why), "at the address %s asked for", s->flag);
	occupy(p, &r, s->flag);
	return 0;
}

/* Lowest free @align-aligned range of @size at or above @from. */
static int place_low(struct planner *p, uint64_t from, uint64_t size, uint64_t align,
		     struct region *r)
{
	size_t idx;

	r->base = align_up(from, align);
	r->size = size;
	while (region_end(r) <= region_end(&p->out->ram)) {
		if (!overlapping(p, r, &idx))
			return 0;
		r->base = align_up(region_end(&p->occupied[idx]), align);
	}
	return -1;
}

/* Highest free @align-aligned range of @size inside [lo, hi). */
static int place_high(struct planner *p, uint64_t lo, uint64_t hi, uint64_t size, uint64_t align,
		      struct region *r)
{
	size_t idx;
	uint64_t top = hi;

	while (top >= lo && top - lo >= size) {
		r->base = align_down(top - size, align);
		r->size = size;
		if (r->base < lo)
			return -1;
		if (!overlapping(p, r, &idx))
			return 0;
		top = p->occupied[idx].base;
	}
	return -1;
}

static uint64_t largest_free(struct planner *p, uint64_t lo, uint64_t hi, uint64_t align)
{
	struct region r;
	uint64_t best = 0;

	for (uint64_t size = align; size <= hi - lo; size += align)
		if (!place_high(p, lo, hi, size, align, &r))
			best = size;
	return best;
}

/* Say so when the guest's pageblock, not --pool-align, set the alignment. */
static void why_pageblock(const struct planner *p, struct placed_pool *pp)
{
	char text[80];

	if (guest_pageblock(&p->req->guest) > p->req->pool_align)
		str_appendf(pp->why, sizeof(pp->why), "; %s", block_text(p, text, sizeof(text)));
}

static int place_floating_pool(struct planner *p, struct placed_pool *pp)
{
	const struct pool_spec *s = pp->spec;
	const struct region *ram = &p->out->ram;
	uint64_t zone = p->out->dma_zone_end, align = pool_align(p);
	bool one_zone = zone >= region_end(ram);
	char a[32], b[32], c[32];

	if (!place_high(p, ram->base, zone, s->size, align, &pp->r)) {
		snprintf(pp->why, sizeof(pp->why),
			 one_zone ? "highest free %s-aligned range of RAM (all in ZONE_DMA, as the "
				    "guest's own default area would be)"
				  : "highest free %s-aligned range below 4 GiB (ZONE_DMA, as the "
				    "guest's own default area would be)",
			 size_str(align, a));
	} else if (!one_zone && !place_high(p, zone, region_end(ram), s->size, align, &pp->r)) {
		snprintf(pp->why, sizeof(pp->why),
			 "highest free %s-aligned range above 4 GiB (ZONE_NORMAL): no room below",
			 size_str(align, a));
	} else {
		uint64_t best = largest_free(p, ram->base, zone, align);

		if (!one_zone) {
			uint64_t above = largest_free(p, zone, region_end(ram), align);

			best = above > best ? above : best;
		}
		return fail(p,
			    "%s: %s does not fit; the largest free %s-aligned range left in "
			    "one zone is %s: lower its size or raise --memory",
			    s->flag, size_str(s->size, a), size_str(align, b), size_str(best, c));
	}
	why_pageblock(p, pp);
	occupy(p, &pp->r, s->flag);
	return 0;
}

static int place_boot_blobs(struct planner *p)
{
	const struct layout_request *req = p->req;
	struct layout *out = p->out;
	uint64_t next;
	const char *other;
	char a[32];

	out->kernel.base = req->ram_base + req->text_offset;
	out->kernel.size = req->image_size;
	other = overlapping(p, &out->kernel, NULL);
	if (other)
		return fail(p,
			    "%s overlaps the kernel Image at [0x%" PRIx64 ", 0x%" PRIx64
			    "); choose another address",
			    other, out->kernel.base, region_end(&out->kernel));
	occupy(p, &out->kernel, "the kernel Image");
	next = region_end(&out->kernel);

	if (req->initrd_size) {
		if (place_low(p, next, req->initrd_size, SZ_2M, &out->initrd))
			return fail(p,
				    "no room for the %s initrd between the pools; raise --memory",
				    size_str(req->initrd_size, a));
		occupy(p, &out->initrd, "the initrd");
		next = region_end(&out->initrd);
	}
	/* booting.rst: the DTB must not share a 2 MiB block with other uses. */
	if (place_low(p, next, GUEST_DTB_MAX, GUEST_DTB_MAX, &out->dtb))
		return fail(p, "no room for the device tree; raise --memory");
	occupy(p, &out->dtb, "the device tree");
	return 0;
}

/* Largest first, so that small pools fill the gaps large ones leave. */
static void floating_order(const struct layout_request *req, size_t *order, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < req->nr_pools; i++)
		if (!req->pools[i].fixed_base)
			order[(*n)++] = i;
	for (size_t i = 1; i < *n; i++) {
		size_t v = order[i], j = i;

		while (j && req->pools[order[j - 1]].size < req->pools[v].size) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

int layout_plan(const struct layout_request *req, struct layout *out, char *err, size_t errlen)
{
	struct planner p = { .req = req, .out = out, .err = err, .errlen = errlen };
	size_t order[POOL_MAX], n;

	memset(out, 0, sizeof(*out));
	if (req->nr_pools > POOL_MAX)
		return fail(&p, "%zu pools asked for; cmavm supports up to %d", req->nr_pools,
			    POOL_MAX);
	if (check_request(&p))
		return -1;
	out->ram = (struct region){ req->ram_base, req->ram_size };
	out->dma_zone_end = guest_dma_zone_end(req->ram_base, region_end(&out->ram));
	out->nr_pools = req->nr_pools;
	for (size_t i = 0; i < req->nr_pools; i++) {
		out->pools[i].spec = &req->pools[i];
		if (check_pool_spec(&p, i))
			return -1;
	}
	if (check_totals(&p))
		return -1;
	for (size_t i = 0; i < req->nr_pools; i++)
		if (req->pools[i].fixed_base && place_fixed_pool(&p, &out->pools[i]))
			return -1;
	if (place_boot_blobs(&p))
		return -1;
	floating_order(req, order, &n);
	for (size_t i = 0; i < n; i++)
		if (place_floating_pool(&p, &out->pools[order[i]]))
			return -1;
	return 0;
}
