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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control/api.h"
#include "vmm/control/map_render.h"

/* ---- a fake VM ---- */

struct fake_vm {
	enum ctl_vm_state state;
	bool has_balloon;
	bool stats_reported;
	struct ctl_balloon balloon;
	unsigned int balloon_sets;

	/* the CMA engine */
	unsigned int nr_windows, next_window_id;
	struct ctl_cma_window windows[CTL_CMA_WINDOWS_MAX];
	unsigned int cma_calls; /* commits, releases and migrations that got to the VM */
	struct ctl_cma_migrate last_migrate;
	int cma_fail; /* an errno every commit, release and migration returns */
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

/* The engine: linux,cma (64 MiB, 32 pageblocks) and fw (4 MiB, 2). */

#define FAKE_PAGEBLOCK (2ULL << 20)
#define CMA_BASE       0x9c000000ULL
#define FW_BASE	       0x9ac00000ULL

static const struct ctl_cma_pool fake_pools[] = {
	{ "linux,cma",
	  POOL_CMA,
	  true,
	  CMA_BASE,
	  64ULL << 20,
	  { 40ULL << 20, 8ULL << 20, 4ULL << 20, 4ULL << 20, 8ULL << 20 } },
	{ "fw", POOL_COHERENT, false, FW_BASE, 4ULL << 20, { 0, 4ULL << 20, 0, 0, 0 } },
};

#define NR_FAKE_POOLS 2

static const char *const fake_blocks[NR_FAKE_POOLS] = {
	"WWWWBBBBRRLLUUUUUUUUUUUUUUUUUUUU",
	"BB",
};

static int fake_cma_pools(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	assert_true(max >= NR_FAKE_POOLS);
	memcpy(out, fake_pools, sizeof(fake_pools));
	return NR_FAKE_POOLS;
}

static int fake_cma_map(void *opaque, struct ctl_cma_map *out, unsigned int max,
			uint64_t *pageblock_size)
{
	unsigned int i;

	assert_true(max >= NR_FAKE_POOLS);
	for (i = 0; i < NR_FAKE_POOLS; i++)
		out[i] = (struct ctl_cma_map){ fake_pools[i].name, fake_pools[i].base,
					       fake_blocks[i] };
	*pageblock_size = FAKE_PAGEBLOCK;
	return NR_FAKE_POOLS;
}

static int fake_cma_windows(void *opaque, struct ctl_cma_window *out, unsigned int max)
{
	struct fake_vm *fvm = opaque;

	memcpy(out, fvm->windows, fvm->nr_windows * sizeof(*out));
	return fvm->nr_windows;
}

static const struct ctl_cma_pool *fake_pool(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_FAKE_POOLS; i++)
		if (!strcmp(fake_pools[i].name, name))
			return &fake_pools[i];
	return NULL;
}

/* The errno the test asked for, with a sentence. */
static int fake_cma_fail(struct fake_vm *fvm, char *err, size_t errlen)
{
	int ret = fvm->cma_fail;

	if (ret == -EIO)
		snprintf(err, errlen,
			 "the host has no free 2 MiB huge pages; reserve some with 'echo 64 > "
			 "/proc/sys/vm/nr_hugepages'");
	else if (ret == -EBUSY)
		snprintf(err, errlen, "the engine is busy; retry");
	else
		snprintf(err, errlen, "the engine broke");
	return ret;
}

static int fake_cma_commit(void *opaque, const struct ctl_cma_commit *req,
			   struct ctl_cma_window *out, char *err, size_t errlen)
{
	static const char *const levels[] = { "resident", "huge", "contiguous" };
	struct fake_vm *fvm = opaque;
	const struct ctl_cma_pool *p = fake_pool(req->pool);
	uint64_t length = req->length;
	unsigned int i;

