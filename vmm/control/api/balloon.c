// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/balloon: the balloon's state, a new target or statistics interval,
 * and the guest's memory statistics. A VM without a balloon answers 404
 * on all three.
 */
#include "vmm/control/api/internal.h"

#include <errno.h>
#include <string.h>

#include "cma/size.h"

#define BALLOON_PAGE	4096 /* virtio-balloon counts 4 KiB pages */
#define BALLOON_EXAMPLE "{\"target_mib\": 64}"

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

static void no_balloon(struct http_response *resp)
{
	http_response_error(resp, 404,
			    "this VM has no balloon device; start the VM with one to use "
			    "/v1/balloon (see 'cmavm run --help')");
}

/* @err as an answer (404 for no balloon); false when there was none. */
static bool balloon_failed(struct http_response *resp, const char *what, int err)
{
	if (err == -ENODEV || err == -ENOSYS)
		no_balloon(resp);
	else if (err)
		api_vm_failed(resp, what, err);
	return err != 0;
}

static json_t *balloon_json(const struct ctl_balloon *b)
{
	return json_pack("{s:o, s:o, s:b, s:b, s:i}", "target_bytes", api_u64(b->target_bytes),
			 "actual_bytes", api_u64(b->actual_bytes), "deflate_on_oom",
			 b->deflate_on_oom, "free_page_reporting", b->free_page_reporting,
			 "stats_interval_s", (int)b->stats_interval_s);
}

static void answer_balloon(const struct ctl_ops *ops, struct http_response *resp)
{
	struct ctl_balloon b = { 0 };
	int err = ops->balloon_get ? ops->balloon_get(ops->opaque, &b) : -ENODEV;

	if (!balloon_failed(resp, "read the balloon's state", err))
		api_respond(resp, 200, balloon_json(&b));
}

void api_get_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	answer_balloon(ops, resp);
}

/* ---- PUT /v1/balloon ---- */

struct balloon_request {
	bool has_bytes, has_mib;
	uint64_t bytes, mib;
	struct ctl_balloon_update update;
};

static bool balloon_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct balloon_request *br = req;
	uint64_t interval;

	if (!strcmp(key, "target_bytes")) {
		br->has_bytes = true;
		return api_field_uint(key, value, UINT64_MAX >> 1, NULL, &br->bytes, resp);
	}
	if (!strcmp(key, "target_mib")) {
		br->has_mib = true;
		return api_field_uint(key, value, UINT64_MAX >> 21, NULL, &br->mib, resp);
	}
	if (!strcmp(key, "stats_interval_s")) {
		br->update.set_stats_interval = true;
		if (!api_field_uint(key, value, INT32_MAX, NULL, &interval, resp))
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

/* The fields, each checked, together as one update; false with a 400. */
static bool balloon_fields_agree(struct balloon_request *br, struct http_response *resp)
{
	char sz[32];

	if (br->has_bytes && br->has_mib) {
		http_response_error(resp, 400, "give target_bytes or target_mib, not both");
		return false;
	}
	br->update.set_target = br->has_bytes || br->has_mib;
	br->update.target_bytes = br->has_mib ? br->mib << 20 : br->bytes;
	if (!br->update.set_target && !br->update.set_stats_interval) {
		http_response_error(resp, 400,
				    "nothing to change; give target_bytes (or target_mib), "
				    "stats_interval_s, or both");
		return false;
	}
	if (br->update.target_bytes % BALLOON_PAGE) {
		http_response_error(resp, 400,
				    "target_bytes %llu is not a multiple of the balloon's 4 KiB "
				    "page; use %s",
				    (unsigned long long)br->update.target_bytes,
				    size_str(align_up(br->update.target_bytes, BALLOON_PAGE), sz));
		return false;
	}
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

void api_put_balloon(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct balloon_request br = { 0 };
	int err;

	if (!api_body_fields(body, "PUT /v1/balloon", BALLOON_EXAMPLE, balloon_field, &br, resp) ||
	    !balloon_fields_agree(&br, resp))
		return;
	err = ops->balloon_set ? ops->balloon_set(ops->opaque, &br.update) : -ENODEV;
	if (err == -ERANGE)
		target_too_big(ops, br.update.target_bytes, resp);
	else if (!balloon_failed(resp, "change the balloon", err))
		answer_balloon(ops, resp);
}

/* ---- GET /v1/balloon/statistics ---- */

static json_t *balloon_stats_json(const struct ctl_balloon_stats *st)
{
	json_t *obj = json_object();
	unsigned int tag;

	for (tag = 0; obj && tag < CTL_BALLOON_S_NR; tag++)
		if (st->reported & (1u << tag))
			json_object_set_new(obj, balloon_stat_names[tag], api_u64(st->value[tag]));
	if (obj)
		json_object_set_new(obj, "updated_s_ago", api_u64(api_seconds_since(&st->updated)));
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

void api_get_balloon_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_balloon_stats st = { 0 };
	int err = ops->balloon_stats ? ops->balloon_stats(ops->opaque, &st) : -ENODEV;

	if (err == -ENODATA)
		no_stats_yet(ops, resp);
	else if (!balloon_failed(resp, "read the balloon statistics", err))
		api_respond(resp, 200, balloon_stats_json(&st));
}
