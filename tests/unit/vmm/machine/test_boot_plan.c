// SPDX-License-Identifier: GPL-2.0-only
/*
 * The boot plan (vmm/machine/boot_plan.h): files read, the command line
 * the guest gets, the devices and their windows, and a DTB that the
 * guest's rules (fdt/dtb_check.h) accept with every pool where planned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cma/size.h"
#include "tests/unit/lib/capture.h"
#include "fdt/dtb_check.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"

#define KERNEL_FILE_SIZE  (2 * 1024 * 1024)
#define KERNEL_IMAGE_SIZE (0x2010000ULL) /* as Debian's 6.1 arm64 kernel says */
#define INITRD		  "070701 an initramfs, as far as the plan cares"

struct fixture {
	char kernel[64];
	char initrd[64];
	char dtb[64];
	struct vm_config cfg;
	struct boot_plan plan;
};

static void write_temp(char path[64], const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/cmavm-plan-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* An arm64 Image header (booting.rst): text_offset 0, image_size, magic. */
static uint8_t *kernel_bytes(void)
{
	uint8_t *img = calloc(1, KERNEL_FILE_SIZE);
	uint64_t image_size = KERNEL_IMAGE_SIZE, flags = 0;
	uint32_t magic = 0x644d5241;

	memcpy(img + 16, &image_size, 8);
	memcpy(img + 24, &flags, 8);
	memcpy(img + 56, &magic, 4);
	for (size_t i = 64; i < KERNEL_FILE_SIZE; i++)
		img[i] = (uint8_t)(i * 13);
	return img;
}

static void write_kernel(char path[64])
{
	uint8_t *img = kernel_bytes();

	write_temp(path, img, KERNEL_FILE_SIZE);
	free(img);
}

static void add_pool(struct vm_config *cfg, const char *flag, bool is_default)
{
	char err[256];
	struct pool_spec *p = &cfg->pools[cfg->nr_pools];
	int r = is_default ? pool_parse_default(flag, p, err, sizeof(err))
			   : pool_parse_named(flag, p, err, sizeof(err));

	assert_int_equal(r, 0);
	cfg->nr_pools++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	write_kernel(f->kernel);
	write_temp(f->initrd, INITRD, sizeof(INITRD));
	strcpy(f->dtb, "/tmp/cmavm-plan-dtb-XXXXXX");
	close(mkstemp(f->dtb));
	f->cfg = (struct vm_config){
		.kernel = f->kernel,
		.cmdline = DEFAULT_CMDLINE,
		.memory = DEFAULT_MEMORY,
		.pool_align = DEFAULT_POOL_ALIGN,
		.cpus = 2,
		.access_platform = true,
		.stats_interval_s = DEFAULT_STATS_INTERVAL,
	};
	add_pool(&f->cfg, DEFAULT_CMA, true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	boot_plan_free(&f->plan);
	unlink(f->kernel);
	unlink(f->initrd);
	unlink(f->dtb);
	free(f);
	return 0;
}

static struct dtb_report *check(const struct boot_plan *plan)
{
	struct dtb_report *rep = calloc(1, sizeof(*rep));

	assert_int_equal(dtb_check(plan->dtb, plan->dtb_size, NULL, rep), 0);
	assert_false(dtb_report_rejects(rep));
	return rep;
}

static const struct dtb_entry *entry_at(const struct dtb_report *rep, uint64_t base)
{
	for (size_t i = 0; i < rep->nr_entries; i++)
		if (rep->entries[i].has_reg && rep->entries[i].base == base)
			return &rep->entries[i];
	fail_msg("no /reserved-memory entry at 0x%llx", (unsigned long long)base);
	return NULL;
}

static void test_default_plan_has_the_pool_in_its_dtb(void **state)
{
	struct fixture *f = *state;
	const struct placed_pool *p;
	struct dtb_report *rep;

	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(f->plan.kernel.image_size, KERNEL_IMAGE_SIZE);
	assert_int_equal(f->plan.layout.nr_pools, 1);
	p = &f->plan.layout.pools[0];
	assert_int_equal(p->r.size, 64 * SZ_1M);
	assert_true(p->spec->is_default);
	assert_string_equal(f->plan.bootargs, DEFAULT_CMDLINE);
	assert_null(f->plan.bootargs_note);
	rep = check(&f->plan);
	assert_int_equal(entry_at(rep, p->r.base)->size, p->r.size);
	assert_int_equal(entry_at(rep, p->r.base)->verdict, DTB_CMA_POOL);
	assert_int_equal(rep->cma_total, 64 * SZ_1M);
	assert_int_equal(rep->ram_start, MMAP_RAM_BASE);
	assert_int_equal(rep->ram_end, MMAP_RAM_BASE + DEFAULT_MEMORY);
	free(rep);
}

static void test_devices_disks_first_then_rng_and_balloon(void **state)
{
	struct fixture *f = *state;
	const struct virtio_slot *v = f->plan.virtio;

	f->cfg.disks[0] = (struct disk_config){ .path = "a.img", .flag = "--disk a.img" };
	f->cfg.disks[1] = (struct disk_config){ .path = "b.img", .readonly = true };
	f->cfg.nr_disks = 2;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(f->plan.nr_virtio, 4);
	assert_int_equal(v[0].kind, SLOT_BLK);
	assert_int_equal(v[0].index, 0);
	assert_int_equal(v[1].kind, SLOT_BLK);
	assert_int_equal(v[1].index, 1);
	assert_int_equal(v[2].kind, SLOT_RNG);
	assert_int_equal(v[3].kind, SLOT_BALLOON);
	for (unsigned int i = 0; i < 4; i++) {
		/* one window and one interrupt each, in order, none in a pool */
		assert_int_equal(v[i].dt.base, MMAP_VIRTIO_BASE + i * MMAP_VIRTIO_STRIDE);
		assert_int_equal(v[i].dt.size, MMAP_VIRTIO_STRIDE);
		assert_int_equal(v[i].dt.spi, IRQ_SPI_VIRTIO + i);
		assert_int_equal(v[i].dt.pool, -1);
	}
}

static void test_disk_pool_names_a_planned_pool(void **state)
{
	struct fixture *f = *state;

	add_pool(&f->cfg, "cam:8M", false);
	f->cfg.disks[0] = (struct disk_config){ .path = "a.img", .pool = "cam" };
	f->cfg.nr_disks = 1;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(f->plan.virtio[0].dt.pool, 1);
	boot_plan_free(&f->plan);
	f->cfg.disks[0].pool = "nosuch";
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
}

static void test_no_default_pool_adds_cma_0(void **state)
{
	struct fixture *f = *state;
	struct dtb_report *rep;

	f->cfg.nr_pools = 0; /* --cma 0 */
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_string_equal(f->plan.bootargs, DEFAULT_CMDLINE " cma=0");
	assert_non_null(f->plan.bootargs_note);
	rep = check(&f->plan);
	assert_int_equal(rep->cma_total, 0);
	assert_int_equal(rep->default_area.source, DTB_DEFAULT_NONE);
	free(rep);

	boot_plan_free(&f->plan);
	f->cfg.cmdline = "";
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_string_equal(f->plan.bootargs, "cma=0");
}

static void test_cma_on_the_cmdline_conflicts_with_a_default_pool(void **state)
{
	struct fixture *f = *state;

	struct capture cap;
	char *text;

	f->cfg.cmdline = "console=ttyS0 cma=32M";
	capture_start(&cap, stderr);
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
	text = captured(&cap, stderr);
	assert_non_null(strstr(text, "error: --cmdline has cma=, which makes the guest ignore"));
	assert_non_null(strstr(text, "drop cma= from --cmdline, or pass --cma 0"));
	free(text);
	boot_plan_free(&f->plan);
	/* the same from --cmdline-append names that flag */
	snprintf(f->cfg.cmdline_append, sizeof(f->cfg.cmdline_append), " cma=32M");
	capture_start(&cap, stderr);
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
	text = captured(&cap, stderr);
	assert_non_null(strstr(text, "drop cma= from --cmdline-append, or pass --cma 0"));
	free(text);
	boot_plan_free(&f->plan);
	f->cfg.cmdline_append[0] = '\0';
	f->cfg.nr_pools = 0; /* without one, the guest's cma= stands */
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_string_equal(f->plan.bootargs, "console=ttyS0 cma=32M");
}

/* Found by the layout fuzz target: the flag's fault, not an internal error. */
static void test_cma_the_guest_refuses_blames_the_cmdline(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char *text;

	f->cfg.nr_pools = 0;
	f->cfg.cmdline = "console=ttyS0 cma=32M@0x840";
	capture_start(&cap, stderr);
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
	text = captured(&cap, stderr);
	assert_non_null(strstr(text, "cmavm: error: --cmdline: a guest running Linux 6.1, 4 KiB "
				     "pages would refuse its cma=32M@0x840 (see below); fix it"));
	assert_null(strstr(text, "internal error"));
	free(text);
}

static void test_cmdline_the_guest_would_cut_is_refused(void **state)
{
	struct fixture *f = *state;
	char *longer = malloc(CMA_PARAM_CMDLINE_SIZE + 1);

	memset(longer, 'x', CMA_PARAM_CMDLINE_SIZE);
	longer[CMA_PARAM_CMDLINE_SIZE] = '\0';
	f->cfg.cmdline = longer;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
	boot_plan_free(&f->plan);
	longer[CMA_PARAM_CMDLINE_SIZE - 1] = '\0'; /* the most the guest reads */
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	free(longer);
}

static void test_initrd_is_placed_after_the_kernel(void **state)
{
	struct fixture *f = *state;
	const struct layout *l = &f->plan.layout;

	f->cfg.initrd = f->initrd;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(f->plan.initrd.size, l->initrd.size);
	assert_int_equal(f->plan.initrd.size, sizeof(INITRD));
	assert_true(l->initrd.base >= region_end(&l->kernel));
	assert_true(l->initrd.base >= l->kernel.base + KERNEL_IMAGE_SIZE);
	assert_false(regions_overlap(&l->initrd, &l->dtb));
	assert_false(regions_overlap(&l->initrd, &l->pools[0].r));
}

/* Once RAM exists, each blob lands where the plan (and the DTB) say. */
static void test_load_puts_each_file_at_its_place(void **state)
{
	struct fixture *f = *state;
	const struct layout *l = &f->plan.layout;
	struct guest_ram ram = { .memfd = -1, .gpa = MMAP_RAM_BASE, .size = DEFAULT_MEMORY };
	uint8_t *img = kernel_bytes();

	ram.host = calloc(1, DEFAULT_MEMORY);
	f->cfg.initrd = f->initrd;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(boot_plan_load(&f->plan, &ram), 0);
	assert_memory_equal(ram.host + (l->kernel.base - MMAP_RAM_BASE), img, KERNEL_FILE_SIZE);
	assert_memory_equal(ram.host + (l->initrd.base - MMAP_RAM_BASE), INITRD, sizeof(INITRD));
	assert_memory_equal(ram.host + (l->dtb.base - MMAP_RAM_BASE), f->plan.dtb,
			    f->plan.dtb_size);
	ram.size = l->initrd.base - MMAP_RAM_BASE; /* RAM too small: refused, not overrun */
	assert_int_equal(boot_plan_load(&f->plan, &ram), -1);
	free(ram.host);
	free(img);
}

static void test_missing_kernel_fails(void **state)
{
	struct fixture *f = *state;

	f->cfg.kernel = "/nonexistent/Image";
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), -1);
}