	fvm->cma_calls++;
	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	if (!p) {
		snprintf(err, errlen, "no CMA pool '%s'; GET /v1/cma/pools lists them", req->pool);
		return -ENOENT;
	}
	if (!length && req->offset < p->size)
		length = p->size - req->offset;
	if (req->offset % FAKE_PAGEBLOCK || length % FAKE_PAGEBLOCK) {
		snprintf(err, errlen, "offset and length must be multiples of the 2 MiB pageblock");
		return -EINVAL;
	}
	if (req->offset >= p->size || length > p->size - req->offset) {
		snprintf(err, errlen, "the window is past the end of %s", p->name);
		return -EINVAL;
	}
	for (i = 0; i < fvm->nr_windows; i++)
		if (!strcmp(fvm->windows[i].pool, p->name) &&
		    req->offset < fvm->windows[i].offset + fvm->windows[i].length &&
		    fvm->windows[i].offset < req->offset + length) {
			snprintf(err, errlen, "the range overlaps window %u; release it first",
				 fvm->windows[i].id);
			return -EBUSY;
		}
	for (i = 0; strcmp(levels[i], req->level); i++)
		;
	*out = (struct ctl_cma_window){
		.id = fvm->next_window_id++,
		.pool = p->name,
		.offset = req->offset,
		.length = length,
		.gpa = p->base + req->offset,
		.level = levels[i],
		.largest_run = i ? FAKE_PAGEBLOCK : 0,
		.contiguous_2m = i ? length / FAKE_PAGEBLOCK : 0,
		.pause_ns_max = 412345,
	};
	fvm->windows[fvm->nr_windows++] = *out;
	return 0;
}

static int fake_cma_release(void *opaque, unsigned int id, char *err, size_t errlen)
{
	struct fake_vm *fvm = opaque;
	unsigned int i;

	fvm->cma_calls++;
	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	for (i = 0; i < fvm->nr_windows; i++) {
		if (fvm->windows[i].id != id)
			continue;
		fvm->windows[i] = fvm->windows[--fvm->nr_windows];
		return 0;
	}
	snprintf(err, errlen, "no window %u; GET /v1/cma/windows lists them", id);
	return -ENOENT;
}

static int fake_cma_migrate(void *opaque, const struct ctl_cma_migrate *req, uint64_t *gpa,
			    uint64_t *pause_ns, char *err, size_t errlen)
{
	struct fake_vm *fvm = opaque;
	const struct ctl_cma_pool *p = req->by_gpa ? &fake_pools[0] : fake_pool(req->pool);

	fvm->cma_calls++;
	fvm->last_migrate = *req;
	fvm->last_migrate.pool = NULL; /* the request's string is gone after the call */
	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	if (req->by_gpa && (req->gpa < CMA_BASE || req->gpa - CMA_BASE >= p->size)) {
		snprintf(err, errlen, "0x%llx is in no CMA pool", (unsigned long long)req->gpa);
		return -ENOENT;
	}
	if (!p || (!req->by_gpa && req->block >= p->size / FAKE_PAGEBLOCK)) {
		snprintf(err, errlen, "no such pageblock");
		return -ENOENT;
	}
	*gpa = req->by_gpa ? req->gpa & ~(FAKE_PAGEBLOCK - 1)
			   : p->base + req->block * FAKE_PAGEBLOCK;
	*pause_ns = 85300;
	return 0;
}

static int fake_cma_stats(void *opaque, struct ctl_cma_stats *out)
{
	*out = (struct ctl_cma_stats){
		.pageblock_size = FAKE_PAGEBLOCK,
		.commits = 3,
		.releases = 1,
		.migrations = 5,
		.rollbacks = 2,
		.refused_discards = 7,
		.refused_discard_bytes = 28672,
		.pauses = 8,
		.pause_ns_total = 1234567,
		.pause_ns_max = 412345,
		.pause_ns_last = 85300,
		.resident_bytes = 70ULL << 20,
	};
	return 0;
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
	.cma_pools = fake_cma_pools,
	.cma_map = fake_cma_map,
	.cma_windows = fake_cma_windows,
	.cma_commit = fake_cma_commit,
	.cma_release = fake_cma_release,
	.cma_migrate = fake_cma_migrate,
	.cma_stats = fake_cma_stats,
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
		.next_window_id = 1,
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

static struct answer call_ops(const struct ctl_ops *with, const char *method, const char *path,
			      const char *content_type, const char *body)
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

	ctl_api_handle((void *)with, &req, &resp);
	a.status = resp.status;
	strcpy(a.allow, resp.allow);
	a.json = resp.body;
	text = a.json ? json_dumps(a.json, 0) : NULL;
	snprintf(a.text, sizeof(a.text), "%s", text ? text : "");
	free(text);
	return a;
}

