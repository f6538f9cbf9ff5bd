// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/vm (vmm/control/api/vm.c): the status, and pause, resume and
 * shutdown with the 409s that say what to do instead; a fake VM behind
 * struct ctl_ops (fake_vm.h).
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

static void test_vm_status(void **state)
{
	struct answer a = get("/v1/vm");
	json_t *pool;

	assert_int_equal(a.status, 200);
	assert_string_equal(str_at(a.json, "state"), "running");
	assert_int_equal(int_at(a.json, "vcpus"), 2);
	assert_int_equal(int_at(a.json, "memory_bytes"), 512 << 20);
	assert_int_equal(int_at(a.json, "memory_resident_bytes"), 70 << 20);
	assert_string_equal(str_at(a.json, "cmdline"), "console=ttyS0 quiet");
	assert_true(int_at(a.json, "uptime_s") >= 65);
	assert_int_equal(json_array_size(json_object_get(a.json, "pools")), 2);
	pool = json_array_get(json_object_get(a.json, "pools"), 0);
	assert_string_equal(str_at(pool, "name"), "linux,cma");
	assert_string_equal(str_at(pool, "kind"), "cma");
	assert_true(json_is_true(json_object_get(pool, "default")));
	assert_int_equal(int_at(pool, "base"), 0x9c000000);
	assert_int_equal(int_at(pool, "size"), 64 << 20);
	assert_string_equal(str_at(pool, "why"), "highest free range");
	pool = json_array_get(json_object_get(a.json, "pools"), 1);
	assert_string_equal(str_at(pool, "kind"), "coherent");
	assert_true(json_is_false(json_object_get(pool, "default")));
	/* a VM without --name: null, there all the same */
	assert_true(json_is_null(json_object_get(a.json, "name")));
	done(&a);
}

static void test_vm_status_names_the_vm(void **state)
{
	struct answer a;

	vm.name = "web-1";
	a = get("/v1/vm");
	vm.name = NULL;
	assert_int_equal(a.status, 200);
	assert_string_equal(str_at(a.json, "name"), "web-1");
	done(&a);
}

static void test_pause_resume(void **state)
{
	expect_state(put("/v1/vm/pause", NULL), "paused");
	expect_error(put("/v1/vm/pause", NULL), 409, "the VM is paused; resume it");
	expect_state(put("/v1/vm/resume", "{}"), "running");
	expect_error(put("/v1/vm/resume", NULL), 409, "cannot resume: the VM is running");
	expect_state(put("/v1/vm/shutdown", NULL), "stopping");
	expect_error(put("/v1/vm/pause", NULL), 409, "the VM is stopping");
	expect_error(put("/v1/vm/shutdown", NULL), 409, "cannot shut down");
}

static void test_action_takes_no_body(void **state)
{
	expect_error(put("/v1/vm/pause", "{\"now\": true}"), 400, "takes no body");
	assert_int_equal(vm.state, CTL_VM_RUNNING);
}

static void test_missing_op_is_501(void **state)
{
	struct ctl_ops partial = { .opaque = &vm };
	struct http_request req = { "PUT", "/v1/vm/pause", "", "", "", 0 };
	struct http_response resp = { .status = 200 };

	ctl_api_handle(&partial, &req, &resp);
	assert_int_equal(resp.status, 501);
	json_decref(resp.body);
}

static void test_state_names(void **state)
{
	assert_string_equal(ctl_vm_state_str(CTL_VM_RUNNING), "running");
	assert_string_equal(ctl_vm_state_str(CTL_VM_PAUSED), "paused");
	assert_string_equal(ctl_vm_state_str(CTL_VM_STOPPING), "stopping");
	assert_string_equal(ctl_vm_state_str((enum ctl_vm_state)42), "unknown");
}

static int failing_status(void *opaque, struct ctl_vm_status *out)
{
	return -EIO;
}

static void test_status_error_is_500(void **state)
{
	struct ctl_ops broken = ops;

	broken.status = failing_status;
	expect_error(call_ops(&broken, "GET", "/v1/vm", NULL, NULL), 500,
		     "internal error: cannot report the VM's status: Input/output error");
	broken.status = NULL;
	expect_error(call_ops(&broken, "GET", "/v1/vm", NULL, NULL), 501,
		     "this cmavm cannot report the VM's status yet");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_vm_status),	    API_TEST(test_vm_status_names_the_vm),
		API_TEST(test_pause_resume),	    API_TEST(test_action_takes_no_body),
		API_TEST(test_missing_op_is_501),   API_TEST(test_state_names),
		API_TEST(test_status_error_is_500),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
