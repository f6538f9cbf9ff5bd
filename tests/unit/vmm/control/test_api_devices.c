// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/devices (vmm/control/api/devices.c): each device with its
 * counters and queues; a fake VM behind struct ctl_ops (fake_vm.h).
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

static void test_devices_missing_op_is_empty(void **state)
{
	struct ctl_ops partial = ops;
	struct answer a;

	partial.devices = NULL;
	a = call_ops(&partial, "GET", "/v1/devices", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_true(json_is_array(a.json));
	assert_int_equal(json_array_size(a.json), 0);
	done(&a);
}

static int failing_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	return -EIO;
}

static void test_devices_error_is_500(void **state)
{
	struct ctl_ops broken = ops;

	broken.devices = failing_devices;
	expect_error(call_ops(&broken, "GET", "/v1/devices", NULL, NULL), 500,
		     "internal error: cannot list the devices: Input/output error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_devices),
		API_TEST(test_devices_missing_op_is_empty),
		API_TEST(test_devices_error_is_500),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
