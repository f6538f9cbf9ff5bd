/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by unit tests whose code enters a seccomp sandbox: a sanitizer's
 * runtime makes calls (sigaltstack, its own mmaps) that no filter of
 * cmavm's allows, so under ASan such a test skips itself: the whole
 * program, or one cmocka test.
 */
#ifndef TESTS_UNIT_LIB_SANITIZER_H
#define TESTS_UNIT_LIB_SANITIZER_H

#include <stdio.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

/* In main(), before the tests run: under ASan, say so and skip (meson: 77). */
#ifdef __SANITIZE_ADDRESS__
#define SKIP_UNDER_SANITIZER()                                                                     \
	do {                                                                                       \
		fputs("skipped: a sanitizer's runtime makes calls no filter allows\n", stderr);    \
		return 77;                                                                         \
	} while (0)
#else
#define SKIP_UNDER_SANITIZER() ((void)0)
#endif

/* In one cmocka test whose code enters a sandbox: under ASan, cmocka's skip(). */
#ifdef __SANITIZE_ADDRESS__
#define SKIP_TEST_UNDER_SANITIZER() skip()
#else
#define SKIP_TEST_UNDER_SANITIZER() ((void)0)
#endif

#endif
