// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: `cmavm plan`'s profile reader (vmm/cli/cmd_plan_profile.c)
 * and everything a profile it accepts goes through: the sizing
 * (cma/plan.c), the layout, the levels, every text and the JSON; and the
 * same bytes as a metrics file for --observed (cmd_plan_observed.c).
 *
 * Beyond the sanitizers, for a profile the planner accepts: every pool is
 * a whole number of its granule and holds its peak and its largest
 * allocation; a planned pool holds its headroom too; the pools and the
 * guest's share fit its RAM, lie inside it and do not overlap; CmaTotal
 * is the sum of the CMA pools; the JSON reads back as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/cli/cmd_plan.h"
#include "vmm/machine/memory_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_plan: %s\n", what);
		abort();
	}
}

static void check_pool(const struct plan_input *in, const struct plan_result *r,
		       const struct plan_pool *pp)
{
	uint64_t ram_end = MMAP_RAM_BASE + in->p.ram;

	check(pp->size && is_aligned(pp->size, r->granule), "a pool is not whole granules");
	check(pp->size >= pp->largest, "a pool is smaller than its largest allocation");
	check(pp->need >= pp->peak + pp->headroom, "a pool's need leaves out its headroom");
	check(pp->size == pp->need || pp->size >= pp->largest, "a fixed pool lost its check");
	check(pp->base >= MMAP_RAM_BASE && pp->base + pp->size <= ram_end,
	      "a pool lies outside guest RAM");
	check(is_aligned(pp->base, r->pool_align), "a pool's base is not at the pool alignment");
}

static void check_plan(const struct plan_input *in, const struct plan_result *r)
{
	uint64_t total = 0, cma = 0;

	for (size_t i = 0; i < r->nr_pools; i++) {
		const struct plan_pool *a = &r->pools[i];

		check_pool(in, r, a);
		total += a->size;
		cma += a->no_map ? 0 : a->size;
		for (size_t j = 0; j < i; j++)
			check(a->base >= r->pools[j].base + r->pools[j].size ||
				      r->pools[j].base >= a->base + a->size,
			      "two pools overlap");
	}
	check(total == r->pools_total && cma == r->cma_total, "the totals are not the pools'");
	check(total + PLAN_GUEST_BOOT + PLAN_GUEST_MIN_FREE <= in->p.ram,
	      "the pools leave the guest less than its share");
}

static void render(const struct plan_input *in, const struct plan_result *r)
{
	static FILE *null;
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);
	json_t *json = plan_to_json(in, r);
	char *text;

	if (!null)
		null = fopen("/dev/null", "w");
	plan_show(null, in, r);
	check(json != NULL, "no JSON");
	text = json_dumps(json, 0);
	json_decref(json);
	check(text != NULL, "the JSON does not print");
	json = json_loads(text, 0, NULL);
	check(json != NULL, "the JSON does not read back");
	json_decref(json);
	free(text);
	plan_alert_rules(&sb, in, r);
	check(strstr(strbuf_str(&sb), "groups:\n") != NULL, "alert rules without groups");
	strbuf_release(&sb);
}

static void observe(const char *text)
{
	static struct plan_seen seen[PLAN_OBSERVED_MAX];
	char err[512];
	size_t n = 0;

	if (plan_observe_metrics(text, "fuzz", seen, PLAN_OBSERVED_MAX, &n, err, sizeof(err)))
		check(n == 0, "a metrics file failed after finding VMs");
	check(n <= PLAN_OBSERVED_MAX, "more VMs than room");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan_input in;
	static struct plan_result r;
	char err[1024] = "";
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	observe(text);
	if (!plan_profile_parse(text, size, &in, err, sizeof(err)) &&
	    !plan_make(&in, &r, err, sizeof(err))) {
		check_plan(&in, &r);
		render(&in, &r);
	}
	check(memchr(err, '\0', sizeof(err)) != NULL, "an unterminated error");
	free(text);
	return 0;
}
