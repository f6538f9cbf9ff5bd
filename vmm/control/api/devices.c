// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/devices: each virtio device with its place (MMIO base, IRQ), its
 * feature bits and status, its counters and its virtqueues.
 */
#include "vmm/control/api/internal.h"

#include <errno.h>
#include <stdlib.h>

static json_t *queue_json(const struct ctl_queue *q)
{
	return json_pack("{s:i, s:b, s:b, s:o, s:o, s:o}", "size", (int)q->size, "enabled",
			 q->enabled, "broken", q->broken, "desc", api_u64(q->desc), "driver",
			 api_u64(q->driver), "device", api_u64(q->device));
}

static json_t *device_json(const struct ctl_device *d)
{
	json_t *counters = json_object(), *queues = json_array();
	unsigned int i;

	for (i = 0; counters && i < d->nr_counters && i < CTL_COUNTERS_MAX; i++)
		if (d->counters[i].name)
			json_object_set_new(counters, d->counters[i].name,
					    api_u64(d->counters[i].value));
	for (i = 0; queues && i < d->nr_queues && i < CTL_QUEUES_MAX; i++)
		json_array_append_new(queues, queue_json(&d->queues[i]));
	return json_pack("{s:s, s:s, s:o, s:i, s:o, s:o, s:i, s:o*, s:o*}", "name",
			 d->name ? d->name : "", "type", d->type ? d->type : "", "mmio_base",
			 api_u64(d->mmio_base), "irq", (int)d->irq, "features_offered",
			 api_u64(d->features_offered), "features_acked", api_u64(d->features_acked),
			 "status", (int)d->status, "counters", counters, "queues", queues);
}

/* A VM without the callback has no devices to show: an empty list. */
void api_get_devices(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_device *devs = calloc(CTL_DEVICES_MAX, sizeof(*devs));
	json_t *list = json_array();
	int n = -ENOMEM;
	int i;

	if (devs && list)
		n = ops->devices ? ops->devices(ops->opaque, devs, CTL_DEVICES_MAX) : 0;
	if (n < 0) {
		api_vm_failed(resp, "list the devices", n);
		json_decref(list);
		list = NULL;
	}
	for (i = 0; list && i < n && i < CTL_DEVICES_MAX; i++)
		json_array_append_new(list, device_json(&devs[i]));
	if (list)
		api_respond(resp, 200, list);
	free(devs);
}
