/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sizing a VM class's DMA pools: the arithmetic of `cmavm plan`.
 *
 * Owns: how a class's buffers become pool sizes (each allocation as CMA
 * places it, the peak of the devices that run at once, the headroom for
 * fragmentation, rounding to the guest's pageblock), which window level a
 * host's huge pages can give each pool, how many VMs of each class fit a
 * fleet's hosts, and what an observed peak says a pool's size should be.
 * Pure: no I/O and no allocation. Reading profiles and printing plans is
 * vmm/cli/cmd_plan*.c's; where pools go in guest RAM is fdt/layout.h's
 * (the caller places the pools and hands the bases to plan_place()).
 */
#ifndef CMA_PLAN_H
#define CMA_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/engine.h"
#include "cma/pool.h"

#define PLAN_NAME_MAX	   POOL_NAME_MAX
#define PLAN_DEVICES_MAX   32 /* a group is a 32-bit mask of them */
#define PLAN_GROUPS_MAX	   16
#define PLAN_POOLS_MAX	   POOL_MAX
#define PLAN_NODES_MAX	   8
#define PLAN_HOSTS_MAX	   32
#define PLAN_CLASSES_MAX   16
#define PLAN_FLEET_VMS_MAX 100000 /* of one class; capacities stop counting there */

/*
 * Headroom above the peak, in percent: AMD/Xilinx add 10 to 15 percent
 * to their per-stream VCU figures (docs/sizing.md); the top of that range.
 */
#define PLAN_HEADROOM_PCT 15
/* cmavm's own memory beside guest RAM, when the profile does not say */
#define PLAN_VMM_OVERHEAD (64ULL << 20)
/* RAM the guest keeps outside pools (fdt/layout.h's LAYOUT_MIN_FREE_RAM) */
#define PLAN_GUEST_MIN_FREE (64ULL << 20)
/*
 * The boot files cmavm loads beside the pools: Debian 6.1's arm64 Image
 * (image_size 32 MiB, BSS included), an initrd of up to 6 MiB and the
 * DTB's 2 MiB block.
 */
#define PLAN_BOOT_IMAGE	 (32ULL << 20)
#define PLAN_BOOT_INITRD (6ULL << 20)
#define PLAN_GUEST_BOOT	 (PLAN_BOOT_IMAGE + PLAN_BOOT_INITRD + (2ULL << 20))
#define PLAN_HUGE_2M	 (2ULL << 20)
#define PLAN_HUGE_1G	 (1ULL << 30)

enum plan_kind {
	PLAN_DISPLAY,
	PLAN_CAMERA,
	PLAN_CODEC,
	PLAN_CUSTOM,
};

/*
 * One device's buffers. Each buffer is one allocation of: @buffer_size;
 * else a frame, @width x @height at @bits_per_pixel; else a share of
 * @stream_size (a vendor's per-stream total) split over @buffers. There
 * are @buffers of them per stream (display, camera stream, codec
 * instance), and @streams of those.
 */
struct plan_device {
	char name[PLAN_NAME_MAX];
	enum plan_kind kind;
	char pool[PLAN_NAME_MAX]; /* "": the default pool */
	uint64_t width, height, bits_per_pixel;
	uint64_t buffer_size;
	uint64_t stream_size;
	uint64_t buffers; /* at least 1 */
	uint64_t streams; /* at least 1 */
	uint64_t align;	  /* asked for each allocation; 0: what CMA gives */
};

/* A pool the profile says something about: its kind, or a size it must have. */
struct plan_pool_req {
	char name[PLAN_NAME_MAX];
	uint64_t size; /* 0: the plan sizes it */
	bool no_map;   /* a coherent pool of one device, not CMA */
};

struct plan_pages {
	uint64_t pages_2m, pages_1g;
};

struct plan_host {
	char name[PLAN_NAME_MAX];
	uint64_t ram;
	uint64_t reserved; /* kept for the host itself, besides the huge pages */
	unsigned int nr_nodes;
	struct plan_pages nodes[PLAN_NODES_MAX]; /* huge pages reserved on each NUMA node */
};

/*
 * The guest kernel's rules for its page size and version, from
 * fdt/guest_rules.h (which cma/ cannot include: fdt/ builds on cma/).
 */
struct plan_rules {
	uint64_t pageblock;	      /* CMA_MIN_ALIGNMENT_BYTES */
	uint64_t granule;	      /* pool sizes: older kernels ask more */
	unsigned int cma_align_order; /* CONFIG_CMA_ALIGNMENT */
};

struct plan_profile {
	char name[64];
	uint64_t ram;
	uint64_t page_size;	/* 4 KiB, 16 KiB or 64 KiB */
	unsigned int kernel[2]; /* major, minor, as the profile says */
	struct plan_rules rules;
	uint64_t largest_given; /* 0: computed from the devices */
	unsigned int headroom_pct;
	uint64_t vmm_overhead;
	size_t nr_devices;
	struct plan_device devices[PLAN_DEVICES_MAX];
	size_t nr_groups;		  /* 0: every device at once */
	uint32_t groups[PLAN_GROUPS_MAX]; /* bit d: devices[d] runs in that group */
	size_t nr_pools;
	struct plan_pool_req pools[PLAN_POOLS_MAX];
	bool has_host;
	struct plan_host host;
};

/* One device's allocations as the pool holds them. */
struct plan_alloc {
	uint64_t asked;	 /* one buffer's bytes */
	uint64_t pages;	 /* rounded up to the guest page */
	uint64_t align;	 /* where CMA starts it */
	uint64_t placed; /* @pages rounded up to @align: what it takes of the pool */
	uint64_t count;
	uint64_t total;	   /* @count x @placed */
	unsigned int pool; /* index into plan_result.pools */
};

