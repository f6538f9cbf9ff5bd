// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/gpu: the virtio-gpu's scanouts and resources (with where their
 * pixels live on the host), a new display size, a screenshot of a scanout
 * as a PNG file, and a scanout handed out as a dma-buf, whose descriptor
 * travels with the answer (SCM_RIGHTS). A VM without a GPU answers 404 on
 * all four; the GPU's refusals come with its own sentence and an errno
 * that picks the status (see struct ctl_ops).
 */
#include "vmm/control/api/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DISPLAY_EXAMPLE "{\"width\": 1280, \"height\": 800}"
#define SCANOUT_EXAMPLE "{\"scanout\": 0}"
#define WHY_MAX		256 /* the GPU's sentence when it refuses */

static void no_gpu(struct http_response *resp)
{
	http_response_error(resp, 404,
			    "this VM has no GPU; start cmavm with --gpu to use /v1/gpu (see "
			    "'cmavm run --help')");
}

/* The errnos the GPU refuses with (struct ctl_ops), and their statuses. */
static const struct {
	int err, status;
} refusals[] = {
	{ -ENOENT, 404 }, { -EINVAL, 400 }, { -ENODATA, 409 }, { -EOPNOTSUPP, 501 }, { -EIO, 500 },
};

/* The status @err stands for; 0 for an errno the GPU does not refuse with. */
static int refusal_status(int err)
{
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (refusals[i].err == err)
			return refusals[i].status;
	return 0;
}

/*
 * @err as an answer: the GPU's sentence @why (which may have been cut
 * off unterminated) with the status its errno stands for; an errno it
 * should not have given is an internal error. False when there was none.
 */
static bool gpu_failed(struct http_response *resp, const char *what, int err, char *why)
{
	int status = refusal_status(err);

	why[WHY_MAX - 1] = '\0';
	if (err == -ENODEV)
		no_gpu(resp);
	else if (err == -ENOSYS)
		api_vm_failed(resp, what, err);
	else if (!err)
		return false;
	else if (why[0] && status)
		http_response_error(resp, status, "%s", why);
	else
		http_response_error(resp, status ? status : 500, "%scannot %s: %s%s%s",
				    status ? "" : "internal error: ", what, strerror(-err),
				    why[0] ? "; " : "", why);
	return true;
}

/* ---- GET /v1/gpu ---- */

/* A number that 0 means unknown (or none) for: null then. */
static json_t *u64_or_null(uint64_t v)
{
	return v ? api_u64(v) : json_null();
}

/* "0x8a2000000": a host-physical address as people read it; null when unknown. */
static json_t *hex_or_null(uint64_t v)
{
	char text[24];

	if (!v)
		return json_null();
	snprintf(text, sizeof(text), "0x%llx", (unsigned long long)v);
	return json_string(text);
}

static json_t *rect_json(const struct ctl_gpu_rect *r)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "x", api_u64(r->x), "y", api_u64(r->y), "width",
			 api_u64(r->width), "height", api_u64(r->height));
}

static json_t *scanout_json(const struct ctl_gpu_scanout *s)
{
	return json_pack("{s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "id", api_u64(s->id), "enabled",
			 s->enabled, "width", api_u64(s->width), "height", api_u64(s->height),
			 "resource_id", u64_or_null(s->resource_id), "rect", rect_json(&s->rect),
			 "flushes", api_u64(s->flushes));
}

/* The scanouts of bit mask @mask: [0, 2]. */
static json_t *scanout_ids(uint32_t mask)
{
	json_t *ids = json_array();
	unsigned int i;

	for (i = 0; ids && i < 32; i++)
		if (mask & (1u << i))
			json_array_append_new(ids, api_u64(i));
	return ids;
}

/* true, false, or null when nobody knows (not root: no frame numbers). */
static json_t *contiguous_json(const struct ctl_gpu_resource *r)
{
	if (r->contiguous)
		return json_true();
	return r->largest_run ? json_false() : json_null();
}

static json_t *resource_json(const struct ctl_gpu_resource *r)
{
	return json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:o}",
			 "id", api_u64(r->id), "width", api_u64(r->width), "height",
			 api_u64(r->height), "format", r->format ? r->format : "", "stride",
			 api_u64(r->stride), "bytes", api_u64(r->bytes), "offset",
			 api_u64(r->offset), "backed", r->backed, "backing_entries",
			 api_u64(r->backing_entries), "largest_run", u64_or_null(r->largest_run),
			 "contiguous", contiguous_json(r), "runs", u64_or_null(r->runs),
			 "host_phys", u64_or_null(r->host_phys), "host_phys_hex",
			 hex_or_null(r->host_phys), "scanouts", scanout_ids(r->scanouts));
}

static json_t *cursor_json(const struct ctl_gpu *g)
{
	if (!g->cursor.resource_id)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "resource_id",
			 api_u64(g->cursor.resource_id), "scanout", api_u64(g->cursor.scanout), "x",
			 api_u64(g->cursor.x), "y", api_u64(g->cursor.y), "hot_x",
			 api_u64(g->cursor.hot_x), "hot_y", api_u64(g->cursor.hot_y));
}

