// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm dtb check --json`: the report as one JSON document, for programs
 * (the tests that compare each pool's verdict with what a guest kernel
 * printed). The words are the text report's; the verdicts are lower-case
 * keywords: cma, coherent, reserved, disabled, rejected. Addresses and
 * sizes read from the DTB are hex strings: a hostile DTB's may not fit a
 * JSON integer. Text from the DTB (node names) is made ASCII first, as
 * JSON strings must be valid UTF-8.
 */
#include "vmm/cli/cli.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fdt/dtb_check.h"
#include "vmm/util/log.h"

static const char *verdict_word(enum dtb_verdict v)
{
	static const char *const words[] = {
		[DTB_CMA_POOL] = "cma",		  [DTB_COHERENT_POOL] = "coherent",
		[DTB_RESERVED_ONLY] = "reserved", [DTB_DISABLED] = "disabled",
		[DTB_REJECTED] = "rejected",
	};

	return v < sizeof(words) / sizeof(words[0]) ? words[v] : "?";
}

/* @s with every byte that is not printable ASCII as '?'. */
static json_t *ascii(const char *s)
{
	char buf[DTB_TEXT_MAX + DTB_PATH_MAX];
	size_t n = strnlen(s, sizeof(buf) - 1);

	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[n] = '\0';
	return json_string(buf);
}

static json_t *hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *entry_json(const struct dtb_entry *e)
{
	return json_pack("{s:o, s:s, s:b, s:o, s:o, s:b, s:o, s:o}", "path", ascii(e->path),
			 "verdict", verdict_word(e->verdict), "has_reg", e->has_reg, "base",
			 hex(e->base), "size", hex(e->size), "in_cma_total", e->in_cma_total,
			 "reason", ascii(e->reason), "note", ascii(e->note));
}

static json_t *lines_json(const struct dtb_report *rep)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < rep->nr_lines; i++)
		if (json_array_append_new(
			    a,
			    json_pack("{s:s, s:o}", "kind",
				      rep->lines[i].kind == DTB_LINE_WARNING ? "warning" : "info",
				      "text", ascii(rep->lines[i].text))))
			return json_decref(a), NULL;
	return a;
}

static json_t *entries_json(const struct dtb_report *rep)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < rep->nr_entries; i++)
		if (json_array_append_new(a, entry_json(&rep->entries[i])))
			return json_decref(a), NULL;
	return a;
}

void dtb_report_json_prepare(void)
{
	json_object_seed(0);
}

int dtb_report_json(const struct dtb_report *rep, const char *file, FILE *out)
{
	json_t *doc = json_pack(
		"{s:o, s:{s:s, s:I, s:I}, s:o, s:I, s:i, s:{s:b, s:o, s:o}, s:o, s:b}", "file",
		ascii(file), "guest", "series", guest_series_name(rep->guest.series), "page_size",
		(json_int_t)rep->guest.page_size, "pageblock",
		(json_int_t)guest_pageblock(&rep->guest), "entries", entries_json(rep), "cma_total",
		(json_int_t)rep->cma_total, "cma_areas", (int)rep->nr_cma_areas, "default_area",
		"failed", rep->default_area.failed, "size", hex(rep->default_area.size), "text",
		ascii(rep->default_area.text), "lines", lines_json(rep), "rejects",
		dtb_report_rejects(rep));
	int ret = doc ? json_dumpf(doc, out, JSON_INDENT(2)) : -1;

	json_decref(doc);
	if (ret) {
		pr_err("%s: the report could not be written as JSON (out of memory?)", file);
		return -1;
	}
	fputc('\n', out);
	return 0;
}
