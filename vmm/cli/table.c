// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table printer and the cell formats of vmm/cli/table.h.
 */
#include "vmm/cli/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/util/strbuf.h"

void table_row_of(struct table *t, const char *const *cells)
{
	unsigned int col;

	if (t->rows == TABLE_ROWS)
		return;
	for (col = 0; col < TABLE_COLS && cells[col]; col++)
		t->cell[t->rows][col] = strdup(cells[col]);
	t->rows++;
}

void table_row(struct table *t, ...)
{
	const char *cells[TABLE_COLS + 1];
	unsigned int n = 0;
	va_list ap;

	va_start(ap, t);
	while (n < TABLE_COLS && (cells[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	cells[n] = NULL;
	table_row_of(t, cells);
}

static unsigned int row_cells(const struct table *t, unsigned int row)
{
	unsigned int n = 0;

	while (n < TABLE_COLS && t->cell[row][n])
		n++;
	return n;
}

/*
 * The columns @text takes on a terminal: its UTF-8 characters, not its
 * bytes ("µs" is two columns, three bytes). Every character a view writes
 * is one column wide.
 */
static size_t text_width(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += ((unsigned char)*text & 0xc0) != 0x80; /* not a continuation byte */
	return n;
}

static void column_widths(const struct table *t, size_t width[TABLE_COLS])
{
	unsigned int row, col;

	for (row = 0; row < t->rows; row++)
		for (col = 0; col < row_cells(t, row); col++)
			if (text_width(t->cell[row][col]) > width[col])
				width[col] = text_width(t->cell[row][col]);
}

/* @text, then blanks up to @width columns and the two between columns */
static void print_padded(FILE *out, const char *text, size_t width)
{
	fputs(text, out);
	fprintf(out, "%*s", (int)(width - text_width(text) + 2), "");
}

void table_print(struct table *t, FILE *out)
{
	size_t width[TABLE_COLS] = { 0 };
	unsigned int row, col, n;

	column_widths(t, width);
	for (row = 0; row < t->rows; row++) {
		n = row_cells(t, row);
		for (col = 0; col < n; col++) {
			/* the last cell unpadded: no trailing blanks */
			if (col + 1 == n)
				fputs(t->cell[row][col], out);
			else
				print_padded(out, t->cell[row][col], width[col]);
			free(t->cell[row][col]);
			t->cell[row][col] = NULL;
		}
		fputc('\n', out);
	}
	t->rows = 0;
}

/* ---- cells ---- */

static const char *cell_printf(struct cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *cell_printf(struct cell *c, const char *fmt, ...)
{
	va_list ap;

	c->text[0] = '\0';
	va_start(ap, fmt);
	str_vappendf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
	return c->text;
}

const char *cell_u64(struct cell *c, uint64_t n)
{
	return cell_printf(c, "%llu", (unsigned long long)n);
}

const char *cell_addr(struct cell *c, uint64_t gpa)
{
	return cell_printf(c, "0x%08llx", (unsigned long long)gpa);
}

const char *cell_size(struct cell *c, uint64_t bytes)
{
	return size_str(bytes, c->text);
}

const char *cell_duration(struct cell *c, uint64_t seconds)
{
	unsigned long long s = seconds;

	if (s >= 3600)
		return cell_printf(c, "%lluh %02llum %02llus", s / 3600, s / 60 % 60, s % 60);
	if (s >= 60)
		return cell_printf(c, "%llum %02llus", s / 60, s % 60);
	return cell_printf(c, "%llu s", s);
}

const char *cell_ns(struct cell *c, uint64_t ns)
{
	if (ns < 1000000)
		return cell_printf(c, "%.1f µs", ns / 1e3);
	if (ns < 1000000000)
		return cell_printf(c, "%.2f ms", ns / 1e6);
	return cell_printf(c, "%.2f s", ns / 1e9);
}
