// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control API's endpoints. A new endpoint is one line in routes[] and
 * one handler; the dispatcher has already checked the method, the content
 * type and the JSON before a handler runs.
 */
#include "vmm/control/api.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cma/engine.h"
#include "cma/size.h"

#define BALLOON_PAGE 4096 /* virtio-balloon counts 4 KiB pages */

typedef void (*route_fn)(const struct ctl_ops *ops, json_t *body, struct http_response *resp);

struct route {
	const char *method;
	const char *path;
	route_fn handle; /* @body: the request's JSON, NULL when it has none */
};

static void get_vm(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_vm_pause(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_vm_resume(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_vm_shutdown(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_balloon_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_devices(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_cma_pools(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_cma_map(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_cma_release(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void put_cma_migrate(const struct ctl_ops *ops, json_t *body, struct http_response *resp);
static void get_cma_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp);

static const struct route routes[] = {
	{ "GET", "/v1/vm", get_vm },
	{ "PUT", "/v1/vm/pause", put_vm_pause },
	{ "PUT", "/v1/vm/resume", put_vm_resume },
	{ "PUT", "/v1/vm/shutdown", put_vm_shutdown },
	{ "GET", "/v1/balloon", get_balloon },
	{ "PUT", "/v1/balloon", put_balloon },
	{ "GET", "/v1/balloon/statistics", get_balloon_stats },
	{ "GET", "/v1/devices", get_devices },
	{ "GET", "/v1/cma/pools", get_cma_pools },
	{ "GET", "/v1/cma/map", get_cma_map },
	{ "GET", "/v1/cma/windows", get_cma_windows },
	{ "PUT", "/v1/cma/windows", put_cma_windows },
	{ "PUT", "/v1/cma/windows/release", put_cma_release },
	{ "PUT", "/v1/cma/migrate", put_cma_migrate },
	{ "GET", "/v1/cma/stats", get_cma_stats },
};

#define NR_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* virtio 1.2, 5.5.6.3, VIRTIO_BALLOON_S_* without the prefix */
static const char *const balloon_stat_names[CTL_BALLOON_S_NR] = {
	[CTL_BALLOON_S_SWAP_IN] = "swap_in",
	[CTL_BALLOON_S_SWAP_OUT] = "swap_out",
	[CTL_BALLOON_S_MAJFLT] = "majflt",
	[CTL_BALLOON_S_MINFLT] = "minflt",
	[CTL_BALLOON_S_MEMFREE] = "memfree",
	[CTL_BALLOON_S_MEMTOT] = "memtot",
	[CTL_BALLOON_S_AVAIL] = "avail",
	[CTL_BALLOON_S_CACHES] = "caches",
	[CTL_BALLOON_S_HTLB_PGALLOC] = "htlb_pgalloc",
	[CTL_BALLOON_S_HTLB_PGFAIL] = "htlb_pgfail",
};

const char *ctl_vm_state_str(enum ctl_vm_state state)
{
	switch (state) {
	case CTL_VM_RUNNING:
		return "running";
	case CTL_VM_PAUSED:
		return "paused";
	case CTL_VM_STOPPING:
		return "stopping";
	}
	return "unknown";
}

/* Every value sent (addresses, sizes, counters, feature bits) is below 2^63. */
static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static uint64_t seconds_since(const struct timespec *then)
{
	struct timespec now;

	if (!then->tv_sec && !then->tv_nsec)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > then->tv_sec ? (uint64_t)(now.tv_sec - then->tv_sec) : 0;
}

/* Answer @status with @json, or 500 if building it ran out of memory. */
static void respond(struct http_response *resp, int status, json_t *json)
{
	if (json)
		http_response_json(resp, status, json);
	else
		http_response_error(resp, 500,
				    "cmavm ran out of memory building the answer; retry");
}

static void vm_failed(struct http_response *resp, const char *what, int err)
{
	if (err == -ENOSYS)
		http_response_error(resp, 501, "this cmavm cannot %s yet", what);
	else
		http_response_error(resp, 500, "internal error: cannot %s: %s", what,
				    strerror(-err));
}

static bool no_body(json_t *body, const char *endpoint, struct http_response *resp)
{
	if (body && !(json_is_object(body) && !json_object_size(body))) {
		http_response_error(resp, 400, "%s takes no body; send it without one", endpoint);
		return false;
	}
	return true;
}

/* ---- /v1/vm ---- */

static json_t *pool_json(const struct ctl_pool *p)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:o, s:s}", "name", p->name ? p->name : "", "kind",
			 p->kind == POOL_COHERENT ? "coherent" : "cma", "default", p->is_default,
			 "base", json_u64(p->base), "size", json_u64(p->size), "why",
			 p->why ? p->why : "");
}

static json_t *status_json(const struct ctl_vm_status *st)
{
	json_t *pools = json_array();
	unsigned int i;

	for (i = 0; pools && i < st->nr_pools && i < POOL_MAX; i++)
		json_array_append_new(pools, pool_json(&st->pools[i]));
	return json_pack("{s:s, s:i, s:o, s:o, s:o*, s:s, s:o}", "state",
			 ctl_vm_state_str(st->state), "vcpus", (int)st->vcpus, "memory_bytes",
			 json_u64(st->memory_bytes), "memory_resident_bytes",
			 json_u64(st->memory_resident_bytes), "pools", pools, "cmdline",
			 st->cmdline ? st->cmdline : "", "uptime_s",
			 json_u64(seconds_since(&st->started)));
}

static void get_vm(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_vm_status st = { 0 };
	int err = ops->status ? ops->status(ops->opaque, &st) : -ENOSYS;

	if (err)
		vm_failed(resp, "report the VM's status", err);
	else
		respond(resp, 200, status_json(&st));
}

typedef int (*state_change_fn)(void *opaque, enum ctl_vm_state *state);

/* Why @verb is refused in @state, and what to do instead. */
static void state_conflict(struct http_response *resp, const char *verb, enum ctl_vm_state state)
{
	const char *hint = state == CTL_VM_STOPPING ? "nothing more can be done with it"
			   : state == CTL_VM_PAUSED ? "resume it with PUT /v1/vm/resume"
						    : "pause it first with PUT /v1/vm/pause";

	http_response_error(resp, 409, "cannot %s: the VM is %s; %s", verb, ctl_vm_state_str(state),
			    hint);
}

static void change_state(state_change_fn fn, void *opaque, const char *verb, json_t *body,
			 const char *endpoint, struct http_response *resp)
{
	enum ctl_vm_state state = CTL_VM_RUNNING;
	int err;

	if (!no_body(body, endpoint, resp))
		return;
	err = fn ? fn(opaque, &state) : -ENOSYS;
	if (err == -EBUSY)
		state_conflict(resp, verb, state);
	else if (err)
		vm_failed(resp, verb, err);
	else
		respond(resp, 200, json_pack("{s:s}", "state", ctl_vm_state_str(state)));
}

static void put_vm_pause(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->pause, ops->opaque, "pause", body, "PUT /v1/vm/pause", resp);
}

static void put_vm_resume(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->resume, ops->opaque, "resume", body, "PUT /v1/vm/resume", resp);
}

static void put_vm_shutdown(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->shutdown, ops->opaque, "shut down", body, "PUT /v1/vm/shutdown", resp);
}

/* ---- /v1/balloon ---- */

static void no_balloon(struct http_response *resp)
{
	http_response_error(resp, 404,
			    "this VM has no balloon device; start the VM with one to use "
			    "/v1/balloon (see 'cmavm run --help')");
}

static bool balloon_failed(struct http_response *resp, const char *what, int err)
{
	if (err == -ENODEV || err == -ENOSYS)
		no_balloon(resp);
	else if (err)
		vm_failed(resp, what, err);
	return err != 0;
}

static json_t *balloon_json(const struct ctl_balloon *b)
{
	return json_pack("{s:o, s:o, s:b, s:b, s:i}", "target_bytes", json_u64(b->target_bytes),
			 "actual_bytes", json_u64(b->actual_bytes), "deflate_on_oom",
			 b->deflate_on_oom, "free_page_reporting", b->free_page_reporting,
			 "stats_interval_s", (int)b->stats_interval_s);
}

static void answer_balloon(const struct ctl_ops *ops, struct http_response *resp)
{
	struct ctl_balloon b = { 0 };
	int err = ops->balloon_get ? ops->balloon_get(ops->opaque, &b) : -ENODEV;

	if (!balloon_failed(resp, "read the balloon's state", err))
		respond(resp, 200, balloon_json(&b));
}

static void get_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	answer_balloon(ops, resp);
}

