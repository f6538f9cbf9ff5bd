/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The aligned tables `cmavm ctl` prints, and the text of their cells.
 *
 * Owns: the layout (every column as wide as its widest cell, two blanks
 * between columns, none after a row's last cell) and how each kind of
 * value reads in a cell: counts, addresses ("0x9c000000"), sizes
 * ("64 MiB"), durations ("1h 02m 05s") and nanoseconds ("85.3 µs"), so
 * that every view writes the same value the same way.
 */
#ifndef VMM_CLI_TABLE_H
#define VMM_CLI_TABLE_H

#include <stdint.h>
#include <stdio.h>

#define TABLE_ROWS 64 /* rows past this are dropped */
#define TABLE_COLS 10 /* cells past this are dropped */

struct table {
	unsigned int rows;
	char *cell[TABLE_ROWS][TABLE_COLS]; /* copies, freed by table_print() */
};

/* Add a row of the cells given, up to a NULL. */
void table_row(struct table *t, ...) __attribute__((sentinel));

/* Add a row of the cells in @cells, up to a NULL. */
void table_row_of(struct table *t, const char *const *cells);

/* Print the rows to @out and free them; the table is empty again. */
void table_print(struct table *t, FILE *out);

/*
 * Room for one cell's text. The cell_ functions write a value into one
 * and return its text, to pass to table_row() at once: the table keeps a
 * copy, so one struct cell serves a row after row.
 */
#define CELL_LEN 96

struct cell {
	char text[CELL_LEN];
};

/* "12" */
const char *cell_u64(struct cell *c, uint64_t n);
/* "0x9c000000": at least eight hex digits, as guest-physical addresses are shown */
const char *cell_addr(struct cell *c, uint64_t gpa);
/* "64 MiB", "4097 bytes": exact (cma/size.h) */
const char *cell_size(struct cell *c, uint64_t bytes);
/* "1h 02m 05s", "1m 05s", "7 s" */
const char *cell_duration(struct cell *c, uint64_t seconds);
/* "85.3 µs", "12.50 ms", "1.20 s" */
const char *cell_ns(struct cell *c, uint64_t ns);

#endif
