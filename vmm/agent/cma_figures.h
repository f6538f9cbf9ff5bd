/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's CMA figures, read from the text of its /proc/meminfo and
 * /proc/vmstat (as its agent sends them: any bytes at all).
 *
 * Owns: which lines count and how their numbers become bytes and counts.
 * meminfo gives kB ("CmaTotal:   65536 kB"), vmstat pages
 * ("nr_free_cma 16288") and calls of cma_alloc() ("cma_alloc_success 3").
 * A line that is not exactly "key, separator, decimal number[, unit]", or
 * whose number overflows, is ignored; the first of a repeated key counts.
 */
#ifndef VMM_AGENT_CMA_FIGURES_H
#define VMM_AGENT_CMA_FIGURES_H

#include <stddef.h>
#include <stdint.h>

/* Which figures the text had (a kernel without CMA has none of them). */
#define CMA_HAVE_TOTAL	       (1u << 0)
#define CMA_HAVE_FREE	       (1u << 1)
#define CMA_HAVE_NR_FREE       (1u << 2)
#define CMA_HAVE_ALLOC_SUCCESS (1u << 3)
#define CMA_HAVE_ALLOC_FAIL    (1u << 4)

struct cma_figures {
	unsigned int have;	/* CMA_HAVE_* */
	uint64_t total_bytes;	/* meminfo CmaTotal */
	uint64_t free_bytes;	/* meminfo CmaFree */
	uint64_t nr_free_bytes; /* vmstat nr_free_cma, times the page size */
	uint64_t alloc_success; /* vmstat cma_alloc_success */
	uint64_t alloc_fail;	/* vmstat cma_alloc_fail */
};

/* Add what @text[@len] says to @f (fields it lacks are left as they were). */
void cma_figures_meminfo(struct cma_figures *f, const char *text, size_t len);
/* @page_size: the guest's, in bytes: vmstat counts pages. */
void cma_figures_vmstat(struct cma_figures *f, const char *text, size_t len,
			unsigned int page_size);

/* CmaTotal - CmaFree, 0 when either is missing or free exceeds total. */
uint64_t cma_figures_used(const struct cma_figures *f);

#endif
