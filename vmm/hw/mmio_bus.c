// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/mmio_bus.h"
#include "vmm/util/log.h"

#include <string.h>

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_device *dev)
{
	for (unsigned int i = 0; i < bus->nr; i++) {
		const struct mmio_device *o = &bus->dev[i];

		if (dev->base < o->base + o->size && o->base < dev->base + dev->size) {
			pr_err("MMIO region of %s overlaps %s", dev->name, o->name);
			return -1;
		}
	}
	if (bus->nr == MMIO_BUS_MAX) {
		pr_err("too many MMIO devices (at most %d)", MMIO_BUS_MAX);
		return -1;
	}
	bus->dev[bus->nr++] = *dev;
	return 0;
}

void mmio_bus_access(struct mmio_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		     bool is_write)
{
	for (unsigned int i = 0; i < bus->nr; i++) {
		const struct mmio_device *d = &bus->dev[i];

		if (addr >= d->base && addr - d->base < d->size) {
			d->access(d->opaque, addr - d->base, data, len, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0, len);
	if (!bus->warned_unclaimed) {
		bus->warned_unclaimed = true;
		pr_warn("the guest %s %u bytes at 0x%llx, where no device is (reads return 0; "
			"reported once)",
			is_write ? "wrote" : "read", len, (unsigned long long)addr);
	}
}
