// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's routing and request checks (vmm/control/api/router.c):
 * 404 with the endpoints, 405 with Allow, bodies on GET, content types
 * and malformed JSON; a fake VM behind struct ctl_ops (fake_vm.h).
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

static void test_unknown_path(void **state)
{
	struct answer a = get("/v1/vms");
	json_t *endpoints = json_object_get(a.json, "endpoints");

	assert_int_equal(a.status, 404);
	assert_non_null(strstr(str_at(a.json, "error"), "no endpoint /v1/vms; the API has GET "
							"/v1/vm, PUT /v1/vm/pause"));
	assert_non_null(strstr(str_at(a.json, "error"), "PUT /v1/cma/migrate, GET /v1/cma/stats"));
	assert_int_equal(json_array_size(endpoints), 22);
	assert_string_equal(json_string_value(json_array_get(endpoints, 0)), "GET /v1/vm");
	done(&a);
}

static void test_wrong_method(void **state)
{
	struct answer a = put("/v1/vm", NULL);

	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "GET");
	assert_non_null(strstr(str_at(a.json, "error"), "/v1/vm takes GET, not PUT"));
	done(&a);
	a = call("DELETE", "/v1/balloon", NULL, NULL);
	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "GET, PUT");
	done(&a);
	a = get("/v1/vm/pause");
	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "PUT");
	done(&a);
}

static void test_bad_json(void **state)
{
	expect_error(put("/v1/balloon", "{\"target_mib\": }"), 400,
		     "malformed JSON at line 1, column 16");
	expect_error(put("/v1/balloon", "{\"target_mib\": 64,\n \"x\" 1}"), 400,
		     "malformed JSON at line 2, column ");
	assert_int_equal(vm.balloon_sets, 0);
}

/* A malformed body's answer shows what that endpoint takes, not another's. */
static void test_malformed_hint_is_the_endpoints(void **state)
{
	expect_error(put("/v1/cma/windows", "{\"pool\": "), 400,
		     "PUT /v1/cma/windows takes JSON such as {\"pool\": \"linux,cma\", \"level\"");
	expect_error(put("/v1/cma/migrate", "[1,"), 400,
		     "PUT /v1/cma/migrate takes JSON such as {\"pool\": \"linux,cma\", \"block\"");
	expect_error(put("/v1/balloon", "{"), 400,
		     "PUT /v1/balloon takes JSON such as {\"target_mib\"");
}

static void test_body_on_get(void **state)
{
	expect_error(call("GET", "/v1/vm", "application/json", "{}"), 400,
		     "GET /v1/vm takes no body");
}

static void test_not_json(void **state)
{
	expect_error(call("PUT", "/v1/balloon", "application/x-www-form-urlencoded",
			  "{\"target_mib\": 64}"),
		     415, "Content-Type: application/json");
	expect_error(call("PUT", "/v1/balloon", "text/plain", "64"), 415, "the body is text/plain");
	/* docs/api.md promises 415 for a body that does not say it is JSON */
	expect_error(call("PUT", "/v1/balloon", NULL, "{\"target_mib\": 64}"), 415,
		     "the body is sent without a Content-Type; the API takes application/json");
	expect_state(call("PUT", "/v1/vm/pause", "application/json; charset=utf-8", "{}"),
		     "paused");
	expect_state(call("PUT", "/v1/vm/resume", "Application/JSON", "{}"), "running");
	assert_int_equal(vm.balloon_sets, 0);
}

static void test_cma_wrong_methods(void **state)
{
	expect_405(put("/v1/cma/pools", "{}"), "GET");
	expect_405(put("/v1/cma/map", NULL), "GET");
	expect_405(put("/v1/cma/stats", NULL), "GET");
	expect_405(call("DELETE", "/v1/cma/windows", NULL, NULL), "GET, PUT");
	expect_405(get("/v1/cma/windows/release"), "PUT");
	expect_405(call("POST", "/v1/cma/windows/release", NULL, NULL), "PUT");
	expect_405(get("/v1/cma/migrate"), "PUT");
	expect_error(call("POST", "/v1/cma/migrate", NULL, NULL), 405,
		     "/v1/cma/migrate takes PUT, not POST");
	expect_error(get("/v1/cma"), 404, "no endpoint /v1/cma;");
	expect_error(call("GET", "/v1/cma/map", "application/json", "{}"), 400,
		     "GET /v1/cma/map takes no body");
	assert_int_equal(vm.cma_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_unknown_path),
		API_TEST(test_wrong_method),
		API_TEST(test_bad_json),
		API_TEST(test_body_on_get),
		API_TEST(test_not_json),
		API_TEST(test_cma_wrong_methods),
		API_TEST(test_malformed_hint_is_the_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
