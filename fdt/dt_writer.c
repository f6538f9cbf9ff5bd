// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes the guest DTB with libfdt's read-write API, node by node. Every
 * libfdt call is checked; the first failure stops the write and is
 * reported with the node being written.
 */
#include "fdt/dt_writer.h"

#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

/* GIC interrupt specifier: type, number, flags (bindings/interrupt-controller/arm,gic-v3) */
#define GIC_SPI		     0
#define GIC_PPI		     1
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH  4

/* Arch timer PPIs: secure phys, non-secure phys, virtual, hypervisor (INTID - 16) */
static const uint32_t timer_ppis[] = { 13, 14, 11, 10 };

struct dt_ctx {
	void *fdt;
	const char *node; /* for error messages */
	int err;
};

static int dt_node(struct dt_ctx *c, int parent, const char *name)
{
	int off;

	if (c->err)
		return -1;
	c->node = name;
	off = fdt_add_subnode(c->fdt, parent, name);
	if (off < 0)
		c->err = off;
	return off;
}

static void dt_prop(struct dt_ctx *c, int node, const char *name, const void *val, int len)
{
	if (!c->err && node >= 0)
		c->err = fdt_setprop(c->fdt, node, name, val, len);
}

static void dt_str(struct dt_ctx *c, int node, const char *name, const char *val)
{
	dt_prop(c, node, name, val, (int)strlen(val) + 1);
}

static void dt_u32(struct dt_ctx *c, int node, const char *name, uint32_t val)
{
	fdt32_t v = cpu_to_fdt32(val);

	dt_prop(c, node, name, &v, sizeof(v));
}

static void dt_u64(struct dt_ctx *c, int node, const char *name, uint64_t val)
{
	fdt64_t v = cpu_to_fdt64(val);

	dt_prop(c, node, name, &v, sizeof(v));
}

static void dt_empty(struct dt_ctx *c, int node, const char *name)
{
	dt_prop(c, node, name, NULL, 0);
}

/* reg = <addr size>... with two cells each, as the root declares. */
static void dt_reg(struct dt_ctx *c, int node, const struct region *r, size_t n)
{
	fdt64_t cells[4];

	for (size_t i = 0; i < n && i < 2; i++) {
		cells[2 * i] = cpu_to_fdt64(r[i].base);
		cells[2 * i + 1] = cpu_to_fdt64(r[i].size);
	}
	dt_prop(c, node, "reg", cells, (int)(n * 2 * sizeof(fdt64_t)));
}

static void dt_irqs(struct dt_ctx *c, int node, uint32_t type, const uint32_t *nums, size_t n,
		    uint32_t trigger)
{
	fdt32_t cells[3 * 4];

	for (size_t i = 0; i < n && i < 4; i++) {
		cells[3 * i] = cpu_to_fdt32(type);
		cells[3 * i + 1] = cpu_to_fdt32(nums[i]);
		cells[3 * i + 2] = cpu_to_fdt32(trigger);
	}
	dt_prop(c, node, "interrupts", cells, (int)(n * 3 * sizeof(fdt32_t)));
}

static void node_name(char *buf, size_t len, const char *base, uint64_t addr)
{
	snprintf(buf, len, "%s@%" PRIx64, base, addr);
}

uint64_t dt_cpu_mpidr(unsigned int id)
{
	return (id & 0xf) | (((uint64_t)(id >> 4) & 0xff) << 8) |
	       (((uint64_t)(id >> 12) & 0xff) << 16);
}

static void write_cpus(struct dt_ctx *c, const struct dt_machine *m)
{
	int cpus = dt_node(c, 0, "cpus");
	char name[32];

	dt_u32(c, cpus, "#address-cells", 1);
	dt_u32(c, cpus, "#size-cells", 0);
	for (unsigned int i = 0; i < m->nr_cpus; i++) {
		int cpu;

		snprintf(name, sizeof(name), "cpu@%" PRIx64, dt_cpu_mpidr(i));
		cpu = dt_node(c, cpus, name);
		dt_str(c, cpu, "device_type", "cpu");
		dt_str(c, cpu, "compatible", "arm,arm-v8");
		dt_str(c, cpu, "enable-method", "psci");
		dt_u32(c, cpu, "reg", (uint32_t)dt_cpu_mpidr(i));
	}
}

static void write_psci_timer(struct dt_ctx *c)
{
	int psci = dt_node(c, 0, "psci");
	int timer;

	/* KVM's in-kernel PSCI (KVM_ARM_VCPU_PSCI_0_2); the guest asks its version. */
	dt_str(c, psci, "compatible", "arm,psci-0.2");
	dt_str(c, psci, "method", "hvc");

	timer = dt_node(c, 0, "timer");
	dt_str(c, timer, "compatible", "arm,armv8-timer");
	dt_irqs(c, timer, GIC_PPI, timer_ppis, 4, IRQ_TYPE_LEVEL_HIGH);
	dt_empty(c, timer, "always-on");
}

static void write_gic(struct dt_ctx *c, const struct dt_machine *m)
{
	struct region regs[2] = { m->gicd, m->gicr };
	char name[48];
	int gic;

	node_name(name, sizeof(name), "intc", m->gicd.base);
	gic = dt_node(c, 0, name);
	dt_str(c, gic, "compatible", "arm,gic-v3");
	dt_u32(c, gic, "#interrupt-cells", 3);
	dt_empty(c, gic, "interrupt-controller");
	dt_u32(c, gic, "#redistributor-regions", 1);
	dt_reg(c, gic, regs, 2);
	dt_u32(c, gic, "phandle", DT_PHANDLE_GIC);
}

