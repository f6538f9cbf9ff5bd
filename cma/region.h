/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A region of host memory for device buffers, one per VM: the virtio-gpu
 * device's resources, whose pixels must each be host-physically contiguous
 * (a scanout handed to a display controller or another device as a dma-buf
 * has no IOMMU to gather scattered pages).
 *
 * Owns: the region's memfd (hugetlb 2 MiB or 1 GiB pages, or an ordinary
 * memfd), made and populated at creation so that a host short of huge pages
 * says so before the guest starts, and sealed so that it can never change
 * size under a dma-buf; the placement of buffers in it so that each stays
 * within one huge page, or starts at one and runs over consecutive ones;
 * measuring from /proc/self/pagemap whether a buffer is contiguous; and
 * exporting a buffer as a dma-buf (udmabuf). Whatever a later call needs
 * from the file system (/dev/udmabuf, /proc/self/pagemap) is opened at
 * creation, because those calls run on threads in a seccomp sandbox that
 * may open no file.
 *
 * Thread-safe: allocating, freeing and cma_region_used() take the region's
 * lock; the other calls read only what creation set.
 */
#ifndef CMA_REGION_H
#define CMA_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocations at once: the caller bounds its resources too. */
#define CMA_REGION_MAX_ALLOCS 4096

enum cma_region_backing {
	CMA_REGION_HUGE,       /* hugetlb memfd of 2 MiB pages */
	CMA_REGION_CONTIGUOUS, /* hugetlb memfd of 1 GiB pages */
	CMA_REGION_MEMFD,      /* an ordinary memfd: no contiguity promised */
};

struct cma_region;

/* "huge", "contiguous", "memfd"; parse returns 0 or -1 */
const char *cma_region_backing_name(enum cma_region_backing b);
int cma_region_backing_parse(const char *name, enum cma_region_backing *out);
/* The page a region on @b is rounded to and places buffers by: 1 GiB, else 2 MiB. */
uint64_t cma_region_backing_page(enum cma_region_backing b);

/*
 * @size bytes (rounded up to the backing's page: 2 MiB, 1 GiB, or 2 MiB for
 * memfd too) on @backing, in a memfd called @name, every page populated now
 * (so a host without the huge pages fails here, before the guest starts,
 * and not with SIGBUS later), the memfd sealed against shrinking and
 * growing (F_SEAL_SHRINK | F_SEAL_GROW, never F_SEAL_WRITE, which udmabuf
 * refuses) so that a udmabuf can be made over it later. /dev/udmabuf is
 * opened now too, if it exists, and tried on the region's first page.
 * NULL on failure with @err a sentence naming the problem and the fix.
 */
struct cma_region *cma_region_create(const char *name, enum cma_region_backing backing,
				     uint64_t size, char *err, size_t errlen);
/*
 * For tests (as the engine's alloc_backing hook): a region over @fd, a memfd
 * made with MFD_ALLOW_SEALING and sized already (a multiple of
 * @page_size), placing buffers as if its pages were @page_size bytes (a
 * power of two, at least the file's own page). The region owns @fd from
 * here on, failure or not. Its backing is what the file is: hugetlb of
 * 2 MiB or 1 GiB pages, or else memfd.
 */
struct cma_region *cma_region_create_on(const char *name, int fd, uint64_t page_size, char *err,
					size_t errlen);
/* Unmaps the region and closes its files; NULL is fine. */
void cma_region_destroy(struct cma_region *r);

uint8_t *cma_region_base(const struct cma_region *r);
uint64_t cma_region_size(const struct cma_region *r);
uint64_t cma_region_page_size(const struct cma_region *r); /* 2 MiB or 1 GiB; 2 MiB for memfd */
enum cma_region_backing cma_region_backing(const struct cma_region *r);
uint64_t cma_region_used(const struct cma_region *r); /* bytes allocated */

/*
 * Place @len bytes (rounded up to 4 KiB) so they are host-physically
 * contiguous at the backing's level: if the rounded length fits in one page
 * of the backing, inside one page (never crossing a page boundary);
 * otherwise starting at a page boundary, on consecutive pages of the file.
 * First fit: the lowest offset that obeys the rule. 0 with *@offset set,
 * -ENOSPC when no place fits (or CMA_REGION_MAX_ALLOCS are out), -EINVAL
 * for len 0. The memory is zeroed before it is handed out: a guest must
 * never see what an earlier buffer held.
 */
int cma_region_alloc(struct cma_region *r, uint64_t len, uint64_t *offset);
/* Give back what cma_region_alloc() placed at @offset (its length is remembered). */
void cma_region_free(struct cma_region *r, uint64_t offset);

struct cma_region_contiguity {
	bool verified;	      /* frame numbers were readable (root) */
	uint64_t largest_run; /* the longest host-physically contiguous run, in bytes */
	uint64_t runs;	      /* how many physical runs the range is made of (1: contiguous) */
	uint64_t host_phys;   /* physical address of the range's first byte; 0 when not verified */
};

/*
 * Measure [offset, offset + len) (its whole 4 KiB pages) from
 * /proc/self/pagemap (opened once, at region creation). Not verified (all
 * zero) when a frame number is hidden (not root) or a page is not present,
 * or the range is empty or leaves the region.
 */
void cma_region_measure(const struct cma_region *r, uint64_t offset, uint64_t len,
			struct cma_region_contiguity *out);

/*
 * A dma-buf over [offset, offset + len) (both 4 KiB aligned, inside the
 * region) of the region's memfd: a udmabuf (UDMABUF_CREATE,
 * UDMABUF_FLAGS_CLOEXEC). Returns the fd, or -1 with @err naming the missing
 * host feature: no /dev/udmabuf, a kernel whose udmabuf refuses hugetlb
 * memfds, udmabuf's size_limit_mb module parameter too small for @len,
 * anything else with strerror.
 */
int cma_region_export(const struct cma_region *r, uint64_t offset, uint64_t len, char *err,
		      size_t errlen);
/* Why export cannot work here ("" when it may), from what creation found. */
const char *cma_region_export_why(const struct cma_region *r);

#endif
