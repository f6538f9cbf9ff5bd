// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --gpu` (vmm/cli/run_gpu.c): the mode, and the GPU memory
 * region's default size as the region places frames: a frame larger than
 * a page on pages of its own, smaller ones as many to a page as fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/machine/config.h"

static struct gpu_config gpu_flag(const char *arg)
{
	static struct vm_config cfg;
	char text[128];

	if (arg)
		snprintf(text, sizeof(text), "%s", arg);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(run_flag_gpu(&cfg, arg ? text : NULL), 0);
	return cfg.gpu;
}

static void test_defaults(void **state)
{
	struct gpu_config g = gpu_flag(NULL);

	assert_true(g.enabled);
	assert_int_equal(g.width, 1024);
	assert_int_equal(g.height, 768);
	assert_int_equal(g.backing, CMA_REGION_HUGE);
	/* 3 MiB frames on two 2 MiB pages each, four of them, and a page more */
	assert_int_equal(g.mem, 18 * SZ_1M);
}

static void test_small_frames_one_to_a_huge_page(void **state)
{
	/* 1200 KiB frames: one to a 2 MiB page, and a page for cursors */
	assert_int_equal(gpu_flag("640x480").mem, 10 * SZ_1M);
}

static void test_contiguous_frames_share_one_page(void **state)
{
	assert_int_equal(gpu_flag("1920x1080,backing=contiguous").mem, SZ_1G);
	/* four 256 MiB frames fill the page: cursors need a second */
	assert_int_equal(gpu_flag("8192x8192,backing=contiguous").mem, 2 * SZ_1G);
	/* mem= is whole pages of the backing */
	assert_int_equal(gpu_flag("1920x1080,mem=512M,backing=contiguous").mem, SZ_1G);
}

static void test_given_mem_rounds_to_pages(void **state)
{
	struct gpu_config g = gpu_flag("800x600,mem=9M,backing=memfd");

	assert_int_equal(g.width, 800);
	assert_int_equal(g.height, 600);
	assert_int_equal(g.backing, CMA_REGION_MEMFD);
	assert_int_equal(g.mem, 10 * SZ_1M);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_small_frames_one_to_a_huge_page),
		cmocka_unit_test(test_contiguous_frames_share_one_page),
		cmocka_unit_test(test_given_mem_rounds_to_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
