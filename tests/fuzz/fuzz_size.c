// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the size parser and printer (cma/size.h), on the input up
 * to its first NUL.
 *
 * Beyond the sanitizers: a refusal says why, and what is accepted prints
 * as a size that parses back to the same number ("64 MiB" as 64MiB), so
 * that flags and messages always agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, const char *text)
{
	if (!ok) {
		fprintf(stderr, "fuzz_size: %s: '%s'\n", what, text);
		abort();
	}
}

/* size_str()'s "N unit" as a flag is written: "N" for bytes, "NUNIT" otherwise. */
static void as_flag(uint64_t v, char *flag)
{
	char printed[32];
	char *space;

	size_str(v, printed);
	space = strchr(printed, ' ');
	if (!strcmp(space, " bytes"))
		*space = '\0';
	else
		memmove(space, space + 1, strlen(space));
	strcpy(flag, printed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256] = "", flag[32];
	uint64_t v = 0, again = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (size_parse(text, &v, err, sizeof(err))) {
		check(err[0] != '\0', "refused without a reason", text);
	} else {
		as_flag(v, flag);
		check(!size_parse(flag, &again, err, sizeof(err)) && again == v,
		      "what size_str() prints does not parse back", flag);
	}
	free(text);
	return 0;
}
