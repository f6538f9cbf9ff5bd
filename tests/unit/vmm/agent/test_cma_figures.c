// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's CMA figures from /proc text (vmm/agent/cma_figures.h): the
 * real files of the guest image, files without CMA, and hostile text
 * (unterminated, overflowing, malformed lines, NUL bytes, repeated keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/vmm/agent/fake_qga.h"
#include "vmm/agent/cma_figures.h"

#define ALL_HAVE                                                                                   \
	(CMA_HAVE_TOTAL | CMA_HAVE_FREE | CMA_HAVE_NR_FREE | CMA_HAVE_ALLOC_SUCCESS |              \
	 CMA_HAVE_ALLOC_FAIL)

static struct cma_figures meminfo(const char *text)
{
	struct cma_figures f = { 0 };

	cma_figures_meminfo(&f, text, strlen(text));
	return f;
}

static struct cma_figures vmstat(const char *text)
{
	struct cma_figures f = { 0 };

	cma_figures_vmstat(&f, text, strlen(text), 4096);
	return f;
}

static void test_guest_files(void **state)
{
	struct cma_figures f = { 0 };

	(void)state;
	cma_figures_meminfo(&f, fake_meminfo, strlen(fake_meminfo));
	cma_figures_vmstat(&f, fake_vmstat, strlen(fake_vmstat), 4096);
	assert_int_equal(f.have, ALL_HAVE);
	assert_int_equal(f.total_bytes, 65536ull * 1024);
	assert_int_equal(f.free_bytes, 65152ull * 1024);
	assert_int_equal(f.nr_free_bytes, 16288ull * 4096);
	assert_int_equal(f.free_bytes, f.nr_free_bytes); /* the same counter, in kB and in pages */
	assert_int_equal(f.alloc_success, 3);
	assert_int_equal(f.alloc_fail, 0);
	assert_int_equal(cma_figures_used(&f), 384 * 1024);
}

static void test_page_size(void **state)
{
	struct cma_figures f = { 0 };

	(void)state;
	cma_figures_vmstat(&f, "nr_free_cma 3\n", 14, 16384);
	assert_int_equal(f.nr_free_bytes, 3 * 16384);
}

/* A kernel without CMA has none of the lines: nothing is made up. */
static void test_no_cma(void **state)
{
	struct cma_figures f = meminfo("MemTotal: 486660 kB\nMemFree: 444008 kB\n");

	(void)state;
	assert_int_equal(f.have, 0);
	assert_int_equal(cma_figures_used(&f), 0);
	f = vmstat("nr_free_pages 110974\npgfree 126143\n");
	assert_int_equal(f.have, 0);
}

/* Fields the text lacks keep what the caller had. */
static void test_fields_kept(void **state)
{
	struct cma_figures f = { .have = CMA_HAVE_ALLOC_FAIL, .alloc_fail = 7 };

	(void)state;
	cma_figures_vmstat(&f, "cma_alloc_success 2", 19, 4096);
	assert_int_equal(f.alloc_success, 2);
	assert_int_equal(f.alloc_fail, 7);
}

static void test_last_line_unterminated(void **state)
{
	struct cma_figures f = meminfo("CmaTotal: 8 kB\nCmaFree: 4 kB");

	(void)state;
	assert_int_equal(f.have, CMA_HAVE_TOTAL | CMA_HAVE_FREE);
	assert_int_equal(f.free_bytes, 4096);
}

/* The length given is all that is read: the text need not be terminated. */
static void test_length_respected(void **state)
{
	const char text[] = "CmaTotal: 8 kB\nCmaFree: 41 kB";
	struct cma_figures f = { 0 };

	(void)state;
	cma_figures_meminfo(&f, text, sizeof(text) - 2); /* "CmaFree: 41 k" */
	assert_int_equal(f.have, CMA_HAVE_TOTAL);
	memset(&f, 0, sizeof(f));
	cma_figures_meminfo(&f, text, 0);
	assert_int_equal(f.have, 0);
}

static void test_malformed_lines_ignored(void **state)
{
	static const char *const bad[] = {
		"CmaTotal: 8 MB\n",
		"CmaTotal: 8 kB \n",
		"CmaTotal: 8kB\n",
		"CmaTotal:  kB\n",
		"CmaTotal: -8 kB\n",
		"CmaTotal: +8 kB\n",
		"CmaTotal 8 kB\n",
		"CmaTotalX: 8 kB\n",
		" CmaTotal: 8 kB\n",
		"cmatotal: 8 kB\n",
		"CmaTotal: 0x8 kB\n",
		"CmaTotal: 99999999999999999999 kB\n", /* over 64 bits */
		"CmaTotal: 18014398509481984 kB\n",    /* 2^54 kB: over 64 bits in bytes */
		"CmaTotal: 8\0 kB\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(meminfo(bad[i]).have, 0);
	assert_int_equal(vmstat("nr_free_cma: 5\n").have, 0);
	assert_int_equal(vmstat("nr_free_cma 5 pages\n").have, 0);
	assert_int_equal(vmstat("nr_free_cma_x 5\n").have, 0);
	assert_int_equal(vmstat("nr_free_cma 4503599627370496\n").have,
			 0); /* 2^52 pages of 4 KiB */
	assert_int_equal(vmstat("cma_alloc_fail 18446744073709551615\n").alloc_fail, UINT64_MAX);
}

/* Spaces or tabs between key and number, as the kernel pads them. */
static void test_padding(void **state)
{
	(void)state;
	assert_int_equal(meminfo("CmaFree:\t\t 12 kB\n").free_bytes, 12 * 1024);
	assert_int_equal(meminfo("CmaFree:12 kB\n").free_bytes, 12 * 1024);
	assert_int_equal(vmstat("cma_alloc_success    9\n").alloc_success, 9);
}

static void test_first_of_repeated_key(void **state)
{
	struct cma_figures f = meminfo("CmaTotal: 8 kB\nCmaTotal: 16 kB\n");

	(void)state;
	assert_int_equal(f.total_bytes, 8 * 1024);
}

/* NUL bytes and lines without newlines do not stop the parse or confuse it. */
static void test_nul_bytes(void **state)
{
	const char text[] = "junk\0\0\nCmaTotal: 8 kB\n\0CmaFree: 1 kB\nCmaFree: 2 kB\n";
	struct cma_figures f = { 0 };

	(void)state;
	cma_figures_meminfo(&f, text, sizeof(text) - 1);
	assert_int_equal(f.have, CMA_HAVE_TOTAL | CMA_HAVE_FREE);
	assert_int_equal(f.free_bytes, 2 * 1024); /* the line behind a NUL is not CmaFree */
}

static void test_used(void **state)
{
	struct cma_figures f = meminfo("CmaTotal: 8 kB\nCmaFree: 9 kB\n");

	(void)state;
	assert_int_equal(cma_figures_used(&f), 0); /* free above total: no use is made up */
	f = meminfo("CmaTotal: 8 kB\n");
	assert_int_equal(cma_figures_used(&f), 0);
	f = meminfo("CmaTotal: 8 kB\nCmaFree: 3 kB\n");
	assert_int_equal(cma_figures_used(&f), 5 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_files),
		cmocka_unit_test(test_page_size),
		cmocka_unit_test(test_no_cma),
		cmocka_unit_test(test_fields_kept),
		cmocka_unit_test(test_last_line_unterminated),
		cmocka_unit_test(test_length_respected),
		cmocka_unit_test(test_malformed_lines_ignored),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_first_of_repeated_key),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
