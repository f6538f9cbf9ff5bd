// SPDX-License-Identifier: GPL-2.0-only
#include "tests/unit/fdt/dtb_check_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct dtb_builder b;
struct dtb_report rep;
struct guest_kernel guest;

/* Standard guest: 4 GiB of RAM at 1 GiB, so ZONE_DMA ends at 4 GiB. */
int setup(void **state)
{
	dtb_builder_standard(&b, 4 * SZ_1G);
	guest = GUEST_KERNEL_DEFAULT;
	return 0;
}

void use_guest(enum guest_series series, uint64_t page_size)
{
	guest = (struct guest_kernel){ series, page_size };
}

void add(const struct test_pool *pool)
{
	dtb_builder_add_pool(&b, pool);
}

void add_cma_pools(int n, bool descending)
{
	for (int k = 0; k < n; k++) {
		int i = descending ? n - 1 - k : k;
		char name[32];

		snprintf(name, sizeof(name), "pool@%x", 0x80000000 + i * 0x400000);
		add(&(struct test_pool){ .name = name,
					 .base = 0x80000000 + i * 0x400000ULL,
					 .size = 4 * SZ_1M,
					 .reusable = true });
	}
}

void check_with(const char *cmdline)
{
	size_t size = dtb_builder_finish(&b);

	if (dtb_check_guest(b.blob, size, cmdline, &guest, &rep))
		fail_msg("dtb_check_guest failed: %s", rep.error);
	assert_int_equal(rep.guest.series, guest.series);
}

void check(void)
{
	check_with(NULL);
}

const struct dtb_entry *entry(const char *name)
{
	char path[DTB_PATH_MAX];

	snprintf(path, sizeof(path), "/reserved-memory/%s", name);
	for (size_t i = 0; i < rep.nr_entries; i++)
		if (!strcmp(rep.entries[i].path, path))
			return &rep.entries[i];
	fail_msg("no entry %s in the report", path);
	return NULL;
}

void assert_mentions(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("\"%s\" does not mention \"%s\"", text, what);
}

void assert_rejected(const char *name, enum dtb_rule rule, const char *what)
{
	const struct dtb_entry *e = entry(name);

	assert_int_equal(e->verdict, DTB_REJECTED);
	assert_int_equal(e->rule, rule);
	assert_mentions(e->reason, what);
	assert_true(dtb_report_rejects(&rep));
}

void assert_verdict(const char *name, enum dtb_verdict verdict)
{
	const struct dtb_entry *e = entry(name);

	if (e->verdict != verdict)
		fail_msg("%s: %s, not %s: %s", e->path, dtb_verdict_str(e->verdict),
			 dtb_verdict_str(verdict), e->reason);
}

bool has_line(enum dtb_line_kind kind, const char *what)
{
	for (size_t i = 0; i < rep.nr_lines; i++)
		if (rep.lines[i].kind == kind && strstr(rep.lines[i].text, what))
			return true;
	return false;
}

const struct test_pool cma_default = {
	.name = "linux,cma",
	.base = 0x80000000,
	.size = 64 * SZ_1M,
	.reusable = true,
	.cma_default = true,
};
