// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's side of the control API (vmm/control/api.h): each callback
 * reads or changes the VM and fills the API's plain structs. They run on
 * the event loop thread.
 */
#include "vmm/machine/boot_plan.h"
#include "vmm/control/client.h"
#include "vmm/machine/config.h"
#include "vmm/virtio/devices.h"
#include "vmm/util/log.h"
#include "vmm/machine/vm.h"

#include <errno.h>
#include <string.h>

static enum ctl_vm_state state_of(struct vm *vm)
{
	enum ctl_vm_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->stopping ? CTL_VM_STOPPING : vm->paused ? CTL_VM_PAUSED : CTL_VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

static int ctl_status(void *opaque, struct ctl_vm_status *out)
{
	struct vm *vm = opaque;
	const struct layout *l = &vm->plan->layout;

	memset(out, 0, sizeof(*out));
	out->state = state_of(vm);
	out->vcpus = vm->nr_vcpus;
	out->memory_bytes = vm->ram.size;
	/* Measured over the mapping, so that windows on huge pages count too. */
	out->memory_resident_bytes = cma_resident_bytes(&vm->engine);
	out->cmdline = vm->plan->bootargs;
	out->started = vm->started;
	out->nr_pools = (unsigned int)l->nr_pools;
	for (size_t i = 0; i < l->nr_pools; i++) {
		const struct placed_pool *p = &l->pools[i];

		out->pools[i] = (struct ctl_pool){
			.name = p->spec->name,
			.kind = p->spec->kind,
			.is_default = p->spec->is_default,
			.base = p->r.base,
			.size = p->r.size,
			.why = p->why,
		};
	}
	return 0;
}

static int change_state(struct vm *vm, int ret, enum ctl_vm_state *state)
{
	*state = state_of(vm);
	if (ret == -EALREADY || ret == -EBUSY)
		return -EBUSY;
	return ret;
}

static int ctl_pause(void *opaque, enum ctl_vm_state *state)
{
	return change_state(opaque, vm_pause(opaque), state);
}

static int ctl_resume(void *opaque, enum ctl_vm_state *state)
{
	return change_state(opaque, vm_resume(opaque), state);
}

static int ctl_shutdown(void *opaque, enum ctl_vm_state *state)
{
	struct vm *vm = opaque;

	if (vm_stopping(vm)) {
		*state = CTL_VM_STOPPING;
		return -EBUSY;
	}
	pr_info("shutdown requested through the control socket");
	vm_stop(vm, 0);
	*state = CTL_VM_STOPPING;
	return 0;
}

static int ctl_balloon_get(void *opaque, struct ctl_balloon *out)
{
	struct vm *vm = opaque;
	struct balloon_info info;

	if (!vm->balloon)
		return -ENODEV;
	pthread_mutex_lock(&vm->balloon->lock);
	balloon_get_info(vm->balloon, &info);
	pthread_mutex_unlock(&vm->balloon->lock);
	*out = (struct ctl_balloon){
		.target_bytes = info.target_bytes,
		.actual_bytes = info.actual_bytes,
		.deflate_on_oom = info.deflate_on_oom,
		.free_page_reporting = info.free_page_reporting,
		.stats_interval_s = info.stats_interval_s,
	};
	return 0;
}

static int ctl_balloon_set(void *opaque, const struct ctl_balloon_update *u)
{
	struct vm *vm = opaque;

	if (!vm->balloon)
		return -ENODEV;
	if (u->set_target && u->target_bytes > vm->ram.size)
		return -ERANGE;
	pthread_mutex_lock(&vm->balloon->lock);
	if (u->set_target)
		balloon_set_target(vm->balloon, u->target_bytes);
	if (u->set_stats_interval)
		balloon_set_stats_interval(vm->balloon, u->stats_interval_s);
	pthread_mutex_unlock(&vm->balloon->lock);
	return 0;
}

static int ctl_balloon_stats(void *opaque, struct ctl_balloon_stats *out)
{
	struct vm *vm = opaque;
	struct balloon_stats st;
	bool have;

	if (!vm->balloon)
		return -ENODEV;
	pthread_mutex_lock(&vm->balloon->lock);
	have = balloon_stats(vm->balloon, &st);
	pthread_mutex_unlock(&vm->balloon->lock);
	if (!have)
		return -ENODATA;
	memset(out, 0, sizeof(*out));
	for (unsigned int tag = 0; tag < CTL_BALLOON_S_NR; tag++)
		out->value[tag] = st.value[tag];
	out->reported = st.reported & ((1u << CTL_BALLOON_S_NR) - 1);
	out->updated = st.updated;
	return 0;
}

static void describe_device(struct vm_device *d, struct ctl_device *out)
{
	struct virtio_device *dev = &d->dev;
	struct virtio_counter counters[VIRTIO_COUNTERS_MAX];
	unsigned int n = 0;

	pthread_mutex_lock(&dev->lock);
	*out = (struct ctl_device){
		.name = dev->name,
		.type = dev->ops->type,
		.mmio_base = d->mmio.base,
		.irq = d->mmio.spi,
		.features_offered = dev->features_offered,
		.features_acked = dev->features_acked,
		.status = dev->status,
	};
	if (dev->ops->counters)
		n = dev->ops->counters(dev, counters);
	for (unsigned int i = 0; i < n && i < CTL_COUNTERS_MAX; i++)
		out->counters[out->nr_counters++] =
			(struct ctl_counter){ counters[i].name, counters[i].value };
	for (unsigned int q = 0; q < dev->ops->nr_queues && q < CTL_QUEUES_MAX; q++) {
		const struct virtqueue *vq = &dev->vq[q];

		out->queues[out->nr_queues++] = (struct ctl_queue){
			.size = vq->size,
			.enabled = vq->enabled,
			.broken = vq->broken,
			.desc = vq->desc_gpa,
			.driver = vq->avail_gpa,
			.device = vq->used_gpa,
		};
	}
	pthread_mutex_unlock(&dev->lock);
}

static int ctl_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	struct vm *vm = opaque;
	unsigned int n = 0;

	for (size_t i = 0; i < vm->nr_devices && n < max; i++)
		describe_device(&vm->devices[i], &devs[n++]);
	return (int)n;
}

int vm_control_open(struct vm *vm)
{
	char def[HTTP_SOCKET_PATH_MAX];
	const char *path = vm->cfg->api_socket;

	vm->ctl_ops = (struct ctl_ops){
		.opaque = vm,
		.status = ctl_status,
		.pause = ctl_pause,
		.resume = ctl_resume,
		.shutdown = ctl_shutdown,
		.balloon_get = ctl_balloon_get,
		.balloon_set = ctl_balloon_set,
		.balloon_stats = ctl_balloon_stats,
		.devices = ctl_devices,
	};
	vm_engine_ctl_ops(&vm->ctl_ops);
	if (!path)
		path = ctl_default_socket(def, sizeof(def));
	if (http_server_open(&vm->api, &vm->loop, path, ctl_api_handle, &vm->ctl_ops))
		return -1;
	vm->api_open = true;
	pr_info("control socket: %s (cmavm ctl --socket %s status)", path, path);
	return 0;
}

void vm_control_close(struct vm *vm)
{
	if (vm->api_open)
		http_server_close(&vm->api);
	vm->api_open = false;
}
