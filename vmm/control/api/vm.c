// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/vm: the VM's status (name, state, vCPUs, memory, pools, command
 * line, uptime) and its state changes (pause, resume, shutdown), each refused
 * with a 409 that says what to do in the state that forbids it.
 */
#include "vmm/control/api/internal.h"

#include <errno.h>

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

static json_t *pool_json(const struct ctl_pool *p)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:o, s:s}", "name", p->name ? p->name : "", "kind",
			 p->kind == POOL_COHERENT ? "coherent" : "cma", "default", p->is_default,
			 "base", api_u64(p->base), "size", api_u64(p->size), "why",
			 p->why ? p->why : "");
}

static json_t *status_json(const struct ctl_vm_status *st)
{
	json_t *pools = json_array();
	unsigned int i;

	for (i = 0; pools && i < st->nr_pools && i < POOL_MAX; i++)
		json_array_append_new(pools, pool_json(&st->pools[i]));
	return json_pack("{s:s?, s:s, s:i, s:o, s:o, s:o, s:o, s:o*, s:s, s:o}", "name", st->name,
			 "state", ctl_vm_state_str(st->state), "vcpus", (int)st->vcpus,
			 "memory_bytes", api_u64(st->memory_bytes), "memory_resident_bytes",
			 api_u64(st->memory_resident_bytes), "guest_page_size",
			 api_u64(st->guest_page_size), "pageblock_size",
			 api_u64(st->pageblock_size), "pools", pools, "cmdline",
			 st->cmdline ? st->cmdline : "", "uptime_s",
			 api_u64(api_seconds_since(&st->started)));
}

/* The guest's own CMA figures beside the host's view of its pools. */
static void add_guest_cma(const struct ctl_ops *ops, json_t *json)
{
	struct ctl_guest_cma g = { 0 };

	if (json && ops->guest_cma && !ops->guest_cma(ops->opaque, &g))
		json_object_set_new(json, "guest_cma", api_guest_cma_json(&g));
}

void api_get_vm(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_vm_status st = { 0 };
	int err = ops->status ? ops->status(ops->opaque, &st) : -ENOSYS;
	json_t *json;

	if (err) {
		api_vm_failed(resp, "report the VM's status", err);
		return;
	}
	json = status_json(&st);
	add_guest_cma(ops, json);
	api_respond(resp, 200, json);
}

/* An action takes no body, or an empty object ({} from curl -d '{}'). */
static bool no_body(json_t *body, const char *endpoint, struct http_response *resp)
{
	if (body && !(json_is_object(body) && !json_object_size(body))) {
		http_response_error(resp, 400, "%s takes no body; send it without one", endpoint);
		return false;
	}
	return true;
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
		api_vm_failed(resp, verb, err);
	else
		api_respond(resp, 200, json_pack("{s:s}", "state", ctl_vm_state_str(state)));
}

void api_put_vm_pause(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->pause, ops->opaque, "pause", body, "PUT /v1/vm/pause", resp);
}

void api_put_vm_resume(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->resume, ops->opaque, "resume", body, "PUT /v1/vm/resume", resp);
}

void api_put_vm_shutdown(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	change_state(ops->shutdown, ops->opaque, "shut down", body, "PUT /v1/vm/shutdown", resp);
}
