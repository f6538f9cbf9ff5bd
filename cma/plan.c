// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pool sizing (cma/plan.h). An allocation is counted as CMA places it:
 * whole guest pages, started at its own order of pages capped at
 * CONFIG_CMA_ALIGNMENT (a coherent pool does not cap it), or at the
 * alignment the device asks; the next allocation starts at its own
 * alignment, so the gap before it is taken too. A pool must hold the
 * largest sum of its allocations over the groups of devices that run at
 * once, and one more largest allocation and a percentage of that sum for
 * fragmentation: pinned pages that cannot be migrated out and the holes
 * frees leave mean a free total does not make a free run (a 16 MiB
 * allocation fails with 30 MiB of 256 MiB in use). docs/sizing.md argues
 * the rule at length.
 */
#include "cma/plan.h"
#include "cma/size.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* No guest has more RAM than this: every product below it fits in 64 bits. */
#define PLAN_SIZE_LIMIT (1ULL << 48)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool too_big(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out) || *out > PLAN_SIZE_LIMIT;
}

/* The smallest power of two of at least @v (v <= 2^63). */
static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* ---- one device's allocations ---- */

/* One buffer's bytes: given, a frame, or a share of a stream's total. */
static int buffer_bytes(const struct plan_device *d, uint64_t *out, char *err, size_t errlen)
{
	uint64_t pixels, bits;

	if (d->buffer_size) {
		*out = d->buffer_size;
		return 0;
	}
	if (d->width || d->height) {
		if (!d->width || !d->height || !d->bits_per_pixel)
			return fail(err, errlen,
				    "device '%s': a frame needs width, height and bytes_per_pixel "
				    "(or format)",
				    d->name);
		if (too_big(d->width, d->height, &pixels) ||
		    too_big(pixels, d->bits_per_pixel, &bits))
			return fail(err, errlen,
				    "device '%s': a %llux%llu frame is larger than any "
				    "guest's RAM",
				    d->name, (unsigned long long)d->width,
				    (unsigned long long)d->height);
		*out = (bits + 7) / 8;
		return 0;
	}
	if (d->stream_size) {
		*out = (d->stream_size + d->buffers - 1) / d->buffers;
		return 0;
	}
	return fail(err, errlen,
		    "device '%s': say how large a buffer is: buffer_size (size for custom), or "
		    "width, height and bytes_per_pixel (or format), or stream_size",
		    d->name);
}

/*
 * Where CMA starts an allocation of @pages bytes: its order of pages,
 * capped at CONFIG_CMA_ALIGNMENT in a CMA pool (dma_alloc_contiguous());
 * a coherent pool starts it at its order (dma_alloc_from_dev_coherent()).
 */
static uint64_t natural_align(const struct plan_profile *p, uint64_t pages, bool no_map)
{
	uint64_t align = pow2_up(pages);
	uint64_t cap = p->page_size << p->rules.cma_align_order;

	return no_map || align < cap ? align : cap;
}

static int check_align(const struct plan_device *d, char *err, size_t errlen)
{
	char a[32], b[32];

	if (d->align && !is_power_of_2(d->align))
		return fail(err, errlen,
			    "device '%s': alignment %s is not a power of two; CMA aligns to powers "
			    "of two only (use %s)",
			    d->name, size_str(d->align, a), size_str(pow2_up(d->align), b));
	if (d->align > PLAN_HUGE_1G)
		return fail(err, errlen,
			    "device '%s': alignment %s is more than 1 GiB, more than any pool "
			    "cmavm places can give; lower it",
			    d->name, size_str(d->align, a));
	return 0;
}

static int alloc_of(const struct plan_profile *p, size_t i, bool no_map, struct plan_alloc *a,
		    char *err, size_t errlen)
{
	const struct plan_device *d = &p->devices[i];

	if (buffer_bytes(d, &a->asked, err, errlen) || check_align(d, err, errlen))
		return -1;
	if (a->asked > PLAN_SIZE_LIMIT)
		return fail(err, errlen, "device '%s': one buffer is larger than any guest's RAM",
			    d->name);
	a->pages = align_up(a->asked, p->page_size);
	a->align = natural_align(p, a->pages, no_map);
	if (d->align > a->align)
		a->align = d->align;
	a->placed = align_up(a->pages, a->align);
	if (too_big(d->buffers, d->streams, &a->count) || too_big(a->count, a->placed, &a->total))
		return fail(err, errlen, "device '%s': %llu buffers are more than any guest's RAM",
			    d->name, (unsigned long long)d->buffers);
	return 0;
}