static struct answer call(const char *method, const char *path, const char *content_type,
			  const char *body)
{
	return call_ops(&ops, method, path, content_type, body);
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
	assert_non_null(strstr(str_at(a.json, "error"), "PUT /v1/cma/migrate, GET /v1/cma/stats"));
	assert_int_equal(json_array_size(endpoints), 15);
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

/* ---- /v1/cma ---- */

/* The status of @a, which is freed. */
static int status_of(struct answer a)
{
	int status = a.status;

	done(&a);
	return status;
}

static void test_cma_pools(void **state)
{
	struct answer a = get("/v1/cma/pools");
	json_t *p, *bytes;

	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(a.json), 2);
	p = json_array_get(a.json, 0);
	assert_int_equal(json_object_size(p), 6);
	assert_string_equal(str_at(p, "name"), "linux,cma");
	assert_string_equal(str_at(p, "kind"), "cma");
	assert_true(json_is_true(json_object_get(p, "default")));
	assert_int_equal(int_at(p, "base"), 0x9c000000);
	assert_int_equal(int_at(p, "size"), 64 << 20);
	bytes = json_object_get(p, "bytes");
	assert_int_equal(json_object_size(bytes), 5);
	assert_int_equal(int_at(bytes, "unbacked"), 40 << 20);
	assert_int_equal(int_at(bytes, "backed"), 8 << 20);
	assert_int_equal(int_at(bytes, "reported"), 4 << 20);
	assert_int_equal(int_at(bytes, "ballooned"), 4 << 20);
	assert_int_equal(int_at(bytes, "window"), 8 << 20);
	p = json_array_get(a.json, 1);
	assert_string_equal(str_at(p, "name"), "fw");
	assert_string_equal(str_at(p, "kind"), "coherent");
	assert_true(json_is_false(json_object_get(p, "default")));
	assert_int_equal(int_at(json_object_get(p, "bytes"), "backed"), 4 << 20);
	done(&a);
}

static void test_cma_map(void **state)
{
	struct answer a = get("/v1/cma/map");
	json_t *pools, *p;

	assert_int_equal(a.status, 200);
	assert_int_equal(json_object_size(a.json), 2);
	assert_int_equal(int_at(a.json, "pageblock_size"), 2 << 20);
	pools = json_object_get(a.json, "pools");
	assert_int_equal(json_array_size(pools), 2);
	p = json_array_get(pools, 0);
	assert_int_equal(json_object_size(p), 3);
	assert_string_equal(str_at(p, "name"), "linux,cma");
	assert_int_equal(int_at(p, "base"), 0x9c000000);
	assert_string_equal(str_at(p, "blocks"), "WWWWBBBBRRLLUUUUUUUUUUUUUUUUUUUU");
	p = json_array_get(pools, 1);
	assert_string_equal(str_at(p, "name"), "fw");
	assert_int_equal(int_at(p, "base"), 0x9ac00000);
	assert_string_equal(str_at(p, "blocks"), "BB");
	done(&a);
}

static void expect_window(json_t *w, unsigned int id, uint64_t offset, uint64_t length,
			  const char *level)
{
	assert_int_equal(json_object_size(w), 10); /* commit_ns too */
	assert_int_equal(int_at(w, "id"), id);
	assert_string_equal(str_at(w, "pool"), "linux,cma");
	assert_int_equal(int_at(w, "offset"), offset);
	assert_int_equal(int_at(w, "length"), length);
	assert_int_equal(int_at(w, "gpa"), 0x9c000000 + offset);
	assert_string_equal(str_at(w, "level"), level);
	assert_int_equal(int_at(w, "largest_run"), strcmp(level, "resident") ? 2 << 20 : 0);
	assert_int_equal(int_at(w, "contiguous_2m"),
			 strcmp(level, "resident") ? length / (2 << 20) : 0);
	assert_int_equal(int_at(w, "pause_ns_max"), 412345);
}

static void test_cma_commit(void **state)
{
	struct answer a = get("/v1/cma/windows");

	assert_int_equal(a.status, 200);
	assert_true(json_is_array(a.json));
	assert_int_equal(json_array_size(a.json), 0);
	done(&a);

	/* the whole pool */
	a = put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}");
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	expect_window(a.json, 1, 0, 64 << 20, "huge");
	done(&a);
	assert_int_equal(status_of(put("/v1/cma/windows/release", "{\"id\": 1}")), 200);

	/* offset and length as integers, and as sizes */
	a = put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"resident\", "
				   "\"offset\": 16777216, \"length\": 8388608}");
	assert_int_equal(a.status, 200);
	expect_window(a.json, 2, 16 << 20, 8 << 20, "resident");
	done(&a);
	a = put("/v1/cma/windows", "{\"level\": \"contiguous\", \"pool\": \"linux,cma\", "
				   "\"offset\": \"32M\", \"length\": \"0x800000\"}");
	assert_int_equal(a.status, 200);
	expect_window(a.json, 3, 32 << 20, 8 << 20, "contiguous");
	done(&a);

	a = get("/v1/cma/windows");
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(a.json), 2);
	expect_window(json_array_get(a.json, 0), 2, 16 << 20, 8 << 20, "resident");
	expect_window(json_array_get(a.json, 1), 3, 32 << 20, 8 << 20, "contiguous");
	done(&a);
}

