/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by unit tests: what a stream (stdout, stderr) printed while the
 * code under test ran.
 */
#ifndef TESTS_UNIT_LIB_CAPTURE_H
#define TESTS_UNIT_LIB_CAPTURE_H

#include <stdio.h>

struct capture {
	FILE *file;
	int saved_fd;
};

/* From now on @stream's descriptor writes into @cap, until captured(). */
void capture_start(struct capture *cap, FILE *stream);
/* What was printed since capture_start(), as a malloc()ed string; @stream is restored. */
char *captured(struct capture *cap, FILE *stream);

#endif
