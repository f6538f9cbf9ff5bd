// SPDX-License-Identifier: GPL-2.0-only
#include "tests/unit/fdt/dtb_builder.h"

#include <libfdt.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int check(int err, const char *what)
{
	if (err < 0)
		fail_msg("dtb_builder: %s: %s", what, fdt_strerror(err));
	return err;
}

static void put_cells(uint8_t *p, uint64_t v, uint32_t cells)
{
	for (uint32_t i = cells; i-- > 0; v >>= 32) {
		fdt32_t c = cpu_to_fdt32((uint32_t)v);

		memcpy(p + 4 * i, &c, 4);
	}
}

/* base and size in the root's cells */
static int reg_bytes(const struct dtb_builder *b, uint8_t *buf, uint64_t base, uint64_t size)
{
	put_cells(buf, base, b->addr_cells);
	put_cells(buf + 4 * b->addr_cells, size, b->size_cells);
	return (int)(4 * (b->addr_cells + b->size_cells));
}

void dtb_builder_init_bare(struct dtb_builder *b, uint32_t addr_cells, uint32_t size_cells)
{
	memset(b, 0, sizeof(*b));
	b->addr_cells = addr_cells;
	b->size_cells = size_cells;
	check(fdt_create_empty_tree(b->blob, sizeof(b->blob)), "fdt_create_empty_tree");
	check(fdt_add_subnode(b->blob, 0, "chosen"), "add /chosen");
}

void dtb_builder_init(struct dtb_builder *b, uint32_t addr_cells, uint32_t size_cells)
{
	dtb_builder_init_bare(b, addr_cells, size_cells);
	check(fdt_setprop_u32(b->blob, 0, "#address-cells", addr_cells), "#address-cells");
	check(fdt_setprop_u32(b->blob, 0, "#size-cells", size_cells), "#size-cells");
}

int dtb_builder_add_ram(struct dtb_builder *b, uint64_t base, uint64_t size)
{
	char name[32];
	uint8_t reg[32];
	int node;

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)base);
	node = check(fdt_add_subnode(b->blob, 0, name), "add memory node");
	check(fdt_setprop_string(b->blob, node, "device_type", "memory"), "device_type");
	check(fdt_setprop(b->blob, node, "reg", reg, reg_bytes(b, reg, base, size)), "memory reg");
	return node;
}

int dtb_builder_add_reserved_memory(struct dtb_builder *b)
{
	int node = check(fdt_add_subnode(b->blob, 0, "reserved-memory"), "add /reserved-memory");

	check(fdt_setprop_u32(b->blob, node, "#address-cells", b->addr_cells), "rmem cells");
	check(fdt_setprop_u32(b->blob, node, "#size-cells", b->size_cells), "rmem cells");
	check(fdt_setprop_empty(b->blob, node, "ranges"), "ranges");
	return node;
}

static void set_flag(struct dtb_builder *b, int node, bool on, const char *name)
{
	if (on)
		check(fdt_setprop_empty(b->blob, node, name), name);
}

/* A childless node's properties, copied out so that the node can be re-made. */
struct saved_node {
	char name[64];
	int nr_props;
	char prop_names[16][64];
	int lens[16];
	size_t offsets[16];
	uint8_t data[DTB_BUILDER_SIZE];
};

static void save_node(struct dtb_builder *b, int node, struct saved_node *out)
{
	size_t used = 0;
	int off;

	snprintf(out->name, sizeof(out->name), "%s", fdt_get_name(b->blob, node, NULL));
	out->nr_props = 0;
	fdt_for_each_property_offset (off, b->blob, node) {
		const char *name;
		int len, n = out->nr_props++;
		const void *val = fdt_getprop_by_offset(b->blob, off, &name, &len);

		if (n >= 16 || used + (size_t)len > sizeof(out->data))
			fail_msg("dtb_builder: node %s too big to move", out->name);
		snprintf(out->prop_names[n], sizeof(out->prop_names[n]), "%s", name);
		out->lens[n] = len;
		out->offsets[n] = used;
		memcpy(out->data + used, val, (size_t)len);
		used += (size_t)len;
	}
}