static void test_cma_commit_refused(void **state)
{
	expect_error(put("/v1/cma/windows", "{\"pool\": \"dsp\", \"level\": \"huge\"}"), 404,
		     "no CMA pool 'dsp'; GET /v1/cma/pools lists them");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"offset\": 4096}"),
		     400, "offset and length must be multiples of the 2 MiB pageblock");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"fw\", \"level\": \"huge\", \"length\": \"8M\"}"),
		     400, "past the end of fw");
	assert_int_equal(
		status_of(put("/v1/cma/windows", "{\"pool\": \"fw\", \"level\": \"huge\"}")), 200);
	expect_error(put("/v1/cma/windows", "{\"pool\": \"fw\", \"level\": \"resident\", "
					    "\"offset\": \"2M\"}"),
		     409, "the range overlaps window 1; release it first");
	vm.cma_fail = -EIO;
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}"), 500,
		     "the host has no free 2 MiB huge pages; reserve some with 'echo 64 > "
		     "/proc/sys/vm/nr_hugepages'");
	vm.cma_fail = -EBUSY;
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}"), 409,
		     "the engine is busy; retry");
	vm.cma_fail = -ENOMEM;
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}"), 500,
		     "internal error: cannot commit the window: Cannot allocate memory; the "
		     "engine broke");
	assert_int_equal(vm.nr_windows, 1);
}

static void test_cma_commit_bad_bodies(void **state)
{
	expect_error(put("/v1/cma/windows", NULL), 400,
		     "PUT /v1/cma/windows needs a JSON body, e.g. {\"pool\": \"linux,cma\", "
		     "\"level\": \"huge\"}");
	expect_error(put("/v1/cma/windows", "[\"linux,cma\"]"), 400,
		     "PUT /v1/cma/windows needs a JSON object, e.g.");
	expect_error(put("/v1/cma/windows", "{}"), 400,
		     "PUT /v1/cma/windows needs pool and level, e.g. {\"pool\": \"linux,cma\"");
	expect_error(put("/v1/cma/windows", "{\"level\": \"huge\"}"), 400,
		     "PUT /v1/cma/windows needs pool, e.g.");
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\"}"), 400,
		     "needs level (resident, huge or contiguous), e.g.");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"size\": 4}"),
		     400,
		     "unknown field 'size'; PUT /v1/cma/windows takes pool, level, and "
		     "optionally offset and length");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"offset\": -2097152}"),
		     400,
		     "offset must be a non-negative integer or a size string, not -2097152; "
		     "e.g. {\"offset\": 16777216} or {\"offset\": \"16M\"}");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"length\": 1.5}"),
		     400, "length must be a non-negative integer or a size string, not 1.5");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"length\": true}"),
		     400, "length must be a non-negative integer or a size string, not true");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"length\": \"-8M\"}"),
		     400, "length: '-8M' is not a size; write a number with a unit");
	expect_error(put("/v1/cma/windows",
			 "{\"pool\": \"linux,cma\", \"level\": \"huge\", \"offset\": \"16Q\"}"),
		     400, "offset: '16Q': unknown unit 'Q'");
	expect_error(put("/v1/cma/windows", "{\"pool\": 1, \"level\": \"huge\"}"), 400,
		     "pool must be a non-empty string, not 1; e.g. {\"pool\": \"linux,cma\"");
	expect_error(put("/v1/cma/windows", "{\"pool\": \"\", \"level\": \"huge\"}"), 400,
		     "pool must be a non-empty string, not \"\"");
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": 2}"), 400,
		     "level must be a non-empty string, not 2");
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"fast\"}"), 400,
		     "level must be resident, huge or contiguous, not \"fast\"; e.g. {\"level\": "
		     "\"huge\"}");
	assert_int_equal(vm.cma_calls, 0);
}