/*
 * @value as a non-negative integer no larger than @max, else a 400 that
 * shows @example (NULL: {"key": 64}).
 */
static bool field_uint(const char *key, json_t *value, uint64_t max, const char *example,
		       uint64_t *out, struct http_response *resp)
{
	json_int_t v = json_is_integer(value) ? json_integer_value(value) : -1;
	char *text;

	if (v >= 0 && (uint64_t)v <= max) {
		*out = v;
		return true;
	}
	text = json_dumps(value, JSON_ENCODE_ANY);
	if (v >= 0)
		http_response_error(resp, 400, "%s is %s, more than the largest allowed, %llu", key,
				    text ? text : "?", (unsigned long long)max);
	else if (example)
		http_response_error(resp, 400, "%s must be a non-negative integer, not %s; e.g. %s",
				    key, text ? text : "?", example);
	else
		http_response_error(resp, 400,
				    "%s must be a non-negative integer, not %s; e.g. {\"%s\": 64}",
				    key, text ? text : "?", key);
	free(text);
	return false;
}

static bool field_u64(const char *key, json_t *value, uint64_t max, uint64_t *out,
		      struct http_response *resp)
{
	return field_uint(key, value, max, NULL, out, resp);
}

struct balloon_request {
	bool has_bytes, has_mib;
	uint64_t bytes, mib;
	struct ctl_balloon_update update;
};

