// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the views of `cmavm ctl` share: reading the API's JSON, where a
 * missing member shows as "?" or 0 rather than stopping the view, and
 * the list tables.
 */
#include "vmm/cli/ctl.h"

const char *view_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "?";
}

uint64_t view_u64_of(json_t *v)
{
	return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

uint64_t view_u64(json_t *obj, const char *key)
{
	return view_u64_of(json_object_get(obj, key));
}

const char *view_yes_no(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key)) ? "yes" : "no";
}

void view_list(FILE *out, json_t *list, const char *const *header, view_row_fn row,
	       const char *none)
{
	struct table t = { 0 };
	size_t i;

	if (!json_array_size(list)) {
		if (none)
			fprintf(out, "%s\n", none);
		return;
	}
	table_row_of(&t, header);
	for (i = 0; i < json_array_size(list); i++)
		row(&t, json_array_get(list, i));
	table_print(&t, out);
}
