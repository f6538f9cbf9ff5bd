// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's routes and JSON (vmm/control/api.h), called directly
 * as the HTTP server would, with a fake VM behind struct ctl_ops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "api.h"

/* ---- a fake VM ---- */

struct fake_vm {
	enum ctl_vm_state state;
	bool has_balloon;
	bool stats_reported;
	struct ctl_balloon balloon;
	unsigned int balloon_sets;
};

static int fake_status(void *opaque, struct ctl_vm_status *out)
{
	struct fake_vm *vm = opaque;

	out->state = vm->state;
	out->vcpus = 2;
	out->memory_bytes = 512ULL << 20;
	out->memory_resident_bytes = 70ULL << 20;
	out->cmdline = "console=ttyS0 quiet";
	clock_gettime(CLOCK_MONOTONIC, &out->started);
	out->started.tv_sec -= 65;
	out->nr_pools = 2;
	out->pools[0] = (struct ctl_pool){ "linux,cma", POOL_CMA,    true,
					   0x9c000000,	64ULL << 20, "highest free range" };
	out->pools[1] = (struct ctl_pool){ "fw",       POOL_COHERENT, false,
					   0x9ac00000, 4ULL << 20,    "next one down" };
	return 0;
}

static int change(struct fake_vm *vm, enum ctl_vm_state from, enum ctl_vm_state to,
		  enum ctl_vm_state *state)
{
	if (vm->state != from) {
		*state = vm->state;
		return -EBUSY;
	}
	vm->state = to;
	*state = to;
	return 0;
}

static int fake_pause(void *opaque, enum ctl_vm_state *state)
{
	return change(opaque, CTL_VM_RUNNING, CTL_VM_PAUSED, state);
}

static int fake_resume(void *opaque, enum ctl_vm_state *state)
{
	return change(opaque, CTL_VM_PAUSED, CTL_VM_RUNNING, state);
}

static int fake_shutdown(void *opaque, enum ctl_vm_state *state)
{
	struct fake_vm *vm = opaque;

	/* from running or paused alike */
	return change(vm, vm->state == CTL_VM_PAUSED ? CTL_VM_PAUSED : CTL_VM_RUNNING,
		      CTL_VM_STOPPING, state);
}

static int fake_balloon_get(void *opaque, struct ctl_balloon *out)
{
	struct fake_vm *vm = opaque;

	if (!vm->has_balloon)
		return -ENODEV;
	*out = vm->balloon;
	return 0;
}

static int fake_balloon_set(void *opaque, const struct ctl_balloon_update *update)
{
	struct fake_vm *vm = opaque;

	if (!vm->has_balloon)
		return -ENODEV;
	if (update->set_target && update->target_bytes > 512ULL << 20)
		return -ERANGE;
	if (update->set_target)
		vm->balloon.target_bytes = update->target_bytes;
	if (update->set_stats_interval)
		vm->balloon.stats_interval_s = update->stats_interval_s;
	vm->balloon_sets++;
	return 0;
}

static int fake_balloon_stats(void *opaque, struct ctl_balloon_stats *out)
{
	struct fake_vm *vm = opaque;

	if (!vm->has_balloon)
		return -ENODEV;
	if (!vm->stats_reported)
		return -ENODATA;
	out->value[CTL_BALLOON_S_MEMFREE] = 300ULL << 20;
	out->value[CTL_BALLOON_S_MEMTOT] = 480ULL << 20;
	out->value[CTL_BALLOON_S_MAJFLT] = 12;
	out->reported = 1u << CTL_BALLOON_S_MEMFREE | 1u << CTL_BALLOON_S_MEMTOT |
			1u << CTL_BALLOON_S_MAJFLT;
	clock_gettime(CLOCK_MONOTONIC, &out->updated);
	out->updated.tv_sec -= 3;
	return 0;
}

static int fake_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	assert_true(max >= 2);
	devs[0] = (struct ctl_device){
		.name = "virtio-blk0",
		.type = "blk",
		.mmio_base = 0x0a000000,
		.irq = 16,
		.features_offered = 0x130000246ULL,
		.features_acked = 0x130000046ULL,
		.status = 0xf,
		.nr_counters = 2,
		.counters = { { "reads", 120 }, { "bytes_read", 491520 } },
		.nr_queues = 1,
		.queues = { { .size = 256,
			      .enabled = true,
			      .desc = 0x9c100000,
			      .driver = 0x9c101000,
			      .device = 0x9c102000 } },
	};
	devs[1] = (struct ctl_device){ .name = "virtio-rng0",
				       .type = "rng",
				       .mmio_base = 0x0a000200,
				       .irq = 17,
				       .status = 0 };
	return 2;
}

static struct fake_vm vm;

static const struct ctl_ops ops = {
	.opaque = &vm,
	.status = fake_status,
	.pause = fake_pause,
	.resume = fake_resume,
	.shutdown = fake_shutdown,
	.balloon_get = fake_balloon_get,
	.balloon_set = fake_balloon_set,
	.balloon_stats = fake_balloon_stats,
	.devices = fake_devices,
};