/* ---- the pools ---- */

static const struct plan_pool_req *pool_req(const struct plan_profile *p, const char *name)
{
	for (size_t i = 0; i < p->nr_pools; i++)
		if (!strcmp(p->pools[i].name, name))
			return &p->pools[i];
	return NULL;
}

static bool is_default_name(const char *name)
{
	return !*name || !strcmp(name, POOL_DEFAULT_NAME);
}

/* The index of pool @name in @r, added if new; -1 when there are too many. */
static int pool_index(const struct plan_profile *p, struct plan_result *r, const char *name)
{
	const struct plan_pool_req *req;
	struct plan_pool *pool;

	if (is_default_name(name))
		name = POOL_DEFAULT_NAME;
	for (size_t i = 0; i < r->nr_pools; i++)
		if (!strcmp(r->pools[i].name, name))
			return (int)i;
	if (r->nr_pools == PLAN_POOLS_MAX)
		return -1;
	pool = &r->pools[r->nr_pools];
	memset(pool, 0, sizeof(*pool));
	snprintf(pool->name, sizeof(pool->name), "%s", name);
	pool->is_default = !strcmp(name, POOL_DEFAULT_NAME);
	req = pool_req(p, name);
	pool->no_map = req && req->no_map && !pool->is_default;
	pool->peak_group = -1;
	pool->largest_device = -1;
	pool->span_owner = -1;
	return (int)r->nr_pools++;
}

/*
 * The pools in the order cmavm run gets them: the default pool first
 * (when a device, the profile's largest_allocation or a fixed size needs
 * it), then the named ones as devices and the profile name them.
 */
static int collect_pools(const struct plan_profile *p, struct plan_result *r, char *err,
			 size_t errlen)
{
	bool want_default = p->largest_given || pool_req(p, POOL_DEFAULT_NAME);

	for (size_t i = 0; i < p->nr_devices; i++)
		want_default |= is_default_name(p->devices[i].pool);
	if (want_default)
		pool_index(p, r, POOL_DEFAULT_NAME);
	for (size_t i = 0; i < p->nr_devices; i++) {
		int idx = pool_index(p, r, p->devices[i].pool);

		if (idx < 0)
			return fail(err, errlen,
				    "more than %d pools; cmavm gives a guest at most %d",
				    PLAN_POOLS_MAX, PLAN_POOLS_MAX);
		r->allocs[i].pool = (unsigned int)idx;
	}
	for (size_t i = 0; i < p->nr_pools; i++)
		if (p->pools[i].size && pool_index(p, r, p->pools[i].name) < 0)
			return fail(err, errlen,
				    "more than %d pools; cmavm gives a guest at most %d",
				    PLAN_POOLS_MAX, PLAN_POOLS_MAX);
	return 0;
}

static uint64_t group_sum(const struct plan_profile *p, const struct plan_result *r,
			  unsigned int pool, uint32_t members)
{
	uint64_t sum = 0;

	for (size_t d = 0; d < p->nr_devices; d++)
		if ((members >> d) & 1 && r->allocs[d].pool == pool)
			sum += r->allocs[d].total;
	return sum;
}

static void pool_peak(const struct plan_profile *p, struct plan_result *r, unsigned int pool)
{
	struct plan_pool *pp = &r->pools[pool];

	if (!p->nr_groups) {
		pp->peak = group_sum(p, r, pool, UINT32_MAX);
		return;
	}
	for (size_t g = 0; g < p->nr_groups; g++) {
		uint64_t sum = group_sum(p, r, pool, p->groups[g]);

		if (sum > pp->peak) {
			pp->peak = sum;
			pp->peak_group = (int)g;
		}
	}
}