static void test_cma_release(void **state)
{
	struct answer a;

	assert_int_equal(
		status_of(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}")),
		200);
	assert_int_equal(vm.nr_windows, 1);
	a = put("/v1/cma/windows/release", "{\"id\": 1}");
	assert_int_equal(a.status, 200);
	assert_int_equal(json_object_size(a.json), 1);
	assert_int_equal(int_at(a.json, "released"), 1);
	done(&a);
	assert_int_equal(vm.nr_windows, 0);
	expect_error(put("/v1/cma/windows/release", "{\"id\": 1}"), 404,
		     "no window 1; GET /v1/cma/windows lists them");
	vm.cma_fail = -EIO;
	expect_error(put("/v1/cma/windows/release", "{\"id\": 1}"), 500,
		     "the host has no free 2 MiB huge pages");
}

static void test_cma_release_bad_bodies(void **state)
{
	expect_error(put("/v1/cma/windows/release", NULL), 400,
		     "PUT /v1/cma/windows/release needs a JSON body, e.g. {\"id\": 1}");
	expect_error(put("/v1/cma/windows/release", "{}"), 400,
		     "PUT /v1/cma/windows/release needs the window's id, e.g. {\"id\": 1}");
	expect_error(put("/v1/cma/windows/release", "{\"id\": -1}"), 400,
		     "id must be a non-negative integer, not -1; e.g. {\"id\": 1}");
	expect_error(put("/v1/cma/windows/release", "{\"id\": \"1\"}"), 400,
		     "id must be a non-negative integer, not \"1\"");
	expect_error(put("/v1/cma/windows/release", "{\"id\": 4294967296}"), 400,
		     "id is 4294967296, more than the largest allowed, 4294967295");
	expect_error(put("/v1/cma/windows/release", "{\"id\": 1, \"force\": true}"), 400,
		     "unknown field 'force'; PUT /v1/cma/windows/release takes only id");
	assert_int_equal(vm.cma_calls, 0);
}

static void expect_migrated(struct answer a, uint64_t gpa)
{
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	assert_int_equal(json_object_size(a.json), 2);
	assert_int_equal(int_at(a.json, "gpa"), gpa);
	assert_int_equal(int_at(a.json, "pause_ns"), 85300);
	done(&a);
}

static void test_cma_migrate(void **state)
{
	expect_migrated(put("/v1/cma/migrate", "{\"gpa\": 2619342848}"), 0x9c200000);
	assert_true(vm.last_migrate.by_gpa);
	assert_int_equal(vm.last_migrate.gpa, 0x9c200000);
	expect_migrated(put("/v1/cma/migrate", "{\"gpa\": \"0x9c300000\"}"), 0x9c200000);
	assert_int_equal(vm.last_migrate.gpa, 0x9c300000);
	expect_migrated(put("/v1/cma/migrate", "{\"pool\": \"linux,cma\", \"block\": 3}"),
			0x9c600000);
	assert_false(vm.last_migrate.by_gpa);
	assert_int_equal(vm.last_migrate.block, 3);
	expect_migrated(put("/v1/cma/migrate", "{\"block\": 1, \"pool\": \"fw\"}"), 0x9ae00000);
	assert_int_equal(vm.cma_calls, 4);
}

static void test_cma_migrate_refused(void **state)
{
	expect_error(put("/v1/cma/migrate", "{\"gpa\": \"0x40000000\"}"), 404,
		     "0x40000000 is in no CMA pool");
	expect_error(put("/v1/cma/migrate", "{\"pool\": \"dsp\", \"block\": 0}"), 404,
		     "no such pageblock");
	expect_error(put("/v1/cma/migrate", "{\"pool\": \"fw\", \"block\": 2}"), 404,
		     "no such pageblock");
	vm.cma_fail = -EBUSY;
	expect_error(put("/v1/cma/migrate", "{\"gpa\": 2619342848}"), 409, "busy; retry");
	vm.cma_fail = -EIO;
	expect_error(put("/v1/cma/migrate", "{\"gpa\": 2619342848}"), 500,
		     "no free 2 MiB huge pages; reserve some");
	vm.cma_fail = -EINVAL;
	expect_error(put("/v1/cma/migrate", "{\"gpa\": 2619342848}"), 400, "the engine broke");
}