static void expect_line(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("the plan lacks \"%s\"; it printed:\n%s", line, text);
}

/* What the operator reads before the guest starts: every pool with its reason. */
static void test_plan_printed_for_the_operator(void **state)
{
	struct fixture *f = *state;
	const struct placed_pool *p;
	struct capture cap;
	char line[512];
	char *text;

	add_pool(&f->cfg, "fw:4M:no-map", false);
	f->cfg.disks[0] = (struct disk_config){ .path = "a.img", .readonly = true };
	f->cfg.nr_disks = 1;
	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	capture_start(&cap, stderr);
	boot_plan_print(&f->cfg, &f->plan);
	text = captured(&cap, stderr);
	expect_line(text, "cmavm: guest: 512 MiB of RAM at 0x80000000, 2 vCPUs, GICv3");
	for (size_t i = 0; i < f->plan.layout.nr_pools; i++) {
		p = &f->plan.layout.pools[i];
		snprintf(line, sizeof(line), "cmavm: pool %s at 0x%llx size %llu MiB (%s): %s",
			 p->spec->name, (unsigned long long)p->r.base,
			 (unsigned long long)(p->r.size >> 20), pool_kind_str(p->spec), p->why);
		expect_line(text, line);
	}
	expect_line(text, "(reusable CMA pool, default)");
	expect_line(text, "(no-map coherent DMA pool)");
	expect_line(text, "cmavm: virtio-blk0 at 0xa000000, SPI 16: a.img (read-only)");
	expect_line(text, "cmavm: virtio-rng0 at 0xa000200, SPI 17: entropy from getrandom()");
	expect_line(text, "cmavm: cmdline: " DEFAULT_CMDLINE "\r\n");
	free(text);
}