static bool balloon_field(const char *key, json_t *value, struct balloon_request *br,
			  struct http_response *resp)
{
	uint64_t interval;

	if (!strcmp(key, "target_bytes")) {
		br->has_bytes = true;
		return field_u64(key, value, UINT64_MAX >> 1, &br->bytes, resp);
	}
	if (!strcmp(key, "target_mib")) {
		br->has_mib = true;
		return field_u64(key, value, UINT64_MAX >> 21, &br->mib, resp);
	}
	if (!strcmp(key, "stats_interval_s")) {
		br->update.set_stats_interval = true;
		if (!field_u64(key, value, INT32_MAX, &interval, resp))
			return false;
		br->update.stats_interval_s = interval;
		return true;
	}
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/balloon takes target_bytes or target_mib, "
			    "and stats_interval_s",
			    key);
	return false;
}

/* The body's fields, checked, as an update; false with a 400 in @resp. */
static bool balloon_update(json_t *body, struct ctl_balloon_update *update,
			   struct http_response *resp)
{
	struct balloon_request br = { 0 };
	char sz[32];
	void *it;

	if (!json_is_object(body)) {
		http_response_error(
			resp, 400,
			"PUT /v1/balloon needs a JSON object, e.g. {\"target_mib\": 64}");
		return false;
	}
	for (it = json_object_iter(body); it; it = json_object_iter_next(body, it))
		if (!balloon_field(json_object_iter_key(it), json_object_iter_value(it), &br, resp))
			return false;
	if (br.has_bytes && br.has_mib) {
		http_response_error(resp, 400, "give target_bytes or target_mib, not both");
		return false;
	}
	br.update.set_target = br.has_bytes || br.has_mib;
	br.update.target_bytes = br.has_mib ? br.mib << 20 : br.bytes;
	if (!br.update.set_target && !br.update.set_stats_interval) {
		http_response_error(resp, 400,
				    "nothing to change; give target_bytes (or target_mib), "
				    "stats_interval_s, or both");
		return false;
	}
	if (br.update.target_bytes % BALLOON_PAGE) {
		http_response_error(resp, 400,
				    "target_bytes %llu is not a multiple of the balloon's 4 KiB "
				    "page; use %s",
				    (unsigned long long)br.update.target_bytes,
				    size_str(align_up(br.update.target_bytes, BALLOON_PAGE), sz));
		return false;
	}
	*update = br.update;
	return true;
}

