// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before the first boot window is committed: has the host the huge pages
 * that all of them, and the GPU memory region, need? A commit short of
 * pages fails too, but only after moving part of a window and rolling it
 * back, and it cannot say how many pages the others still need. This says
 * it once, for every window and the GPU, with how to add them.
 */
#include "cma/hugepages.h"
#include "cma/size.h"
#include "vmm/glue/glue.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#include <stdio.h>

/* The GPU region's backing that takes the pages a window at @level takes. */
static bool gpu_takes(const struct gpu_config *gpu, enum cma_level level)
{
	return gpu->enabled && ((level == CMA_HUGE && gpu->backing == CMA_REGION_HUGE) ||
				(level == CMA_CONTIGUOUS && gpu->backing == CMA_REGION_CONTIGUOUS));
}

static uint64_t gpu_pages(const struct vm_config *cfg, enum cma_level level)
{
	return cfg->gpu.mem / (level == CMA_HUGE ? SZ_2M : SZ_1G);
}

/*
 * Pages of @page_size the boot windows at @level take: one 2 MiB page per
 * 2 MiB of a huge window (sixteen to a 16 KiB-page guest's pageblock), the one 1 GiB page of a
 * contiguous window; and the GPU region's pages on the same backing. Their flags go into
 * @flags, for the message.
 */
static uint64_t pages_needed(const struct vm_config *cfg, enum cma_level level, char *flags,
			     size_t len)
{
	uint64_t n = 0;
	size_t k = 0;

	for (size_t i = 0; i < cfg->nr_windows; i++) {
		const struct boot_window *w = &cfg->windows[i];

		if (w->level != level)
			continue;
		n += level == CMA_HUGE ? w->length / SZ_2M : 1;
		str_appendf(flags, len, "%s%s", k++ ? ", " : "", w->flag);
	}
	if (gpu_takes(&cfg->gpu, level)) {
		n += gpu_pages(cfg, level);
		str_appendf(flags, len, "%s%s", k ? ", " : "", cfg->gpu.flag);
	}
	return n;
}

/* How to have @total pages of @page_size on the host. */
static void how_to_add(uint64_t page_size, uint64_t total, bool present, char *out, size_t len)
{
	if (page_size == SZ_2M)
		snprintf(out, len,
			 "add them as root: echo %llu > /proc/sys/vm/nr_hugepages (see "
			 "HugePages_Free in /proc/meminfo), then run cmavm again",
			 (unsigned long long)total);
	else
		snprintf(out, len,
			 "1 GiB pages are set aside when the host boots: add hugepagesz=1G "
			 "hugepages=%llu to the host kernel's command line%s",
			 (unsigned long long)total,
			 present ? ""
				 : " (this kernel has no "
				   "/sys/kernel/mm/hugepages/hugepages-1048576kB)");
}

static int check_level(const struct vm_config *cfg, enum cma_level level, uint64_t page_size)
{
	char flags[CMA_MAX_WINDOWS * (POOL_FLAG_MAX + 18)] = "", how[256], sz[32];
	uint64_t need = pages_needed(cfg, level, flags, sizeof(flags));
	bool windows = need > (gpu_takes(&cfg->gpu, level) ? gpu_pages(cfg, level) : 0);
	struct cma_hugepages c;

	if (!need)
		return 0;
	c = cma_host_hugepages(page_size);
	if (c.usable >= need)
		return 0;
	how_to_add(page_size, c.total + need - c.usable, c.present, how, sizeof(how));
	pr_err("%s%s%s (%s) need%s %llu free %s huge pages and the host has %llu free, "
	       "so the guest does not start; %s",
	       windows ? "boot windows at " : "", windows ? cma_level_name(level) : "",
	       !gpu_takes(&cfg->gpu, level) ? ""
	       : windows		    ? " and the GPU memory region"
					    : "the GPU memory region",
	       flags, windows ? "" : "s", (unsigned long long)need, size_str(page_size, sz),
	       (unsigned long long)c.usable, how);
	return -1;
}

int vmm_hugepages_preflight(const struct vm_config *cfg)
{
	int huge = check_level(cfg, CMA_HUGE, SZ_2M);
	int contiguous = check_level(cfg, CMA_CONTIGUOUS, SZ_1G);

	return huge || contiguous ? -1 : 0;
}
