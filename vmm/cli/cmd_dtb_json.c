// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm dtb check --json`: the report as one JSON document, for programs
 * (the tests that compare each pool's verdict with what a guest kernel
 * printed). The words are the text report's; the verdicts are lower-case
 * keywords: cma, coherent, reserved, disabled, rejected.
 */
#include "vmm/cli/cli.h"

#include <jansson.h>
#include <stdio.h>

#include "fdt/dtb_check.h"

static const char *verdict_word(enum dtb_verdict v)
{
	static const char *const words[] = {
		[DTB_CMA_POOL] = "cma",		  [DTB_COHERENT_POOL] = "coherent",
		[DTB_RESERVED_ONLY] = "reserved", [DTB_DISABLED] = "disabled",
		[DTB_REJECTED] = "rejected",
	};

	return v < sizeof(words) / sizeof(words[0]) ? words[v] : "?";
}

static json_t *entry_json(const struct dtb_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:b, s:s, s:s}", "path", e->path,
			      "verdict", verdict_word(e->verdict), "has_reg", e->has_reg, "base",
			      (json_int_t)e->base, "size", (json_int_t)e->size, "in_cma_total",
			      e->in_cma_total, "reason", e->reason, "note", e->note);

	return o;
}

static json_t *lines_json(const struct dtb_report *rep)
{
	json_t *a = json_array();

	for (size_t i = 0; i < rep->nr_lines; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s}", "kind",
				     rep->lines[i].kind == DTB_LINE_WARNING ? "warning" : "info",
				     "text", rep->lines[i].text));
	return a;
}

void dtb_report_json_prepare(void)
{
	json_object_seed(0);
}

void dtb_report_json(const struct dtb_report *rep, const char *file, FILE *out)
{
	json_t *entries = json_array(), *doc;

	for (size_t i = 0; i < rep->nr_entries; i++)
		json_array_append_new(entries, entry_json(&rep->entries[i]));
	doc = json_pack("{s:s, s:{s:s, s:I, s:I}, s:o, s:I, s:i, s:{s:b, s:I, s:s}, s:o, s:b}",
			"file", file, "guest", "series", guest_series_name(rep->guest.series),
			"page_size", (json_int_t)rep->guest.page_size, "pageblock",
			(json_int_t)guest_pageblock(&rep->guest), "entries", entries, "cma_total",
			(json_int_t)rep->cma_total, "cma_areas", (int)rep->nr_cma_areas,
			"default_area", "failed", rep->default_area.failed, "size",
			(json_int_t)rep->default_area.size, "text", rep->default_area.text, "lines",
			lines_json(rep), "rejects", dtb_report_rejects(rep));
	json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
}
