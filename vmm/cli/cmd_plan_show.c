// SPDX-License-Identifier: GPL-2.0-only
/*
 * A plan as people read it: what each device allocates, what each pool
 * holds and why, then the texts to use (flags, huge pages, DTS,
 * Kubernetes, alerts), each under a line that says what it is for.
 */
#include "vmm/cli/cmd_plan.h"

#include <inttypes.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/cli/table.h"

static const char *const kind_names[] = { "display", "camera", "codec", "custom" };

const char *plan_kind_name(enum plan_kind kind)
{
	return kind <= PLAN_CUSTOM ? kind_names[kind] : "?";
}

const char *plan_group_names(const struct plan_profile *p, int group, char *buf, size_t len)
{
	buf[0] = '\0';
	if (group < 0) {
		snprintf(buf, len, "every device at once");
		return buf;
	}
	for (size_t d = 0; d < p->nr_devices; d++)
		if ((p->groups[group] >> d) & 1)
			str_appendf(buf, len, "%s%s", *buf ? ", " : "", p->devices[d].name);
	return buf;
}

static void show_guest(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	const struct plan_profile *p = &in->p;
	char a[32], b[32], c[32], d[32], e[32];

	fprintf(out, "cmavm plan: %s (%s)\n", *p->name ? p->name : "unnamed class",
		*in->source ? in->source : "profile");
	fprintf(out,
		"guest: %s RAM, %s pages, Linux %u.%u: pageblock %s; pools in multiples of %s, "
		"at %s alignment\n\n",
		size_str(p->ram, a), size_str(p->page_size, b), p->kernel[0], p->kernel[1],
		size_str(r->pageblock, c), size_str(r->granule, d), size_str(r->pool_align, e));
}

static void show_allocs(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	struct table t = { 0 };
	struct cell c[4];
	char cap[32];

	fprintf(out,
		"Allocations, each as CMA places it: whole pages, started at its own order up "
		"to %s (or its alignment)\n",
		size_str(in->p.page_size << in->p.rules.cma_align_order, cap));
	table_row(&t, "DEVICE", "KIND", "POOL", "BUFFER", "PLACED", "COUNT", "TOTAL", NULL);
	for (size_t i = 0; i < in->p.nr_devices; i++) {
		const struct plan_alloc *a = &r->allocs[i];

		table_row(&t, in->p.devices[i].name, plan_kind_name(in->p.devices[i].kind),
			  r->pools[a->pool].name, plan_bytes(a->asked, c[0].text),
			  plan_bytes(a->placed, c[1].text), cell_u64(&c[2], a->count),
			  plan_bytes(a->total, c[3].text), NULL);
	}
	if (!in->p.nr_devices)
		table_row(&t, "(none)", NULL);
	table_print(&t, out);
	fputc('\n', out);
}

static void show_pool_lines(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	char names[256], a[64], b[64];

	for (size_t i = 0; i < r->nr_pools; i++) {
		const struct plan_pool *pp = &r->pools[i];

		fprintf(out, "  %s: peak with %s; largest allocation from %s", pp->name,
			plan_group_names(&in->p, pp->peak_group, names, sizeof(names)),
			pp->largest_device >= 0 ? in->p.devices[pp->largest_device].name
						: "largest_allocation");
		if (pp->size < pp->need)
			fprintf(out, "; WARNING: fixed at %s, less than the %s planned",
				plan_bytes(pp->size, a), plan_bytes(pp->need, b));
		fputc('\n', out);
	}
}

static void show_pools(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	struct table t = { 0 };
	struct cell c[4];
	char kb[32];

	fprintf(out,
		"Pools: the peak of the devices that run at once, and headroom for fragmentation: "
		"one largest allocation and %u%% of the peak, rounded up to the pageblock\n",
		r->headroom_pct);
	table_row(&t, "POOL", "KIND", "PEAK", "LARGEST", "HEADROOM", "SIZE", "WINDOW", NULL);
	for (size_t i = 0; i < r->nr_pools; i++) {
		const struct plan_pool *pp = &r->pools[i];

		table_row(&t, pp->name, pp->no_map ? "no-map" : "cma",
			  plan_bytes(pp->peak, c[0].text), plan_bytes(pp->largest, c[1].text),
			  plan_bytes(pp->headroom, c[2].text), plan_bytes(pp->size, c[3].text),
			  pp->covered ? "on the 1 GiB page" : cma_level_name(pp->level), NULL);
	}
	table_print(&t, out);
	show_pool_lines(out, in, r);
	snprintf(kb, sizeof(kb), "%" PRIu64, plan_cma_total_kb(r));
	fprintf(out, "\nThe guest's /proc/meminfo will show:\n  CmaTotal:       %8s kB\n\n", kb);
}

