// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's virtio devices, one per slot of the boot plan: created, wired
 * to their virtio-mmio window (MMIO bus, ioeventfds, irqfd) and to the
 * event loop. Called before the loop thread starts, so the first
 * notification reads may be queued from here.
 */
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/virtio/devices.h"
#include "vmm/util/log.h"
#include "vmm/machine/vm.h"

#include <stdlib.h>

static int create_one(struct vm *vm, struct vm_device *d, const struct virtio_slot *slot)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_env env = {
		.ram = &vm->ram,
		.loop = &vm->loop,
		.access_platform = cfg->access_platform,
		.memory = vm_engine_memory_hooks(vm),
	};

	d->kind = slot->kind;
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
		vm->balloon = &d->dev;
		return virtio_balloon_create(&d->dev, &env, cfg->stats_interval_s);
	}
	return -1;
}

static int attach(struct vm *vm, struct vm_device *d, const struct virtio_slot *slot)
{
	struct mmio_device region = {
		.name = d->dev.name,
		.base = slot->dt.base,
		.size = slot->dt.size,
		.access = virtio_mmio_access,
		.opaque = &d->mmio,
	};

	if (virtio_mmio_init(&d->mmio, &d->dev, slot->dt.base, slot->dt.spi, vm->kvm.vm_fd) ||
	    mmio_bus_add(&vm->bus, &region))
		return -1;
	return virtio_mmio_start(&d->mmio);
}

int vm_devices_create(struct vm *vm)
{
	const struct boot_plan *plan = vm->plan;

	vm->devices = calloc(plan->nr_virtio, sizeof(*vm->devices));
	if (!vm->devices)
		return -1;
	vm->nr_devices = plan->nr_virtio;
	for (size_t i = 0; i < plan->nr_virtio; i++) {
		struct vm_device *d = &vm->devices[i];

		if (create_one(vm, d, &plan->virtio[i]))
			return -1;
		d->created = true;
		if (attach(vm, d, &plan->virtio[i]))
			return -1;
	}
	return 0;
}

void vm_devices_destroy(struct vm *vm)
{
	for (size_t i = 0; i < vm->nr_devices; i++) {
		struct vm_device *d = &vm->devices[i];

		if (!d->created)
			continue;
		virtio_mmio_destroy(&d->mmio);
		virtio_destroy(&d->dev);
	}
	free(vm->devices);
	vm->devices = NULL;
	vm->nr_devices = 0;
}
