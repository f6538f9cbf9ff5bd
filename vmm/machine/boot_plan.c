// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/boot_plan.h"
#include "fdt/cma_param.h"
#include "vmm/machine/config.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/test_pools.h"
#include "fdt/dt_writer.h"
#include "fdt/dtb_check.h"
#include "vmm/util/log.h"
#include "vmm/machine/memory_map.h"
#include "cma/size.h"

#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define RNG_SEED_BYTES 64

/* Sizes and the Image header only: the files are read once guest RAM exists. */
static int probe_files(const struct vm_config *cfg, struct boot_plan *plan)
{
	if (kernel_image_probe(cfg->kernel, &plan->kernel))
		return -1;
	plan->guest = cfg->guest;
	if (!plan->guest.page_size) /* a caller that settled nothing: the default */
		plan->guest = GUEST_KERNEL_DEFAULT;
	if (cfg->initrd && boot_file_probe(cfg->initrd, "initrd", &plan->initrd))
		return -1;
	return 0;
}

static const struct pool_spec *default_pool(const struct vm_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_pools; i++)
		if (cfg->pools[i].is_default)
			return &cfg->pools[i];
	return NULL;
}

/* The flag that put cma= on the command line: --cmdline-append's text, or --cmdline. */
static const char *cma_flag(const struct vm_config *cfg)
{
	struct cma_param appended;

	cma_param_from_cmdline(cfg->cmdline_append, &appended);
	return appended.present ? "--cmdline-append" : "--cmdline";
}

/*
 * The guest honours cma= over a DT default pool (rmem_cma_setup bypasses
 * the node), and with neither it makes a 64 MiB default of its own where
 * cmavm cannot see it. So: refuse the conflict, and say "none" for real.
 */
static int make_bootargs(const struct vm_config *cfg, struct boot_plan *plan)
{
	const struct pool_spec *def = default_pool(cfg);
	struct cma_param cma;
	int n;

	cma_param_from_cmdline(cfg->cmdline, &cma);
	if (cma.present && def) {
		const char *flag = cma_flag(cfg);

		pr_err("%s has cma=, which makes the guest ignore the default pool of %s; "
		       "drop cma= from %s, or pass --cma 0",
		       flag, def->flag, flag);
		return -1;
	}
	n = snprintf(plan->bootargs, sizeof(plan->bootargs), "%s", cfg->cmdline);
	if (!cma.present && !def) {
		n = snprintf(plan->bootargs, sizeof(plan->bootargs), "%s%scma=0", cfg->cmdline,
			     *cfg->cmdline ? " " : "");
		plan->bootargs_note = "cma=0 added: with --cma 0 the guest would otherwise make a "
				      "64 MiB default CMA area of its own";
	}
	/* The guest cuts bootargs at COMMAND_LINE_SIZE - 1 bytes: cma=0 must not be cut off. */
	if (n < 0 || (size_t)n >= CMA_PARAM_CMDLINE_SIZE) {
		pr_err("--cmdline: the kernel command line is %d bytes; an arm64 guest reads only "
		       "the first %d: shorten it",
		       n, CMA_PARAM_CMDLINE_SIZE - 1);
		return -1;
	}
	return 0;
}

static int pool_index(const struct vm_config *cfg, const struct disk_config *disk)
{
	for (size_t i = 0; i < cfg->nr_pools; i++)
		if (!strcmp(cfg->pools[i].name, disk->pool))
			return (int)i;
	pr_err("%s: there is no pool named '%s'; add --dma-pool %s:SIZE or drop pool=", disk->flag,
	       disk->pool, disk->pool);
	return -2;
}

static void add_slot(struct boot_plan *plan, enum virtio_slot_kind kind, unsigned int index,
		     int pool)
{
	size_t i = plan->nr_virtio++;

	plan->virtio[i] = (struct virtio_slot){
		.kind = kind,
		.index = index,
		.dt = { .base = MMAP_VIRTIO_BASE + i * MMAP_VIRTIO_STRIDE,
			.size = MMAP_VIRTIO_STRIDE,
			.spi = IRQ_SPI_VIRTIO + (unsigned int)i,
			.pool = pool },
	};
}

