/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The boot plan: everything decided before a VM exists.
 *
 * Owns: checking the kernel and initrd files (their sizes and the Image
 * header decide the layout), the final kernel command line, the memory
 * layout, and the DTB, which is checked by the same rules as `cmavm dtb
 * check` before any guest may see it; and, once guest RAM exists, putting
 * the kernel, initrd and DTB where the layout says. The plan is printed
 * for the operator with the reason for each pool's place; it is the same
 * on every host, so `--dry-run` shows it without KVM.
 */
#ifndef VMM_MACHINE_BOOT_PLAN_H
#define VMM_MACHINE_BOOT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "fdt/dt_writer.h"
#include "fdt/layout.h"
#include "vmm/machine/loader.h"
#include "vmm/machine/memory_map.h"

#define BOOT_PLAN_DTB_MAX (64 * 1024)

struct guest_ram;
struct vm_config;

enum virtio_slot_kind {
	SLOT_BLK,
	SLOT_RNG,
	SLOT_BALLOON,
	SLOT_GPU,
	SLOT_CONSOLE,
	SLOT_NET,
};

/* A virtio-mmio device: its kind, its window and interrupt, its DT node. */
struct virtio_slot {
	enum virtio_slot_kind kind;
	unsigned int index; /* SLOT_BLK, SLOT_NET: the --disk or --net it comes from */
	struct dt_virtio dt;
};

struct boot_plan {
	struct kernel_image kernel;
	struct guest_kernel guest; /* series and page size: the rules pools obey */
	struct boot_file initrd;
	struct layout layout;
	char bootargs[4096];
	const char *bootargs_note; /* why cmavm changed the command line, or NULL */
	size_t nr_virtio;
	struct virtio_slot virtio[MMAP_VIRTIO_MAX];
	uint8_t *dtb; /* dtb_size bytes (at most BOOT_PLAN_DTB_MAX) */
	size_t dtb_size;
};

int boot_plan_build(const struct vm_config *cfg, struct boot_plan *plan);
void boot_plan_print(const struct vm_config *cfg, const struct boot_plan *plan);
int boot_plan_dump_dtb(const struct boot_plan *plan, const char *path);
/* Kernel, initrd and DTB into @ram at their planned places. 0, or -1 said why. */
int boot_plan_load(const struct boot_plan *plan, const struct guest_ram *ram);
void boot_plan_free(struct boot_plan *plan);

#endif