static void pool_largest(const struct plan_profile *p, struct plan_result *r, unsigned int pool)
{
	struct plan_pool *pp = &r->pools[pool];

	for (size_t d = 0; d < p->nr_devices; d++) {
		if (r->allocs[d].pool == pool && r->allocs[d].placed > pp->largest) {
			pp->largest = r->allocs[d].placed;
			pp->largest_device = (int)d;
		}
	}
}

/* The profile's largest_allocation, placed as CMA places it, for the default pool. */
static int given_largest(const struct plan_profile *p, struct plan_pool *pp, char *err,
			 size_t errlen)
{
	uint64_t pages = align_up(p->largest_given, p->page_size);
	uint64_t placed = align_up(pages, natural_align(p, pages, false));
	char a[32], b[32];

	if (p->largest_given > PLAN_SIZE_LIMIT)
		return fail(err, errlen, "largest_allocation is larger than any guest's RAM");
	if (placed < pp->largest)
		return fail(
			err, errlen,
			"largest_allocation %s is smaller than device '%s''s buffers (%s as CMA "
			"places them); raise it to at least %s, or drop it to have it computed",
			size_str(p->largest_given, a), p->devices[pp->largest_device].name,
			size_str(pp->largest, b), size_str(pp->largest, b));
	pp->largest = placed;
	pp->largest_device = -1;
	return 0;
}

static int fixed_size(const struct plan_result *r, struct plan_pool *pp, uint64_t size,
		      const char *who, char *err, size_t errlen)
{
	char a[32], b[32], c[32];

	if (!is_aligned(size, r->granule))
		return fail(err, errlen,
			    "pools.%s.size %s is not a multiple of the guest's pageblock %s; use "
			    "%s",
			    pp->name, size_str(size, a), size_str(r->granule, b),
			    size_str(align_up(size, r->granule), c));
	if (size < pp->largest)
		return fail(err, errlen,
			    "%s allocates %s at once (as CMA places it), more than pool '%s''s "
			    "fixed size %s: raise pools.%s.size to at least %s, or drop it to have "
			    "the plan size the pool",
			    who, size_str(pp->largest, a), pp->name, size_str(size, b), pp->name,
			    size_str(align_up(pp->largest, r->granule), c));
	pp->size = size;
	return 0;
}

static int size_pool(const struct plan_profile *p, struct plan_result *r, unsigned int pool,
		     char *err, size_t errlen)
{
	struct plan_pool *pp = &r->pools[pool];
	const struct plan_pool_req *req = pool_req(p, pp->name);
	char who[PLAN_NAME_MAX + 16];

	pool_peak(p, r, pool);
	pool_largest(p, r, pool);
	if (pp->is_default && p->largest_given && given_largest(p, pp, err, errlen))
		return -1;
	pp->headroom =
		pp->largest + align_up((pp->peak * r->headroom_pct + 99) / 100, p->page_size);
	pp->need = align_up(pp->peak + pp->headroom, r->granule);
	pp->size = pp->need;
	if (pp->largest_device >= 0)
		snprintf(who, sizeof(who), "device '%s'", p->devices[pp->largest_device].name);
	else
		snprintf(who, sizeof(who), "largest_allocation");
	if (req && req->size)
		return fixed_size(r, pp, req->size, who, err, errlen);
	return 0;
}

static int check_groups(const struct plan_profile *p, char *err, size_t errlen)
{
	uint32_t seen = 0;

	if (!p->nr_groups)
		return 0;
	for (size_t g = 0; g < p->nr_groups; g++)
		seen |= p->groups[g];
	for (size_t d = 0; d < p->nr_devices; d++)
		if (!((seen >> d) & 1))
			return fail(err, errlen,
				    "device '%s' is in no group; add it to the group it runs with "
				    "(or drop the groups to count every device at once)",
				    p->devices[d].name);
	return 0;
}