static void write_uart(struct dt_ctx *c, const struct dt_machine *m)
{
	uint32_t spi = m->uart_spi;
	char name[48];
	int uart;

	node_name(name, sizeof(name), "uart", m->uart.base);
	uart = dt_node(c, 0, name);
	dt_str(c, uart, "compatible", "ns16550a");
	dt_reg(c, uart, &m->uart, 1);
	dt_irqs(c, uart, GIC_SPI, &spi, 1, IRQ_TYPE_LEVEL_HIGH);
	/* of_serial refuses to probe without a clock (8250_of.c). */
	dt_u32(c, uart, "clock-frequency", m->uart_clock);
	dt_u32(c, uart, "reg-shift", 0);
	dt_u32(c, uart, "reg-io-width", 1);
}

/*
 * virtio-mmio (bindings/virtio/mmio.yaml). Edge-triggered: each interrupt
 * is one irqfd write, and InterruptStatus says why. dma-coherent, or arm64
 * maps the guest's DMA buffers (the rings, with ACCESS_PLATFORM) uncached.
 */
static void write_virtio(struct dt_ctx *c, const struct dt_virtio *v)
{
	uint32_t spi = v->spi;
	struct region reg = { v->base, v->size };
	char name[48];
	int node;

	node_name(name, sizeof(name), "virtio_mmio", v->base);
	node = dt_node(c, 0, name);
	dt_str(c, node, "compatible", "virtio,mmio");
	dt_reg(c, node, &reg, 1);
	dt_irqs(c, node, GIC_SPI, &spi, 1, IRQ_TYPE_EDGE_RISING);
	dt_empty(c, node, "dma-coherent");
	if (v->pool >= 0)
		dt_u32(c, node, "memory-region", dt_pool_phandle((size_t)v->pool));
}

static void write_chosen(struct dt_ctx *c, const struct dt_machine *m)
{
	const struct layout *l = m->layout;
	int chosen = dt_node(c, 0, "chosen");
	char path[64];

	node_name(path, sizeof(path), "/uart", m->uart.base);
	dt_str(c, chosen, "bootargs", m->bootargs ? m->bootargs : "");
	dt_str(c, chosen, "stdout-path", path);
	if (l->initrd.size) {
		dt_u64(c, chosen, "linux,initrd-start", l->initrd.base);
		dt_u64(c, chosen, "linux,initrd-end", region_end(&l->initrd));
	}
	if (m->rng_seed && m->rng_seed_len)
		dt_prop(c, chosen, "rng-seed", m->rng_seed, (int)m->rng_seed_len);
}

static void write_pool(struct dt_ctx *c, int parent, const struct placed_pool *pp, size_t index)
{
	const struct pool_spec *s = pp->spec;
	char name[64];
	int node;

	node_name(name, sizeof(name), s->name, pp->r.base);
	node = dt_node(c, parent, name);
	dt_str(c, node, "compatible", "shared-dma-pool");
	dt_reg(c, node, &pp->r, 1);
	if (s->kind == POOL_CMA)
		dt_empty(c, node, "reusable");
	else
		dt_empty(c, node, "no-map");
	if (s->is_default)
		dt_empty(c, node, "linux,cma-default");
	dt_u32(c, node, "phandle", dt_pool_phandle(index));
}

/* drivers/of/fdt.c, __reserved_mem_check_root: cells as the root's, and ranges. */
static void write_reserved_memory(struct dt_ctx *c, const struct layout *l)
{
	int rmem;

	if (!l->nr_pools)
		return;
	rmem = dt_node(c, 0, "reserved-memory");
	dt_u32(c, rmem, "#address-cells", 2);
	dt_u32(c, rmem, "#size-cells", 2);
	dt_empty(c, rmem, "ranges");
	for (size_t i = 0; i < l->nr_pools; i++)
		write_pool(c, rmem, &l->pools[i], i);
}

int dt_write(const struct dt_machine *m, void *buf, size_t size, char *err, size_t errlen)
{
	struct dt_ctx c = { .fdt = buf, .node = "/" };
	char name[48];
	int mem;

	c.err = fdt_create_empty_tree(buf, (int)size);
	dt_str(&c, 0, "compatible", "linux,cmavm");
	dt_str(&c, 0, "model", "cmavm arm64 virtual machine");
	dt_u32(&c, 0, "#address-cells", 2);
	dt_u32(&c, 0, "#size-cells", 2);
	dt_u32(&c, 0, "interrupt-parent", DT_PHANDLE_GIC);

	write_chosen(&c, m);
	node_name(name, sizeof(name), "memory", m->layout->ram.base);
	mem = dt_node(&c, 0, name);
	dt_str(&c, mem, "device_type", "memory");
	dt_reg(&c, mem, &m->layout->ram, 1);
	write_cpus(&c, m);
	write_psci_timer(&c);
	write_gic(&c, m);
	write_uart(&c, m);
	for (size_t i = 0; i < m->nr_virtio; i++)
		write_virtio(&c, &m->virtio[i]);
	write_reserved_memory(&c, m->layout);
	if (!c.err)
		c.err = fdt_pack(buf);
	if (c.err) {
		snprintf(err, errlen, "writing the device tree failed at node '%s': %s", c.node,
			 fdt_strerror(c.err));
		return -1;
	}
	return 0;
}