static void test_dump_dtb_writes_the_blob(void **state)
{
	struct fixture *f = *state;
	uint8_t *back;
	FILE *in;

	assert_int_equal(boot_plan_build(&f->cfg, &f->plan), 0);
	assert_int_equal(boot_plan_dump_dtb(&f->plan, f->dtb), 0);
	back = malloc(f->plan.dtb_size + 1);
	in = fopen(f->dtb, "rb");
	assert_non_null(in);
	assert_int_equal(fread(back, 1, f->plan.dtb_size + 1, in), f->plan.dtb_size);
	fclose(in);
	assert_memory_equal(back, f->plan.dtb, f->plan.dtb_size);
	free(back);
	assert_int_equal(boot_plan_dump_dtb(&f->plan, "/nonexistent/dir/x.dtb"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_plan_has_the_pool_in_its_dtb, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_devices_disks_first_then_rng_and_balloon,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_pool_names_a_planned_pool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_default_pool_adds_cma_0, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cma_on_the_cmdline_conflicts_with_a_default_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cma_the_guest_refuses_blames_the_cmdline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_the_guest_would_cut_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_initrd_is_placed_after_the_kernel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_puts_each_file_at_its_place, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_kernel_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_printed_for_the_operator, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dump_dtb_writes_the_blob, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
