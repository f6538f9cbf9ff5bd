// SPDX-License-Identifier: GPL-2.0-only
#include "cma/hugepages.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HUGEPAGES_STAT "/sys/kernel/mm/hugepages/hugepages-%llukB/%s"

/* The decimal number in @path; false when it cannot be opened. */
static bool read_number(const char *path, uint64_t *out)
{
	char text[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	*out = n > 0 ? strtoull(text, NULL, 10) : 0;
	return true;
}

uint64_t cma_read_number(const char *path)
{
	uint64_t n = 0;

	read_number(path, &n);
	return n;
}

/* One counter of the host's pages of @page_size; false if it cannot be read. */
static bool stat_of(uint64_t page_size, const char *what, uint64_t *out)
{
	char path[96];

	snprintf(path, sizeof(path), HUGEPAGES_STAT, (unsigned long long)(page_size >> 10), what);
	return read_number(path, out);
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

struct cma_hugepages cma_host_hugepages(uint64_t page_size)
{
	struct cma_hugepages h = { 0 };
	uint64_t free = 0, resv = 0, over = 0, surplus = 0;

	h.present = stat_of(page_size, "nr_hugepages", &h.total) &&
		    stat_of(page_size, "free_hugepages", &free);
	stat_of(page_size, "resv_hugepages", &resv);
	stat_of(page_size, "nr_overcommit_hugepages", &over);
	stat_of(page_size, "surplus_hugepages", &surplus);
	h.usable = minus(free, resv) + minus(over, surplus);
	return h;
}
