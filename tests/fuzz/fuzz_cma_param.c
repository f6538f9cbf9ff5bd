// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the guest's cma= as Linux reads it (fdt/cma_param.h). The
 * input, up to its first NUL, is a kernel command line for
 * cma_param_from_cmdline(), and the same text one cma= value for
 * cma_param_parse() and a number for cma_memparse().
 *
 * Beyond the sanitizers: the texts kept are terminated, memparse stops
 * inside the text, and cma_param_from_cmdline() of "cma=VALUE" agrees with
 * cma_param_parse(VALUE) for a VALUE the kernel would take whole (no
 * space, quote or NUL to split it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdt/cma_param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_cma_param: %s\n", what);
		abort();
	}
}

static void check_texts(const struct cma_param *p)
{
	check(memchr(p->value, '\0', sizeof(p->value)) &&
		      memchr(p->ignored, '\0', sizeof(p->ignored)),
	      "unterminated text in struct cma_param");
}

/* Bytes that next_arg() splits on or strips: a value with none is taken whole. */
static bool plain_value(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == ' ' || (*s >= '\t' && *s <= '\r') ||
		    (unsigned char)*s == 0xa0)
			return false;
	return true;
}

static void check_agree(const char *value)
{
	struct cma_param one, line;
	char *cmdline;
	size_t len = strlen(value);

	if (!plain_value(value) || len + 4 >= CMA_PARAM_CMDLINE_SIZE)
		return;
	cmdline = malloc(len + 5);
	if (!cmdline)
		abort();
	memcpy(cmdline, "cma=", 4);
	memcpy(cmdline + 4, value, len + 1);
	cma_param_parse(value, &one);
	cma_param_from_cmdline(cmdline, &line);
	free(cmdline);
	check(one.present == line.present && one.size == line.size && one.base == line.base &&
		      one.limit == line.limit && one.fixed == line.fixed,
	      "cma=VALUE on a command line reads differently from VALUE alone");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cma_param p;
	const char *end;
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	cma_param_from_cmdline(text, &p);
	check_texts(&p);
	cma_param_parse(text, &p);
	check_texts(&p);
	cma_memparse(text, &end);
	check(end >= text && end <= text + strlen(text), "memparse ended outside the text");
	check_agree(text);
	free(text);
	return 0;
}
