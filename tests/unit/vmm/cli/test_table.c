// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table printer and the cell formats (vmm/cli/table.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "vmm/cli/table.h"

/* What table_print() printed, as a malloc()ed string. */
static char *printed(struct table *t)
{
	struct memout out;

	table_print(t, memout_open(&out));
	return memout_text(&out);
}

#define assert_printed(t, want)                                                                    \
	do {                                                                                       \
		char *got_ = printed(t);                                                           \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_columns_as_wide_as_their_widest_cell(void **state)
{
	struct table t = { 0 };

	table_row(&t, "name", "type", "irq", NULL);
	table_row(&t, "virtio-balloon0", "balloon", "18", NULL);
	table_row(&t, "x", "rng", "7", NULL);
	assert_printed(&t, "name             type     irq\n"
			   "virtio-balloon0  balloon  18\n"
			   "x                rng      7\n");
}

static void test_columns_count_characters_not_bytes(void **state)
{
	struct table t = { 0 };

	/* "µ" is two bytes, one column: the next column starts where it should */
	table_row(&t, "pause", "stalls", NULL);
	table_row(&t, "85.3 µs", "3", NULL);
	table_row(&t, "12.50 ms", "0", NULL);
	assert_printed(&t, "pause     stalls\n"
			   "85.3 µs   3\n"
			   "12.50 ms  0\n");
}

static void test_no_blanks_after_the_last_cell(void **state)
{
	struct table t = { 0 };

	/* a short row ends at its own last cell, however wide the column below */
	table_row(&t, "a", "b", NULL);
	table_row(&t, "a", "much wider", "c", NULL);
	table_row(&t, "key", "", NULL);
	assert_printed(&t, "a    b\n"
			   "a    much wider  c\n"
			   "key  \n");
}

static void test_a_row_without_cells_is_an_empty_line(void **state)
{
	struct table t = { 0 };

	table_row(&t, "one", NULL);
	table_row(&t, NULL);
	table_row(&t, "two", NULL);
	assert_printed(&t, "one\n\ntwo\n");
}

static void test_empty_table_prints_nothing_and_printing_empties_it(void **state)
{
	struct table t = { 0 };

	assert_printed(&t, "");
	table_row(&t, "once", NULL);
	assert_printed(&t, "once\n");
	assert_int_equal(t.rows, 0);
	assert_printed(&t, "");
	table_row(&t, "again", NULL);
	assert_printed(&t, "again\n");
}

static void test_rows_past_the_limit_are_dropped(void **state)
{
	struct table t = { 0 };
	char *text;
	unsigned int i, lines = 0;

	for (i = 0; i < TABLE_ROWS + 5; i++)
		table_row(&t, "row", NULL);
	text = printed(&t);
	for (i = 0; text[i]; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, TABLE_ROWS);
	free(text);
}

static void test_cells_past_the_limit_are_dropped(void **state)
{
	struct table t = { 0 };

	table_row(&t, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", NULL);
	assert_printed(&t, "0  1  2  3  4  5  6  7  8  9\n");
}

static void test_row_of_an_array(void **state)
{
	static const char *const header[] = { "pool", "size", NULL };
	struct table t = { 0 };

	table_row_of(&t, header);
	table_row(&t, "linux,cma", "64 MiB", NULL);
	assert_printed(&t, "pool       size\n"
			   "linux,cma  64 MiB\n");
}

static void test_the_table_keeps_copies(void **state)
{
	struct table t = { 0 };
	struct cell c;

	/* one cell serves row after row */
	table_row(&t, "a", cell_u64(&c, 1), NULL);
	table_row(&t, "b", cell_u64(&c, 22), NULL);
	assert_printed(&t, "a  1\n"
			   "b  22\n");
}

static void test_cell_numbers_and_addresses(void **state)
{
	struct cell c;

	assert_string_equal(cell_u64(&c, 0), "0");
	assert_string_equal(cell_u64(&c, UINT64_MAX), "18446744073709551615");
	assert_string_equal(cell_addr(&c, 0), "0x00000000");
	assert_string_equal(cell_addr(&c, 0x9c000000), "0x9c000000");
	assert_string_equal(cell_addr(&c, 0x100000000ULL), "0x100000000");
}

static void test_cell_sizes(void **state)
{
	struct cell c;

	assert_string_equal(cell_size(&c, 0), "0 bytes");
	assert_string_equal(cell_size(&c, 4097), "4097 bytes");
	assert_string_equal(cell_size(&c, 48 << 10), "48 KiB");
	assert_string_equal(cell_size(&c, 64ULL << 20), "64 MiB");
	assert_string_equal(cell_size(&c, 1ULL << 30), "1 GiB");
}

static void test_cell_durations(void **state)
{
	struct cell c;

	assert_string_equal(cell_duration(&c, 0), "0 s");
	assert_string_equal(cell_duration(&c, 59), "59 s");
	assert_string_equal(cell_duration(&c, 60), "1m 00s");
	assert_string_equal(cell_duration(&c, 65), "1m 05s");
	assert_string_equal(cell_duration(&c, 3599), "59m 59s");
	assert_string_equal(cell_duration(&c, 3600), "1h 00m 00s");
	assert_string_equal(cell_duration(&c, 3725), "1h 02m 05s");
	assert_string_equal(cell_duration(&c, 100 * 3600 + 61), "100h 01m 01s");
}

static void test_cell_nanoseconds(void **state)
{
	struct cell c;

	assert_string_equal(cell_ns(&c, 0), "0.0 µs");
	assert_string_equal(cell_ns(&c, 85312), "85.3 µs");
	assert_string_equal(cell_ns(&c, 999999), "1000.0 µs");
	assert_string_equal(cell_ns(&c, 1000000), "1.00 ms");
	assert_string_equal(cell_ns(&c, 12500000), "12.50 ms");
	assert_string_equal(cell_ns(&c, 999999999), "1000.00 ms");
	assert_string_equal(cell_ns(&c, 1000000000), "1.00 s");
	assert_string_equal(cell_ns(&c, 1200000000), "1.20 s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_as_wide_as_their_widest_cell),
		cmocka_unit_test(test_columns_count_characters_not_bytes),
		cmocka_unit_test(test_no_blanks_after_the_last_cell),
		cmocka_unit_test(test_a_row_without_cells_is_an_empty_line),
		cmocka_unit_test(test_empty_table_prints_nothing_and_printing_empties_it),
		cmocka_unit_test(test_rows_past_the_limit_are_dropped),
		cmocka_unit_test(test_cells_past_the_limit_are_dropped),
		cmocka_unit_test(test_row_of_an_array),
		cmocka_unit_test(test_the_table_keeps_copies),
		cmocka_unit_test(test_cell_numbers_and_addresses),
		cmocka_unit_test(test_cell_sizes),
		cmocka_unit_test(test_cell_durations),
		cmocka_unit_test(test_cell_nanoseconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
