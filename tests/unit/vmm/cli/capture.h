/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests of vmm/cli/ share: an answer written with ' for ", the
 * text a view prints for it (and, through tests/unit/lib/capture.h, what
 * went to stderr meanwhile).
 */
#ifndef TESTS_UNIT_VMM_CLI_CAPTURE_H
#define TESTS_UNIT_VMM_CLI_CAPTURE_H

#include <jansson.h>
#include <stdio.h>

#include "tests/unit/lib/capture.h"
#include "vmm/cli/ctl.h"

/* A stream whose text is kept in memory (open_memstream). */
struct memout {
	FILE *file;
	char *text;
	size_t len;
};

FILE *memout_open(struct memout *m);
/* What was written to @m's stream, which is closed; a malloc()ed string. */
char *memout_text(struct memout *m);

/* @text as JSON once every ' is a " (answers read better in C that way). */
json_t *answer_json(const char *text);

/* What @show printed for the answer @text, as a malloc()ed string. */
char *view_text(ctl_show_fn show, const char *text);

#define assert_view(show, answer, text)                                                            \
	do {                                                                                       \
		char *got_ = view_text(show, answer);                                              \
		assert_string_equal(got_, text);                                                   \
		free(got_);                                                                        \
	} while (0)

#endif
