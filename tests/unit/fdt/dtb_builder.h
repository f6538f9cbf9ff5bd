/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test device trees built with libfdt, for the DTB checker's tests.
 *
 * Owns: a blob buffer with a root node, RAM nodes, /chosen and a
 * /reserved-memory node, and a one-call way to add a pool to it with the
 * options a test needs. Every helper fails the running test on a libfdt
 * error, so tests need not check.
 */
#ifndef TESTS_DTB_BUILDER_H
#define TESTS_DTB_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTB_BUILDER_SIZE (64 * 1024)

struct dtb_builder {
	_Alignas(8) char blob[DTB_BUILDER_SIZE];
	uint32_t addr_cells, size_cells;
};

/* What a /reserved-memory child carries; zero means "leave it out". */
struct test_pool {
	const char *name; /* node name, e.g. "linux,cma" or "pool@80000000" */
	uint64_t base;
	uint64_t size;
	bool size_only; /* write size = <...> instead of reg */
	bool reusable;
	bool no_map;
	bool cma_default;	/* linux,cma-default */
	bool dma_default;	/* linux,dma-default */
	const char *compatible; /* NULL: "shared-dma-pool"; "" : none */
	const char *status;	/* NULL: no status property */
};

/* An empty tree whose root has these #address-cells / #size-cells. */
void dtb_builder_init(struct dtb_builder *b, uint32_t addr_cells, uint32_t size_cells);

/* An empty tree whose root has no #address-cells / #size-cells at all. */
void dtb_builder_init_bare(struct dtb_builder *b, uint32_t addr_cells, uint32_t size_cells);

/* A memory@BASE node with device_type = "memory" and one reg entry. */
int dtb_builder_add_ram(struct dtb_builder *b, uint64_t base, uint64_t size);

/* /reserved-memory with the root's cells and an empty ranges. */
int dtb_builder_add_reserved_memory(struct dtb_builder *b);

/* The last child of /reserved-memory, as @pool describes; returns its offset. */
int dtb_builder_add_pool(struct dtb_builder *b, const struct test_pool *pool);

/* /chosen/bootargs */
void dtb_builder_set_bootargs(struct dtb_builder *b, const char *bootargs);

/* Set a raw property on the node at @path. */
void dtb_builder_setprop(struct dtb_builder *b, const char *path, const char *name, const void *val,
			 int len);

/* Remove a property from the node at @path. */
void dtb_builder_delprop(struct dtb_builder *b, const char *path, const char *name);

/* The common case: RAM at 1 GiB, /reserved-memory, 2 + 2 cells. */
void dtb_builder_standard(struct dtb_builder *b, uint64_t ram_size);

/* Pack the blob and return its size. */
size_t dtb_builder_finish(struct dtb_builder *b);

#endif
