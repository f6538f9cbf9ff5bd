// SPDX-License-Identifier: GPL-2.0-only
/* The DT writer (fdt/dt_writer.h): write a DTB, read every node back with libfdt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include "fdt/dt_writer.h"
#include "cma/size.h"

static uint8_t blob[64 * 1024];
static struct pool_spec pools[3];
static struct layout layout;

static void make_layout(void)
{
	struct layout_request req = {
		.ram_base = 0x80000000ULL,
		.ram_size = 512 * SZ_1M,
		.image_size = 0x2010000,
		.initrd_size = 3 * SZ_1M,
		.pool_align = SZ_4M,
		.pools = pools,
		.nr_pools = 3,
	};
	char err[256];

	pools[0] = (struct pool_spec){
		.name = "linux,cma", .size = 64 * SZ_1M, .kind = POOL_CMA, .is_default = true
	};
	pools[1] = (struct pool_spec){ .name = "gpu", .size = 16 * SZ_1M, .kind = POOL_CMA };
	pools[2] = (struct pool_spec){ .name = "fw", .size = 4 * SZ_1M, .kind = POOL_COHERENT };
	assert_int_equal(layout_plan(&req, &layout, err, sizeof(err)), 0);
}

static const struct dt_virtio virtio[2] = {
	{ .base = 0x0a000000, .size = 0x200, .spi = 16, .pool = -1 },
	{ .base = 0x0a000200, .size = 0x200, .spi = 17, .pool = 1 },
};

static struct dt_machine machine(unsigned int cpus)
{
	static const uint8_t seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	return (struct dt_machine){
		.layout = &layout,
		.nr_cpus = cpus,
		.bootargs = "console=ttyS0 quiet",
		.gicd = { 0x08000000, 0x10000 },
		.gicr = { 0x08010000, 0x20000ULL * cpus },
		.uart = { 0x09000000, 0x1000 },
		.uart_spi = 1,
		.uart_clock = 1843200,
		.virtio = virtio,
		.nr_virtio = 2,
		.rng_seed = seed,
		.rng_seed_len = sizeof(seed),
	};
}

static int write_blob(unsigned int cpus)
{
	struct dt_machine m = machine(cpus);
	char err[256];

	make_layout();
	assert_int_equal(dt_write(&m, blob, sizeof(blob), err, sizeof(err)), 0);
	assert_int_equal(fdt_check_header(blob), 0);
	return 0;
}

static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(blob, path);
	const void *v;

	if (node < 0)
		fail_msg("node %s missing: %s", path, fdt_strerror(node));
	v = fdt_getprop(blob, node, name, len);
	if (!v)
		fail_msg("%s:%s missing", path, name);
	return v;
}

static uint32_t prop_u32(const char *path, const char *name)
{
	int len;
	const fdt32_t *v = prop(path, name, &len);

	assert_int_equal(len, 4);
	return fdt32_to_cpu(*v);
}

static void assert_str(const char *path, const char *name, const char *want)
{
	int len;
	const char *v = prop(path, name, &len);

	assert_int_equal(len, (int)strlen(want) + 1);
	assert_string_equal(v, want);
}

static void assert_reg(const char *path, uint64_t base, uint64_t size)
{
	int len;
	const fdt64_t *v = prop(path, "reg", &len);

	assert_int_equal(len, 16);
	assert_int_equal(fdt64_ld(&v[0]), base);
	assert_int_equal(fdt64_ld(&v[1]), size);
}

static bool has_prop(const char *path, const char *name)
{
	return fdt_getprop(blob, fdt_path_offset(blob, path), name, NULL) != NULL;
}

static void test_root_and_memory(void **state)
{
	write_blob(2);
	assert_int_equal(prop_u32("/", "#address-cells"), 2);
	assert_int_equal(prop_u32("/", "#size-cells"), 2);
	assert_int_equal(prop_u32("/", "interrupt-parent"), DT_PHANDLE_GIC);
	assert_str("/memory@80000000", "device_type", "memory");
	assert_reg("/memory@80000000", 0x80000000ULL, 512 * SZ_1M);
}

static void test_chosen(void **state)
{
	int len;
	const fdt64_t *v;

	write_blob(2);
	assert_str("/chosen", "bootargs", "console=ttyS0 quiet");
	assert_str("/chosen", "stdout-path", "/uart@9000000");
	v = prop("/chosen", "linux,initrd-start", &len);
	assert_int_equal(len, 8);
	assert_int_equal(fdt64_ld(v), layout.initrd.base);
	v = prop("/chosen", "linux,initrd-end", &len);
	assert_int_equal(fdt64_ld(v), layout.initrd.base + 3 * SZ_1M);
	prop("/chosen", "rng-seed", &len);
	assert_int_equal(len, 8);
}

static void test_cpus_and_psci(void **state)
{
	char path[64];

	write_blob(20);
	assert_int_equal(prop_u32("/cpus", "#address-cells"), 1);
	assert_int_equal(prop_u32("/cpus", "#size-cells"), 0);
	for (unsigned int i = 0; i < 20; i++) {
		/* KVM's MPIDR: Aff0 = id % 16, Aff1 = id / 16 */
		uint32_t mpidr = (i % 16) | ((i / 16) << 8);

		snprintf(path, sizeof(path), "/cpus/cpu@%x", mpidr);
		assert_int_equal(prop_u32(path, "reg"), mpidr);
		assert_str(path, "device_type", "cpu");
		assert_str(path, "enable-method", "psci");
		assert_str(path, "compatible", "arm,arm-v8");
	}
	snprintf(path, sizeof(path), "/cpus/cpu@%x", 0x104);
	assert_true(fdt_path_offset(blob, path) < 0);
	assert_str("/psci", "compatible", "arm,psci-0.2");
	assert_str("/psci", "method", "hvc");
}

