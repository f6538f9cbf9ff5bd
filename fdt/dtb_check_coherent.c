// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's coherent DMA pools: kernel/dma/coherent.c rmem_dma_setup(),
 * the second handler of a "shared-dma-pool" region, tried when
 * rmem_cma_setup() did not take it.
 *
 * Owns: the COHERENT POOL verdict (any pool without "reusable"), what
 * arm64 makes of linux,dma-default, and what a pool loses to the guest's
 * page size. The same in 6.1 and 6.12.
 */
#include <inttypes.h>

#include "cma/size.h"
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
	uint64_t page = guest_page_size(&c->rep->guest);
	char buf[32];

	if (e->flags & DTB_F_DMA_DEFAULT)
		note(e, "linux,dma-default is ignored on arm64: rmem_dma_setup() honours it only "
			"with CONFIG_DMA_GLOBAL_POOL");
	/* dma_init_coherent_memory(): size >> PAGE_SHIFT pages from PFN_DOWN(base) */
	if (e->has_reg && !is_aligned(e->base | e->size, page))
		note(e,
		     "base or size is not a multiple of this guest's %s page: the pool is used "
		     "in whole pages counted from the page its base is in "
		     "(dma_init_coherent_memory), so part of it is lost or misplaced",
		     size_str(page, buf));
}
