// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/guest/cma (vmm/control/api/guest.c): the guest agent's figures once
 * it has answered, nulls (never zeros) before, the reported-free bytes
 * either way, and a VM that cannot tell; a fake VM behind struct ctl_ops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "fake_vm.h"

static const char *const agent_fields[] = {
	"cma_total_bytes", "cma_free_bytes",  "nr_free_cma_bytes",     "alloc_success",
	"alloc_fail",	   "peak_used_bytes", "seconds_since_reading",
};

static void test_no_answer_yet_is_null_not_zero(void **state)
{
	struct answer a = get("/v1/guest/cma");

	assert_int_equal(a.status, 200);
	assert_true(json_is_false(json_object_get(a.json, "agent")));
	assert_string_equal(json_string_value(json_object_get(a.json, "agent_state")), "waiting");
	for (size_t i = 0; i < sizeof(agent_fields) / sizeof(agent_fields[0]); i++)
		assert_true(json_is_null(json_object_get(a.json, agent_fields[i])));
	assert_int_equal(int_at(a.json, "reported_free_bytes"), 4 << 20);
	assert_int_equal(int_at(a.json, "interval_s"), 5);
	done(&a);
}

static void test_agent_figures(void **state)
{
	struct answer a;

	vm.guest = (struct ctl_guest_cma){
		.agent = true,
		.agent_state = "answering",
		.interval_s = 5,
		.cma_total_bytes = 64 << 20,
		.cma_free_bytes = 40 << 20,
		.nr_free_cma_bytes = 40 << 20,
		.alloc_success = 12,
		.alloc_fail = 1,
		.peak_used_bytes = 30 << 20,
		.readings = 7,
		.agent_errors = 2,
		.reported_free_bytes = 32 << 20,
	};
	clock_gettime(CLOCK_MONOTONIC, &vm.guest.updated);
	vm.guest.updated.tv_sec -= 3;
	a = get("/v1/guest/cma");
	assert_int_equal(a.status, 200);
	assert_true(json_is_true(json_object_get(a.json, "agent")));
	assert_int_equal(int_at(a.json, "cma_total_bytes"), 64 << 20);
	assert_int_equal(int_at(a.json, "cma_free_bytes"), 40 << 20);
	assert_int_equal(int_at(a.json, "alloc_success"), 12);
	assert_int_equal(int_at(a.json, "alloc_fail"), 1);
	assert_int_equal(int_at(a.json, "peak_used_bytes"), 30 << 20);
	assert_int_equal(int_at(a.json, "readings"), 7);
	assert_int_equal(int_at(a.json, "agent_errors"), 2);
	assert_in_range(int_at(a.json, "seconds_since_reading"), 3, 4);
	done(&a);
}

static void test_a_vm_that_cannot_tell(void **state)
{
	struct ctl_ops none = ops;

	none.guest_cma = NULL;
	expect_error(call_ops(&none, "GET", "/v1/guest/cma", NULL, NULL), 501,
		     "read the guest's CMA figures");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_answer_yet_is_null_not_zero, reset_vm),
		cmocka_unit_test_setup(test_agent_figures, reset_vm),
		cmocka_unit_test_setup(test_a_vm_that_cannot_tell, reset_vm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
