// SPDX-License-Identifier: GPL-2.0-only
#include "tests/unit/lib/capture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#define CAPTURE_MAX 65536

void capture_start(struct capture *cap, FILE *stream)
{
	fflush(stream);
	cap->file = tmpfile();
	assert_non_null(cap->file);
	cap->saved_fd = dup(fileno(stream));
	assert_true(cap->saved_fd >= 0);
	assert_true(dup2(fileno(cap->file), fileno(stream)) >= 0);
}

char *captured(struct capture *cap, FILE *stream)
{
	char *text = calloc(1, CAPTURE_MAX);

	assert_non_null(text);
	fflush(stream);
	dup2(cap->saved_fd, fileno(stream));
	close(cap->saved_fd);
	rewind(cap->file);
	assert_true(fread(text, 1, CAPTURE_MAX - 1, cap->file) < CAPTURE_MAX - 1);
	fclose(cap->file);
	return text;
}
