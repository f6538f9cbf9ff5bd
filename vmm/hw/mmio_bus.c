// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/mmio_bus.h"
#include "vmm/util/log.h"

#include <string.h>

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_device *dev)
{
	if (!dev->size || dev->base + dev->size - 1 < dev->base) {
		pr_err("MMIO region of %s is empty or wraps past the end of the address space",
		       dev->name);
		return -1;
	}
	for (unsigned int i = 0; i < bus->nr; i++) {
		const struct mmio_device *o = &bus->dev[i];

		/* Inclusive ends: a region may end at the top of the address space. */
		if (dev->base <= o->base + (o->size - 1) &&
		    o->base <= dev->base + (dev->size - 1)) {
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

		/* The whole access, not just its first byte: a device never sees past its end. */
		if (addr >= d->base && len <= d->size && addr - d->base <= d->size - len) {
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
