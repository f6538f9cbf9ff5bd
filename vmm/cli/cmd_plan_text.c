// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pieces of a plan as text other programs read: cmavm run's flags,
 * the /reserved-memory fragment as cmavm writes it (fdt/dt_writer.c), the
 * host's huge page settings, a pod's Kubernetes resources, Prometheus
 * alerting rules. Both outputs, human and JSON, carry the same texts.
 */
#include "vmm/cli/cmd_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/dt_writer.h"

const char *plan_size_flag(uint64_t bytes, char buf[static 32])
{
	static const struct {
		uint64_t unit;
		char suffix;
	} units[] = { { SZ_1G * 1024, 'T' }, { SZ_1G, 'G' }, { SZ_1M, 'M' }, { 1024, 'K' } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (bytes && is_aligned(bytes, units[i].unit)) {
			snprintf(buf, 32, "%" PRIu64 "%c", bytes / units[i].unit, units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, 32, "%" PRIu64, bytes);
	return buf;
}

const char *plan_bytes(uint64_t bytes, char buf[static 64])
{
	char human[32];

	if (!is_aligned(bytes, 1024))
		snprintf(buf, 64, "%" PRIu64, bytes);
	else
		snprintf(buf, 64, "%" PRIu64 " (%s)", bytes, size_str(bytes, human));
	return buf;
}

/* ---- cmavm run ---- */

static void pool_flag(struct strbuf *sb, const struct plan_pool *pp)
{
	char size[32];

	if (pp->is_default)
		strbuf_addf(sb, " --cma %s", plan_size_flag(pp->size, size));
	else
		strbuf_addf(sb, " --dma-pool %s:%s%s", pp->name, plan_size_flag(pp->size, size),
			    pp->no_map ? ":no-map" : "");
	if (!pp->covered)
		strbuf_addf(sb, ",window=%s", cma_level_name(pp->level));
}

void plan_run_flags(struct strbuf *sb, const struct plan_input *in, const struct plan_result *r)
{
	char size[32];
	bool has_default = false;

	strbuf_addf(sb, "--memory %s", plan_size_flag(in->p.ram, size));
	for (size_t i = 0; i < r->nr_pools; i++) {
		pool_flag(sb, &r->pools[i]);
		has_default |= r->pools[i].is_default;
	}
	/* Without one, the guest would make its own default area where cmavm cannot know. */
	if (!has_default)
		strbuf_addf(sb, " --cma 0");
	if (r->pool_align != SZ_4M)
		strbuf_addf(sb, " --pool-align %s", plan_size_flag(r->pool_align, size));
}

/* ---- /reserved-memory ---- */

void plan_dts(struct strbuf *sb, const struct plan_result *r)
{
	strbuf_addf(sb, "/ {\n\treserved-memory {\n\t\t#address-cells = <2>;\n"
			"\t\t#size-cells = <2>;\n\t\tranges;\n");
	for (size_t i = 0; i < r->nr_pools; i++) {
		const struct plan_pool *pp = &r->pools[i];

		strbuf_addf(sb, "\n\t\t%s@%" PRIx64 " {\n", pp->name, pp->base);
		strbuf_addf(sb, "\t\t\tcompatible = \"shared-dma-pool\";\n");
		strbuf_addf(sb,
			    "\t\t\treg = <0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64
			    ">;\n",
			    pp->base >> 32, pp->base & 0xffffffffu, pp->size >> 32,
			    pp->size & 0xffffffffu);
		strbuf_addf(sb, "\t\t\t%s;\n", pp->no_map ? "no-map" : "reusable");
		if (pp->is_default)
			strbuf_addf(sb, "\t\t\tlinux,cma-default;\n");
		strbuf_addf(sb, "\t\t\tphandle = <0x%x>;\n\t\t};\n", dt_pool_phandle(i));
	}
	strbuf_addf(sb, "\t};\n};\n");
}

/* ---- the host's huge pages ---- */

static void advice_1g(struct strbuf *sb, uint64_t need, const struct plan_pages *have,
		      const char *indent)
{
	strbuf_addf(sb, "%s1 GiB pages: %" PRIu64 " free", indent, need);
	if (have)
		strbuf_addf(sb, " (the node has %" PRIu64 ")", have->pages_1g);
	if (!have || have->pages_1g < need)
		strbuf_addf(sb,
			    "; they are set aside when the host boots: hugepagesz=1G "
			    "hugepages=%" PRIu64
			    " on its kernel command line, plus what others use",
			    need);
	strbuf_addf(sb, "\n");
}

static void advice_2m(struct strbuf *sb, uint64_t need, int node, const struct plan_pages *have,
		      const char *indent)
{
	strbuf_addf(sb, "%s2 MiB pages: %" PRIu64 " free", indent, need);
	if (have)
		strbuf_addf(sb, " on node %d (it has %" PRIu64 ")", node, have->pages_2m);
	if (have && have->pages_2m < need)
		strbuf_addf(sb,
			    "; echo %" PRIu64 " > /sys/devices/system/node/node%d/hugepages/"
			    "hugepages-2048kB/nr_hugepages, plus what others use",
			    need, node);
	else if (!have)
		strbuf_addf(sb,
			    "; sysctl -w vm.nr_hugepages=%" PRIu64
			    " plus what others use, and the same in /etc/sysctl.d/ to keep it",
			    need);
	strbuf_addf(sb, "\n");
}

void plan_hugepage_advice(struct strbuf *sb, struct plan_pages pages, int node,
			  const struct plan_pages *have, const char *indent)
{
	if (node < 0)
		have = NULL;
	if (pages.pages_1g)
		advice_1g(sb, pages.pages_1g, have, indent);
	if (pages.pages_2m)
		advice_2m(sb, pages.pages_2m, node, have, indent);
	if (!pages.pages_1g && !pages.pages_2m)
		strbuf_addf(sb, "%sno huge pages\n", indent);
}

/* ---- Kubernetes ---- */

static void k8s_quantities(struct strbuf *sb, const struct plan_result *r, const char *indent)
{
	uint64_t mi = align_up(r->host_memory, SZ_1M) / SZ_1M;

	strbuf_addf(sb, "%s    memory: %" PRIu64 "Mi\n", indent, mi);
	if (r->used.pages_1g)
		strbuf_addf(sb, "%s    hugepages-1Gi: %" PRIu64 "Gi\n", indent, r->used.pages_1g);
	if (r->used.pages_2m)
		strbuf_addf(sb, "%s    hugepages-2Mi: %" PRIu64 "Mi\n", indent,
			    r->used.pages_2m * 2);
}

void plan_k8s(struct strbuf *sb, const struct plan_result *r, const char *indent)
{
	/* Huge pages are never overcommitted: requests must equal limits. */
	strbuf_addf(sb, "%sresources:\n%s  requests:\n", indent, indent);
	k8s_quantities(sb, r, indent);
	strbuf_addf(sb, "%s  limits:\n", indent);
	k8s_quantities(sb, r, indent);
}

/* ---- Prometheus ---- */

/* @text as a YAML single-quoted scalar. */
static void yaml_quoted(struct strbuf *sb, const char *text)
{
	strbuf_add(sb, "'", 1);
	for (const char *c = text; *c; c++) {
		strbuf_add(sb, c, 1);
		if (*c == '\'')
			strbuf_add(sb, "'", 1);
	}
	strbuf_add(sb, "'", 1);
}

/* The largest allocation of a CMA pool: CmaFree below it may fail the next one. */
static uint64_t cma_largest(const struct plan_result *r)
{
	uint64_t largest = 0;

	for (size_t i = 0; i < r->nr_pools; i++)
		if (!r->pools[i].no_map && r->pools[i].largest > largest)
			largest = r->pools[i].largest;
	return largest;
}

struct rule {
	const char *alert, *expr_fmt, *for_, *severity, *summary, *description;
};

static void add_rule(struct strbuf *sb, const struct plan_input *in, const struct rule *rule,
		     uint64_t threshold)
{
	char expr[512], sel[PLAN_SELECTOR_MAX + 2] = "";

	if (*in->selector)
		snprintf(sel, sizeof(sel), "{%s}", in->selector);
	snprintf(expr, sizeof(expr), rule->expr_fmt, sel, threshold);
	strbuf_addf(sb, "      - alert: %s\n        expr: ", rule->alert);
	yaml_quoted(sb, expr);
	strbuf_addf(sb, "\n        for: %s\n        labels:\n          severity: %s\n", rule->for_,
		    rule->severity);
	strbuf_addf(sb, "        annotations:\n          summary: ");
	yaml_quoted(sb, rule->summary);
	strbuf_addf(sb, "\n          description: ");
	yaml_quoted(sb, rule->description);
	strbuf_addf(sb, "\n");
}

static const struct rule free_rule = {
	"CmavmGuestCmaFreeBelowLargest",
	PLAN_METRIC_CMA_FREE "%s < %" PRIu64,
	"5m",
	"warning",
	"{{ $labels.instance }}: the guest's CmaFree is below its largest allocation",
	"CmaFree is {{ $value | humanize1024 }}B, less than the largest allocation cmavm plan "
	"sized the pool for: the next one may fail. Compare with cmavm plan --observed.",
};

static const struct rule fail_rule = {
	"CmavmGuestCmaAllocFailing",
	"increase(" PLAN_METRIC_ALLOC_FAIL "%s[10m]) > 0",
	"0m",
	"critical",
	"{{ $labels.instance }}: cma_alloc() fails in the guest",
	"{{ $value }} CMA allocations failed in 10 minutes (/proc/vmstat cma_alloc_fail): the "
	"pool is too small or fragmented. Run cmavm plan --observed on this VM for a new size.",
};

static const struct rule refused_rule = {
	"CmavmWindowRefusedDiscards",
	"increase(" PLAN_METRIC_REFUSED "%s[15m]) > 0",
	"15m",
	"info",
	"{{ $labels.instance }}: the guest keeps freeing memory inside a window",
	"The host refused {{ $value | humanize1024 }}B of discards in 15 minutes: pages the "
	"guest reported free or ballooned lie in a committed window, whose memory stays "
	"resident. The window may be larger than the guest uses.",
};

void plan_alert_rules(struct strbuf *sb, const struct plan_input *in, const struct plan_result *r)
{
	char group[96];

	snprintf(group, sizeof(group), "cmavm-plan%s%s", *in->p.name ? "-" : "", in->p.name);
	strbuf_addf(sb, "groups:\n  - name: ");
	yaml_quoted(sb, group);
	strbuf_addf(sb, "\n    rules:\n");
	if (r->cma_total)
		add_rule(sb, in, &free_rule, cma_largest(r));
	add_rule(sb, in, &fail_rule, 0);
	add_rule(sb, in, &refused_rule, 0);
}
