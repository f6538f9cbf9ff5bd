// SPDX-License-Identifier: GPL-2.0-only
/* Pool flags: --cma and --dma-pool (cma/pool.h), and their ,window=LEVEL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cma/engine.h"
#include "cma/pool.h"
#include "cma/size.h"

static char err[256];

static void test_default(void **state)
{
	struct pool_spec p;

	assert_int_equal(pool_parse_default("64M", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "linux,cma");
	assert_int_equal(p.size, 64 * SZ_1M);
	assert_int_equal(p.fixed_base, 0);
	assert_true(p.is_default);
	assert_int_equal(p.kind, POOL_CMA);
	assert_string_equal(p.flag, "--cma 64M");

	assert_int_equal(pool_parse_default("32M@0x90000000", &p, err, sizeof(err)), 0);
	assert_int_equal(p.fixed_base, 0x90000000);

	assert_int_equal(pool_parse_default("0", &p, err, sizeof(err)), 1);
	assert_int_equal(pool_parse_default("0@0x90000000", &p, err, sizeof(err)), -1);
	assert_int_equal(pool_parse_default("64X", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown unit"));
	assert_int_equal(pool_parse_default("64M@", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "address"));
}

static void test_named(void **state)
{
	struct pool_spec p;

	assert_int_equal(pool_parse_named("gpu:32M", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "gpu");
	assert_int_equal(p.size, 32 * SZ_1M);
	assert_int_equal(p.kind, POOL_CMA);
	assert_false(p.is_default);
	assert_string_equal(p.flag, "--dma-pool gpu:32M");

	assert_int_equal(pool_parse_named("fw:4M:no-map", &p, err, sizeof(err)), 0);
	assert_int_equal(p.kind, POOL_COHERENT);
	assert_int_equal(pool_parse_named("blk_0:8M@0x88000000:reusable", &p, err, sizeof(err)), 0);
	assert_int_equal(p.kind, POOL_CMA);
	assert_int_equal(p.fixed_base, 0x88000000);
}

static void test_named_rejects(void **state)
{
	struct pool_spec p;

	assert_int_equal(pool_parse_named("gpu", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no size"));
	assert_int_equal(pool_parse_named(":16M", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing pool name"));
	assert_int_equal(pool_parse_named("GPU:16M", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "lower-case"));
	assert_int_equal(pool_parse_named("g/pu:16M", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'/'"));
	assert_int_equal(pool_parse_named("gpu:0", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "size 0"));
	assert_int_equal(pool_parse_named("gpu:16M:nomap", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown pool kind 'nomap'"));
	assert_int_equal(pool_parse_named("averyveryveryverylongpoolnamethatgoesonandon:16M", &p,
					  err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "longer than"));
}

/* ,window=LEVEL: a boot window over the whole pool, at the engine's level. */
static void test_window_suffix(void **state)
{
	struct pool_spec p;

	assert_int_equal(pool_parse_default("64M", &p, err, sizeof(err)), 0);
	assert_false(p.window);
	assert_int_equal(pool_parse_named("gpu:32M:no-map", &p, err, sizeof(err)), 0);
	assert_false(p.window);

	assert_int_equal(pool_parse_default("256M,window=huge", &p, err, sizeof(err)), 0);
	assert_int_equal(p.size, 256 * SZ_1M);
	assert_true(p.window);
	assert_int_equal(p.window_level, CMA_HUGE);
	assert_true(p.is_default);
	assert_string_equal(p.flag, "--cma 256M,window=huge");

	assert_int_equal(pool_parse_default("32M@0x90000000,window=resident", &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.fixed_base, 0x90000000);
	assert_int_equal(p.window_level, CMA_RESIDENT);

	assert_int_equal(pool_parse_named("gpu:32M,window=contiguous", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "gpu");
	assert_int_equal(p.size, 32 * SZ_1M);
	assert_int_equal(p.kind, POOL_CMA);
	assert_true(p.window);
	assert_int_equal(p.window_level, CMA_CONTIGUOUS);
	assert_string_equal(p.flag, "--dma-pool gpu:32M,window=contiguous");

	assert_int_equal(pool_parse_named("fw:4M:no-map,window=huge", &p, err, sizeof(err)), 0);
	assert_int_equal(p.kind, POOL_COHERENT);
	assert_int_equal(p.window_level, CMA_HUGE);
	assert_int_equal(pool_parse_named("blk_0:8M@0x88000000:reusable,window=resident", &p, err,
					  sizeof(err)),
			 0);
	assert_int_equal(p.kind, POOL_CMA);
	assert_int_equal(p.fixed_base, 0x88000000);
	assert_int_equal(p.window_level, CMA_RESIDENT);
}

static void expect_error(int ret, const char *says)
{
	assert_int_equal(ret, -1);
	if (!strstr(err, says))
		fail_msg("error \"%s\" does not say \"%s\"", err, says);
}

static void test_window_suffix_rejects(void **state)
{
	struct pool_spec p;

	expect_error(pool_parse_default("64M,window=hug", &p, err, sizeof(err)),
		     "unknown window level 'hug'; use resident, huge or contiguous");
	expect_error(pool_parse_default("64M,window=", &p, err, sizeof(err)),
		     "unknown window level ''; use resident, huge or contiguous");
	expect_error(pool_parse_named("gpu:16M,window=Huge", &p, err, sizeof(err)),
		     "unknown window level 'Huge'");
	expect_error(pool_parse_default("64M,windows=huge", &p, err, sizeof(err)),
		     "unknown option 'windows=huge'; a pool takes window=LEVEL (resident, huge or "
		     "contiguous)");
	expect_error(pool_parse_default("64M,", &p, err, sizeof(err)), "unknown option ''");
	expect_error(pool_parse_named("gpu:16M,window=huge,window=resident", &p, err, sizeof(err)),
		     "window= is given twice; give one level");
	expect_error(pool_parse_default("0,window=huge", &p, err, sizeof(err)),
		     "a pool of size 0 has no memory for a window; give --cma a size, or drop "
		     ",window=");
	expect_error(pool_parse_named("gpu:16M,window=huge:no-map", &p, err, sizeof(err)),
		     "',window=huge:no-map': the option comes last, after the pool's kind (e.g. "
		     "gpu:16M:no-map,window=huge)");
	/* the rest of the flag is checked as before */
	expect_error(pool_parse_default("64X,window=huge", &p, err, sizeof(err)), "unknown unit");
	expect_error(pool_parse_named("gpu:16M:nomap,window=huge", &p, err, sizeof(err)),
		     "unknown pool kind 'nomap'");
	expect_error(pool_parse_named("gpu,window=huge", &p, err, sizeof(err)), "no size");
	expect_error(pool_parse_named("gpu:0,window=huge", &p, err, sizeof(err)), "size 0");
}

/* A number without a unit is bytes: too few for a pool, so the M was meant. */
static void test_a_bare_number_asks_did_you_mean(void **state)
{
	struct pool_spec p;

	assert_int_equal(pool_parse_named("gpu:16", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "size 16 has no unit, so it is 16 bytes, not whole 2 MiB "
				 "pageblocks; did you mean 16M?");
	assert_int_equal(pool_parse_default("64,window=huge", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "size 64 has no unit, so it is 64 bytes, not whole 2 MiB "
				 "pageblocks; did you mean 64M?");
	/* bytes that are whole pageblocks were meant as bytes */
	assert_int_equal(pool_parse_named("gpu:33554432", &p, err, sizeof(err)), 0);
	assert_int_equal(p.size, 32 * SZ_1M);
	assert_int_equal(pool_parse_default("0", &p, err, sizeof(err)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_bare_number_asks_did_you_mean),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_named_rejects),
		cmocka_unit_test(test_window_suffix),
		cmocka_unit_test(test_window_suffix_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