static void test_cma_migrate_bad_bodies(void **state)
{
	static const char example[] =
		"e.g. {\"gpa\": \"0x9c200000\"} or {\"pool\": \"linux,cma\", \"block\": 1}";

	expect_error(put("/v1/cma/migrate", NULL), 400, "PUT /v1/cma/migrate needs a JSON body");
	expect_error(put("/v1/cma/migrate", "{}"), 400, example);
	expect_error(put("/v1/cma/migrate", "{}"), 400,
		     "PUT /v1/cma/migrate needs gpa, or pool and block");
	expect_error(put("/v1/cma/migrate",
			 "{\"gpa\": 2619342848, \"pool\": \"linux,cma\", \"block\": 1}"),
		     400, "give gpa, or pool and block, not both");
	expect_error(put("/v1/cma/migrate", "{\"gpa\": 2619342848, \"block\": 1}"), 400,
		     "not both");
	expect_error(put("/v1/cma/migrate", "{\"pool\": \"linux,cma\"}"), 400,
		     "pool needs block too; e.g. {\"pool\": \"linux,cma\", \"block\": 1}");
	expect_error(put("/v1/cma/migrate", "{\"block\": 1}"), 400, "block needs pool too");
	expect_error(put("/v1/cma/migrate", "{\"gpa\": -1}"), 400,
		     "gpa must be a non-negative integer or a size string, not -1; e.g. "
		     "{\"gpa\": 2619342848} or {\"gpa\": \"0x9c200000\"}");
	expect_error(put("/v1/cma/migrate", "{\"gpa\": null}"), 400,
		     "gpa must be a non-negative integer or a size string, not null");
	expect_error(put("/v1/cma/migrate", "{\"pool\": \"linux,cma\", \"block\": -3}"), 400,
		     "block must be a non-negative integer, not -3; e.g. {\"pool\": \"linux,cma\", "
		     "\"block\": 1}");
	expect_error(put("/v1/cma/migrate", "{\"pool\": \"linux,cma\", \"block\": \"3\"}"), 400,
		     "block must be a non-negative integer, not \"3\"");
	expect_error(put("/v1/cma/migrate", "{\"pool\": [], \"block\": 3}"), 400,
		     "pool must be a non-empty string, not []");
	expect_error(put("/v1/cma/migrate", "{\"address\": 2619342848}"), 400,
		     "unknown field 'address'; PUT /v1/cma/migrate takes gpa, or pool and block");
	assert_int_equal(vm.cma_calls, 0);
}

static void test_cma_stats(void **state)
{
	struct answer a = get("/v1/cma/stats");

	assert_int_equal(a.status, 200);
	assert_int_equal(json_object_size(a.json), 12);
	assert_int_equal(int_at(a.json, "pageblock_size"), 2 << 20);
	assert_int_equal(int_at(a.json, "commits"), 3);
	assert_int_equal(int_at(a.json, "releases"), 1);
	assert_int_equal(int_at(a.json, "migrations"), 5);
	assert_int_equal(int_at(a.json, "rollbacks"), 2);
	assert_int_equal(int_at(a.json, "refused_discards"), 7);
	assert_int_equal(int_at(a.json, "refused_discard_bytes"), 28672);
	assert_int_equal(int_at(a.json, "pauses"), 8);
	assert_int_equal(int_at(a.json, "pause_ns_total"), 1234567);
	assert_int_equal(int_at(a.json, "pause_ns_max"), 412345);
	assert_int_equal(int_at(a.json, "pause_ns_last"), 85300);
	assert_int_equal(int_at(a.json, "resident_bytes"), 70 << 20);
	done(&a);
}

static void test_cma_missing_ops_are_501(void **state)
{
	static const struct {
		const char *method, *path, *body, *says;
	} calls[] = {
		{ "GET", "/v1/cma/pools", NULL, "cannot list the CMA pools yet" },
		{ "GET", "/v1/cma/map", NULL, "cannot draw the CMA pageblock map yet" },
		{ "GET", "/v1/cma/windows", NULL, "cannot list the CMA windows yet" },
		{ "PUT", "/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}",
		  "cannot commit the window yet" },
		{ "PUT", "/v1/cma/windows/release", "{\"id\": 1}",
		  "cannot release the window yet" },
		{ "PUT", "/v1/cma/migrate", "{\"gpa\": 0}", "cannot migrate the pageblock yet" },
		{ "GET", "/v1/cma/stats", NULL, "cannot read the CMA engine's statistics yet" },
	};
	struct ctl_ops partial = ops;
	size_t i;

	partial.cma_pools = NULL;
	partial.cma_map = NULL;
	partial.cma_windows = NULL;
	partial.cma_commit = NULL;
	partial.cma_release = NULL;
	partial.cma_migrate = NULL;
	partial.cma_stats = NULL;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		expect_error(call_ops(&partial, calls[i].method, calls[i].path,
				      calls[i].body ? "application/json" : NULL, calls[i].body),
			     501, calls[i].says);
}

