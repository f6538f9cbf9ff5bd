// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drawing the CMA pageblock map: on a terminal and as SVG. Both walk the
 * same layout: per pool a title, rows of CTL_MAP_ROW cells led by the
 * guest-physical address of their first pageblock, and a legend.
 */
#include "vmm/control/map_render.h"
#include "cma/engine.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cma/size.h"

#define ANSI_RESET "\033[0m"
#define CELL_UTF8  "\xe2\x96\x88" /* U+2588 FULL BLOCK */

/* Each state's colour on a terminal and in SVG; the last is for a letter this cmavm does not know.
 */
static const struct map_colour {
	const char *ansi;
	const char *rgb;
} colours[CMA_NR_STATES + 1] = {
	[CMA_UNBACKED] = { "\033[90m", "#d0d0d0" },  /* dim grey */
	[CMA_BACKED] = { "\033[32m", "#2e9e48" },    /* green */
	[CMA_REPORTED] = { "\033[34m", "#3570d4" },  /* blue */
	[CMA_BALLOONED] = { "\033[33m", "#e0b000" }, /* yellow */
	[CMA_WINDOW] = { "\033[35m", "#c0309a" },    /* magenta */
	[CMA_NR_STATES] = { "\033[31m", "#000000" }, /* red / black */
};

#define UNKNOWN CMA_NR_STATES

/* The engine's letter and name for state @s (cma/engine.h), or those of an unknown one. */
static char letter_of(unsigned int s)
{
	return s < CMA_NR_STATES ? cma_state_letter((enum cma_block_state)s) : '?';
}

static const char *name_of(unsigned int s)
{
	return s < CMA_NR_STATES ? cma_state_name((enum cma_block_state)s) : "unknown";
}

bool ctl_map_want_colour(FILE *out)
{
	const char *no_colour = getenv("NO_COLOR"), *term = getenv("TERM");

	if (no_colour && *no_colour)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(out));
}

static unsigned int state_of(char letter)
{
	unsigned int s;

	for (s = 0; s < CMA_NR_STATES; s++)
		if (letter_of(s) == letter)
			return s;
	return UNKNOWN;
}

/* What the drawing of one pool needs. */
struct pool_layout {
	size_t nr_blocks;
	size_t counts[CMA_NR_STATES + 1];
	int addr_digits; /* hex digits of the row addresses, at least 8 */
};

static void layout(const struct ctl_cma_map *p, uint64_t pageblock_size, struct pool_layout *l)
{
	const char *blocks = p->blocks ? p->blocks : "";
	uint64_t last_row;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->nr_blocks = strlen(blocks);
	for (i = 0; i < l->nr_blocks; i++)
		l->counts[state_of(blocks[i])]++;
	last_row = l->nr_blocks ? (l->nr_blocks - 1) / CTL_MAP_ROW * CTL_MAP_ROW : 0;
	l->addr_digits = snprintf(NULL, 0, "%llx",
				  (unsigned long long)(p->base + last_row * pageblock_size));
	if (l->addr_digits < 8)
		l->addr_digits = 8;
}

/* "linux,cma  base 0x9c000000  size 64 MiB  32 pageblocks of 2 MiB" without the name */
static void title_rest(char *buf, size_t len, const struct ctl_cma_map *p,
		       const struct pool_layout *l, uint64_t pageblock_size, const char *sep)
{
	char size[32], block[32];

	snprintf(buf, len, "base 0x%08llx%ssize %s%s%zu pageblock%s of %s",
		 (unsigned long long)p->base, sep, size_str(l->nr_blocks * pageblock_size, size),
		 sep, l->nr_blocks, l->nr_blocks == 1 ? "" : "s", size_str(pageblock_size, block));
}

/* ---- the terminal ---- */

static void text_row(FILE *out, const char *blocks, size_t from, size_t to, bool colour)
{
	unsigned int s, cur = UNKNOWN + 1;
	size_t i;

	for (i = from; i < to; i++) {
		if (i > from && !((i - from) % CTL_MAP_GROUP))
			fputc(' ', out);
		s = state_of(blocks[i]);
		if (!colour) {
			fputc(letter_of(s), out);
			continue;
		}
		if (s != cur)
			fputs(colours[s].ansi, out);
		cur = s;
		fputs(CELL_UTF8, out);
	}
	if (colour && to > from)
		fputs(ANSI_RESET, out);
	fputc('\n', out);
}

static void text_legend(FILE *out, const struct pool_layout *l, uint64_t pageblock_size,
			bool colour)
{
	char bytes[32];
	unsigned int s;
	int width = snprintf(NULL, 0, "%zu", l->nr_blocks);

	for (s = 0; s <= UNKNOWN; s++) {
		if (s == UNKNOWN && !l->counts[s])
			break;
		fputs("  ", out);
		if (colour)
			fprintf(out, "%s" CELL_UTF8 ANSI_RESET " ", colours[s].ansi);
		fprintf(out, "%c %-9s %*zu pageblock%s %s\n", letter_of(s), name_of(s), width,
			l->counts[s], l->counts[s] == 1 ? " " : "s",
			size_str(l->counts[s] * pageblock_size, bytes));
	}
}

