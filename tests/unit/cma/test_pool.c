// SPDX-License-Identifier: GPL-2.0-only
/* Pool flags: --cma and --dma-pool (cma/pool.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_named_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
