// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measuring host memory, never assuming it: what of a range is resident
 * (mincore()), and how long its host-physically contiguous runs are
 * (/proc/self/pagemap, whose frame numbers only root sees).
 */
#include "cma/internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGES (CMA_HUGE_PAGE / CMA_PAGE) /* 4 KiB pages in a 2 MiB piece */

/* 4 KiB pages of [host, host + len) resident now; 0 when mincore() fails. */
uint64_t resident_pages(const uint8_t *host, uint64_t len)
{
	size_t n = len / CMA_PAGE, count = 0;
	unsigned char *vec = malloc(n);

	if (!vec || mincore((void *)host, len, vec)) {
		free(vec);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

uint64_t cma_resident_bytes(const struct cma_engine *e)
{
	return resident_pages(e->host, e->size) * CMA_PAGE;
}

/*
 * Opened once, at the first engine's creation: a sandboxed thread may not
 * open files, and the kernel shows frame numbers by the opener's
 * capabilities, which cmavm has given up by the time it measures. The
 * file is of the process that opened it: a forked child opens its own.
 */
static int pagemap_fd = -1;
static pid_t pagemap_pid;

void pagemap_open(void)
{
	if (pagemap_fd >= 0 && pagemap_pid == getpid())
		return;
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	pagemap_pid = getpid();
}

/* Page frame numbers of @n pages at @host, 0 where hidden or absent; -1 if unreadable. */
int read_pfns(const uint8_t *host, size_t n, uint64_t *pfn)
{
	off_t off = (off_t)((uintptr_t)host / CMA_PAGE * sizeof(uint64_t));
	ssize_t want = (ssize_t)(n * sizeof(*pfn));
	bool ok;

	pagemap_open();
	ok = pagemap_fd >= 0 && pread(pagemap_fd, pfn, (size_t)want, off) == want;
	if (!ok)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool present = pfn[i] >> 63;

		pfn[i] = present ? pfn[i] & ((1ULL << 55) - 1) : 0;
	}
	return 0;
}

uint64_t cma_largest_contiguous_run(const uint8_t *host, uint64_t len, uint64_t *contiguous_2m)
{
	size_t n = len / CMA_PAGE;
	uint64_t *pfn = calloc(n, sizeof(*pfn)), best = 0, run = 0;

	*contiguous_2m = 0;
	if (!pfn || read_pfns(host, n, pfn))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!pfn[i]) { /* frame numbers are hidden unless root */
			run = 0;
			continue;
		}
		run = i && run && pfn[i] == pfn[i - 1] + 1 ? run + 1 : 1;
		if (run > best)
			best = run;
		if ((i + 1) % HUGE_PAGES == 0 && run >= HUGE_PAGES)
			(*contiguous_2m)++;
	}
out:
	free(pfn);
	return best * CMA_PAGE;
}