static void target_too_big(const struct ctl_ops *ops, uint64_t target, struct http_response *resp)
{
	struct ctl_vm_status st = { 0 };
	char want[32], ram[32];

	if (ops->status && !ops->status(ops->opaque, &st))
		http_response_error(resp, 400,
				    "a balloon target of %s is more than the guest's %s of RAM; "
				    "ask for less",
				    size_str(target, want), size_str(st.memory_bytes, ram));
	else
		http_response_error(resp, 400,
				    "a balloon target of %s is more than the guest's RAM; ask for "
				    "less",
				    size_str(target, want));
}

static void put_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_balloon_update update;
	int err;

	if (!body) {
		http_response_error(resp, 400,
				    "PUT /v1/balloon needs a JSON body, e.g. {\"target_mib\": 64}");
		return;
	}
	if (!balloon_update(body, &update, resp))
		return;
	err = ops->balloon_set ? ops->balloon_set(ops->opaque, &update) : -ENODEV;
	if (err == -ERANGE)
		target_too_big(ops, update.target_bytes, resp);
	else if (!balloon_failed(resp, "change the balloon", err))
		answer_balloon(ops, resp);
}

static json_t *balloon_stats_json(const struct ctl_balloon_stats *st)
{
	json_t *obj = json_object();
	unsigned int tag;

	for (tag = 0; obj && tag < CTL_BALLOON_S_NR; tag++)
		if (st->reported & (1u << tag))
			json_object_set_new(obj, balloon_stat_names[tag], json_u64(st->value[tag]));
	if (obj)
		json_object_set_new(obj, "updated_s_ago", json_u64(seconds_since(&st->updated)));
	return obj;
}

static void no_stats_yet(const struct ctl_ops *ops, struct http_response *resp)
{
	struct ctl_balloon b = { 0 };

	if (ops->balloon_get && !ops->balloon_get(ops->opaque, &b) && !b.stats_interval_s)
		http_response_error(resp, 409,
				    "balloon statistics are off; turn them on with PUT /v1/balloon "
				    "{\"stats_interval_s\": 5}");
	else
		http_response_error(resp, 409,
				    "the guest has not reported balloon statistics yet; ask again "
				    "in a few seconds");
}

static void get_balloon_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_balloon_stats st = { 0 };
	int err = ops->balloon_stats ? ops->balloon_stats(ops->opaque, &st) : -ENODEV;

	if (err == -ENODATA)
		no_stats_yet(ops, resp);
	else if (!balloon_failed(resp, "read the balloon statistics", err))
		respond(resp, 200, balloon_stats_json(&st));
}

/* ---- /v1/devices ---- */

static json_t *queue_json(const struct ctl_queue *q)
{
	return json_pack("{s:i, s:b, s:b, s:o, s:o, s:o}", "size", (int)q->size, "enabled",
			 q->enabled, "broken", q->broken, "desc", json_u64(q->desc), "driver",
			 json_u64(q->driver), "device", json_u64(q->device));
}

static json_t *device_json(const struct ctl_device *d)
{
	json_t *counters = json_object(), *queues = json_array();
	unsigned int i;

	for (i = 0; counters && i < d->nr_counters && i < CTL_COUNTERS_MAX; i++)
		if (d->counters[i].name)
			json_object_set_new(counters, d->counters[i].name,
					    json_u64(d->counters[i].value));
	for (i = 0; queues && i < d->nr_queues && i < CTL_QUEUES_MAX; i++)
		json_array_append_new(queues, queue_json(&d->queues[i]));
	return json_pack("{s:s, s:s, s:o, s:i, s:o, s:o, s:i, s:o*, s:o*}", "name",
			 d->name ? d->name : "", "type", d->type ? d->type : "", "mmio_base",
			 json_u64(d->mmio_base), "irq", (int)d->irq, "features_offered",
			 json_u64(d->features_offered), "features_acked",
			 json_u64(d->features_acked), "status", (int)d->status, "counters",
			 counters, "queues", queues);
}

