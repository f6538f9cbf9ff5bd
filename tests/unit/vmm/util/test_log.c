// SPDX-License-Identifier: GPL-2.0-only
/*
 * The log level (vmm/util/log.h, log_level.c): which of pr_err, pr_warn,
 * pr_info and pr_debug each level shows, set by --log-level's call or read
 * from $CMAVM_LOG_LEVEL, and a word that is no level.
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

#include "tests/unit/lib/capture.h"
#include "vmm/util/log.h"

/* What one message at each level printed, in order. */
static char *one_of_each(void)
{
	struct capture cap;

	capture_start(&cap, stderr);
	pr_err("e %d", 1);
	pr_warn("w %d", 2);
	pr_info("i %d", 3);
	pr_debug("d %d", 4);
	errno = 2;
	pr_errno("n");
	return captured(&cap, stderr);
}

static void expect_lines(const char *want)
{
	char *got = one_of_each();

	assert_string_equal(got, want);
	free(got);
}

#define ERR   "cmavm: error: e 1\r\n"
#define WARN  "cmavm: warning: w 2\r\n"
#define INFO  "cmavm: i 3\r\n"
#define DEBUG "cmavm: debug: d 4\r\n"
#define ERRNO "cmavm: error: n: No such file or directory (errno 2)\r\n"

static int unset_env(void **state)
{
	(void)state;
	unsetenv(LOG_LEVEL_ENV);
	vmm_log_level_from_env();
	return 0;
}

static void test_info_by_default(void **state)
{
	(void)state;
	expect_lines(ERR WARN INFO ERRNO);
	assert_false(vmm_log_shown(LOG_LEVEL_DEBUG));
	assert_true(vmm_log_shown(LOG_LEVEL_INFO));
}

static void test_each_level_shows_those_before_it(void **state)
{
	(void)state;
	vmm_log_set_level(LOG_LEVEL_ERROR);
	expect_lines(ERR ERRNO);
	vmm_log_set_level(LOG_LEVEL_WARN);
	expect_lines(ERR WARN ERRNO);
	vmm_log_set_level(LOG_LEVEL_INFO);
	expect_lines(ERR WARN INFO ERRNO);
	vmm_log_set_level(LOG_LEVEL_DEBUG);
	expect_lines(ERR WARN INFO DEBUG ERRNO);
}

static void test_environment_and_the_flag_over_it(void **state)
{
	(void)state;
	setenv(LOG_LEVEL_ENV, "warn", 1);
	vmm_log_level_from_env();
	expect_lines(ERR WARN ERRNO);
	setenv(LOG_LEVEL_ENV, "debug", 1);
	vmm_log_level_from_env();
	expect_lines(ERR WARN INFO DEBUG ERRNO);
	/* --log-level's call wins */
	vmm_log_set_level(LOG_LEVEL_ERROR);
	expect_lines(ERR ERRNO);
	/* empty: as unset */
	setenv(LOG_LEVEL_ENV, "", 1);
	vmm_log_level_from_env();
	expect_lines(ERR WARN INFO ERRNO);
}

static void test_a_word_that_is_no_level(void **state)
{
	(void)state;
	setenv(LOG_LEVEL_ENV, "verbose", 1);
	vmm_log_level_from_env();
	expect_lines("cmavm: warning: CMAVM_LOG_LEVEL=verbose: unknown log level 'verbose'; "
		     "levels: error, warn, info, debug (showing info)\r\n" ERR WARN INFO ERRNO);
	/* said once */
	vmm_log_level_from_env();
	expect_lines(ERR WARN INFO ERRNO);
}

/* A kernel command line of 2047 bytes, as `cmavm run` logs it, whole. */
static void test_a_long_message_whole(void **state)
{
	char line[2048], *got;
	struct capture cap;

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	capture_start(&cap, stderr);
	pr_info("cmdline: %s", line);
	got = captured(&cap, stderr);
	assert_int_equal(strlen(got), strlen("cmavm: cmdline: \r\n") + sizeof(line) - 1);
	assert_non_null(strstr(got, line));
	free(got);
}

static void test_names(void **state)
{
	static const char *const words[] = { "error", "warn", "info", "debug" };
	enum log_level level = LOG_LEVEL_INFO;

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_true(log_level_parse(words[i], &level));
		assert_int_equal(level, i);
		assert_string_equal(log_level_name(level), words[i]);
	}
	level = LOG_LEVEL_WARN;
	assert_false(log_level_parse("warning", &level));
	assert_false(log_level_parse("DEBUG", &level));
	assert_false(log_level_parse("", &level));
	assert_int_equal(level, LOG_LEVEL_WARN);
	assert_string_equal(log_level_name((enum log_level)7), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_info_by_default, unset_env),
		cmocka_unit_test_setup(test_each_level_shows_those_before_it, unset_env),
		cmocka_unit_test_setup(test_environment_and_the_flag_over_it, unset_env),
		cmocka_unit_test_setup(test_a_word_that_is_no_level, unset_env),
		cmocka_unit_test_setup(test_a_long_message_whole, unset_env),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
