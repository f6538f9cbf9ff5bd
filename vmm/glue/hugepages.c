// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before the first boot window is committed: has the host the huge pages
 * that all of them, and the GPU memory region, need? A commit short of
 * pages fails too, but only after moving part of a window and rolling it
 * back, and it cannot say how many pages the others still need. This says
 * it once, for every window and the GPU, with how to add them.
 */
#include "cma/size.h"
#include "vmm/glue/glue.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#include <stdio.h>

#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages"

/* One host huge page size as /sys/kernel/mm/hugepages counts it. */
struct hugepage_count {
	bool present;	 /* the host kernel has pages of this size */
	uint64_t total;	 /* nr_hugepages */
	uint64_t usable; /* free, less those reserved, plus what overcommit may add */
};

static bool read_count(uint64_t page_size, const char *file, uint64_t *out)
{
	char path[128];
	unsigned long long n;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), HUGEPAGES_DIR "/hugepages-%llukB/%s",
		 (unsigned long long)(page_size >> 10), file);
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fscanf(f, "%llu", &n) == 1;
	fclose(f);
	if (ok)
		*out = n;
	return ok;
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static struct hugepage_count host_hugepages(uint64_t page_size)
{
	struct hugepage_count c = { 0 };
	uint64_t free = 0, resv = 0, overcommit = 0, surplus = 0;

	c.present = read_count(page_size, "nr_hugepages", &c.total) &&
		    read_count(page_size, "free_hugepages", &free);
	read_count(page_size, "resv_hugepages", &resv);
	read_count(page_size, "nr_overcommit_hugepages", &overcommit);
	read_count(page_size, "surplus_hugepages", &surplus);
	c.usable = minus(free, resv) + minus(overcommit, surplus);
	return c;
}

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
 * pageblock of a huge window, the one 1 GiB page of a contiguous window;
 * and the GPU region's pages on the same backing. Their flags go into
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
				 : " (this kernel has no " HUGEPAGES_DIR "/hugepages-1048576kB)");
}

static int check_level(const struct vm_config *cfg, enum cma_level level, uint64_t page_size)
{
	char flags[CMA_MAX_WINDOWS * (POOL_FLAG_MAX + 18)] = "", how[256], sz[32];
	uint64_t need = pages_needed(cfg, level, flags, sizeof(flags));
	bool windows = need > (gpu_takes(&cfg->gpu, level) ? gpu_pages(cfg, level) : 0);
	struct hugepage_count c;

	if (!need)
		return 0;
	c = host_hugepages(page_size);
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