static void get_devices(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_device *devs = calloc(CTL_DEVICES_MAX, sizeof(*devs));
	json_t *list = json_array();
	int n = -ENOMEM;
	int i;

	if (devs && list)
		n = ops->devices ? ops->devices(ops->opaque, devs, CTL_DEVICES_MAX) : 0;
	if (n < 0) {
		vm_failed(resp, "list the devices", n);
		json_decref(list);
		list = NULL;
	}
	for (i = 0; list && i < n && i < CTL_DEVICES_MAX; i++)
		json_array_append_new(list, device_json(&devs[i]));
	if (list)
		respond(resp, 200, list);
	free(devs);
}

/* ---- /v1/cma ---- */

/* bytes[] of struct ctl_cma_pool is indexed by the engine's states. */
_Static_assert(CTL_CMA_STATES == CMA_NR_STATES, "one entry per pageblock state");

#define COMMIT_EXAMPLE	"{\"pool\": \"linux,cma\", \"level\": \"huge\"}"
#define RELEASE_EXAMPLE "{\"id\": 1}"
#define MIGRATE_EXAMPLE "{\"gpa\": \"0x9c200000\"} or {\"pool\": \"linux,cma\", \"block\": 1}"

static json_t *cma_pool_json(const struct ctl_cma_pool *p)
{
	json_t *bytes = json_object();
	unsigned int s;

	for (s = 0; bytes && s < CTL_CMA_STATES; s++)
		json_object_set_new(bytes, cma_state_name((enum cma_block_state)s),
				    json_u64(p->bytes[s]));
	return json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "name", p->name ? p->name : "", "kind",
			 p->kind == POOL_COHERENT ? "coherent" : "cma", "default", p->is_default,
			 "base", json_u64(p->base), "size", json_u64(p->size), "bytes", bytes);
}

static void get_cma_pools(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_pool pools[POOL_MAX];
	json_t *list;
	int n, i;

	memset(pools, 0, sizeof(pools));
	n = ops->cma_pools ? ops->cma_pools(ops->opaque, pools, POOL_MAX) : -ENOSYS;
	if (n < 0) {
		vm_failed(resp, "list the CMA pools", n);
		return;
	}
	list = json_array();
	for (i = 0; list && i < n && i < POOL_MAX; i++)
		json_array_append_new(list, cma_pool_json(&pools[i]));
	respond(resp, 200, list);
}

static json_t *cma_map_json(const struct ctl_cma_map *maps, int n, uint64_t pageblock_size)
{
	json_t *pools = json_array();
	int i;

	for (i = 0; pools && i < n && i < POOL_MAX; i++)
		json_array_append_new(pools, json_pack("{s:s, s:o, s:s}", "name",
						       maps[i].name ? maps[i].name : "", "base",
						       json_u64(maps[i].base), "blocks",
						       maps[i].blocks ? maps[i].blocks : ""));
	return json_pack("{s:o, s:o}", "pageblock_size", json_u64(pageblock_size), "pools", pools);
}

static void get_cma_map(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_map maps[POOL_MAX];
	uint64_t pageblock_size = 0;
	int n;

	memset(maps, 0, sizeof(maps));
	n = ops->cma_map ? ops->cma_map(ops->opaque, maps, POOL_MAX, &pageblock_size) : -ENOSYS;
	if (n < 0)
		vm_failed(resp, "draw the CMA pageblock map", n);
	else
		respond(resp, 200, cma_map_json(maps, n, pageblock_size));
}

static json_t *cma_window_json(const struct ctl_cma_window *w)
{
	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "id",
			 json_u64(w->id), "pool", w->pool ? w->pool : "", "offset",
			 json_u64(w->offset), "length", json_u64(w->length), "gpa",
			 json_u64(w->gpa), "level", w->level ? w->level : "", "largest_run",
			 json_u64(w->largest_run), "contiguous_2m", json_u64(w->contiguous_2m),
			 "pause_ns_max", json_u64(w->pause_ns_max), "commit_ns",
			 json_u64(w->commit_ns));
}

