// SPDX-License-Identifier: GPL-2.0-only
/*
 * A plan as JSON (cmavm plan --json): every size in bytes, the texts
 * (flags, DTS, alerting rules) as strings, so that a script reads the
 * same plan a person does.
 */
#include "vmm/cli/cmd_plan.h"

#include <inttypes.h>
#include <stdio.h>

/* jansson's integers are signed; no size here comes near 2^63. */
static json_t *num(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *text_of(void (*fill)(struct strbuf *, const struct plan_input *,
				    const struct plan_result *),
		       const struct plan_input *in, const struct plan_result *r)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);
	json_t *s;

	fill(&sb, in, r);
	s = json_string(strbuf_str(&sb));
	strbuf_release(&sb);
	return s;
}

static void dts_of(struct strbuf *sb, const struct plan_input *in, const struct plan_result *r)
{
	if (r->nr_pools)
		plan_dts(sb, r);
}

static json_t *pages_json(struct plan_pages pages)
{
	return json_pack("{s:o, s:o}", "hugepages_2m", num(pages.pages_2m), "hugepages_1g",
			 num(pages.pages_1g));
}

static json_t *guest_json(const struct plan_input *in, const struct plan_result *r)
{
	char kernel[16];

	snprintf(kernel, sizeof(kernel), "%u.%u", in->p.kernel[0], in->p.kernel[1]);
	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o}", "ram", num(in->p.ram), "page_size",
			 num(in->p.page_size), "kernel", kernel, "pageblock", num(r->pageblock),
			 "granule", num(r->granule), "pool_align", num(r->pool_align));
}

static json_t *allocs_json(const struct plan_input *in, const struct plan_result *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < in->p.nr_devices; i++) {
		const struct plan_alloc *a = &r->allocs[i];

		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
						"device", in->p.devices[i].name, "kind",
						plan_kind_name(in->p.devices[i].kind), "pool",
						r->pools[a->pool].name, "buffer", num(a->asked),
						"pages", num(a->pages), "align", num(a->align),
						"placed", num(a->placed), "count", num(a->count),
						"total", num(a->total)));
	}
	return list;
}

static json_t *pool_json(const struct plan_input *in, const struct plan_pool *pp)
{
	char names[256];

	return json_pack(
		"{s:s, s:b, s:b, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:b}", "name",
		pp->name, "default", pp->is_default, "no_map", pp->no_map, "peak", num(pp->peak),
		"peak_with", plan_group_names(&in->p, pp->peak_group, names, sizeof(names)),
		"largest", num(pp->largest), "largest_from",
		pp->largest_device >= 0 ? in->p.devices[pp->largest_device].name
					: "largest_allocation",
		"headroom", num(pp->headroom), "need", num(pp->need), "size", num(pp->size), "base",
		num(pp->base), "level", cma_level_name(pp->level), "window", !pp->covered);
}

static json_t *pools_json(const struct plan_input *in, const struct plan_result *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->nr_pools; i++)
		json_array_append_new(list, pool_json(in, &r->pools[i]));
	return list;
}

static json_t *host_json(const struct plan_input *in, const struct plan_result *r)
{
	return json_pack("{s:b, s:o?, s:o, s:o}", "inventory", in->p.has_host, "node",
			 r->node >= 0 ? json_integer(r->node) : NULL, "uses", pages_json(r->used),
			 "best", pages_json(r->best));
}

static json_t *k8s_json(const struct plan_result *r)
{
	char v[32];
	json_t *q = json_object();

	snprintf(v, sizeof(v), "%" PRIu64 "Mi", (r->host_memory + (1u << 20) - 1) >> 20);
	json_object_set_new(q, "memory", json_string(v));
	if (r->used.pages_1g) {
		snprintf(v, sizeof(v), "%" PRIu64 "Gi", r->used.pages_1g);
		json_object_set_new(q, "hugepages-1Gi", json_string(v));
	}
	if (r->used.pages_2m) {
		snprintf(v, sizeof(v), "%" PRIu64 "Mi", r->used.pages_2m * 2);
		json_object_set_new(q, "hugepages-2Mi", json_string(v));
	}
	return json_pack("{s:O, s:o}", "requests", q, "limits", q);
}

json_t *plan_to_json(const struct plan_input *in, const struct plan_result *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(in->p.name));
	json_object_set_new(o, "guest", guest_json(in, r));
	json_object_set_new(o, "headroom_percent", json_integer(r->headroom_pct));
	json_object_set_new(o, "allocations", allocs_json(in, r));
	json_object_set_new(o, "pools", pools_json(in, r));
	json_object_set_new(o, "pools_total", num(r->pools_total));
	json_object_set_new(o, "cma_total_bytes", num(r->cma_total));
	json_object_set_new(o, "cma_total_kb", num(plan_cma_total_kb(r)));
	json_object_set_new(o, "host_memory", num(r->host_memory));
	json_object_set_new(o, "host", host_json(in, r));
	json_object_set_new(o, "run_flags", text_of(plan_run_flags, in, r));
	json_object_set_new(o, "dts", text_of(dts_of, in, r));
	json_object_set_new(o, "kubernetes", k8s_json(r));
	json_object_set_new(o, "alert_rules", text_of(plan_alert_rules, in, r));
	return o;
}