static int check_ram(const struct plan_profile *p, const struct plan_result *r, char *err,
		     size_t errlen)
{
	uint64_t need = r->pools_total + PLAN_GUEST_BOOT + PLAN_GUEST_MIN_FREE;
	char a[32], b[32], c[32], d[32], e[32];

	if (need <= p->ram)
		return 0;
	return fail(err, errlen,
		    "the pools take %s and the guest needs %s besides (its kernel, initrd and "
		    "DTB, and %s to run in), more than its ram (%s): raise ram to at least %s, "
		    "or run fewer buffers at once",
		    size_str(r->pools_total, a), size_str(PLAN_GUEST_BOOT + PLAN_GUEST_MIN_FREE, b),
		    size_str(PLAN_GUEST_MIN_FREE, d), size_str(p->ram, c),
		    size_str(align_up(need, r->granule), e));
}

static void best_levels(struct plan_result *r);

int plan_size(const struct plan_profile *p, struct plan_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->node = -1;
	r->pageblock = p->rules.pageblock;
	r->granule = p->rules.granule;
	if (!is_power_of_2(p->page_size) || !is_power_of_2(r->pageblock) ||
	    !is_power_of_2(r->granule) || r->granule < r->pageblock ||
	    p->rules.cma_align_order > 20)
		return fail(err, errlen, "page_size must be 4K, 16K or 64K (arm64's page sizes)");
	r->pool_align = r->granule > SZ_4M ? r->granule : SZ_4M;
	r->headroom_pct = p->headroom_pct;
	if (check_groups(p, err, errlen) || collect_pools(p, r, err, errlen))
		return -1;
	for (size_t i = 0; i < p->nr_devices; i++)
		if (alloc_of(p, i, r->pools[r->allocs[i].pool].no_map, &r->allocs[i], err, errlen))
			return -1;
	for (unsigned int i = 0; i < r->nr_pools; i++) {
		if (size_pool(p, r, i, err, errlen))
			return -1;
		r->pools_total += r->pools[i].size;
		if (!r->pools[i].no_map)
			r->cma_total += r->pools[i].size;
	}
	/* CMA aligns an allocation in physical addresses: the pool's base must be as aligned. */
	for (size_t i = 0; i < p->nr_devices; i++)
		if (p->devices[i].align > r->pool_align)
			r->pool_align = p->devices[i].align;
	r->host_memory = p->ram + p->vmm_overhead;
	best_levels(r);
	return check_ram(p, r, err, errlen);
}

/* ---- levels ---- */