static void get_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_window windows[CTL_CMA_WINDOWS_MAX];
	json_t *list;
	int n, i;

	memset(windows, 0, sizeof(windows));
	n = ops->cma_windows ? ops->cma_windows(ops->opaque, windows, CTL_CMA_WINDOWS_MAX)
			     : -ENOSYS;
	if (n < 0) {
		vm_failed(resp, "list the CMA windows", n);
		return;
	}
	list = json_array();
	for (i = 0; list && i < n && i < CTL_CMA_WINDOWS_MAX; i++)
		json_array_append_new(list, cma_window_json(&windows[i]));
	respond(resp, 200, list);
}

/*
 * The answer when the engine refused to @what: its sentence @why with the
 * status its errno stands for (see struct ctl_ops).
 */
static void cma_refused(struct http_response *resp, const char *what, int err, const char *why)
{
	int status;

	switch (err) {
	case -ENOENT:
		status = 404;
		break;
	case -EINVAL:
		status = 400;
		break;
	case -EBUSY:
		status = 409;
		break;
	case -EIO:
		status = 500;
		break;
	default:
		if (err == -ENOSYS || !why[0])
			vm_failed(resp, what, err);
		else
			http_response_error(resp, 500, "internal error: cannot %s: %s; %s", what,
					    strerror(-err), why);
		return;
	}
	if (why[0])
		http_response_error(resp, status, "%s", why);
	else
		http_response_error(resp, status, "cannot %s: %s", what, strerror(-err));
}

typedef bool (*field_fn)(const char *key, json_t *value, void *req, struct http_response *resp);

/* Check each field of @body with @field; false with a 400 in @resp. */
static bool body_fields(json_t *body, const char *endpoint, const char *example, field_fn field,
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

static bool field_str(const char *key, json_t *value, const char *example, const char **out,
		      struct http_response *resp)
{
	const char *s = json_string_value(value);
	char *text;

	if (s && *s) {
		*out = s;
		return true;
	}
	text = json_dumps(value, JSON_ENCODE_ANY);
	http_response_error(resp, 400, "%s must be a non-empty string, not %s; e.g. %s", key,
			    text ? text : "?", example);
	free(text);
	return false;
}

/*
 * A number of bytes or an address: a non-negative integer, or a string
 * size_parse() takes ("16M", "0x9c200000").
 */
static bool field_bytes(const char *key, json_t *value, const char *example, uint64_t *out,
			struct http_response *resp)
{
	const char *s = json_string_value(value);
	char err[160], *text;

	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		*out = json_integer_value(value);
		return true;
	}
	if (s && size_parse(s, out, err, sizeof(err))) {
		http_response_error(resp, 400, "%s: %s; e.g. %s", key, err, example);
		return false;
	}
	if (s && *out > (UINT64_MAX >> 1)) {
		http_response_error(resp, 400, "%s is %s, more than the largest allowed, %llu", key,
				    s, (unsigned long long)(UINT64_MAX >> 1));
		return false;
	}
	if (s)
		return true;
	text = json_dumps(value, JSON_ENCODE_ANY);
	http_response_error(resp, 400,
			    "%s must be a non-negative integer or a size string, not %s; e.g. %s",
			    key, text ? text : "?", example);
	free(text);
	return false;
}

static bool commit_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct ctl_cma_commit *c = req;
	enum cma_level level;

	if (!strcmp(key, "pool"))
		return field_str(key, value, COMMIT_EXAMPLE, &c->pool, resp);
	if (!strcmp(key, "offset"))
		return field_bytes(key, value, "{\"offset\": 16777216} or {\"offset\": \"16M\"}",
				   &c->offset, resp);
	if (!strcmp(key, "length"))
		return field_bytes(key, value, "{\"length\": 33554432} or {\"length\": \"32M\"}",
				   &c->length, resp);
	if (strcmp(key, "level")) {
		http_response_error(resp, 400,
				    "unknown field '%s'; PUT /v1/cma/windows takes pool, level, "
				    "and optionally offset and length, e.g. " COMMIT_EXAMPLE,
				    key);
		return false;
	}
	if (!field_str(key, value, COMMIT_EXAMPLE, &c->level, resp))
		return false;
	if (!cma_level_parse(c->level, &level))
		return true;
	http_response_error(resp, 400,
			    "level must be resident, huge or contiguous, not \"%s\"; e.g. "
			    "{\"level\": \"huge\"}",
			    c->level);
	return false;
}

