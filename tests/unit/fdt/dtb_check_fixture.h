/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests of fdt/dtb_check*.c share: one test device tree, one
 * report, and the questions they ask of it.
 *
 * Owns: the standard guest every test starts from (setup(): 4 GiB of RAM
 * at 1 GiB, so ZONE_DMA ends at 4 GiB, and an empty /reserved-memory,
 * judged as the default guest kernel, Linux 6.12 with 4 KiB pages),
 * running the check on it, finding an entry by node name and asserting
 * its verdict, rule and words. Tests build the tree in @b, may change
 * @guest, and read @rep.
 */
#ifndef TESTS_DTB_CHECK_FIXTURE_H
#define TESTS_DTB_CHECK_FIXTURE_H

#include <stdbool.h>

#include "fdt/dtb_check.h"
#include "tests/unit/fdt/dtb_builder.h"

#define RAM_BASE 0x40000000ULL

extern struct dtb_builder b;	  /* the tree under test */
extern struct dtb_report rep;	  /* what the last check() found */
extern struct guest_kernel guest; /* whose rules check() applies */

/* linux,cma: 64 MiB at 0x80000000, reusable, linux,cma-default */
extern const struct test_pool cma_default;

/* The standard guest: a cmocka setup function. */
int setup(void **state);
#define T(fn) cmocka_unit_test_setup(fn, setup)

/* Add a /reserved-memory child. */
void add(const struct test_pool *pool);

/*
 * @n reusable CMA pools of 4 MiB, pool@80000000 and up, in DT order of
 * address, or with the highest address first when @descending.
 */
void add_cma_pools(int n, bool descending);

/* Judge by @series with @page_size pages from now on in this test. */
void use_guest(enum guest_series series, uint64_t page_size);

/* dtb_check_guest() the tree into @rep, which must succeed; @cmdline as --cmdline. */
void check_with(const char *cmdline);
void check(void);

/* The entry of /reserved-memory/@name; fails the test when there is none. */
const struct dtb_entry *entry(const char *name);

void assert_mentions(const char *text, const char *what);
void assert_rejected(const char *name, enum dtb_rule rule, const char *what);
void assert_verdict(const char *name, enum dtb_verdict verdict);

/* A line of @kind in @rep that mentions @what. */
bool has_line(enum dtb_line_kind kind, const char *what);

#endif
