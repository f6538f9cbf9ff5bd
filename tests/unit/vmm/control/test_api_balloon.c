// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/balloon (vmm/control/api/balloon.c): its state, a new target or
 * statistics interval with every refusal, a VM without a balloon, and the
 * guest's statistics; a fake VM behind struct ctl_ops (fake_vm.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"

static void test_balloon_get(void **state)
{
	struct answer a = get("/v1/balloon");

	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "target_bytes"), 0);
	assert_int_equal(int_at(a.json, "actual_bytes"), 0);
	assert_true(json_is_true(json_object_get(a.json, "deflate_on_oom")));
	assert_true(json_is_false(json_object_get(a.json, "free_page_reporting")));
	assert_int_equal(int_at(a.json, "stats_interval_s"), 5);
	done(&a);
}

static void test_balloon_set(void **state)
{
	struct answer a = put("/v1/balloon", "{\"target_mib\": 64}");

	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "target_bytes"), 64 << 20);
	done(&a);
	a = put("/v1/balloon", "{\"target_bytes\": 8192, \"stats_interval_s\": 0}");
	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "target_bytes"), 8192);
	assert_int_equal(int_at(a.json, "stats_interval_s"), 0);
	done(&a);
	a = put("/v1/balloon", "{\"stats_interval_s\": 10}");
	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "target_bytes"), 8192); /* unchanged */
	done(&a);
}

static void test_balloon_bad_fields(void **state)
{
	expect_error(put("/v1/balloon", "{\"target_bytes\": -4096}"), 400,
		     "target_bytes must be a non-negative integer, not -4096");
	expect_error(put("/v1/balloon", "{\"target_mib\": 1.5}"), 400,
		     "target_mib must be a non-negative integer, not 1.5");
	expect_error(put("/v1/balloon", "{\"target_mib\": \"128M\"}"), 400,
		     "non-negative integer, not \"128M\"");
	expect_error(put("/v1/balloon", "{\"target_mib\": 64, \"size\": 1}"), 400,
		     "unknown field 'size'");
	expect_error(put("/v1/balloon", "{\"target_mib\": 64, \"target_bytes\": 4096}"), 400,
		     "not both");
	expect_error(put("/v1/balloon", "{}"), 400, "nothing to change");
	expect_error(put("/v1/balloon", "[64]"), 400, "needs a JSON object");
	expect_error(put("/v1/balloon", NULL), 400, "needs a JSON body");
	expect_error(put("/v1/balloon", "{\"target_bytes\": 1000}"), 400,
		     "not a multiple of the balloon's 4 KiB page; use 4 KiB");
	expect_error(put("/v1/balloon", "{\"target_mib\": 8796093022208}"), 400,
		     "more than the largest allowed");
	expect_error(put("/v1/balloon", "{\"target_mib\": 1, \"target_mib\": 2}"), 400,
		     "duplicate object key");
	assert_int_equal(vm.balloon_sets, 0);
}

static void test_balloon_above_ram(void **state)
{
	expect_error(put("/v1/balloon", "{\"target_mib\": 1024}"), 400,
		     "a balloon target of 1 GiB is more than the guest's 512 MiB of RAM");
}

static void test_no_balloon(void **state)
{
	vm.has_balloon = false;
	expect_error(get("/v1/balloon"), 404, "no balloon device");
	expect_error(put("/v1/balloon", "{\"target_mib\": 64}"), 404, "no balloon device");
	expect_error(get("/v1/balloon/statistics"), 404, "no balloon device");
}

static void test_balloon_stats(void **state)
{
	struct answer a;

	expect_error(get("/v1/balloon/statistics"), 409, "not reported");
	vm.balloon.stats_interval_s = 0;
	expect_error(get("/v1/balloon/statistics"), 409, "statistics are off");
	vm.stats_reported = true;
	a = get("/v1/balloon/statistics");
	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "memfree"), 300 << 20);
	assert_int_equal(int_at(a.json, "memtot"), 480 << 20);
	assert_int_equal(int_at(a.json, "majflt"), 12);
	assert_null(json_object_get(a.json, "swap_in")); /* not reported */
	assert_true(int_at(a.json, "updated_s_ago") >= 3);
	assert_int_equal(json_object_size(a.json), 4);
	done(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_balloon_get),	   API_TEST(test_balloon_set),
		API_TEST(test_balloon_bad_fields), API_TEST(test_balloon_above_ram),
		API_TEST(test_no_balloon),	   API_TEST(test_balloon_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