/* Delete the child @name of @parent and make it again as its first child. */
static void move_first(struct dtb_builder *b, const char *name)
{
	static struct saved_node saved;
	int parent = check(fdt_path_offset(b->blob, "/reserved-memory"), "/reserved-memory");
	int node = check(fdt_subnode_offset(b->blob, parent, name), name);

	save_node(b, node, &saved);
	check(fdt_del_node(b->blob, node), "move: delete");
	parent = check(fdt_path_offset(b->blob, "/reserved-memory"), "/reserved-memory");
	node = check(fdt_add_subnode(b->blob, parent, saved.name), "move: add");
	for (int i = 0; i < saved.nr_props; i++)
		check(fdt_setprop(b->blob, node, saved.prop_names[i], saved.data + saved.offsets[i],
				  saved.lens[i]),
		      "move: setprop");
}

/*
 * fdt_add_subnode() puts a new child first; the kernel reads children in
 * DT order, so move the older ones back in front of it, last one first.
 */
static void make_last_child(struct dtb_builder *b, const char *name)
{
	char names[128][64];
	int rmem = check(fdt_path_offset(b->blob, "/reserved-memory"), "/reserved-memory");
	int n = 0, child;

	fdt_for_each_subnode (child, b->blob, rmem) {
		const char *cn = fdt_get_name(b->blob, child, NULL);

		if (strcmp(cn, name) && n < 128)
			snprintf(names[n++], sizeof(names[0]), "%s", cn);
	}
	while (n-- > 0)
		move_first(b, names[n]);
}

static void write_pool(struct dtb_builder *b, int node, const struct test_pool *pool)
{
	const char *compat = pool->compatible ? pool->compatible : "shared-dma-pool";
	uint8_t cells[32];

	if (compat[0])
		check(fdt_setprop_string(b->blob, node, "compatible", compat), "compatible");
	if (pool->size_only) {
		put_cells(cells, pool->size, b->size_cells);
		check(fdt_setprop(b->blob, node, "size", cells, (int)(4 * b->size_cells)), "size");
	} else {
		check(fdt_setprop(b->blob, node, "reg", cells,
				  reg_bytes(b, cells, pool->base, pool->size)),
		      "reg");
	}
	set_flag(b, node, pool->reusable, "reusable");
	set_flag(b, node, pool->no_map, "no-map");
	set_flag(b, node, pool->cma_default, "linux,cma-default");
	set_flag(b, node, pool->dma_default, "linux,dma-default");
	if (pool->status)
		check(fdt_setprop_string(b->blob, node, "status", pool->status), "status");
}

int dtb_builder_add_pool(struct dtb_builder *b, const struct test_pool *pool)
{
	int rmem = check(fdt_path_offset(b->blob, "/reserved-memory"), "find /reserved-memory");

	write_pool(b, check(fdt_add_subnode(b->blob, rmem, pool->name), "add pool"), pool);
	make_last_child(b, pool->name);
	rmem = check(fdt_path_offset(b->blob, "/reserved-memory"), "find /reserved-memory");
	return check(fdt_subnode_offset(b->blob, rmem, pool->name), pool->name);
}

void dtb_builder_set_bootargs(struct dtb_builder *b, const char *bootargs)
{
	int chosen = check(fdt_path_offset(b->blob, "/chosen"), "find /chosen");

	check(fdt_setprop_string(b->blob, chosen, "bootargs", bootargs), "bootargs");
}

void dtb_builder_setprop(struct dtb_builder *b, const char *path, const char *name, const void *val,
			 int len)
{
	int node = check(fdt_path_offset(b->blob, path), path);

	check(fdt_setprop(b->blob, node, name, val, len), name);
}

void dtb_builder_delprop(struct dtb_builder *b, const char *path, const char *name)
{
	int node = check(fdt_path_offset(b->blob, path), path);

	check(fdt_delprop(b->blob, node, name), name);
}

void dtb_builder_standard(struct dtb_builder *b, uint64_t ram_size)
{
	dtb_builder_init(b, 2, 2);
	dtb_builder_add_ram(b, 0x40000000ULL, ram_size);
	dtb_builder_add_reserved_memory(b);
}

size_t dtb_builder_finish(struct dtb_builder *b)
{
	check(fdt_pack(b->blob), "fdt_pack");
	return fdt_totalsize(b->blob);
}