struct plan_pool {
	char name[PLAN_NAME_MAX];
	bool is_default, no_map;
	uint64_t peak;	    /* its allocations in use at once, as placed */
	int peak_group;	    /* the group that reaches it; -1: every device at once */
	uint64_t largest;   /* its largest allocation, as placed */
	int largest_device; /* -1: the profile's largest_allocation */
	uint64_t headroom;  /* @largest + headroom_pct of @peak */
	uint64_t need;	    /* @peak + @headroom, rounded up to the granule */
	uint64_t size;	    /* @need, or the size the profile fixed */
	uint64_t base;	    /* guest-physical, set by plan_place() */
	/*
	 * The largest pool in its 1 GiB span: a contiguous window can cover
	 * it, and takes the span's other pools onto the same 1 GiB page.
	 */
	bool contiguous_ok;
	int span_owner; /* the pool whose span this one shares; -1: none */
	enum cma_level level;
	bool covered; /* on @span_owner's 1 GiB page: no window of its own */
};

struct plan_result {
	uint64_t pageblock;  /* the guest's: CMA_MIN_ALIGNMENT_BYTES */
	uint64_t granule;    /* pool sizes are multiples of it */
	uint64_t pool_align; /* pool bases: cmavm run --pool-align */
	unsigned int headroom_pct;
	struct plan_alloc allocs[PLAN_DEVICES_MAX];
	size_t nr_pools;
	struct plan_pool pools[PLAN_POOLS_MAX]; /* the default pool first, if any */
	uint64_t pools_total;
	uint64_t cma_total;	/* reusable pools: /proc/meminfo CmaTotal, in bytes */
	uint64_t host_memory;	/* guest RAM and cmavm's overhead */
	struct plan_pages best; /* every pool at the best level cmavm has for it */
	struct plan_pages used; /* at the levels chosen */
	int node;		/* the host node that gives them; -1: no host given */
};

/*
 * Size @p's pools into @r (levels: the best ones, until plan_place() and
 * plan_fit_host()). 0, or -1 with @err saying what in the profile to
 * change.
 */
int plan_size(const struct plan_profile *p, struct plan_result *r, char *err, size_t errlen);

/*
 * The pools' guest-physical bases (in @r->pools order, as the layout
 * placed them): which pools a contiguous window can cover, and the best
 * levels and their huge pages in @r->best.
 */
void plan_place(struct plan_result *r, const uint64_t *bases);

/*
 * Levels for @r's pools with @avail huge pages: the largest pools first,
 * contiguous where a 1 GiB page is left, else huge where 2 MiB pages are,
 * else resident. 0 with @levels and @use filled, or -1 if a pool would be
 * below @floor.
 */
int plan_levels_on(const struct plan_result *r, struct plan_pages avail, enum cma_level floor,
		   enum cma_level *levels, struct plan_pages *use);

/* @r's levels on the node of @h that gives the most (or, with no host, the best). */
void plan_fit_host(struct plan_result *r, const struct plan_host *h);

/* /proc/meminfo's CmaTotal in kB (KiB) for @r's pools. */
static inline uint64_t plan_cma_total_kb(const struct plan_result *r)
{
	return r->cma_total >> 10;
}

/* ---- a fleet ---- */

struct plan_class {
	char name[PLAN_NAME_MAX];
	const struct plan_result *r;
	uint64_t count;	      /* VMs to place; 0: only say how many fit */
	enum cma_level floor; /* the lowest level the class accepts */
};

struct plan_fleet {
	/* VMs placed on each host, per class and level */
	uint64_t placed[PLAN_HOSTS_MAX][PLAN_CLASSES_MAX][CMA_CONTIGUOUS + 1];
	uint64_t unplaced[PLAN_CLASSES_MAX];
	/* VMs of one class alone that fit an empty host */
	uint64_t capacity[PLAN_HOSTS_MAX][PLAN_CLASSES_MAX];
	uint64_t memory_left[PLAN_HOSTS_MAX];
	struct plan_pages pages_left[PLAN_HOSTS_MAX][PLAN_NODES_MAX];
};

/* Host memory left for VMs: RAM less what the host keeps and its huge pages. */
uint64_t plan_host_memory(const struct plan_host *h);

/*
 * Place every class's VMs on @hosts, first-fit decreasing (the classes
 * that take the most memory first, each VM on the first host with the
 * memory and, on one node, the huge pages its levels need).
 */
void plan_fleet(const struct plan_host *hosts, size_t nr_hosts, const struct plan_class *classes,
		size_t nr_classes, struct plan_fleet *out);

/* ---- what running VMs tell ---- */

struct plan_observation {
	uint64_t total, free, peak_used, alloc_fail;
};

enum plan_verdict {
	PLAN_KEEP,
	PLAN_GROW,
	PLAN_SHRINK,
};

struct plan_advice {
	uint64_t total;	   /* the largest CmaTotal seen */
	uint64_t peak;	   /* the largest peak in use */
	uint64_t fails;	   /* allocation failures, all sources */
	uint64_t headroom; /* as plan_size() adds it */
	uint64_t size;	   /* the recommended CMA */
	enum plan_verdict verdict;
};

/*
 * The CMA size @obs (one per VM of a class) call for, with allocations
 * up to @largest, @pct percent headroom, rounded to @granule: the peak
 * and its headroom; after a failure at least the size that failed and
 * the headroom over it.
 */
void plan_observed(const struct plan_observation *obs, size_t n, uint64_t largest, unsigned int pct,
		   uint64_t granule, struct plan_advice *out);

#endif
