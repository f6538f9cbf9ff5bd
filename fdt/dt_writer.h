/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The DT writer: the guest's flattened device tree, written with libfdt.
 *
 * Owns: the node and property layout of every DTB cmavm hands a guest
 * (memory, cpus, psci, timer, GICv3, 16550 console, chosen, and the
 * /reserved-memory pools with their phandles). Addresses come from the
 * caller's memory map and the layout planner; nothing here decides them.
 */
#ifndef FDT_DT_WRITER_H
#define FDT_DT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "fdt/layout.h"

#define DT_PHANDLE_GIC	     1
#define DT_PHANDLE_POOL_BASE 0x10 /* pool i has phandle 0x10 + i */

/* A virtio-mmio device node. */
struct dt_virtio {
	uint64_t base, size;
	unsigned int spi;
	int pool; /* index into the layout's pools for memory-region, or -1 */
};

struct dt_machine {
	const struct layout *layout;
	unsigned int nr_cpus;
	const char *bootargs;
	struct region gicd; /* GICv3 distributor */
	struct region gicr; /* GICv3 redistributors, one 128 KiB frame pair per vCPU */
	struct region uart;
	unsigned int uart_spi; /* SPI number, the GIC INTID less 32 */
	uint32_t uart_clock;   /* Hz; the 8250 driver needs it to probe */
	const struct dt_virtio *virtio;
	size_t nr_virtio;
	const uint8_t *rng_seed; /* for /chosen/rng-seed; may be NULL */
	size_t rng_seed_len;
};

/* Write the DTB into @buf (at most @size bytes). 0, or -1 and @err. */
int dt_write(const struct dt_machine *m, void *buf, size_t size, char *err, size_t errlen);

/* MPIDR affinity KVM gives vCPU @id (arch/arm64/kvm/sys_regs.c, reset_mpidr) */
uint64_t dt_cpu_mpidr(unsigned int id);

static inline uint32_t dt_pool_phandle(size_t pool_index)
{
	return DT_PHANDLE_POOL_BASE + (uint32_t)pool_index;
}

#endif
