/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the files of vmm/control/api/ (router.c, json.c, vm.c,
 * balloon.c, devices.c, cma.c, gpu.c, metrics.c): the handlers the route
 * table names, and the JSON helpers they share (answers, VM errors,
 * checked body fields). Everyone else goes through vmm/control/api.h.
 */
#ifndef VMM_CONTROL_API_INTERNAL_H
#define VMM_CONTROL_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/control/api.h"

/*
 * One endpoint's handler. The router has already checked the method, the
 * content type and the JSON: @body is the request's JSON, NULL when it
 * has none.
 */
typedef void (*api_handler_fn)(const struct ctl_ops *ops, json_t *body, struct http_response *resp);

/*
 * One that reads the URL's query instead (GET /v1/gpu/screenshot?scanout=1):
 * @query is what follows '?', "" when nothing does.
 */
typedef void (*api_query_fn)(const struct ctl_ops *ops, const char *query,
			     struct http_response *resp);

/* ---- the handlers (vm.c, balloon.c, devices.c, cma.c, gpu.c, metrics.c) ---- */

void api_get_vm(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_vm_pause(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_vm_resume(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_vm_shutdown(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_balloon_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_devices(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_cma_pools(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_cma_map(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_cma_release(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_cma_migrate(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_cma_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_gpu(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_put_gpu_display(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_gpu_screenshot(const struct ctl_ops *ops, const char *query,
			    struct http_response *resp);
void api_put_gpu_export(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_metrics(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
void api_get_guest_cma(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
/* The guest's CMA figures as /v1/guest/cma and /v1/vm ("guest_cma") show them (guest.c). */
json_t *api_guest_cma_json(const struct ctl_guest_cma *g);

/* ---- answers (json.c) ---- */

/* Every value sent (addresses, sizes, counters, feature bits) is below 2^63. */
static inline json_t *api_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* Whole seconds since @then (CLOCK_MONOTONIC); 0 for a time never set. */
uint64_t api_seconds_since(const struct timespec *then);

/* Answer @status with @json, or 500 if building it ran out of memory. */
void api_respond(struct http_response *resp, int status, json_t *json);

/* The VM could not @what: 501 for a callback it lacks (-ENOSYS), else 500. */
void api_vm_failed(struct http_response *resp, const char *what, int err);

/* ---- checked body fields (json.c); each false with a 400 in @resp ---- */

typedef bool (*api_field_fn)(const char *key, json_t *value, void *req, struct http_response *resp);

/* @body must be an object; each of its fields goes through @field. */
bool api_body_fields(json_t *body, const char *endpoint, const char *example, api_field_fn field,
		     void *req, struct http_response *resp);

/* A non-empty string. */
bool api_field_str(const char *key, json_t *value, const char *example, const char **out,
		   struct http_response *resp);

/*
 * A non-negative integer no larger than @max; the 400 shows @example
 * (NULL: {"key": 64}).
 */
bool api_field_uint(const char *key, json_t *value, uint64_t max, const char *example,
		    uint64_t *out, struct http_response *resp);

/*
 * A number of bytes or an address: a non-negative integer, or a string
 * size_parse() takes ("16M", "0x9c200000").
 */
bool api_field_bytes(const char *key, json_t *value, const char *example, uint64_t *out,
		     struct http_response *resp);

#endif
