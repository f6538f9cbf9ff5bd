// SPDX-License-Identifier: GPL-2.0-only
#include "capture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *memout_open(struct memout *m)
{
	m->text = NULL;
	m->len = 0;
	m->file = open_memstream(&m->text, &m->len);
	assert_non_null(m->file);
	return m->file;
}

char *memout_text(struct memout *m)
{
	assert_int_equal(fclose(m->file), 0);
	return m->text;
}

json_t *answer_json(const char *text)
{
	char *json = strdup(text), *q;
	json_error_t err;
	json_t *root;

	assert_non_null(json);
	for (q = json; (q = strchr(q, '\'')); q++)
		*q = '"';
	root = json_loads(json, 0, &err);
	if (!root)
		fail_msg("not JSON: %s (%s)", json, err.text);
	free(json);
	return root;
}

char *view_text(ctl_show_fn show, const char *text)
{
	json_t *answer = answer_json(text);
	struct memout out;

	show(memout_open(&out), answer);
	json_decref(answer);
	return memout_text(&out);
}