static void test_timer_gic_uart(void **state)
{
	int len;
	const fdt32_t *irq;
	const fdt64_t *reg;
	static const uint32_t ppis[] = { 13, 14, 11, 10 };

	write_blob(4);
	assert_str("/timer", "compatible", "arm,armv8-timer");
	irq = prop("/timer", "interrupts", &len);
	assert_int_equal(len, 4 * 12);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fdt32_to_cpu(irq[3 * i]), 1); /* PPI */
		assert_int_equal(fdt32_to_cpu(irq[3 * i + 1]), ppis[i]);
	}
	assert_true(has_prop("/timer", "always-on"));

	assert_str("/intc@8000000", "compatible", "arm,gic-v3");
	assert_int_equal(prop_u32("/intc@8000000", "#interrupt-cells"), 3);
	assert_true(has_prop("/intc@8000000", "interrupt-controller"));
	assert_int_equal(prop_u32("/intc@8000000", "phandle"), DT_PHANDLE_GIC);
	reg = prop("/intc@8000000", "reg", &len);
	assert_int_equal(len, 32);
	assert_int_equal(fdt64_ld(&reg[0]), 0x08000000);
	assert_int_equal(fdt64_ld(&reg[2]), 0x08010000);
	assert_int_equal(fdt64_ld(&reg[3]), 4 * 0x20000);

	assert_str("/uart@9000000", "compatible", "ns16550a");
	assert_reg("/uart@9000000", 0x09000000, 0x1000);
	assert_int_equal(prop_u32("/uart@9000000", "clock-frequency"), 1843200);
	irq = prop("/uart@9000000", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(irq[0]), 0); /* SPI */
	assert_int_equal(fdt32_to_cpu(irq[1]), 1);
	assert_int_equal(fdt32_to_cpu(irq[2]), 4); /* level high */
}

static void test_reserved_memory(void **state)
{
	char path[96];
	int rmem, count = 0, child;

	write_blob(2);
	assert_int_equal(prop_u32("/reserved-memory", "#address-cells"), 2);
	assert_int_equal(prop_u32("/reserved-memory", "#size-cells"), 2);
	assert_true(has_prop("/reserved-memory", "ranges"));
	rmem = fdt_path_offset(blob, "/reserved-memory");
	fdt_for_each_subnode (child, blob, rmem)
		count++;
	assert_int_equal(count, 3);

	for (size_t i = 0; i < 3; i++) {
		const struct placed_pool *p = &layout.pools[i];

		snprintf(path, sizeof(path), "/reserved-memory/%s@%llx", p->spec->name,
			 (unsigned long long)p->r.base);
		assert_str(path, "compatible", "shared-dma-pool");
		assert_reg(path, p->r.base, p->r.size);
		assert_int_equal(prop_u32(path, "phandle"), dt_pool_phandle(i));
		assert_int_equal(has_prop(path, "reusable"), p->spec->kind == POOL_CMA);
		assert_int_equal(has_prop(path, "no-map"), p->spec->kind == POOL_COHERENT);
		assert_int_equal(has_prop(path, "linux,cma-default"), p->spec->is_default);
	}
}

static void test_virtio_mmio(void **state)
{
	int len;
	const fdt32_t *irq;

	write_blob(2);
	assert_str("/virtio_mmio@a000000", "compatible", "virtio,mmio");
	assert_reg("/virtio_mmio@a000000", 0x0a000000, 0x200);
	assert_true(has_prop("/virtio_mmio@a000000", "dma-coherent"));
	assert_false(has_prop("/virtio_mmio@a000000", "memory-region"));
	irq = prop("/virtio_mmio@a000200", "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt32_to_cpu(irq[0]), 0); /* SPI */
	assert_int_equal(fdt32_to_cpu(irq[1]), 17);
	assert_int_equal(fdt32_to_cpu(irq[2]), 1); /* edge rising */
	assert_int_equal(prop_u32("/virtio_mmio@a000200", "memory-region"), dt_pool_phandle(1));
}

static void test_no_pools_no_node(void **state)
{
	struct dt_machine m;
	char err[256];

	make_layout();
	layout.nr_pools = 0;
	m = machine(1);
	assert_int_equal(dt_write(&m, blob, sizeof(blob), err, sizeof(err)), 0);
	assert_true(fdt_path_offset(blob, "/reserved-memory") < 0);
}

static void test_too_small_buffer_fails_cleanly(void **state)
{
	struct dt_machine m;
	char err[256] = "";

	make_layout();
	m = machine(2);
	assert_int_equal(dt_write(&m, blob, 512, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writing the device tree failed at node"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_memory),
		cmocka_unit_test(test_chosen),
		cmocka_unit_test(test_cpus_and_psci),
		cmocka_unit_test(test_timer_gic_uart),
		cmocka_unit_test(test_reserved_memory),
		cmocka_unit_test(test_virtio_mmio),
		cmocka_unit_test(test_no_pools_no_node),
		cmocka_unit_test(test_too_small_buffer_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
