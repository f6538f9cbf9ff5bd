// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/guest/cma: the guest's CMA as the guest itself counts it, read
 * through the QEMU guest agent in the guest; and, with or without an
 * agent, the pool pageblocks the guest reported free. Figures only an
 * agent gives are null until it has answered, so that a client never
 * takes "no reading" for "nothing free".
 */
#include "vmm/control/api/internal.h"

#include <errno.h>

/* @v when the agent answered, else null. */
static json_t *from_agent(const struct ctl_guest_cma *g, uint64_t v)
{
	return g->agent ? api_u64(v) : json_null();
}

json_t *api_guest_cma_json(const struct ctl_guest_cma *g)
{
	return json_pack("{s:b, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "agent", g->agent, "agent_state", g->agent_state ? g->agent_state : "",
			 "interval_s", (int)g->interval_s, "seconds_since_reading",
			 g->agent ? api_u64(api_seconds_since(&g->updated)) : json_null(),
			 "cma_total_bytes", from_agent(g, g->cma_total_bytes), "cma_free_bytes",
			 from_agent(g, g->cma_free_bytes), "nr_free_cma_bytes",
			 from_agent(g, g->nr_free_cma_bytes), "alloc_success",
			 from_agent(g, g->alloc_success), "alloc_fail",
			 from_agent(g, g->alloc_fail), "peak_used_bytes",
			 from_agent(g, g->peak_used_bytes), "readings", api_u64(g->readings),
			 "agent_errors", api_u64(g->agent_errors), "reported_free_bytes",
			 api_u64(g->reported_free_bytes));
}

void api_get_guest_cma(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_guest_cma g = { 0 };
	int err = ops->guest_cma ? ops->guest_cma(ops->opaque, &g) : -ENOSYS;

	(void)body;
	if (err)
		api_vm_failed(resp, "read the guest's CMA figures", err);
	else
		api_respond(resp, 200, api_guest_cma_json(&g));
}
