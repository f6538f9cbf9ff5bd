/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest DMA pools as the operator asks for them.
 *
 * Owns: the description of a pool (name, size, kind, optional fixed
 * address, the level of a boot window over it) and the parsing of the
 * flags that create one, --cma and --dma-pool. Where a pool ends up in
 * guest RAM is the layout planner's business (fdt/layout.h); what the
 * host does with its pageblocks is the CMA engine's.
 */
#ifndef CMA_POOL_H
#define CMA_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_NAME_MAX 32
#define POOL_FLAG_MAX 96
#define POOL_MAX      16 /* the guest has 19 CMA slots (CONFIG_CMA_AREAS) */

/* The default pool's DT node name, as Linux and QEMU call it. */
#define POOL_DEFAULT_NAME "linux,cma"

enum pool_kind {
	POOL_CMA,      /* reusable: the guest lends it to movable pages */
	POOL_COHERENT, /* no-map: set aside for one device's coherent DMA */
};

struct pool_spec {
	char name[POOL_NAME_MAX];
	uint64_t size;
	uint64_t fixed_base; /* 0: the planner chooses */
	enum pool_kind kind;
	bool is_default; /* linux,cma-default */
	/*
	 * ,window=LEVEL: a window over the whole pool, committed before the
	 * guest's first instruction. @window_level is an enum cma_level
	 * (cma/engine.h, which includes this header, hence the int).
	 */
	bool window;
	int window_level;
	char flag[POOL_FLAG_MAX]; /* the flag it came from, for messages */
};

/* --cma SIZE[@ADDR][,window=LEVEL]. A size of 0 yields no pool: returns 1. */
int pool_parse_default(const char *arg, struct pool_spec *out, char *err, size_t errlen);

/* --dma-pool NAME:SIZE[@ADDR][:reusable|:no-map][,window=LEVEL] */
int pool_parse_named(const char *arg, struct pool_spec *out, char *err, size_t errlen);

const char *pool_kind_str(const struct pool_spec *pool);

#endif