static int failing_list(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	return -EIO;
}

static void test_cma_vm_errors(void **state)
{
	struct ctl_ops broken = ops;

	broken.cma_pools = failing_list;
	expect_error(call_ops(&broken, "GET", "/v1/cma/pools", NULL, NULL), 500,
		     "internal error: cannot list the CMA pools: Input/output error");
}

static void expect_405(struct answer a, const char *allow)
{
	if (a.status != 405)
		fail_msg("status %d, not 405: %s", a.status, a.text);
	assert_string_equal(a.allow, allow);
	done(&a);
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

/* ---- drawing the map ---- */

/* What @draw writes, as a malloc()ed string. */
#define CAPTURE(text, draw)                                                                        \
	do {                                                                                       \
		size_t len_;                                                                       \
		FILE *f_ = open_memstream(&(text), &len_);                                         \
                                                                                                   \
		assert_non_null(f_);                                                               \
		draw;                                                                              \
		assert_int_equal(fclose(f_), 0);                                                   \
	} while (0)

static const struct ctl_cma_map small_map[] = {
	{ "linux,cma", 0x9c000000, "WWWWBBBBRRLLUUUUUUUUUUUUUUUUUUUU" },
	{ "fw", 0x9ac00000, "BB" },
};

static void test_map_text_letters(void **state)
{
	char *text;

	CAPTURE(text, ctl_map_text(f_, small_map, 2, 2 << 20, false));
	assert_string_equal(text,
			    "linux,cma  base 0x9c000000  size 64 MiB  32 pageblocks of 2 MiB\n"
			    "  0x9c000000  WWWWBBBBRRLLUUUU UUUUUUUUUUUUUUUU\n"
			    "  U unbacked  20 pageblocks 40 MiB\n"
			    "  B backed     4 pageblocks 8 MiB\n"
			    "  R reported   2 pageblocks 4 MiB\n"
			    "  L ballooned  2 pageblocks 4 MiB\n"
			    "  W window     4 pageblocks 8 MiB\n"
			    "\n"
			    "fw  base 0x9ac00000  size 4 MiB  2 pageblocks of 2 MiB\n"
			    "  0x9ac00000  BB\n"
			    "  U unbacked  0 pageblocks 0 bytes\n"
			    "  B backed    2 pageblocks 4 MiB\n"
			    "  R reported  0 pageblocks 0 bytes\n"
			    "  L ballooned 0 pageblocks 0 bytes\n"
			    "  W window    0 pageblocks 0 bytes\n");
	free(text);
	CAPTURE(text, ctl_map_text(f_, NULL, 0, 2 << 20, false));
	assert_string_equal(text, "no CMA pools\n");
	free(text);
}

static void test_map_text_rows(void **state)
{
	struct ctl_cma_map big = { "big", 0xfff00000ULL, NULL };
	char blocks[131], *text;

	/* 130 pageblocks of 1 MiB from just below 4 GiB: three rows, 9 hex digits */
	memset(blocks, 'B', 130);
	blocks[130] = '\0';
	blocks[64] = 'W';
	big.blocks = blocks;
	CAPTURE(text, ctl_map_text(f_, &big, 1, 1 << 20, false));
	assert_non_null(strstr(text, "big  base 0xfff00000  size 130 MiB  130 pageblocks of 1 MiB\n"
				     "  0x0fff00000  BBBBBBBBBBBBBBBB BBBBBBBBBBBBBBBB "
				     "BBBBBBBBBBBBBBBB BBBBBBBBBBBBBBBB\n"
				     "  0x103f00000  WBBB"));
	assert_non_null(strstr(text, "\n  0x107f00000  BB\n"));
	assert_non_null(strstr(text, "  B backed    129 pageblocks 129 MiB\n"));
	assert_non_null(strstr(text, "  W window      1 pageblock  1 MiB\n"));
	free(text);
}

static void test_map_text_colour(void **state)
{
	const struct ctl_cma_map one = { "linux,cma", 0x9c000000, "UBRLWX" };
	char *text;

	CAPTURE(text, ctl_map_text(f_, &one, 1, 2 << 20, true));
	/* each state's colour once, a reset at the end of the row */
	assert_non_null(strstr(text, "  0x9c000000  \033[90m\xe2\x96\x88\033[32m\xe2\x96\x88"
				     "\033[34m\xe2\x96\x88\033[33m\xe2\x96\x88\033[35m"
				     "\xe2\x96\x88\033[31m\xe2\x96\x88\033[0m\n"));
	/* the legend: a swatch, then the letter */
	assert_non_null(strstr(text, "  \033[32m\xe2\x96\x88\033[0m B backed"));
	assert_non_null(strstr(text, "  \033[31m\xe2\x96\x88\033[0m ? unknown"));
	free(text);
	setenv("NO_COLOR", "1", 1);
	assert_false(ctl_map_want_colour(stdout));
	unsetenv("NO_COLOR");
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle))) {
		n++;
		text += strlen(needle);
	}
	return n;
}