static void put_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_commit c = { 0 };
	struct ctl_cma_window w = { 0 };
	char why[256] = "";
	int err;

	if (!body_fields(body, "PUT /v1/cma/windows", COMMIT_EXAMPLE, commit_field, &c, resp))
		return;
	if (!c.pool && !c.level) {
		http_response_error(
			resp, 400,
			"PUT /v1/cma/windows needs pool and level, e.g. " COMMIT_EXAMPLE);
		return;
	}
	if (!c.pool || !c.level) {
		http_response_error(resp, 400, "PUT /v1/cma/windows needs %s, e.g. " COMMIT_EXAMPLE,
				    c.pool ? "level (resident, huge or contiguous)" : "pool");
		return;
	}
	err = ops->cma_commit ? ops->cma_commit(ops->opaque, &c, &w, why, sizeof(why)) : -ENOSYS;
	why[sizeof(why) - 1] = '\0';
	if (err)
		cma_refused(resp, "commit the window", err, why);
	else
		respond(resp, 200, cma_window_json(&w));
}

static bool release_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	uint64_t *id = req;

	if (!strcmp(key, "id"))
		return field_uint(key, value, UINT_MAX, RELEASE_EXAMPLE, id, resp);
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/cma/windows/release takes only id, "
			    "e.g. " RELEASE_EXAMPLE,
			    key);
	return false;
}

static void put_cma_release(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	uint64_t id = UINT64_MAX;
	char why[256] = "";
	int err;

	if (!body_fields(body, "PUT /v1/cma/windows/release", RELEASE_EXAMPLE, release_field, &id,
			 resp))
		return;
	if (id == UINT64_MAX) {
		http_response_error(
			resp, 400,
			"PUT /v1/cma/windows/release needs the window's id, e.g. " RELEASE_EXAMPLE
			" (GET /v1/cma/windows lists them)");
		return;
	}
	err = ops->cma_release ? ops->cma_release(ops->opaque, (unsigned int)id, why, sizeof(why))
			       : -ENOSYS;
	why[sizeof(why) - 1] = '\0';
	if (err)
		cma_refused(resp, "release the window", err, why);
	else
		respond(resp, 200, json_pack("{s:o}", "released", json_u64(id)));
}

struct migrate_request {
	bool has_gpa, has_pool, has_block;
	struct ctl_cma_migrate m;
};

static bool migrate_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct migrate_request *mr = req;

	if (!strcmp(key, "gpa")) {
		mr->has_gpa = true;
		return field_bytes(key, value, "{\"gpa\": 2619342848} or {\"gpa\": \"0x9c200000\"}",
				   &mr->m.gpa, resp);
	}
	if (!strcmp(key, "pool")) {
		mr->has_pool = true;
		return field_str(key, value, "{\"pool\": \"linux,cma\", \"block\": 1}", &mr->m.pool,
				 resp);
	}
	if (!strcmp(key, "block")) {
		mr->has_block = true;
		return field_uint(key, value, UINT64_MAX >> 1,
				  "{\"pool\": \"linux,cma\", \"block\": 1}", &mr->m.block, resp);
	}
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/cma/migrate takes gpa, or pool and "
			    "block, e.g. " MIGRATE_EXAMPLE,
			    key);
	return false;
}

/* The body as a migration; false with a 400 in @resp. */
static bool migrate_request(json_t *body, struct ctl_cma_migrate *m, struct http_response *resp)
{
	struct migrate_request mr = { 0 };

	if (!body_fields(body, "PUT /v1/cma/migrate", MIGRATE_EXAMPLE, migrate_field, &mr, resp))
		return false;
	if (mr.has_gpa && (mr.has_pool || mr.has_block)) {
		http_response_error(resp, 400,
				    "give gpa, or pool and block, not both; e.g. " MIGRATE_EXAMPLE);
		return false;
	}
	if (!mr.has_gpa && mr.has_pool != mr.has_block) {
		http_response_error(resp, 400,
				    "%s needs %s too; e.g. {\"pool\": \"linux,cma\", \"block\": 1}",
				    mr.has_pool ? "pool" : "block", mr.has_pool ? "block" : "pool");
		return false;
	}
	if (!mr.has_gpa && !mr.has_pool) {
		http_response_error(resp, 400,
				    "PUT /v1/cma/migrate needs gpa, or pool and block; "
				    "e.g. " MIGRATE_EXAMPLE);
		return false;
	}
	mr.m.by_gpa = mr.has_gpa;
	*m = mr.m;
	return true;
}

