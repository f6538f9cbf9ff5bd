// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON every endpoint shares: answering, reporting what the VM could
 * not do, and checking the fields of a request body one at a time, each
 * refusal a 400 that names the field, what was sent and an example.
 */
#include "vmm/control/api/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"

void ctl_api_prepare(void)
{
	json_object_seed(0);
}

uint64_t api_seconds_since(const struct timespec *then)
{
	struct timespec now;

	if (!then->tv_sec && !then->tv_nsec)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > then->tv_sec ? (uint64_t)(now.tv_sec - then->tv_sec) : 0;
}

void api_respond(struct http_response *resp, int status, json_t *json)
{
	if (json)
		http_response_json(resp, status, json);
	else
		http_response_error(resp, 500,
				    "cmavm ran out of memory building the answer; retry");
}

void api_vm_failed(struct http_response *resp, const char *what, int err)
{
	if (err == -ENOSYS)
		http_response_error(resp, 501, "this cmavm cannot %s yet", what);
	else
		http_response_error(resp, 500, "internal error: cannot %s: %s", what,
				    strerror(-err));
}

bool api_body_fields(json_t *body, const char *endpoint, const char *example, api_field_fn field,
		     void *req, struct http_response *resp)
{
	void *it;

	if (!json_is_object(body)) {
		http_response_error(resp, 400, "%s needs a JSON %s, e.g. %s", endpoint,
				    body ? "object" : "body", example);
		return false;
	}
	for (it = json_object_iter(body); it; it = json_object_iter_next(body, it))
		if (!field(json_object_iter_key(it), json_object_iter_value(it), req, resp))
			return false;
	return true;
}

/* A 400: @key must be @what, not the JSON that was sent, e.g. @example. */
static bool wrong_type(const char *key, json_t *value, const char *what, const char *example,
		       struct http_response *resp)
{
	char *text = json_dumps(value, JSON_ENCODE_ANY);

	http_response_error(resp, 400, "%s must be %s, not %s; e.g. %s", key, what,
			    text ? text : "?", example);
	free(text);
	return false;
}

bool api_field_str(const char *key, json_t *value, const char *example, const char **out,
		   struct http_response *resp)
{
	const char *s = json_string_value(value);

	if (s && *s) {
		*out = s;
		return true;
	}
	return wrong_type(key, value, "a non-empty string", example, resp);
}

static bool too_large(const char *key, const char *sent, uint64_t max, struct http_response *resp)
{
	http_response_error(resp, 400, "%s is %s, more than the largest allowed, %llu", key, sent,
			    (unsigned long long)max);
	return false;
}

bool api_field_uint(const char *key, json_t *value, uint64_t max, const char *example,
		    uint64_t *out, struct http_response *resp)
{
	json_int_t v = json_is_integer(value) ? json_integer_value(value) : -1;
	char key_example[96], *text;

	if (v >= 0 && (uint64_t)v <= max) {
		*out = v;
		return true;
	}
	if (v < 0 && !example) {
		snprintf(key_example, sizeof(key_example), "{\"%s\": 64}", key);
		example = key_example;
	}
	if (v < 0)
		return wrong_type(key, value, "a non-negative integer", example, resp);
	text = json_dumps(value, JSON_ENCODE_ANY);
	too_large(key, text ? text : "?", max, resp);
	free(text);
	return false;
}

bool api_field_bytes(const char *key, json_t *value, const char *example, uint64_t *out,
		     struct http_response *resp)
{
	const char *s = json_string_value(value);
	char err[160];

	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		*out = json_integer_value(value);
		return true;
	}
	if (!s)
		return wrong_type(key, value, "a non-negative integer or a size string", example,
				  resp);
	if (size_parse(s, out, err, sizeof(err))) {
		http_response_error(resp, 400, "%s: %s; e.g. %s", key, err, example);
		return false;
	}
	if (*out > (UINT64_MAX >> 1))
		return too_large(key, s, UINT64_MAX >> 1, resp);
	return true;
}
