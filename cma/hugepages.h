/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's huge pages, as /sys/kernel/mm/hugepages counts them.
 *
 * Owns: how many pages of a size a new hugetlb file may have now. The
 * engine's windows, the GPU memory region and the VMM's preflight all
 * ask before they take pages, so that a host short of them is told how
 * many are missing instead of failing halfway.
 */
#ifndef CMA_HUGEPAGES_H
#define CMA_HUGEPAGES_H

#include <stdbool.h>
#include <stdint.h>

struct cma_hugepages {
	bool present;	 /* the host kernel has pages of this size */
	uint64_t total;	 /* nr_hugepages */
	uint64_t usable; /* free, less those reserved, plus what overcommit may add */
};

/* Pages of @page_size (2 MiB, 1 GiB); all zero where the host has none of that size. */
struct cma_hugepages cma_host_hugepages(uint64_t page_size);

/* The decimal number a sysfs file holds; 0 when there is none. */
uint64_t cma_read_number(const char *path);

#endif