/* A VM that does not say why export cannot work is not taken to mean it can. */
static json_t *export_json(const char *why)
{
	return json_pack("{s:b, s:s}", "available", why && !*why, "why",
			 why ? why : "cmavm did not say whether it can export dma-bufs");
}

static json_t *list_json(const void *items, unsigned int n, size_t size,
			 json_t *(*one)(const void *item))
{
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; list && i < n; i++)
		json_array_append_new(list, one((const char *)items + i * size));
	return list;
}

static json_t *one_scanout(const void *s)
{
	return scanout_json(s);
}

static json_t *one_resource(const void *r)
{
	return resource_json(r);
}

static json_t *gpu_json(const struct ctl_gpu *g)
{
	unsigned int nr_scanouts = g->nr_scanouts, nr_res = g->nr_resources;

	if (nr_scanouts > CTL_GPU_SCANOUTS_MAX)
		nr_scanouts = CTL_GPU_SCANOUTS_MAX;
	if (nr_res > CTL_GPU_RESOURCES_MAX)
		nr_res = CTL_GPU_RESOURCES_MAX;
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
			 g->name ? g->name : "", "backing", g->backing ? g->backing : "",
			 "region_bytes", api_u64(g->region_bytes), "used_bytes",
			 api_u64(g->used_bytes), "page_size", api_u64(g->page_size), "scanouts",
			 list_json(g->scanouts, nr_scanouts, sizeof(g->scanouts[0]), one_scanout),
			 "resources",
			 list_json(g->resources, nr_res, sizeof(g->resources[0]), one_resource),
			 "resources_total",
			 api_u64(g->nr_resources_total > nr_res ? g->nr_resources_total : nr_res),
			 "cursor", cursor_json(g), "export", export_json(g->export_why));
}

/* The GPU's state, malloc()ed; NULL with the answer in @resp. */
static struct ctl_gpu *read_gpu(const struct ctl_ops *ops, struct http_response *resp)
{
	struct ctl_gpu *g = calloc(1, sizeof(*g));
	char why[WHY_MAX] = "";
	int err = ops->gpu_get ? -ENOMEM : -ENOSYS;

	if (g && ops->gpu_get)
		err = ops->gpu_get(ops->opaque, g);
	if (!gpu_failed(resp, "read the GPU's state", err, why))
		return g;
	free(g);
	return NULL;
}

void api_get_gpu(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_gpu *g = read_gpu(ops, resp);

	if (g)
		api_respond(resp, 200, gpu_json(g));
	free(g);
}

/* ---- PUT /v1/gpu/display ---- */

struct display_request {
	uint64_t scanout, width, height; /* 0: not given (scanout: the first) */
};

static bool side_field(const char *key, json_t *value, uint64_t *out, struct http_response *resp)
{
	json_int_t v = json_is_integer(value) ? json_integer_value(value) : -1;
	char *text;

	if (v >= CTL_GPU_SIDE_MIN && v <= CTL_GPU_SIDE_MAX) {
		*out = v;
		return true;
	}
	text = json_dumps(value, JSON_ENCODE_ANY);
	http_response_error(resp, 400,
			    "%s must be a whole number of pixels from %d to %d, not %s; "
			    "e.g. " DISPLAY_EXAMPLE,
			    key, CTL_GPU_SIDE_MIN, CTL_GPU_SIDE_MAX, text ? text : "?");
	free(text);
	return false;
}

static bool display_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct display_request *dr = req;

	if (!strcmp(key, "scanout"))
		return api_field_uint(key, value, UINT_MAX, SCANOUT_EXAMPLE, &dr->scanout, resp);
	if (!strcmp(key, "width"))
		return side_field(key, value, &dr->width, resp);
	if (!strcmp(key, "height"))
		return side_field(key, value, &dr->height, resp);
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/gpu/display takes width, height and "
			    "optionally scanout, e.g. " DISPLAY_EXAMPLE,
			    key);
	return false;
}

/* The scanout @id of the GPU as JSON, or a 404 when it has none. */
static void answer_scanout(const struct ctl_ops *ops, unsigned int id, struct http_response *resp)
{
	struct ctl_gpu *g = read_gpu(ops, resp);
	unsigned int i;

	for (i = 0; g && i < g->nr_scanouts && i < CTL_GPU_SCANOUTS_MAX; i++)
		if (g->scanouts[i].id == id)
			break;
	if (g && (i == g->nr_scanouts || i == CTL_GPU_SCANOUTS_MAX))
		http_response_error(resp, 404, "the GPU has no scanout %u; GET /v1/gpu lists them",
				    id);
	else if (g)
		api_respond(resp, 200, scanout_json(&g->scanouts[i]));
	free(g);
}

