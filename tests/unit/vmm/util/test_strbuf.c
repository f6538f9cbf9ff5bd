// SPDX-License-Identifier: GPL-2.0-only
/* The string buffer (vmm/util/strbuf.h): growable with a limit, fixed with truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/util/strbuf.h"

static void test_growable_appends_and_grows(void **state)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);
	char big[1000];

	(void)state;
	assert_string_equal(strbuf_str(&sb), "");
	assert_int_equal(strbuf_add(&sb, "ab", 2), 0);
	assert_int_equal(strbuf_addf(&sb, "-%d-", 42), 0);
	assert_string_equal(strbuf_str(&sb), "ab-42-");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* longer than the first allocation and than the formatting scratch */
	assert_int_equal(strbuf_addf(&sb, "%s", big), 0);
	assert_int_equal(strbuf_len(&sb), 6 + 999);
	assert_int_equal(strlen(strbuf_str(&sb)), 6 + 999);
	assert_memory_equal(strbuf_str(&sb) + 6, big, 999);
	strbuf_release(&sb);
	assert_string_equal(strbuf_str(&sb), "");
}

static void test_growable_limit_keeps_what_it_had(void **state)
{
	struct strbuf sb = STRBUF_INIT(8);

	(void)state;
	assert_int_equal(strbuf_add(&sb, "12345", 5), 0);
	assert_int_equal(strbuf_add(&sb, "6789", 4), -ENOSPC);
	assert_string_equal(strbuf_str(&sb), "12345");
	assert_int_equal(strbuf_addf(&sb, "%s", "678"), 0);
	assert_string_equal(strbuf_str(&sb), "12345678");
	assert_int_equal(strbuf_add(&sb, "9", 1), -ENOSPC);
	strbuf_reset(&sb);
	assert_int_equal(strbuf_len(&sb), 0);
	assert_int_equal(strbuf_add(&sb, "abc", 3), 0);
	assert_string_equal(strbuf_str(&sb), "abc");
	strbuf_release(&sb);
}

static void test_fixed_appends_after_existing_text_and_truncates(void **state)
{
	char buf[10] = "ab";
	struct strbuf sb;

	(void)state;
	strbuf_attach(&sb, buf, sizeof(buf));
	assert_int_equal(strbuf_len(&sb), 2);
	assert_int_equal(strbuf_addf(&sb, "%s", "cdef"), 0);
	assert_false(strbuf_truncated(&sb));
	assert_string_equal(buf, "abcdef");
	assert_int_equal(strbuf_addf(&sb, "%d", 123456), -ENOSPC);
	assert_true(strbuf_truncated(&sb));
	assert_string_equal(buf, "abcdef123"); /* 9 bytes and the NUL */
	assert_int_equal(strbuf_add(&sb, "z", 1), -ENOSPC);
	assert_string_equal(buf, "abcdef123");
}

static void test_edges(void **state)
{
	struct strbuf grow = STRBUF_INIT(SIZE_MAX), none;
	char one[1] = "";

	(void)state;
	/* lengths that would wrap size_t are refused, not wrapped */
	assert_int_equal(strbuf_add(&grow, "ab", 2), 0);
	assert_int_equal(strbuf_add(&grow, "x", SIZE_MAX - 2), -ENOMEM);
	assert_int_equal(strbuf_add(&grow, "x", SIZE_MAX / 2 + 10), -ENOMEM);
	assert_string_equal(strbuf_str(&grow), "ab");
	strbuf_release(&grow);
	/* a fixed buffer of no bytes, or of room for the NUL only */
	strbuf_attach(&none, NULL, 0);
	assert_int_equal(strbuf_add(&none, "", 0), 0);
	assert_int_equal(strbuf_add(&none, "a", 1), -ENOSPC);
	assert_string_equal(strbuf_str(&none), "");
	strbuf_attach(&none, one, sizeof(one));
	assert_int_equal(strbuf_addf(&none, "%s", "a"), -ENOSPC);
	assert_true(strbuf_truncated(&none));
	/* a cut is remembered, but an append that fits still succeeds */
	assert_int_equal(strbuf_add(&none, "", 0), 0);
	assert_string_equal(one, "");
}

static void test_str_appendf_on_unterminated_array(void **state)
{
	char buf[6];

	(void)state;
	memset(buf, 'q', sizeof(buf)); /* no NUL: treated as full, then terminated */
	str_appendf(buf, sizeof(buf), "x");
	assert_string_equal(buf, "qqqqq");
	buf[0] = '\0';
	assert_string_equal(str_appendf(buf, sizeof(buf), "%s=%u", "k", 7u), "k=7");
	str_appendf(buf, sizeof(buf), ", more");
	assert_string_equal(buf, "k=7, ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growable_appends_and_grows),
		cmocka_unit_test(test_growable_limit_keeps_what_it_had),
		cmocka_unit_test(test_fixed_appends_after_existing_text_and_truncates),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_str_appendf_on_unterminated_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