static void show_host(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);

	if (!in->p.has_host) {
		fprintf(out, "Host: no inventory in the profile; the windows above are the best "
			     "cmavm has for these pools, and need on the host:\n");
		plan_hugepage_advice(&sb, r->used, -1, NULL, "  ");
	} else {
		fprintf(out, "Host%s%s: the windows above are what its huge pages allow",
			*in->p.host.name ? " " : "", in->p.host.name);
		if (r->node >= 0 && in->p.host.nr_nodes > 1)
			fprintf(out, " on NUMA node %d (run cmavm there: numactl -N %d -m %d)",
				r->node, r->node, r->node);
		fprintf(out, "; this VM takes:\n");
		plan_hugepage_advice(&sb, r->used, r->node,
				     r->node >= 0 ? &in->p.host.nodes[r->node] : NULL, "  ");
		if (memcmp(&r->used, &r->best, sizeof(r->best))) {
			strbuf_addf(&sb, "For the best levels (contiguous where a pool fits one "
					 "1 GiB span, else huge) it would need:\n");
			plan_hugepage_advice(&sb, r->best, -1, NULL, "  ");
		}
	}
	fputs(strbuf_str(&sb), out);
	strbuf_release(&sb);
}

static void show_notes(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	char a[32];

	for (size_t i = 0; i < r->nr_pools; i++) {
		const struct plan_pool *pp = &r->pools[i];

		if (pp->level == CMA_RESIDENT)
			fprintf(out,
				"note: %s at resident is locked in host memory: cmavm needs a "
				"locked-memory limit (ulimit -l) of at least %s, or root\n",
				pp->name, size_str(pp->size, a));
		if (!pp->is_default && !pp->no_map)
			fprintf(out,
				"note: the guest's virtio-mmio driver never claims a named pool "
				"(docs/user-guide.md): %s serves only drivers that claim their "
				"memory-region\n",
				pp->name);
	}
	for (size_t i = 0; i < in->p.nr_devices; i++) {
		if (in->p.devices[i].kind == PLAN_DISPLAY) {
			fprintf(out, "note: cmavm's own virtio-gpu backs scanouts with the guest's "
				     "ordinary pages, not CMA: size displays here for drivers that "
				     "allocate with the DMA API\n");
			break;
		}
	}
}

/* @title, then @text as it is, unindented: it is there to be copied. */
static void show_text(FILE *out, const char *title, const char *text)
{
	fprintf(out, "\n%s\n%s", title, text);
}

void plan_show(FILE *out, const struct plan_input *in, const struct plan_result *r)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);

	show_guest(out, in, r);
	show_allocs(out, in, r);
	show_pools(out, in, r);
	plan_run_flags(&sb, in, r);
	fprintf(out, "cmavm run flags:\n  %s\n\n", strbuf_str(&sb));
	show_host(out, in, r);
	strbuf_reset(&sb);
	if (r->nr_pools) {
		plan_dts(&sb, r);
		show_text(out,
			  "/reserved-memory as cmavm writes it (cmavm run --dry-run "
			  "--dump-dtb FILE writes the whole tree):",
			  strbuf_str(&sb));
	}
	strbuf_reset(&sb);
	plan_k8s(&sb, r, "");
	show_text(out,
		  "Kubernetes, a pod that runs one VM (memory: guest RAM and cmavm's "
		  "overhead; huge pages for the windows):",
		  strbuf_str(&sb));
	strbuf_reset(&sb);
	plan_alert_rules(&sb, in, r);
	show_text(out, "Prometheus alerting rules (cmavm plan --alerts prints them alone):",
		  strbuf_str(&sb));
	strbuf_release(&sb);
	fputc('\n', out);
	show_notes(out, in, r);
}