void api_put_gpu_display(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct display_request dr = { 0 };
	char why[WHY_MAX] = "";
	int err = -ENOSYS;

	if (!api_body_fields(body, "PUT /v1/gpu/display", DISPLAY_EXAMPLE, display_field, &dr,
			     resp))
		return;
	if (!dr.width || !dr.height) {
		http_response_error(
			resp, 400,
			"PUT /v1/gpu/display needs width and height, e.g. " DISPLAY_EXAMPLE);
		return;
	}
	if (ops->gpu_set_display)
		err = ops->gpu_set_display(ops->opaque, (unsigned int)dr.scanout,
					   (uint32_t)dr.width, (uint32_t)dr.height, why,
					   sizeof(why));
	if (!gpu_failed(resp, "change the display's size", err, why))
		answer_scanout(ops, (unsigned int)dr.scanout, resp);
}

/* ---- GET /v1/gpu/screenshot?scanout=N ---- */

/* A decimal number of at most 9 digits: plenty for a scanout. */
static bool parse_small(const char *text, size_t len, unsigned int *out)
{
	size_t i;

	if (!len || len > 9)
		return false;
	*out = 0;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		*out = *out * 10 + (unsigned int)(text[i] - '0');
	}
	return true;
}

/* The query's scanout=N, 0 when absent; false with a 400 in @resp. */
static bool query_scanout(const char *query, unsigned int *scanout, struct http_response *resp)
{
	static const char key[] = "scanout=";
	const char *p = query;

	*scanout = 0;
	while (*p) {
		size_t len = strcspn(p, "&");

		if (len >= sizeof(key) - 1 && !strncmp(p, key, sizeof(key) - 1)) {
			if (!parse_small(p + sizeof(key) - 1, len - (sizeof(key) - 1), scanout)) {
				http_response_error(
					resp, 400,
					"scanout must be a scanout's number, not '%.*s'; "
					"e.g. /v1/gpu/screenshot?scanout=0",
					(int)(len - (sizeof(key) - 1)), p + sizeof(key) - 1);
				return false;
			}
		} else if (len) {
			http_response_error(
				resp, 400,
				"unknown query parameter '%.*s'; GET /v1/gpu/screenshot "
				"takes only scanout=N, e.g. ?scanout=0",
				(int)len, p);
			return false;
		}
		p += len + (p[len] == '&');
	}
	return true;
}

void api_get_gpu_screenshot(const struct ctl_ops *ops, const char *query,
			    struct http_response *resp)
{
	char why[WHY_MAX] = "";
	unsigned int scanout;
	uint8_t *png = NULL;
	size_t len = 0;
	int err = -ENOSYS;

	if (!query_scanout(query, &scanout, resp))
		return;
	if (ops->gpu_screenshot)
		err = ops->gpu_screenshot(ops->opaque, scanout, &png, &len, why, sizeof(why));
	if (!err && (!png || !len))
		err = -EPROTO; /* a VM bug, said as one */
	if (gpu_failed(resp, "take a screenshot", err, why))
		free(png);
	else
		http_response_data(resp, 200, "image/png", png, len);
}

/* ---- PUT /v1/gpu/export ---- */

static bool export_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	if (!strcmp(key, "scanout"))
		return api_field_uint(key, value, UINT_MAX, SCANOUT_EXAMPLE, req, resp);
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/gpu/export takes only scanout, "
			    "e.g. " SCANOUT_EXAMPLE,
			    key);
	return false;
}

static json_t *exported_json(unsigned int scanout, const struct ctl_gpu_export *ex)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "scanout",
			 api_u64(scanout), "resource_id", api_u64(ex->resource_id), "width",
			 api_u64(ex->width), "height", api_u64(ex->height), "stride",
			 api_u64(ex->stride), "format", ex->format ? ex->format : "", "fourcc",
			 ex->fourcc ? ex->fourcc : "", "offset", api_u64(ex->offset), "size",
			 api_u64(ex->size), "host_phys", u64_or_null(ex->host_phys),
			 "host_phys_hex", hex_or_null(ex->host_phys), "contiguous", ex->contiguous);
}

/* No body: the first scanout. */
void api_put_gpu_export(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_gpu_export ex = { .fd = -1 };
	char why[WHY_MAX] = "";
	uint64_t scanout = 0;
	int err = -ENOSYS;
	json_t *answer;

	if (body && !api_body_fields(body, "PUT /v1/gpu/export", SCANOUT_EXAMPLE, export_field,
				     &scanout, resp))
		return;
	if (ops->gpu_export)
		err = ops->gpu_export(ops->opaque, (unsigned int)scanout, &ex, why, sizeof(why));
	if (!err && ex.fd < 0)
		err = -EPROTO; /* a VM bug, said as one */
	answer = err ? NULL : exported_json((unsigned int)scanout, &ex);
	if (gpu_failed(resp, "export the scanout as a dma-buf", err, why) || !answer) {
		if (ex.fd >= 0)
			close(ex.fd);
		if (!err)
			api_respond(resp, 500, NULL);
		return;
	}
	http_response_json(resp, 200, answer);
	http_response_attach_fd(resp, ex.fd);
}
