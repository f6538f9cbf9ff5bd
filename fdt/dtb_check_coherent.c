// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's coherent DMA pools: kernel/dma/coherent.c rmem_dma_setup(),
 * the second handler of a "shared-dma-pool" region, tried when
 * rmem_cma_setup() did not take it.
 *
 * Owns: the COHERENT POOL verdict (any pool without "reusable") and what
 * arm64 makes of linux,dma-default.
 */
#include "fdt/dtb_check_internal.h"

bool rmem_dma_setup(struct ctx *c, size_t i)
{
	/* only reusable is refused: the demand for no-map is 32-bit ARM's, not arm64's */
	if (c->rep->entries[i].flags & DTB_F_REUSABLE)
		return false;
	judge(c, i, DTB_COHERENT_POOL, DTB_OK, "rmem_dma_setup() makes it a coherent DMA pool");
	return true;
}

void dma_note(struct ctx *c, size_t i)
{
	struct dtb_entry *e = &c->rep->entries[i];

	if (e->flags & DTB_F_DMA_DEFAULT)
		note(e, "linux,dma-default is ignored on arm64: rmem_dma_setup() honours it only "
			"with CONFIG_DMA_GLOBAL_POOL");
}