void ctl_map_text(FILE *out, const struct ctl_cma_map *pools, unsigned int n,
		  uint64_t pageblock_size, bool colour)
{
	struct pool_layout l;
	char rest[160];
	unsigned int i;
	size_t row, end;

	if (!n)
		fputs("no CMA pools\n", out);
	for (i = 0; i < n; i++) {
		const char *blocks = pools[i].blocks ? pools[i].blocks : "";

		layout(&pools[i], pageblock_size, &l);
		title_rest(rest, sizeof(rest), &pools[i], &l, pageblock_size, "  ");
		fprintf(out, "%s%s  %s\n", i ? "\n" : "", pools[i].name ? pools[i].name : "?",
			rest);
		for (row = 0; row < l.nr_blocks; row += CTL_MAP_ROW) {
			end = row + CTL_MAP_ROW < l.nr_blocks ? row + CTL_MAP_ROW : l.nr_blocks;
			fprintf(out, "  0x%0*llx  ", l.addr_digits,
				(unsigned long long)(pools[i].base + row * pageblock_size));
			text_row(out, blocks, row, end, colour);
		}
		text_legend(out, &l, pageblock_size, colour);
	}
}

/* ---- SVG ---- */

#define SVG_CELL   12  /* pitch of the grid */
#define SVG_BOX	   10  /* side of a pageblock's rect */
#define SVG_LEFT   110 /* room for the addresses */
#define SVG_PAD	   10
#define SVG_TITLE  22 /* a pool's title line */
#define SVG_LEGEND 16 /* a legend line */
#define SVG_WIDTH  (SVG_LEFT + CTL_MAP_ROW * SVG_CELL + SVG_PAD)

/* @s as XML character data or attribute text. */
static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			/* control characters are not allowed in XML 1.0 */
			fputc((unsigned char)*s < 0x20 ? '?' : *s, out);
		}
	}
}

static unsigned int legend_lines(const struct pool_layout *l)
{
	return CMA_NR_STATES + (l->counts[UNKNOWN] ? 1 : 0);
}

static unsigned int svg_pool_height(const struct pool_layout *l)
{
	size_t rows = (l->nr_blocks + CTL_MAP_ROW - 1) / CTL_MAP_ROW;

	return SVG_TITLE + rows * SVG_CELL + SVG_PAD / 2 + legend_lines(l) * SVG_LEGEND + SVG_PAD;
}

static void svg_grid(FILE *out, const struct ctl_cma_map *p, const struct pool_layout *l,
		     uint64_t pageblock_size, unsigned int y)
{
	const char *blocks = p->blocks ? p->blocks : "";
	unsigned int s, x, row_y;
	uint64_t gpa;
	size_t i;

	for (i = 0; i < l->nr_blocks; i++) {
		gpa = p->base + i * pageblock_size;
		x = SVG_LEFT + i % CTL_MAP_ROW * SVG_CELL;
		row_y = y + i / CTL_MAP_ROW * SVG_CELL;
		if (!(i % CTL_MAP_ROW))
			fprintf(out,
				"<text x=\"%d\" y=\"%u\" text-anchor=\"end\" fill=\"#555555\">"
				"0x%0*llx</text>\n",
				SVG_LEFT - 8, row_y + SVG_BOX, l->addr_digits,
				(unsigned long long)gpa);
		s = state_of(blocks[i]);
		fprintf(out,
			"<rect x=\"%u\" y=\"%u\" width=\"%d\" height=\"%d\" fill=\"%s\">"
			"<title>0x%llx %c %s</title></rect>\n",
			x, row_y, SVG_BOX, SVG_BOX, colours[s].rgb, (unsigned long long)gpa,
			letter_of(s), name_of(s));
	}
}

static void svg_legend(FILE *out, const struct pool_layout *l, uint64_t pageblock_size,
		       unsigned int y)
{
	char bytes[32];
	unsigned int s;

	for (s = 0; s < legend_lines(l); s++, y += SVG_LEGEND) {
		fprintf(out,
			"<rect x=\"%d\" y=\"%u\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%u\">%c %s: %zu pageblock%s, %s</text>\n",
			SVG_LEFT, y, SVG_BOX, SVG_BOX, colours[s].rgb, SVG_LEFT + SVG_CELL + 4,
			y + SVG_BOX, letter_of(s), name_of(s), l->counts[s],
			l->counts[s] == 1 ? "" : "s",
			size_str(l->counts[s] * pageblock_size, bytes));
	}
}

int ctl_map_svg(FILE *out, const struct ctl_cma_map *pools, unsigned int n, uint64_t pageblock_size)
{
	struct pool_layout l;
	unsigned int i, y, height = SVG_PAD;
	size_t rows;
	char rest[160];

	for (i = 0; i < n; i++) {
		layout(&pools[i], pageblock_size, &l);
		height += svg_pool_height(&l);
	}
	if (!n)
		height += SVG_TITLE;
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
		"viewBox=\"0 0 %d %u\" font-family=\"monospace\" font-size=\"12\">\n"
		"<title>cmavm: CMA pageblock map</title>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
		SVG_WIDTH, height, SVG_WIDTH, height);
	if (!n)
		fprintf(out, "<text x=\"%d\" y=\"%d\">no CMA pools</text>\n", SVG_PAD,
			SVG_PAD + SVG_TITLE / 2);
	for (i = 0, y = SVG_PAD; i < n; i++) {
		layout(&pools[i], pageblock_size, &l);
		rows = (l.nr_blocks + CTL_MAP_ROW - 1) / CTL_MAP_ROW;
		title_rest(rest, sizeof(rest), &pools[i], &l, pageblock_size, ", ");
		fprintf(out, "<g>\n<text x=\"%d\" y=\"%u\" font-weight=\"bold\">", SVG_PAD,
			y + SVG_TITLE - 8);
		xml_text(out, pools[i].name ? pools[i].name : "?");
		fprintf(out, ": %s</text>\n", rest);
		svg_grid(out, &pools[i], &l, pageblock_size, y + SVG_TITLE);
		svg_legend(out, &l, pageblock_size, y + SVG_TITLE + rows * SVG_CELL + SVG_PAD / 2);
		fputs("</g>\n", out);
		y += svg_pool_height(&l);
	}
	fputs("</svg>\n", out);
	return ferror(out) ? -1 : 0;
}
