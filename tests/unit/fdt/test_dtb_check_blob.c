// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdt/dtb_check_blob.c: blobs that are not DTBs, lie in their header or
 * leave strings unterminated must be refused or read within bounds, and
 * compatible matches the way of_fdt_is_compatible() does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "tests/unit/fdt/dtb_check_fixture.h"

/* ---- robustness: none of these may crash ---- */

static void test_zero_length(void **state)
{
	assert_int_equal(dtb_check(b.blob, 0, NULL, &rep), -1);
	assert_mentions(rep.error, "0 bytes");
	assert_int_equal(dtb_check(NULL, 100, NULL, &rep), -1);
}

static void test_truncated_blob(void **state)
{
	size_t size = dtb_builder_finish(&b);

	assert_int_equal(dtb_check(b.blob, size - 10, NULL, &rep), -1);
	assert_mentions(rep.error, "truncated");
	assert_int_equal(dtb_check(b.blob, 20, NULL, &rep), -1);
}

static void test_garbage(void **state)
{
	uint8_t junk[4096];

	srand(1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	assert_int_equal(dtb_check(junk, sizeof(junk), NULL, &rep), -1);
	assert_mentions(rep.error, "not a DTB");
	/* right magic, garbage after it */
	memcpy(junk, &(fdt32_t){ cpu_to_fdt32(FDT_MAGIC) }, 4);
	memcpy(junk + 4, &(fdt32_t){ cpu_to_fdt32(sizeof(junk)) }, 4);
	assert_int_equal(dtb_check(junk, sizeof(junk), NULL, &rep), -1);
	assert_true(rep.error[0]);
}

static void test_header_lies(void **state)
{
	size_t size = dtb_builder_finish(&b);

	fdt_set_totalsize(b.blob, (uint32_t)size + 100000);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	assert_mentions(rep.error, "header says");
	fdt_set_totalsize(b.blob, 8);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	fdt_set_totalsize(b.blob, (uint32_t)size);
	fdt_set_off_dt_struct(b.blob, 0x7ffffff0);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
	assert_mentions(rep.error, "malformed");
}

static void test_unterminated_strings(void **state)
{
	add(&cma_default);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "compatible", "shared-dma-pool", 15);
	dtb_builder_setprop(&b, "/reserved-memory/linux,cma", "status", "okay", 4);
	dtb_builder_setprop(&b, "/memory@40000000", "device_type", "memory", 6);
	dtb_builder_setprop(&b, "/chosen", "bootargs", "cma=1M", 6);
	check();
	assert_int_equal(rep.nr_ram, 0);
	assert_verdict("linux,cma", DTB_DISABLED);
	/* strscpy() with the property's length keeps one byte less: "cma=1" */
	assert_int_equal(rep.cma.size, 1);
}

/* Versions before 16 lack fields libfdt's full check reads: refused, never read. */
static void test_old_versions_refused(void **state)
{
	size_t size = dtb_builder_finish(&b);

	for (uint32_t v = 1; v < 16; v++) {
		fdt_set_version(b.blob, v);
		assert_int_equal(dtb_check(b.blob, size, NULL, &rep), -1);
		assert_mentions(rep.error, "format version");
		assert_mentions(rep.error, "dtc -I dtb -O dtb");
	}
	fdt_set_version(b.blob, 17);
	assert_int_equal(dtb_check(b.blob, size, NULL, &rep), 0);
}

/* ---- property reads ---- */

static void test_compatible_is_case_blind(void **state)
{
	add(&(struct test_pool){ .name = "p",
				 .base = 0x80000000,
				 .size = 4 * SZ_1M,
				 .reusable = true,
				 .compatible = "Shared-DMA-Pool" });
	check();
	assert_verdict("p", DTB_CMA_POOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_zero_length),
		T(test_truncated_blob),
		T(test_garbage),
		T(test_header_lies),
		T(test_unterminated_strings),
		T(test_compatible_is_case_blind),
		T(test_old_versions_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