static void put_cma_migrate(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_migrate m;
	uint64_t gpa = 0, pause_ns = 0;
	char why[256] = "";
	int err;

	if (!migrate_request(body, &m, resp))
		return;
	err = ops->cma_migrate
		      ? ops->cma_migrate(ops->opaque, &m, &gpa, &pause_ns, why, sizeof(why))
		      : -ENOSYS;
	why[sizeof(why) - 1] = '\0';
	if (err)
		cma_refused(resp, "migrate the pageblock", err, why);
	else
		respond(resp, 200,
			json_pack("{s:o, s:o}", "gpa", json_u64(gpa), "pause_ns",
				  json_u64(pause_ns)));
}

static json_t *cma_stats_json(const struct ctl_cma_stats *st)
{
	const struct {
		const char *name;
		uint64_t value;
	} fields[] = {
		{ "pageblock_size", st->pageblock_size },
		{ "commits", st->commits },
		{ "releases", st->releases },
		{ "migrations", st->migrations },
		{ "rollbacks", st->rollbacks },
		{ "refused_discards", st->refused_discards },
		{ "refused_discard_bytes", st->refused_discard_bytes },
		{ "pauses", st->pauses },
		{ "pause_ns_total", st->pause_ns_total },
		{ "pause_ns_max", st->pause_ns_max },
		{ "pause_ns_last", st->pause_ns_last },
		{ "resident_bytes", st->resident_bytes },
	};
	json_t *obj = json_object();
	size_t i;

	for (i = 0; obj && i < sizeof(fields) / sizeof(fields[0]); i++)
		json_object_set_new(obj, fields[i].name, json_u64(fields[i].value));
	return obj;
}

static void get_cma_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_stats st = { 0 };
	int err = ops->cma_stats ? ops->cma_stats(ops->opaque, &st) : -ENOSYS;

	if (err)
		vm_failed(resp, "read the CMA engine's statistics", err);
	else
		respond(resp, 200, cma_stats_json(&st));
}

/* ---- dispatch ---- */

static const struct route *find_route(const char *method, const char *path)
{
	size_t i;

	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(routes[i].method, method) && !strcmp(routes[i].path, path))
			return &routes[i];
	return NULL;
}

/* Add to the text in @buf, as far as it fits. */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* "GET, PUT": the methods @path answers to; "" for a path we lack. */
static void allowed_methods(const char *path, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(routes[i].path, path) && !strstr(buf, routes[i].method))
			append(buf, len, "%s%s", buf[0] ? ", " : "", routes[i].method);
}

static void unknown_path(const char *path, struct http_response *resp)
{
	json_t *list = json_array();
	char text[1024] = "", endpoint[128];
	size_t i;

	for (i = 0; i < NR_ROUTES; i++) {
		snprintf(endpoint, sizeof(endpoint), "%s %s", routes[i].method, routes[i].path);
		append(text, sizeof(text), "%s%s", i ? ", " : "", endpoint);
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

/* The body as JSON; false with a 415 or 400 in @resp. */
static bool parse_body(const struct http_request *req, json_t **body, struct http_response *resp)
{
	json_error_t err;

	if (*req->content_type && !is_json_type(req->content_type)) {
		http_response_error(resp, 415,
				    "the body is %s; the API takes application/json (curl: -H "
				    "'Content-Type: application/json')",
				    req->content_type);
		return false;
	}
	*body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!*body)
		http_response_error(resp, 400,
				    "malformed JSON at line %d, column %d: %s; send JSON such as "
				    "{\"target_mib\": 64}",
				    err.line, err.column, err.text);
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
	if (req->body_len && !parse_body(req, &body, resp))
		return;
	route->handle(ops, body, resp);
	json_decref(body);
}
