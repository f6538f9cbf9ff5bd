// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/cma (vmm/control/api/cma.c): pools, map, windows, commit, release,
 * migrate and statistics, with every refusal of the engine and of a bad
 * body; a fake VM behind struct ctl_ops (fake_vm.h).
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
	assert_int_equal(json_object_size(w), 17);
	assert_int_equal(int_at(w, "id"), id);
	assert_string_equal(str_at(w, "pool"), "linux,cma");
	assert_int_equal(int_at(w, "offset"), offset);
	assert_int_equal(int_at(w, "length"), length);
	assert_int_equal(int_at(w, "gpa"), 0x9c000000 + offset);
	assert_string_equal(str_at(w, "level"), level);
	assert_int_equal(int_at(w, "largest_run"), strcmp(level, "resident") ? 2 << 20 : 0);
	assert_int_equal(int_at(w, "contiguous_2m"),
			 strcmp(level, "resident") ? length / (2 << 20) : 0);
	/* what its moves cost: the fake's figures of window @id, its own */
	assert_int_equal(int_at(w, "commit_ns"), 81234567);
	assert_int_equal(int_at(w, "commit_pause_ns"), 400000 + id);
	assert_int_equal(int_at(w, "pauses"), id);
	assert_int_equal(int_at(w, "pause_ns_max"), 412345);
	assert_int_equal(int_at(w, "stalls"), 10 * id);
	assert_int_equal(int_at(w, "stall_ns_max"), 900000 + id);
	assert_int_equal(int_at(w, "migrations"), id - 1);
	assert_string_equal(str_at(w, "state"), "committed");
	assert_int_equal(int_at(w, "done_bytes"), 0);
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
	assert_int_equal(json_object_size(a.json), 22);
	assert_int_equal(int_at(a.json, "pageblock_size"), 2 << 20);
	assert_int_equal(int_at(a.json, "commits"), 3);
	assert_int_equal(int_at(a.json, "releases"), 1);
	assert_int_equal(int_at(a.json, "migrations"), 5);
	assert_int_equal(int_at(a.json, "rollbacks"), 2);
	assert_int_equal(int_at(a.json, "boot_commits"), 1);
	assert_int_equal(int_at(a.json, "refused_discards"), 7);
	assert_int_equal(int_at(a.json, "refused_discard_bytes"), 28672);
	assert_int_equal(int_at(a.json, "pauses"), 8);
	assert_int_equal(int_at(a.json, "pause_ns_total"), 1234567);
	assert_int_equal(int_at(a.json, "pause_ns_max"), 412345);
	assert_int_equal(int_at(a.json, "pause_ns_last"), 85300);
	assert_int_equal(int_at(a.json, "resident_bytes"), 70 << 20);
	assert_int_equal(int_at(a.json, "stalls"), 11);
	assert_int_equal(int_at(a.json, "stall_ns_total"), 2200000);
	assert_int_equal(int_at(a.json, "stall_ns_max"), 900000);
	assert_int_equal(int_at(a.json, "stall_ns_last"), 150000);
	assert_string_equal(json_string_value(json_object_get(a.json, "moves")), "live");
	assert_string_equal(json_string_value(json_object_get(a.json, "live_why")), "");
	assert_int_equal(json_array_size(json_object_get(a.json, "histogram_bounds_ns")),
			 CTL_HIST_BUCKETS - 1);
	assert_int_equal(json_integer_value(
				 json_array_get(json_object_get(a.json, "histogram_bounds_ns"), 2)),
			 40000);
	assert_int_equal(json_array_size(json_object_get(a.json, "stall_histogram")),
			 CTL_HIST_BUCKETS);
	assert_int_equal(
		json_integer_value(json_array_get(json_object_get(a.json, "stall_histogram"), 3)),
		10);
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(a.json, "stall_histogram"), CTL_HIST_BUCKETS - 1)),
			 1);
	assert_int_equal(
		json_integer_value(json_array_get(json_object_get(a.json, "pause_histogram"), 0)),
		8);
	done(&a);
}

/* A command that pends (the engine's mover has it) but cannot be deferred. */
static void test_cma_pending_without_a_connection_goes_on(void **state)
{
	struct answer a;
	json_t *w;

	vm.pend = FAKE_PEND;
	vm.pend_done_bytes = 24 << 20;
	/* call_ops() is not the HTTP server: its response cannot wait */
	expect_error(put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\", "
					    "\"offset\": \"32M\"}"),
		     500,
		     "cannot wait to commit the window; it goes on: GET /v1/cma/windows and "
		     "/v1/cma/stats show how it ends");
	assert_int_equal(vm.nr_windows, 0);
	a = get("/v1/cma/windows");
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(a.json), 1);
	w = json_array_get(a.json, 0);
	assert_int_equal(json_object_size(w), 17);
	assert_string_equal(str_at(w, "state"), "committing");
	assert_int_equal(int_at(w, "pauses"), 0); /* nothing of it has moved yet */
	assert_int_equal(int_at(w, "done_bytes"), 24 << 20);
	assert_int_equal(int_at(w, "offset"), 32 << 20);
	assert_int_equal(int_at(w, "length"), 32 << 20);
	assert_string_equal(str_at(w, "pool"), "linux,cma"); /* the request's, kept */
	done(&a);
	finish_pending(NULL); /* its answer has nobody to go to */
	assert_int_equal(vm.nr_windows, 1);
	assert_string_equal(vm.windows[0].state, "committed");
}

/* An engine that finishes before its callback returns CTL_PENDING. */
static void test_cma_done_before_the_callback_returns(void **state)
{
	struct answer a;

	vm.pend = FAKE_DONE_EARLY;
	a = put("/v1/cma/windows", "{\"pool\": \"linux,cma\", \"level\": \"huge\"}");
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	expect_window(a.json, 1, 0, 64 << 20, "huge");
	done(&a);
	expect_migrated(put("/v1/cma/migrate", "{\"pool\": \"fw\", \"block\": 1}"), 0x9ae00000);
	a = put("/v1/cma/windows/release", "{\"id\": 1}");
	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "released"), 1);
	done(&a);
	expect_error(put("/v1/cma/windows/release", "{\"id\": 1}"), 404, "no window 1");
	assert_int_equal(vm.cma_calls, 4);
	assert_null(vm.pended.pending);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
		API_TEST(test_cma_pending_without_a_connection_goes_on),
		API_TEST(test_cma_done_before_the_callback_returns),
		API_TEST(test_cma_missing_ops_are_501),
		API_TEST(test_cma_vm_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
