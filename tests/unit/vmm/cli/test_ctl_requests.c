// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl` COMMAND words to a request (vmm/cli/ctl_requests.c): each
 * command's method, path, JSON body and view, and every usage error, word
 * for word as the user reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/ctl.h"

#define MAX_WORDS 12

struct want {
	const char *words; /* the command, its words split at blanks */
	const char *method, *path;
	const char *json; /* the body; NULL: none */
	ctl_show_fn show;
	const char *svg;
};

/* @words split at blanks into @argv; returns argc. */
static int split(char *words, char *argv[MAX_WORDS])
{
	char *save, *w;
	int argc = 0;

	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < MAX_WORDS);
		argv[argc++] = w;
	}
	return argc;
}

static void expect_requests(const struct want *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *words = strdup(want[i].words), *argv[MAX_WORDS];
		int argc = split(words, argv);
		struct ctl_command cmd;

		print_message("cmavm ctl %s\n", want[i].words);
		assert_int_equal(ctl_parse_command(argc, argv, &cmd), 0);
		assert_string_equal(cmd.method, want[i].method);
		assert_string_equal(cmd.path, want[i].path);
		if (want[i].json)
			assert_string_equal(cmd.json, want[i].json);
		else
			assert_null(cmd.json);
		assert_ptr_equal(cmd.show, want[i].show);
		if (want[i].svg)
			assert_string_equal(cmd.svg, want[i].svg);
		else
			assert_null(cmd.svg);
		free(cmd.json);
		free(words);
	}
}

/* Each of @words[i] is a usage error that says @errors[i]. */
static void expect_usage_errors(const char *const (*cases)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *words = strdup(cases[i][0]), *argv[MAX_WORDS], *err, want[512];
		int argc = split(words, argv);
		struct ctl_command cmd = { 0 };
		struct capture cap;

		print_message("cmavm ctl %s\n", cases[i][0]);
		capture_start(&cap, stderr);
		assert_int_equal(ctl_parse_command(argc, argv, &cmd), CLI_EXIT_USAGE);
		err = captured(&cap, stderr);
		snprintf(want, sizeof(want), "cmavm: error: %s; see 'cmavm ctl --help'\r\n",
			 cases[i][1]);
		assert_string_equal(err, want);
		assert_null(cmd.json);
		free(err);
		free(words);
	}
}

#define EXPECT_REQUESTS(want)	  expect_requests(want, sizeof(want) / sizeof(want[0]))
#define EXPECT_USAGE_ERRORS(errs) expect_usage_errors(errs, sizeof(errs) / sizeof(errs[0]))

static void test_commands_of_one_or_two_words(void **state)
{
	static const struct want want[] = {
		{ "status", "GET", "/v1/vm", NULL, ctl_show_status, NULL },
		{ "pause", "PUT", "/v1/vm/pause", NULL, ctl_show_state, NULL },
		{ "resume", "PUT", "/v1/vm/resume", NULL, ctl_show_state, NULL },
		{ "shutdown", "PUT", "/v1/vm/shutdown", NULL, ctl_show_state, NULL },
		{ "balloon", "GET", "/v1/balloon", NULL, ctl_show_balloon, NULL },
		{ "balloon stats", "GET", "/v1/balloon/statistics", NULL, ctl_show_balloon_stats,
		  NULL },
		{ "devices", "GET", "/v1/devices", NULL, ctl_show_devices, NULL },
		{ "pools", "GET", "/v1/cma/pools", NULL, ctl_show_cma_pools, NULL },
		{ "window list", "GET", "/v1/cma/windows", NULL, ctl_show_windows, NULL },
		{ "cma-stats", "GET", "/v1/cma/stats", NULL, ctl_show_cma_stats, NULL },
	};

	EXPECT_REQUESTS(want);
}

static void test_unknown_commands_and_extra_words(void **state)
{
	static const char *const errors[][2] = {
		{ "bogus", "unknown command 'bogus'" },
		{ "bogus x", "unknown command 'bogus x'" },
		{ "status x", "unknown command 'status x'" },
		{ "balloon frob", "unknown command 'balloon frob'" },
		{ "balloon stats x", "unknown command 'balloon stats'" },
		{ "window", "unknown command 'window'" },
		{ "window frob", "unknown command 'window frob'" },
	};

	EXPECT_USAGE_ERRORS(errors);
}

