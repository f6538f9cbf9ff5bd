/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MMIO bus: which device answers a guest access outside RAM.
 *
 * Owns: the table of device regions, filled before the vCPUs start and
 * read-only afterwards (so lookups need no lock), and what happens to an
 * access no device claims wholly (reads 0, writes dropped, reported once):
 * a device is handed only accesses that lie inside its region.
 */
#ifndef VMM_HW_MMIO_BUS_H
#define VMM_HW_MMIO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define MMIO_BUS_MAX 32

typedef void (*mmio_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct mmio_device {
	const char *name;
	uint64_t base, size;
	mmio_fn access;
	void *opaque;
};

struct mmio_bus {
	struct mmio_device dev[MMIO_BUS_MAX];
	unsigned int nr;
	bool warned_unclaimed;
};

int mmio_bus_add(struct mmio_bus *bus, const struct mmio_device *dev);
void mmio_bus_access(struct mmio_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		     bool is_write);

#endif
