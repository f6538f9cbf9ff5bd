// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's route table and dispatcher. A new endpoint is one line
 * in routes[] and one handler in its resource's file; the dispatcher has
 * already checked the method, the content type and the JSON before a
 * handler runs. Unknown paths get a 404 listing every endpoint, known
 * paths asked with another method a 405 with Allow.
 */
#include "vmm/control/api/internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vmm/util/strbuf.h"

struct route {
	const char *method;
	const char *path;
	api_handler_fn handle;
	const char *example;	   /* a body it takes, for the answer to a malformed one */
	api_query_fn handle_query; /* instead of @handle: it reads the query, takes no body */
};

static const struct route routes[] = {
	{ "GET", "/v1/vm", api_get_vm, NULL, NULL },
	{ "PUT", "/v1/vm/pause", api_put_vm_pause, "{}", NULL },
	{ "PUT", "/v1/vm/resume", api_put_vm_resume, "{}", NULL },
	{ "PUT", "/v1/vm/shutdown", api_put_vm_shutdown, "{}", NULL },
	{ "GET", "/v1/balloon", api_get_balloon, NULL, NULL },
	{ "PUT", "/v1/balloon", api_put_balloon, "{\"target_mib\": 64}", NULL },
	{ "GET", "/v1/balloon/statistics", api_get_balloon_stats, NULL, NULL },
	{ "GET", "/v1/devices", api_get_devices, NULL, NULL },
	{ "GET", "/v1/cma/pools", api_get_cma_pools, NULL, NULL },
	{ "GET", "/v1/cma/map", api_get_cma_map, NULL, NULL },
	{ "GET", "/v1/cma/windows", api_get_cma_windows, NULL, NULL },
	{ "PUT", "/v1/cma/windows", api_put_cma_windows,
	  "{\"pool\": \"linux,cma\", \"level\": \"huge\"}", NULL },
	{ "PUT", "/v1/cma/windows/release", api_put_cma_release, "{\"id\": 1}", NULL },
	{ "PUT", "/v1/cma/migrate", api_put_cma_migrate, "{\"pool\": \"linux,cma\", \"block\": 1}",
	  NULL },
	{ "GET", "/v1/cma/stats", api_get_cma_stats, NULL, NULL },
	{ "GET", "/v1/gpu", api_get_gpu, NULL, NULL },
	{ "PUT", "/v1/gpu/display", api_put_gpu_display, "{\"width\": 1280, \"height\": 800}",
	  NULL },
	{ "GET", "/v1/gpu/screenshot", NULL, NULL, api_get_gpu_screenshot },
	{ "PUT", "/v1/gpu/export", api_put_gpu_export, "{\"scanout\": 0}", NULL },
	{ "GET", "/v1/guest/cma", api_get_guest_cma, NULL, NULL },
	{ "GET", "/metrics", api_get_metrics, NULL, NULL },
	{ "GET", "/v1/metrics", api_get_metrics, NULL, NULL },
};

#define NR_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const struct route *find_route(const char *method, const char *path)
{
	size_t i;

	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(routes[i].method, method) && !strcmp(routes[i].path, path))
			return &routes[i];
	return NULL;
}

/* "GET, PUT": the methods @path answers to; "" for a path we lack. */
static void allowed_methods(const char *path, char *buf, size_t len)
{
	struct strbuf allow;
	size_t i;

	buf[0] = '\0';
	strbuf_attach(&allow, buf, len);
	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(routes[i].path, path) && !strstr(buf, routes[i].method))
			strbuf_addf(&allow, "%s%s", strbuf_len(&allow) ? ", " : "",
				    routes[i].method);
}

/* A 404 whose sentence and "endpoints" member list every endpoint. */
static void unknown_path(const char *path, struct http_response *resp)
{
	json_t *list = json_array();
	char text[1024] = "", endpoint[128];
	struct strbuf all;
	size_t i;

	strbuf_attach(&all, text, sizeof(text));
	for (i = 0; i < NR_ROUTES; i++) {
		snprintf(endpoint, sizeof(endpoint), "%s %s", routes[i].method, routes[i].path);
		strbuf_addf(&all, "%s%s", i ? ", " : "", endpoint);
		json_array_append_new(list, json_string(endpoint));
	}
	http_response_error(resp, 404, "no endpoint %s; the API has %s", path, text);
	if (resp->body && list)
		json_object_set(resp->body, "endpoints", list);
	json_decref(list);
}

static void no_route(const struct http_request *req, struct http_response *resp)
{
	allowed_methods(req->path, resp->allow, sizeof(resp->allow));
	if (!resp->allow[0])
		unknown_path(req->path, resp);
	else
		http_response_error(resp, 405, "%s takes %s, not %s", req->path, resp->allow,
				    req->method);
}

static bool is_json_type(const char *type)
{
	static const char json[] = "application/json";
	size_t n = sizeof(json) - 1;

	return !strncasecmp(type, json, n) && (!type[n] || type[n] == ';' || type[n] == ' ');
}

/*
 * The body as JSON; false with a 415 or 400 in @resp. A body must say it
 * is JSON (docs/api.md): one without a Content-Type is refused too.
 */
static bool parse_body(const struct http_request *req, const struct route *route, json_t **body,
		       struct http_response *resp)
{
	json_error_t err;

	if (!is_json_type(req->content_type)) {
		http_response_error(resp, 415,
				    "the body is %s; the API takes application/json (curl: -H "
				    "'Content-Type: application/json')",
				    *req->content_type ? req->content_type
						       : "sent without a Content-Type");
		return false;
	}
	*body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!*body)
		http_response_error(
			resp, 400,
			"malformed JSON at line %d, column %d: %s; %s %s takes JSON such "
			"as %s",
			err.line, err.column, err.text, route->method, route->path,
			route->example ? route->example : "{}");
	return *body != NULL;
}

void ctl_api_handle(void *opaque, const struct http_request *req, struct http_response *resp)
{
	const struct ctl_ops *ops = opaque;
	const struct route *route = find_route(req->method, req->path);
	json_t *body = NULL;

	if (!route) {
		no_route(req, resp);
		return;
	}
	if (req->body_len && !strcmp(req->method, "GET")) {
		http_response_error(resp, 400, "GET %s takes no body; send it without one",
				    req->path);
		return;
	}
	if (req->body_len && !parse_body(req, route, &body, resp))
		return;
	if (route->handle_query)
		route->handle_query(ops, req->query, resp);
	else
		route->handle(ops, body, resp);
	json_decref(body);
}