static void test_balloon_set(void **state)
{
	static const struct want want[] = {
		{ "balloon set 128M", "PUT", "/v1/balloon", "{\"target_bytes\": 134217728}",
		  ctl_show_balloon, NULL },
		{ "balloon set 0", "PUT", "/v1/balloon", "{\"target_bytes\": 0}", ctl_show_balloon,
		  NULL },
	};
	static const char *const errors[][2] = {
		{ "balloon set", "'balloon set' takes one SIZE" },
		{ "balloon set 1M 2M", "'balloon set' takes one SIZE" },
		{ "balloon set 12Q",
		  "balloon set 12Q: '12Q': unknown unit 'Q'; use K, M, G or T (powers of 1024)" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

static void test_map_and_svg(void **state)
{
	static const struct want want[] = {
		{ "map", "GET", "/v1/cma/map", NULL, ctl_show_cma_map, NULL },
		{ "map --svg f.svg", "GET", "/v1/cma/map", NULL, ctl_show_cma_map, "f.svg" },
		{ "map --svg=f.svg", "GET", "/v1/cma/map", NULL, ctl_show_cma_map, "f.svg" },
	};
	static const char *const errors[][2] = {
		{ "map --svg=", "--svg needs a FILE" },
		{ "map --svg", "'map' takes only --svg FILE" },
		{ "map x y", "'map' takes only --svg FILE" },
		{ "map --svg a b", "'map' takes only --svg FILE" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

static void test_window_commit_with_the_level_first_or_last(void **state)
{
	static const struct want want[] = {
		{ "window commit linux,cma huge", "PUT", "/v1/cma/windows",
		  "{\"pool\":\"linux,cma\",\"level\":\"huge\",\"offset\":0,\"length\":0}",
		  ctl_show_window, NULL },
		{ "window commit linux,cma 16M 32M huge", "PUT", "/v1/cma/windows",
		  "{\"pool\":\"linux,cma\",\"level\":\"huge\",\"offset\":16777216,"
		  "\"length\":33554432}",
		  ctl_show_window, NULL },
		{ "window commit linux,cma huge 16M 32M", "PUT", "/v1/cma/windows",
		  "{\"pool\":\"linux,cma\",\"level\":\"huge\",\"offset\":16777216,"
		  "\"length\":33554432}",
		  ctl_show_window, NULL },
		{ "window commit linux,cma 16M 0 contiguous", "PUT", "/v1/cma/windows",
		  "{\"pool\":\"linux,cma\",\"level\":\"contiguous\",\"offset\":16777216,"
		  "\"length\":0}",
		  ctl_show_window, NULL },
	};
	static const char *const errors[][2] = {
		{ "window commit linux,cma", "'window commit' takes POOL [OFFSET LENGTH] LEVEL" },
		{ "window commit linux,cma 16M huge",
		  "'window commit' takes POOL [OFFSET LENGTH] LEVEL" },
		{ "window commit p 1Q 2M huge", "window commit: OFFSET '1Q': unknown unit 'Q'; use "
						"K, M, G or T (powers of 1024)" },
		{ "window commit p 1M 2Q huge", "window commit: LENGTH '2Q': unknown unit 'Q'; use "
						"K, M, G or T (powers of 1024)" },
		{ "window commit p 0xffffffffffffffff 2M huge",
		  "window commit: OFFSET or LENGTH is too large" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

static void test_window_release(void **state)
{
	static const struct want want[] = {
		{ "window release 3", "PUT", "/v1/cma/windows/release", "{\"id\":3}",
		  ctl_show_released, NULL },
		{ "window release 4294967295", "PUT", "/v1/cma/windows/release",
		  "{\"id\":4294967295}", ctl_show_released, NULL },
	};
	static const char *const errors[][2] = {
		{ "window release", "'window release' takes one ID" },
		{ "window release 1 2", "'window release' takes one ID" },
		{ "window release x", "window release: 'x' is not a window id; 'cmavm ctl window "
				      "list' shows them" },
		{ "window release 4294967296", "window release: '4294967296' is not a window id; "
					       "'cmavm ctl window list' shows them" },
		{ "window release +1", "window release: '+1' is not a window id; 'cmavm ctl window "
				       "list' shows them" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

static void test_migrate_by_address_or_by_block(void **state)
{
	static const struct want want[] = {
		{ "migrate 0x9c200000", "PUT", "/v1/cma/migrate", "{\"gpa\":2619342848}",
		  ctl_show_migrated, NULL },
		{ "migrate linux,cma 3", "PUT", "/v1/cma/migrate",
		  "{\"pool\":\"linux,cma\",\"block\":3}", ctl_show_migrated, NULL },
	};
	static const char *const errors[][2] = {
		{ "migrate", "'migrate' takes GPA, or POOL BLOCK" },
		{ "migrate a b c", "'migrate' takes GPA, or POOL BLOCK" },
		{ "migrate zz", "migrate: GPA 'zz' is not a size; write a number with a unit, like "
				"64M or 2G (e.g. 0x9c200000)" },
		{ "migrate 0xffffffffffffffff", "migrate: GPA 0xffffffffffffffff is too large" },
		{ "migrate linux,cma x",
		  "migrate: BLOCK 'x' is not a pageblock number (0, 1, ...)" },
		{ "migrate linux,cma -1",
		  "migrate: BLOCK '-1' is not a pageblock number (0, 1, ...)" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

static void test_raw_sends_what_it_is_given(void **state)
{
	static const struct want want[] = {
		{ "raw GET /v1/vm", "GET", "/v1/vm", NULL, NULL, NULL },
		{ "raw PUT /v1/balloon {\"target_mib\":64}", "PUT", "/v1/balloon",
		  "{\"target_mib\":64}", NULL, NULL },
		{ "raw DELETE /v1/nothing not-json", "DELETE", "/v1/nothing", "not-json", NULL,
		  NULL },
	};
	static const char *const errors[][2] = {
		{ "raw", "'raw' takes METHOD PATH [JSON]" },
		{ "raw GET", "'raw' takes METHOD PATH [JSON]" },
		{ "raw a b c d", "'raw' takes METHOD PATH [JSON]" },
	};

	EXPECT_REQUESTS(want);
	EXPECT_USAGE_ERRORS(errors);
}

/* ---- the GPU's commands (vmm/cli/ctl_gpu.c) ---- */

struct want_gpu {
	const char *words;
	const char *method, *path;
	const char *json;
	ctl_show_fn show;
	bool taken;	     /* the answer goes to cmd->take, not a view */
	const char *file;    /* screenshot's FILE */
	const char *program; /* gpu export's PROGRAM and ARGS, joined by blanks; NULL: none */
};

/* @cmd's program and its arguments, joined by blanks. */
static void program_words(const struct ctl_command *cmd, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < cmd->program_argc; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
			 cmd->program[i]);
}

static void expect_gpu_request(const struct want_gpu *want)
{
	char *words = strdup(want->words), *argv[MAX_WORDS], program[128];
	int argc = split(words, argv);
	struct ctl_command cmd;

	print_message("cmavm ctl %s\n", want->words);
	assert_int_equal(ctl_parse_command(argc, argv, &cmd), 0);
	assert_string_equal(cmd.method, want->method);
	assert_string_equal(cmd.path, want->path);
	if (want->json)
		assert_string_equal(cmd.json, want->json);
	else
		assert_null(cmd.json);
	assert_ptr_equal(cmd.show, want->show);
	assert_int_equal(cmd.take != NULL, want->taken);
	if (want->file)
		assert_string_equal(cmd.file, want->file);
	else
		assert_null(cmd.file);
	program_words(&cmd, program, sizeof(program));
	assert_string_equal(program, want->program ? want->program : "");
	assert_int_equal(cmd.program != NULL, want->program != NULL);
	free(cmd.json);
	free(words);
}

static void test_gpu_commands(void **state)
{
	static const struct want_gpu want[] = {
		{ "gpu", "GET", "/v1/gpu", NULL, ctl_show_gpu, false, NULL, NULL },
		{ "gpu display 1280x800", "PUT", "/v1/gpu/display",
		  "{\"scanout\":0,\"width\":1280,\"height\":800}", ctl_show_gpu_scanout, false,
		  NULL, NULL },
		{ "gpu display 16X8192 --scanout 1", "PUT", "/v1/gpu/display",
		  "{\"scanout\":1,\"width\":16,\"height\":8192}", ctl_show_gpu_scanout, false, NULL,
		  NULL },
		{ "gpu display --scanout=2 640x480", "PUT", "/v1/gpu/display",
		  "{\"scanout\":2,\"width\":640,\"height\":480}", ctl_show_gpu_scanout, false, NULL,
		  NULL },
		{ "screenshot shot.png", "GET", "/v1/gpu/screenshot?scanout=0", NULL, NULL, true,
		  "shot.png", NULL },
		{ "screenshot --scanout 3 -", "GET", "/v1/gpu/screenshot?scanout=3", NULL, NULL,
		  true, "-", NULL },
		{ "gpu export", "PUT", "/v1/gpu/export", "{\"scanout\":0}", NULL, true, NULL,
		  NULL },
		{ "gpu export --scanout 1 -- cmavm-dmabuf --save s.png", "PUT", "/v1/gpu/export",
		  "{\"scanout\":1}", NULL, true, NULL, "cmavm-dmabuf --save s.png" },
		/* after --, every word is the program's */
		{ "gpu export -- prog --scanout 3 --", "PUT", "/v1/gpu/export", "{\"scanout\":0}",
		  NULL, true, NULL, "prog --scanout 3 --" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect_gpu_request(&want[i]);
}

static void test_gpu_usage_errors(void **state)
{
	static const char *const errors[][2] = {
		{ "gpu frob", "unknown command 'gpu frob'" },
		{ "gpu display", "'gpu display' takes WIDTHxHEIGHT, e.g. 'gpu display 1280x800'" },
		{ "gpu display 1280", "gpu display: '1280' is not WIDTHxHEIGHT, e.g. 1280x800" },
		{ "gpu display 1280x", "gpu display: '1280x' is not WIDTHxHEIGHT, e.g. 1280x800" },
		{ "gpu display x800", "gpu display: 'x800' is not WIDTHxHEIGHT, e.g. 1280x800" },
		{ "gpu display +1280x800",
		  "gpu display: '+1280x800' is not WIDTHxHEIGHT, e.g. 1280x800" },
		{ "gpu display 15x800", "gpu display: 15x800 is out of range; width and height are "
					"each 16 to 8192 pixels" },
		{ "gpu display 1280x8193", "gpu display: 1280x8193 is out of range; width and "
					   "height are each 16 to 8192 pixels" },
		{ "gpu display 1280x800 640x480", "'gpu display' takes one WIDTHxHEIGHT" },
		{ "gpu display 1280x800 --scanout",
		  "gpu display: --scanout needs a number, e.g. --scanout 0" },
		{ "gpu display 1280x800 --scanout x", "gpu display: --scanout 'x' is not a "
						      "scanout's number (0, 1, ...); 'cmavm ctl "
						      "gpu' lists them" },
		{ "gpu display 1280x800 --frob", "'gpu display' has no option '--frob'" },
		{ "screenshot", "'screenshot' takes FILE.png, e.g. 'screenshot shot.png'" },
		{ "screenshot a.png b.png", "'screenshot' takes one FILE.png" },
		{ "screenshot a.png --scanout=-1", "screenshot: --scanout '-1' is not a scanout's "
						   "number (0, 1, ...); 'cmavm ctl gpu' lists "
						   "them" },
		{ "gpu export prog", "'gpu export' takes only --scanout N and -- PROGRAM "
				     "[ARGS...]; put '--' before 'prog'" },
		{ "gpu export --", "gpu export: -- needs a PROGRAM to run after it" },
		{ "gpu export -x", "'gpu export' has no option '-x'" },
	};

	EXPECT_USAGE_ERRORS(errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_of_one_or_two_words),
		cmocka_unit_test(test_unknown_commands_and_extra_words),
		cmocka_unit_test(test_balloon_set),
		cmocka_unit_test(test_map_and_svg),
		cmocka_unit_test(test_window_commit_with_the_level_first_or_last),
		cmocka_unit_test(test_window_release),
		cmocka_unit_test(test_migrate_by_address_or_by_block),
		cmocka_unit_test(test_raw_sends_what_it_is_given),
		cmocka_unit_test(test_gpu_commands),
		cmocka_unit_test(test_gpu_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