/* Pool indices, largest first. */
static void by_size(const struct plan_result *r, unsigned int *order)
{
	for (unsigned int i = 0; i < r->nr_pools; i++) {
		unsigned int j = i;

		for (; j > 0 && r->pools[order[j - 1]].size < r->pools[i].size; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

static uint64_t pages_2m(const struct plan_pool *pp)
{
	return align_up(pp->size, PLAN_HUGE_2M) / PLAN_HUGE_2M;
}

int plan_levels_on(const struct plan_result *r, struct plan_pages avail, enum cma_level floor,
		   enum cma_level *levels, struct plan_pages *use)
{
	unsigned int order[PLAN_POOLS_MAX];

	*use = (struct plan_pages){ 0 };
	by_size(r, order);
	for (unsigned int k = 0; k < r->nr_pools; k++) {
		const struct plan_pool *pp = &r->pools[order[k]];
		enum cma_level *l = &levels[order[k]];

		if (pp->span_owner >= 0 && levels[pp->span_owner] == CMA_CONTIGUOUS) {
			*l = CMA_CONTIGUOUS;
		} else if (pp->contiguous_ok && avail.pages_1g > use->pages_1g) {
			*l = CMA_CONTIGUOUS;
			use->pages_1g++;
		} else if (avail.pages_2m >= use->pages_2m + pages_2m(pp)) {
			*l = CMA_HUGE;
			use->pages_2m += pages_2m(pp);
		} else {
			*l = CMA_RESIDENT;
		}
		if (*l < floor)
			return -1;
	}
	return 0;
}

static void set_levels(struct plan_result *r, const enum cma_level *levels)
{
	for (unsigned int i = 0; i < r->nr_pools; i++) {
		struct plan_pool *pp = &r->pools[i];

		pp->level = levels[i];
		pp->covered = pp->span_owner >= 0 && levels[pp->span_owner] == CMA_CONTIGUOUS;
	}
}

/* As if the host had every huge page asked for: the levels cmavm can reach. */
static void best_levels(struct plan_result *r)
{
	enum cma_level levels[PLAN_POOLS_MAX];
	struct plan_pages all = { UINT64_MAX / 2, UINT64_MAX / 2 };

	plan_levels_on(r, all, CMA_RESIDENT, levels, &r->best);
	set_levels(r, levels);
	r->used = r->best;
}

static bool same_span(const struct plan_pool *a, const struct plan_pool *b)
{
	return align_down(a->base, PLAN_HUGE_1G) == align_down(b->base, PLAN_HUGE_1G) ||
	       align_down(a->base + a->size - 1, PLAN_HUGE_1G) ==
		       align_down(b->base + b->size - 1, PLAN_HUGE_1G);
}

void plan_place(struct plan_result *r, const uint64_t *bases)
{
	unsigned int order[PLAN_POOLS_MAX];

	for (unsigned int i = 0; i < r->nr_pools; i++) {
		struct plan_pool *pp = &r->pools[i];

		pp->base = bases[i];
		pp->span_owner = -1;
		pp->contiguous_ok = align_down(pp->base, PLAN_HUGE_1G) ==
				    align_down(pp->base + pp->size - 1, PLAN_HUGE_1G);
	}
	by_size(r, order);
	for (unsigned int k = 0; k < r->nr_pools; k++) {
		struct plan_pool *pp = &r->pools[order[k]];

		for (unsigned int j = 0; j < k && pp->contiguous_ok; j++) {
			if (r->pools[order[j]].contiguous_ok &&
			    same_span(&r->pools[order[j]], pp)) {
				pp->contiguous_ok = false;
				pp->span_owner = (int)order[j];
			}
		}
	}
	best_levels(r);
}

/* Bytes weighted by level: what a node's huge pages are worth to @r. */
static uint64_t score(const struct plan_result *r, const enum cma_level *levels)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < r->nr_pools; i++)
		s += r->pools[i].size << levels[i];
	return s;
}

/* The node of @nodes that gives @r the most; -1 when none reaches @floor. */
static int best_node(const struct plan_result *r, const struct plan_pages *nodes,
		     unsigned int nr_nodes, enum cma_level floor, enum cma_level *levels,
		     struct plan_pages *use)
{
	enum cma_level try[PLAN_POOLS_MAX];
	struct plan_pages try_use;
	uint64_t best = 0;
	int node = -1;

	for (unsigned int n = 0; n < nr_nodes; n++) {
		if (plan_levels_on(r, nodes[n], floor, try, &try_use))
			continue;
		if (node < 0 || score(r, try) > best) {
			node = (int)n;
			best = score(r, try);
			memcpy(levels, try, sizeof(try));
			*use = try_use;
		}
	}
	return node;
}

void plan_fit_host(struct plan_result *r, const struct plan_host *h)
{
	static const struct plan_pages none[1];
	enum cma_level levels[PLAN_POOLS_MAX];

	if (!h) {
		best_levels(r);
		return;
	}
	r->node = best_node(r, h->nr_nodes ? h->nodes : none, h->nr_nodes ? h->nr_nodes : 1,
			    CMA_RESIDENT, levels, &r->used);
	set_levels(r, levels);
}

/* ---- a fleet ---- */

uint64_t plan_host_memory(const struct plan_host *h)
{
	uint64_t huge = 0, kept = h->reserved;

	for (unsigned int n = 0; n < h->nr_nodes; n++)
		huge += h->nodes[n].pages_2m * PLAN_HUGE_2M + h->nodes[n].pages_1g * PLAN_HUGE_1G;
	kept += huge;
	return kept < h->ram ? h->ram - kept : 0;
}

struct fleet_state {
	uint64_t memory;
	unsigned int nr_nodes;
	struct plan_pages nodes[PLAN_NODES_MAX];
};

static void fleet_state_init(const struct plan_host *h, struct fleet_state *s)
{
	s->memory = plan_host_memory(h);
	s->nr_nodes = h->nr_nodes ? h->nr_nodes : 1;
	memset(s->nodes, 0, sizeof(s->nodes));
	memcpy(s->nodes, h->nodes, h->nr_nodes * sizeof(h->nodes[0]));
}

/* One VM of @c onto @s: its lowest level, or -1 when it does not fit. */
static int fleet_take(const struct plan_class *c, struct fleet_state *s)
{
	enum cma_level levels[PLAN_POOLS_MAX], low = CMA_CONTIGUOUS;
	struct plan_pages use;
	int node;

	if (s->memory < c->r->host_memory)
		return -1;
	node = best_node(c->r, s->nodes, s->nr_nodes, c->floor, levels, &use);
	if (node < 0)
		return -1;
	s->memory -= c->r->host_memory;
	s->nodes[node].pages_2m -= use.pages_2m;
	s->nodes[node].pages_1g -= use.pages_1g;
	for (unsigned int i = 0; i < c->r->nr_pools; i++)
		if (levels[i] < low)
			low = levels[i];
	return (int)low;
}

static uint64_t class_weight(const struct plan_class *c)
{
	return c->r->host_memory + c->r->best.pages_2m * PLAN_HUGE_2M +
	       c->r->best.pages_1g * PLAN_HUGE_1G;
}

static void by_weight(const struct plan_class *classes, size_t n, unsigned int *order)
{
	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = i;

		for (; j > 0 && class_weight(&classes[order[j - 1]]) < class_weight(&classes[i]);
		     j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
}

static uint64_t capacity(const struct plan_host *h, const struct plan_class *c)
{
	struct fleet_state s;
	uint64_t n = 0;

	fleet_state_init(h, &s);
	if (!c->r->host_memory)
		return 0;
	while (n < PLAN_FLEET_VMS_MAX && fleet_take(c, &s) >= 0)
		n++;
	return n;
}

void plan_fleet(const struct plan_host *hosts, size_t nr_hosts, const struct plan_class *classes,
		size_t nr_classes, struct plan_fleet *out)
{
	static struct fleet_state state[PLAN_HOSTS_MAX];
	unsigned int order[PLAN_CLASSES_MAX];

	memset(out, 0, sizeof(*out));
	for (size_t h = 0; h < nr_hosts; h++) {
		fleet_state_init(&hosts[h], &state[h]);
		for (size_t c = 0; c < nr_classes; c++)
			out->capacity[h][c] = capacity(&hosts[h], &classes[c]);
	}
	by_weight(classes, nr_classes, order);
	for (size_t k = 0; k < nr_classes; k++) {
		unsigned int c = order[k];

		for (uint64_t vm = 0; vm < classes[c].count; vm++) {
			size_t h;
			int level = -1;

			for (h = 0; h < nr_hosts && level < 0; h++)
				level = fleet_take(&classes[c], &state[h]);
			if (level < 0)
				out->unplaced[c]++;
			else
				out->placed[h - 1][c][level]++;
		}
	}
	for (size_t h = 0; h < nr_hosts; h++) {
		out->memory_left[h] = state[h].memory;
		memcpy(out->pages_left[h], state[h].nodes, sizeof(state[h].nodes));
	}
}

/* ---- what running VMs tell ---- */

void plan_observed(const struct plan_observation *obs, size_t n, uint64_t largest, unsigned int pct,
		   uint64_t granule, struct plan_advice *out)
{
	uint64_t grown;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		uint64_t used = obs[i].total > obs[i].free ? obs[i].total - obs[i].free : 0;

		if (obs[i].total > out->total)
			out->total = obs[i].total;
		if (obs[i].peak_used > out->peak)
			out->peak = obs[i].peak_used;
		if (used > out->peak)
			out->peak = used;
		out->fails += obs[i].alloc_fail;
	}
	out->headroom = largest + (out->peak * pct + 99) / 100;
	out->size = align_up(out->peak + out->headroom, granule);
	if (out->fails) {
		/* What failed asked for more than the pool had: the peak undercounts it. */
		grown = align_up(out->total + largest + (out->total * pct + 99) / 100, granule);
		if (grown > out->size)
			out->size = grown;
	}
	out->verdict = out->size > out->total	? PLAN_GROW
		       : out->size < out->total ? PLAN_SHRINK
						: PLAN_KEEP;
}