static int reset_vm(void **state)
{
	vm = (struct fake_vm){
		.state = CTL_VM_RUNNING,
		.has_balloon = true,
		.balloon = { .target_bytes = 0,
			     .actual_bytes = 0,
			     .deflate_on_oom = true,
			     .stats_interval_s = 5 },
	};
	return 0;
}

/* ---- calling the API ---- */

struct answer {
	int status;
	char allow[64];
	json_t *json;
	char text[2048]; /* the body as the server would send it */
};

static struct answer call(const char *method, const char *path, const char *content_type,
			  const char *body)
{
	struct http_request req = {
		.method = method,
		.path = path,
		.query = "",
		.content_type = content_type ? content_type : "",
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
	};
	struct http_response resp = { .status = 200 };
	struct answer a = { 0 };
	char *text;

	ctl_api_handle((void *)&ops, &req, &resp);
	a.status = resp.status;
	strcpy(a.allow, resp.allow);
	a.json = resp.body;
	text = a.json ? json_dumps(a.json, 0) : NULL;
	snprintf(a.text, sizeof(a.text), "%s", text ? text : "");
	free(text);
	return a;
}

static struct answer get(const char *path)
{
	return call("GET", path, NULL, NULL);
}

static struct answer put(const char *path, const char *json)
{
	return call("PUT", path, json ? "application/json" : NULL, json);
}

static void done(struct answer *a)
{
	json_decref(a->json);
}

static json_int_t int_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str_at(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	assert_non_null(s);
	return s;
}

/* The answer is an error with @status whose sentence has @needle. */
static void expect_error(struct answer a, int status, const char *needle)
{
	const char *msg;

	if (a.status != status)
		fail_msg("status %d, not %d: %s", a.status, status, a.text);
	msg = str_at(a.json, "error");
	if (!strstr(msg, needle))
		fail_msg("error '%s' lacks '%s'", msg, needle);
	done(&a);
}

/* ---- /v1/vm ---- */

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
	done(&a);
}

static void expect_state(struct answer a, const char *state)
{
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	assert_string_equal(str_at(a.json, "state"), state);
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

/* ---- /v1/balloon ---- */

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

/* ---- /v1/devices ---- */

static void test_devices(void **state)
{
	struct answer a = get("/v1/devices");
	json_t *blk, *counters, *queue;

	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(a.json), 2);
	blk = json_array_get(a.json, 0);
	assert_string_equal(str_at(blk, "name"), "virtio-blk0");
	assert_string_equal(str_at(blk, "type"), "blk");
	assert_int_equal(int_at(blk, "mmio_base"), 0x0a000000);
	assert_int_equal(int_at(blk, "irq"), 16);
	assert_int_equal(int_at(blk, "features_offered"), 0x130000246LL);
	assert_int_equal(int_at(blk, "features_acked"), 0x130000046LL);
	assert_int_equal(int_at(blk, "status"), 0xf);
	counters = json_object_get(blk, "counters");
	assert_int_equal(int_at(counters, "reads"), 120);
	assert_int_equal(int_at(counters, "bytes_read"), 491520);
	queue = json_array_get(json_object_get(blk, "queues"), 0);
	assert_int_equal(int_at(queue, "size"), 256);
	assert_true(json_is_true(json_object_get(queue, "enabled")));
	assert_true(json_is_false(json_object_get(queue, "broken")));
	assert_int_equal(int_at(queue, "desc"), 0x9c100000);
	assert_int_equal(int_at(queue, "driver"), 0x9c101000);
	assert_int_equal(int_at(queue, "device"), 0x9c102000);
	assert_int_equal(json_object_size(json_object_get(json_array_get(a.json, 1), "counters")),
			 0);
	done(&a);
}

/* ---- routing and request checks ---- */

static void test_unknown_path(void **state)
{
	struct answer a = get("/v1/vms");
	json_t *endpoints = json_object_get(a.json, "endpoints");

	assert_int_equal(a.status, 404);
	assert_non_null(strstr(str_at(a.json, "error"), "no endpoint /v1/vms; the API has GET "
							"/v1/vm, PUT /v1/vm/pause"));
	assert_true(json_array_size(endpoints) >= 8);
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
	expect_state(call("PUT", "/v1/vm/pause", "application/json; charset=utf-8", "{}"),
		     "paused");
	expect_state(call("PUT", "/v1/vm/resume", "Application/JSON", "{}"), "running");
	assert_int_equal(vm.balloon_sets, 0);
}

#define API_TEST(fn) cmocka_unit_test_setup(fn, reset_vm)

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_vm_status),
		API_TEST(test_pause_resume),
		API_TEST(test_action_takes_no_body),
		API_TEST(test_missing_op_is_501),
		API_TEST(test_balloon_get),
		API_TEST(test_balloon_set),
		API_TEST(test_balloon_bad_fields),
		API_TEST(test_balloon_above_ram),
		API_TEST(test_no_balloon),
		API_TEST(test_balloon_stats),
		API_TEST(test_devices),
		API_TEST(test_unknown_path),
		API_TEST(test_wrong_method),
		API_TEST(test_bad_json),
		API_TEST(test_body_on_get),
		API_TEST(test_not_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