/*
 * Disks first (so that the first --disk is the guest's vda), then the
 * entropy source, the balloon, the GPU, the guest agent's port and the
 * network devices (last, so that adding one moves no other device).
 */
static int plan_devices(const struct vm_config *cfg, struct boot_plan *plan)
{
	for (size_t i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		int pool = d->pool ? pool_index(cfg, d) : -1;

		if (pool == -2)
			return -1;
		if (pool >= 0)
			pr_warn("%s: the guest's virtio-mmio driver never claims a memory-region "
				"pool (it does not call of_reserved_mem_device_init), so pool '%s' "
				"stays unused by this disk: its rings and buffers come from the "
				"default CMA pool. See docs/devices.md",
				d->flag, d->pool);
		add_slot(plan, SLOT_BLK, (unsigned int)i, pool);
	}
	add_slot(plan, SLOT_RNG, 0, -1);
	add_slot(plan, SLOT_BALLOON, 0, -1);
	if (cfg->gpu.enabled)
		add_slot(plan, SLOT_GPU, 0, -1);
	if (cfg->agent_interval_s)
		add_slot(plan, SLOT_CONSOLE, 0, -1);
	for (size_t i = 0; i < cfg->nr_nets; i++)
		add_slot(plan, SLOT_NET, (unsigned int)i, -1);
	return 0;
}

