// SPDX-License-Identifier: GPL-2.0-only
/*
 * dtb_check(): the guest kernel's boot steps over a DTB, in its order.
 * arch/arm64/kernel/setup.c setup_arch() has setup_machine_fdt() scan the
 * root, /chosen and the memory nodes (early_init_dt_scan), then
 * arm64_memblock_init() reserves /memreserve/ and /reserved-memory
 * (early_init_fdt_scan_reserved_mem: in 6.1 fdt_scan_reserved_mem, then
 * fdt_init_reserved_mem and the region handlers; 6.12 runs the handlers of
 * size-placed nodes there and those of reg nodes in unflatten_device_tree),
 * and later dma_contiguous_reserve() makes the default CMA area.
 *
 * Owns: that order, which guest the run judges for, the blob size limit of
 * Documentation/arm64/booting.rst, and the run's state (struct ctx). Each
 * step is in the dtb_check_*.c file named after the kernel code it mirrors
 * (see fdt/dtb_check_internal.h).
 */
#include "fdt/dtb_check.h"

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/dtb_check_internal.h"

static void check_reserved_memory(struct ctx *c)
{
	scan_memreserve(c);
	scan_reserved_mem(c);
	size_reserved_mem(c);
	init_reserved_mem(c);
	cma_sum_total(c->rep);
	dma_contiguous_reserve(c);
}

static void warn_blob_size(struct dtb_report *rep, const void *fdt)
{
	char buf[32];

	if (fdt_totalsize(fdt) > GUEST_DTB_MAX)
		add_line(rep, DTB_LINE_WARNING,
			 "the DTB is %u bytes: the arm64 kernel takes at most %s "
			 "(Documentation/arm64/booting.rst)",
			 fdt_totalsize(fdt), size_str(GUEST_DTB_MAX, buf));
}

static int set_guest(struct dtb_report *rep, const struct guest_kernel *guest)
{
	const struct guest_kernel def = GUEST_KERNEL_DEFAULT;

	if (!guest)
		guest = &def;
	if (!guest_kernel_valid(guest))
		return fail(rep,
			    "no rules for the guest asked for (series %d, page size %llu bytes): "
			    "cmavm knows Linux " GUEST_SERIES_CHOICES
			    " with " GUEST_PAGE_SIZE_CHOICES " pages",
			    (int)guest->series, (unsigned long long)guest->page_size);
	rep->guest = guest_kernel_normal(guest);
	return 0;
}

int dtb_check_guest(const void *blob, size_t size, const char *cmdline,
		    const struct guest_kernel *guest, struct dtb_report *rep)
{
	struct ctx *c;
	void *fdt;
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	if (set_guest(rep, guest))
		return -1;
	fdt = load_blob(blob, size, rep);
	if (!fdt)
		return -1;
	c = calloc(1, sizeof(*c));
	if (!c) {
		free(fdt);
		return fail(rep, "out of memory");
	}
	c->fdt = fdt;
	c->rep = rep;
	c->rules = guest_rmem_rules(&rep->guest);
	c->pageblock = guest_pageblock(&rep->guest);
	c->default_idx = NO_OWNER;
	if (!scan_root(c)) {
		warn_blob_size(rep, fdt);
		scan_memory(c);
		scan_chosen(c, cmdline);
		check_reserved_memory(c);
		ret = 0;
	}
	free(c);
	free(fdt);
	return ret;
}

int dtb_check(const void *blob, size_t size, const char *cmdline, struct dtb_report *rep)
{
	return dtb_check_guest(blob, size, cmdline, NULL, rep);
}
