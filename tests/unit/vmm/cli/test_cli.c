// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the commands share (vmm/cli/cli.c): how a usage error reads, and
 * the words that ask for help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "capture.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/commands.h"

static void test_usage_error_points_at_the_command_s_help(void **state)
{
	struct capture cap;
	char *err;

	capture_start(&cap, stderr);
	assert_int_equal(cli_usage_error("dtb", "'dtb check' takes one DTB file"), CLI_EXIT_USAGE);
	assert_int_equal(cli_usage_error("run", "unknown flag '%s'", "--frob"), CLI_EXIT_USAGE);
	err = captured(&cap, stderr);
	assert_string_equal(err, "cmavm: error: 'dtb check' takes one DTB file; see 'cmavm dtb "
				 "--help'\r\n"
				 "cmavm: error: unknown flag '--frob'; see 'cmavm run --help'\r\n");
	free(err);
}

static void test_help_words(void **state)
{
	assert_true(cli_is_help("--help"));
	assert_true(cli_is_help("-h"));
	assert_true(cli_is_help("help"));
	assert_false(cli_is_help("--he"));
	assert_false(cli_is_help("check"));
	assert_false(cli_is_help(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_error_points_at_the_command_s_help),
		cmocka_unit_test(test_help_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