static int plan_layout(const struct vm_config *cfg, struct boot_plan *plan)
{
	struct layout_request req = {
		.ram_base = MMAP_RAM_BASE,
		.ram_size = cfg->memory,
		.text_offset = plan->kernel.text_offset,
		.image_size = plan->kernel.image_size,
		.initrd_size = plan->initrd.size,
		.pool_align = cfg->pool_align,
		.guest = plan->guest,
		.pools = cfg->pools,
		.nr_pools = cfg->nr_pools,
	};
	char err[512];

	if (layout_plan(&req, &plan->layout, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	return 0;
}

/*
 * Written in a scratch mapping as large as a DTB may be (libfdt clears all
 * of it), kept at its own size: a few KiB for the run, not 64.
 */
static int dt_write_exact(const struct dt_machine *m, struct boot_plan *plan)
{
	uint8_t *buf = mmap(NULL, BOOT_PLAN_DTB_MAX, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char err[256];
	int ret = -1;

	if (buf == MAP_FAILED) {
		pr_errno("memory to write the device tree in");
		return -1;
	}
	if (dt_write(m, buf, BOOT_PLAN_DTB_MAX, err, sizeof(err))) {
		pr_err("%s", err);
	} else {
		plan->dtb_size = fdt_totalsize(buf);
		plan->dtb = malloc(plan->dtb_size);
		if (plan->dtb) {
			memcpy(plan->dtb, buf, plan->dtb_size);
			ret = 0;
		}
	}
	munmap(buf, BOOT_PLAN_DTB_MAX);
	return ret;
}

static int write_dtb(const struct vm_config *cfg, struct boot_plan *plan)
{
	uint8_t seed[RNG_SEED_BYTES];
	struct dt_machine m = {
		.layout = &plan->layout,
		.nr_cpus = cfg->cpus,
		.bootargs = plan->bootargs,
		.gicd = { MMAP_GICD_BASE, MMAP_GICD_SIZE },
		.gicr = { MMAP_GICR_BASE, MMAP_GICR_STRIDE * cfg->cpus },
		.uart = { MMAP_UART_BASE, MMAP_UART_SIZE },
		.uart_spi = IRQ_SPI_UART,
		.uart_clock = UART_CLOCK_HZ,
		.nr_virtio = plan->nr_virtio,
	};
	struct dt_virtio dt_virtio[MMAP_VIRTIO_MAX];

	for (size_t i = 0; i < plan->nr_virtio; i++)
		dt_virtio[i] = plan->virtio[i].dt;
	m.virtio = dt_virtio;
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
		m.rng_seed = seed;
		m.rng_seed_len = sizeof(seed);
	}
	return dt_write_exact(&m, plan);
}

/*
 * The planner and the checker encode the same rules twice, on purpose:
 * cmavm's own DTB must pass, by the rules of every series with the guest's
 * page size (cmavm does not read the version from the Image: a scan of all
 * of it). The one thing in it cmavm does not choose is a cma= the operator
 * put on --cmdline (allowed with --cma 0), and the guest may refuse that
 * (a base outside RAM): then the flag is at fault.
 */
static int check_dtb(const struct vm_config *cfg, struct boot_plan *plan)
{
	struct dtb_report *rep = calloc(1, sizeof(*rep));
	struct guest_kernel guest = plan->guest;
	struct cma_param cma;
	char name[64];
	int ret = 0;

	if (!rep)
		return -1;
	cma_param_from_cmdline(cfg->cmdline, &cma);
	for (guest.series = 0; guest.series < GUEST_NR_SERIES && !ret; guest.series++) {
		if (!dtb_check_guest(plan->dtb, plan->dtb_size, NULL, &guest, rep) &&
		    !dtb_report_rejects(rep))
			continue;
		guest_kernel_name(&guest, name, sizeof(name));
		if (cma.present)
			pr_err("--cmdline: a guest running %s would refuse its cma=%s (see "
			       "below); fix it, or drop it and give the pool with --cma",
			       name, cma.value);
		else
			pr_err("internal error: a guest running %s would reject the device tree "
			       "cmavm wrote; please report this with the output below",
			       name);
		dtb_report_print(rep, stderr);
		ret = -1;
	}
	free(rep);
	return ret;
}

/* Test pools are there to be judged by the guest, not by cmavm: no check with them. */
int boot_plan_build(const struct vm_config *cfg, struct boot_plan *plan)
{
	int test_pools;

	memset(plan, 0, sizeof(*plan));
	if (probe_files(cfg, plan) || make_bootargs(cfg, plan) || plan_layout(cfg, plan) ||
	    plan_devices(cfg, plan) || write_dtb(cfg, plan))
		return -1;
	test_pools = test_pools_add(&plan->dtb, &plan->dtb_size, BOOT_PLAN_DTB_MAX);
	if (test_pools < 0)
		return -1;
	return test_pools ? 0 : check_dtb(cfg, plan);
}

static void print_region(const char *what, const struct region *r, const char *note)
{
	char sz[32];

	pr_info("%-8s 0x%09" PRIx64 "-0x%09" PRIx64 " %10s  %s", what, r->base, region_end(r),
		size_str(r->size, sz), note);
}

static void print_slot(const struct vm_config *cfg, const struct virtio_slot *slot)
{
	static const char *const names[] = { "blk", "rng", "balloon", "gpu", "console", "net" };
	char detail[96], sz[32];
	const char *what = slot->kind == SLOT_BLK	? cfg->disks[slot->index].path
			   : slot->kind == SLOT_RNG	? "entropy from getrandom()"
			   : slot->kind == SLOT_BALLOON ? "balloon, statistics, free page reporting"
			   : slot->kind == SLOT_CONSOLE
				   ? "the guest agent's port (org.qemu.guest_agent.0)"
				   : detail;

	if (slot->kind == SLOT_NET) {
		const struct net_config *n = &cfg->nets[slot->index];

		snprintf(detail, sizeof(detail), "tap %s, MAC %02x:%02x:%02x:%02x:%02x:%02x%s",
			 n->tap, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
			 n->has_mac ? "" : " (from the tap's name)");
	} else {
		snprintf(detail, sizeof(detail), "%ux%u display, resources in %s on %s backing",
			 cfg->gpu.width, cfg->gpu.height, size_str(cfg->gpu.mem, sz),
			 cma_region_backing_name(cfg->gpu.backing));
	}

	pr_info("virtio-%s%u at 0x%" PRIx64 ", SPI %u: %s%s%s", names[slot->kind], slot->index,
		slot->dt.base, slot->dt.spi, what,
		slot->kind == SLOT_BLK && cfg->disks[slot->index].readonly ? " (read-only)" : "",
		cfg->access_platform ? "" : " (no ACCESS_PLATFORM)");
}

/* Boot windows: where each lies in guest RAM, at which level, from which flag. */
static void print_windows(const struct vm_config *cfg, const struct layout *l)
{
	char sz[32];

	for (size_t i = 0; i < cfg->nr_windows; i++) {
		const struct boot_window *w = &cfg->windows[i];

		for (size_t j = 0; j < l->nr_pools; j++) {
			if (strcmp(l->pools[j].spec->name, w->pool))
				continue;
			pr_info("boot window: pool %s [0x%" PRIx64 ", +%s) at %s, before the guest "
				"starts (%s)",
				w->pool, l->pools[j].r.base + w->offset, size_str(w->length, sz),
				cma_level_name(w->level), w->flag);
		}
	}
}

void boot_plan_print(const struct vm_config *cfg, const struct boot_plan *plan)
{
	const struct layout *l = &plan->layout;
	char a[32], note[160];

	pr_info("guest: %s of RAM at 0x%" PRIx64 ", %u vCPU%s, GICv3, 16550 console at 0x%llx",
		size_str(l->ram.size, a), l->ram.base, cfg->cpus, cfg->cpus == 1 ? "" : "s",
		MMAP_UART_BASE);
	snprintf(note, sizeof(note),
		 "kernel%s (text_offset 0x%" PRIx64 ", image_size from its "
		 "Image header)",
		 plan->kernel.compressed ? ", inflated from gzip" : "", plan->kernel.text_offset);
	print_region("kernel", &l->kernel, note);
	pr_info("guest pages %s (%s), so pageblocks of %s: pools and windows are whole ones",
		size_str(plan->guest.page_size, a),
		arm64_image_page_size(plan->kernel.header) ? "its Image header"
		: cfg->guest_page_size			   ? "--guest-page-size"
							   : "assumed: the header does not say",
		size_str(guest_pageblock(&plan->guest), note));
	if (l->initrd.size)
		print_region("initrd", &l->initrd, "initrd, next 2 MiB boundary after the kernel");
	snprintf(note, sizeof(note), "device tree (%zu bytes) in a 2 MiB block of its own",
		 plan->dtb_size);
	print_region("dtb", &l->dtb, note);
	for (size_t i = 0; i < l->nr_pools; i++) {
		const struct placed_pool *p = &l->pools[i];

		pr_info("pool %s at 0x%" PRIx64 " size %" PRIu64 " MiB (%s): %s", p->spec->name,
			p->r.base, p->r.size >> 20, pool_kind_str(p->spec), p->why);
	}
	if (!l->nr_pools)
		pr_info("no pools");
	print_windows(cfg, l);
	for (size_t i = 0; i < plan->nr_virtio; i++)
		print_slot(cfg, &plan->virtio[i]);
	pr_info("cmdline: %s", plan->bootargs);
	if (plan->bootargs_note)
		pr_info("  (%s)", plan->bootargs_note);
}

int boot_plan_dump_dtb(const struct boot_plan *plan, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(plan->dtb, 1, plan->dtb_size, f) != plan->dtb_size) {
		pr_errno("--dump-dtb: cannot write '%s'", path);
		if (f)
			fclose(f);
		return -1;
	}
	if (fclose(f)) {
		pr_errno("--dump-dtb: cannot write '%s'", path);
		return -1;
	}
	pr_info("device tree written to %s (%zu bytes)", path, plan->dtb_size);
	return 0;
}

/* Each straight into its place in guest RAM: no copy is made or kept. */
int boot_plan_load(const struct boot_plan *plan, const struct guest_ram *ram)
{
	const struct layout *l = &plan->layout;

	if (kernel_image_load(&plan->kernel, ram, l->kernel.base, l->kernel.size) ||
	    guest_ram_load(ram, l->dtb.base, plan->dtb, plan->dtb_size, "device tree"))
		return -1;
	if (l->initrd.size && boot_file_load(&plan->initrd, ram, l->initrd.base, l->initrd.size))
		return -1;
	return 0;
}

void boot_plan_free(struct boot_plan *plan)
{
	boot_file_free(&plan->kernel.file);
	boot_file_free(&plan->initrd);
	free(plan->dtb);
	plan->dtb = NULL;
}
