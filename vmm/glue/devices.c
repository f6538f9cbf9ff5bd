// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's virtio devices, one per slot of the boot plan: created, wired
 * to their virtio-mmio window (MMIO bus, ioeventfds, irqfd) and to the
 * event loop. Called before the loop thread starts, so the first
 * notification reads may be queued from here.
 */
#include "vmm/glue/glue.h"
#include "vmm/hw/mmio_bus.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/vm.h"
#include "vmm/util/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A tap the operator made, opened here, before the sandbox (it opens
 * /dev/net/tun and asks the kernel about the interface); the device owns
 * the descriptor from then on.
 */
static int create_net(struct vmm_device *d, const struct virtio_env *env,
		      const struct net_config *n, unsigned int index)
{
	struct net_tap_info info;
	struct net_options opts = { .tap_name = n->tap, .index = index };
	char err[512];

	opts.tap_fd = net_tap_open(n->tap, &info, err, sizeof(err));
	if (opts.tap_fd < 0) {
		pr_err("%s: %s", n->flag, err);
		return -1;
	}
	memcpy(opts.mac, n->mac, sizeof(opts.mac));
	opts.offloads = info.offloads;
	if (virtio_net_create(&d->dev, env, &opts)) {
		close(opts.tap_fd);
		return -1;
	}
	return 0;
}

static int create_one(struct vmm *m, struct vmm_device *d, const struct virtio_slot *slot)
{
	const struct vm_config *cfg = m->cfg;
	struct virtio_env env = {
		.ram = vm_ram(m->vm),
		.loop = &m->loop,
		.access_platform = cfg->access_platform,
		.memory = vmm_engine_memory_hooks(m),
	};

	switch (slot->kind) {
	case SLOT_BLK: {
		const struct disk_config *disk = &cfg->disks[slot->index];
		struct blk_options opts = {
			.path = disk->path,
			.readonly = disk->readonly,
			.index = slot->index,
		};

		return virtio_blk_create(&d->dev, &env, &opts);
	}
	case SLOT_RNG:
		return virtio_rng_create(&d->dev, &env);
	case SLOT_BALLOON:
		m->balloon = &d->dev;
		return virtio_balloon_create(&d->dev, &env, cfg->stats_interval_s);
	case SLOT_GPU: {
		struct gpu_options opts = {
			.width = cfg->gpu.width,
			.height = cfg->gpu.height,
			.region = m->gpu_region,
		};

		m->gpu = &d->dev;
		return virtio_gpu_create(&d->dev, &env, &opts);
	}
	case SLOT_CONSOLE: {
		struct console_options opts = vmm_agent_port(m);

		m->console = &d->dev;
		return virtio_console_create(&d->dev, &env, &opts);
	}
	case SLOT_NET:
		return create_net(d, &env, &cfg->nets[slot->index], slot->index);
	}
	return -1;
}

static int attach(struct vmm *m, struct vmm_device *d, const struct virtio_slot *slot)
{
	struct mmio_device region = {
		.name = d->dev.name,
		.base = slot->dt.base,
		.size = slot->dt.size,
		.access = virtio_mmio_access,
		.opaque = &d->mmio,
	};

	if (virtio_mmio_init(&d->mmio, &d->dev, slot->dt.base, slot->dt.spi, vm_kvm_fd(m->vm)) ||
	    vm_add_mmio(m->vm, &region))
		return -1;
	pr_debug("%s: registers at [0x%llx, +0x%llx), SPI %u through a KVM irqfd, %u queue "
		 "notification%s through KVM ioeventfds",
		 d->dev.name, (unsigned long long)slot->dt.base, (unsigned long long)slot->dt.size,
		 slot->dt.spi, d->dev.ops->nr_queues, d->dev.ops->nr_queues == 1 ? "" : "s");
	return virtio_mmio_start(&d->mmio);
}

int vmm_devices_create(struct vmm *m)
{
	const struct boot_plan *plan = m->plan;

	m->devices = calloc(plan->nr_virtio, sizeof(*m->devices));
	if (!m->devices)
		return -1;
	m->nr_devices = plan->nr_virtio;
	for (size_t i = 0; i < plan->nr_virtio; i++) {
		struct vmm_device *d = &m->devices[i];

		if (create_one(m, d, &plan->virtio[i]))
			return -1;
		d->created = true;
		if (attach(m, d, &plan->virtio[i]))
			return -1;
	}
	return 0;
}

void vmm_devices_destroy(struct vmm *m)
{
	for (size_t i = 0; i < m->nr_devices; i++) {
		struct vmm_device *d = &m->devices[i];

		if (!d->created)
			continue;
		virtio_mmio_destroy(&d->mmio);
		virtio_destroy(&d->dev);
	}
	free(m->devices);
	m->devices = NULL;
	m->nr_devices = 0;
	m->balloon = NULL;
	m->gpu = NULL;
	m->console = NULL;
}

unsigned int vmm_devices_inflight_into(struct vmm *m, const void *host, uint64_t len)
{
	unsigned int n = 0;

	for (size_t i = 0; i < m->nr_devices; i++) {
		struct virtio_device *dev = &m->devices[i].dev;

		pthread_mutex_lock(&dev->lock);
		if (dev->ops && dev->ops->inflight_into)
			n += dev->ops->inflight_into(dev, host, len);
		pthread_mutex_unlock(&dev->lock);
	}
	return n;
}

void vmm_devices_fence(struct vmm *m, const void *host, uint64_t len)
{
	for (size_t i = 0; i < m->nr_devices; i++) {
		struct virtio_device *dev = &m->devices[i].dev;

		pthread_mutex_lock(&dev->lock);
		if (dev->ops && dev->ops->fence)
			dev->ops->fence(dev, host, len);
		pthread_mutex_unlock(&dev->lock);
	}
}

void vmm_devices_unfence(struct vmm *m)
{
	for (size_t i = 0; i < m->nr_devices; i++) {
		struct virtio_device *dev = &m->devices[i].dev;

		pthread_mutex_lock(&dev->lock);
		if (dev->ops && dev->ops->unfence)
			dev->ops->unfence(dev);
		pthread_mutex_unlock(&dev->lock);
	}
}

static void describe_queues(const struct virtio_device *dev, struct ctl_device *out)
{
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
}

static void describe(struct vmm_device *d, struct ctl_device *out)
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
	describe_queues(dev, out);
	pthread_mutex_unlock(&dev->lock);
}

int vmm_devices_describe(struct vmm *m, struct ctl_device *out, unsigned int max)
{
	unsigned int n = 0;

	for (size_t i = 0; i < m->nr_devices && n < max; i++)
		describe(&m->devices[i], &out[n++]);
	return (int)n;
}
