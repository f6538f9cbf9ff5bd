// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DTB checker's report: what the guest kernel would print at boot,
 * gathered per /reserved-memory child and laid out for a person.
 *
 * Owns: the error of an unreadable blob, every entry's verdict, rule,
 * reason and notes, the info and warning lines, whether the report
 * rejects, and printing it all: one block per child, the default area,
 * the lines, then a one-line summary.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"
#include "vmm/util/strbuf.h"

#define PRINT_WIDTH  100
#define PRINT_INDENT "                " /* under the path, past the verdict */

/* ---- building it -------------------------------------------------------- */

int fail(struct dtb_report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
	return -1;
}

void add_line(struct dtb_report *rep, enum dtb_line_kind kind, const char *fmt, ...)
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

void note(struct dtb_entry *e, const char *fmt, ...)
{
	va_list ap;

	if (e->note[0])
		str_appendf(e->note, sizeof(e->note), "; ");
	va_start(ap, fmt);
	str_vappendf(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
}

void judge(struct ctx *c, size_t i, enum dtb_verdict verdict, enum dtb_rule rule, const char *fmt,
	   ...)
{
	struct dtb_entry *e = &c->rep->entries[i];
	va_list ap;

	e->verdict = verdict;
	e->rule = rule;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	c->kids[i].judged = true;
}

/* ---- reading it ----------------------------------------------------------- */

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

/* ---- printing it ------------------------------------------------------------ */

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
			str_appendf(buf, size, "%s%s", buf[0] ? ", " : "", names[i].name);
	if (!buf[0])
		snprintf(buf, size, "no flags");
}

static void print_place(const struct dtb_entry *e, FILE *out)
{
	char buf[32], flags[96];

	flags_text(e->flags, flags, sizeof(flags));
	if (e->has_reg && e->size)
		fprintf(out, PRINT_INDENT "0x%" PRIx64 "..0x%" PRIx64 "  %s  [%s]\n", e->base,
			span_end(e->base, e->size) - 1, size_str(e->size, buf), flags);
	else if (e->has_reg)
		fprintf(out, PRINT_INDENT "base 0x%" PRIx64 ", size 0  [%s]\n", e->base, flags);
	else if (e->size)
		fprintf(out, PRINT_INDENT "size %s, base chosen by the guest  [%s]\n",
			size_str(e->size, buf), flags);
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

static void print_guest(const struct dtb_report *rep, FILE *out)
{
	char name[64], block[32];

	fprintf(out, "guest          %s (pageblock %s, %u CMA areas)\n",
		guest_kernel_name(&rep->guest, name, sizeof(name)),
		size_str(guest_pageblock(&rep->guest), block), guest_cma_areas(&rep->guest));
}

static void print_ram(const struct dtb_report *rep, FILE *out)
{
	char buf[32];

	if (!rep->nr_ram)
		fprintf(out, "RAM            none\n");
	for (size_t i = 0; i < rep->nr_ram; i++)
		fprintf(out, "%-15s0x%" PRIx64 "..0x%" PRIx64 "  %s\n", i ? "" : "RAM",
			rep->ram[i].base, region_end(&rep->ram[i]) - 1,
			size_str(rep->ram[i].size, buf));
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
	fprintf(out, "cma=           %s  (size %s", cma->value, size_str(cma->size, buf));
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
		"%zu rejected; %u of %u CMA areas; expected CmaTotal: %" PRIu64 " kB\n",
		dtb_report_rejects(rep) ? "PROBLEMS" : "OK", rep->nr_entries, count[DTB_CMA_POOL],
		count[DTB_COHERENT_POOL], count[DTB_RESERVED_ONLY], count[DTB_DISABLED],
		count[DTB_REJECTED], rep->nr_cma_areas, guest_cma_areas(&rep->guest),
		rep->cma_total / 1024);
}

void dtb_report_print(const struct dtb_report *rep, FILE *out)
{
	if (rep->error[0]) {
		print_wrapped(out, "error: ", "       ", rep->error);
		return;
	}
	print_guest(rep, out);
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