static void test_map_svg(void **state)
{
	static const char svg_start[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
					"<svg xmlns=\"http://www.w3.org/2000/svg\" ";
	char *text;
	int ret;

	CAPTURE(text, ret = ctl_map_svg(f_, small_map, 2, 2 << 20));
	assert_int_equal(ret, 0);
	assert_true(!strncmp(text, svg_start, strlen(svg_start)));
	assert_non_null(strstr(text, "</svg>\n"));
	assert_string_equal(strstr(text, "</svg>\n"), "</svg>\n");
	/* the background, one per pageblock, five legend swatches per pool */
	assert_int_equal(count(text, "<rect "), 1 + 32 + 2 + 2 * 5);
	assert_int_equal(count(text, "<g>"), 2);
	assert_int_equal(count(text, "</g>"), 2);
	assert_non_null(strstr(
		text, ">linux,cma: base 0x9c000000, size 64 MiB, 32 pageblocks of 2 MiB</text>"));
	assert_non_null(strstr(text, ">0x9c000000</text>"));
	assert_non_null(strstr(text, ">0x9ac00000</text>"));
	assert_non_null(strstr(text, "fill=\"#c0309a\"><title>0x9c000000 W window</title>"));
	assert_non_null(strstr(text, "fill=\"#2e9e48\"><title>0x9c800000 B backed</title>"));
	assert_non_null(strstr(text, ">U unbacked: 20 pageblocks, 40 MiB</text>"));
	assert_non_null(strstr(text, ">B backed: 2 pageblocks, 4 MiB</text>"));
	free(text);
}

static void test_map_svg_escapes_and_unknown(void **state)
{
	const struct ctl_cma_map odd = { "a&b<\"c\">", 0x80000000, "UX" };
	char *text;
	int ret;

	CAPTURE(text, ret = ctl_map_svg(f_, &odd, 1, 2 << 20));
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, ">a&amp;b&lt;&quot;c&quot;&gt;: base 0x80000000"));
	assert_null(strstr(text, "a&b"));
	assert_non_null(strstr(text, "<title>0x80200000 ? unknown</title>"));
	assert_non_null(strstr(text, ">? unknown: 1 pageblock, 2 MiB</text>"));
	free(text);
	CAPTURE(text, ret = ctl_map_svg(f_, NULL, 0, 2 << 20));
	assert_int_equal(ret, 0);
	assert_non_null(strstr(text, ">no CMA pools</text>"));
	free(text);
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
		API_TEST(test_cma_pools),
		API_TEST(test_cma_map),
		API_TEST(test_cma_commit),
		API_TEST(test_cma_commit_refused),
		API_TEST(test_cma_commit_bad_bodies),
		API_TEST(test_cma_release),
		API_TEST(test_cma_release_bad_bodies),
		API_TEST(test_cma_migrate),
		API_TEST(test_cma_migrate_refused),
		API_TEST(test_cma_migrate_bad_bodies),
		API_TEST(test_cma_stats),
		API_TEST(test_cma_missing_ops_are_501),
		API_TEST(test_cma_vm_errors),
		API_TEST(test_cma_wrong_methods),
		API_TEST(test_map_text_letters),
		API_TEST(test_map_text_rows),
		API_TEST(test_map_text_colour),
		API_TEST(test_map_svg),
		API_TEST(test_map_svg_escapes_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
