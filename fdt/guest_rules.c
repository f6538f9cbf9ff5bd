// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest kernel's rules per series and page size (fdt/guest_rules.h).
 * Each row of the table below is read from that series' Debian source;
 * docs/guests.md has the file and function of every one.
 */
#include "fdt/guest_rules.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct guest_rmem_rules rmem_rules[GUEST_NR_SERIES] = {
	[GUEST_LINUX_6_1] = {
		.handlers_in_dt_order = false,
		.region_limit_dynamic_only = false,
		.empty_reg_reads_past = false,
		.zero_reg_placed_by_size = true,
		.memreserve_after_placed = false,
		.reg_nodes_rescan = false,
		/* the scan is drivers/of/fdt.c's in 6.1 */
		.scan_prefix = "OF: fdt: ",
		.cma_node_text = "",
		.cma_areas_rule = "MAX_CMA_AREAS, 1 + CONFIG_CMA_AREAS (19)",
		.phys_bits = 48,
	},
	[GUEST_LINUX_6_12] = {
		.handlers_in_dt_order = true,
		.region_limit_dynamic_only = true,
		.empty_reg_reads_past = true,
		.zero_reg_placed_by_size = false,
		.memreserve_after_placed = true,
		.reg_nodes_rescan = true,
		.scan_prefix = "OF: reserved mem: ",
		/* called with NUMA_NO_NODE, and Debian has CONFIG_NUMA */
		.cma_node_text = " on node -1",
		.cma_areas_rule = "MAX_CMA_AREAS, CONFIG_CMA_AREAS (20)",
		.phys_bits = 52,
	},
};

bool guest_kernel_valid(const struct guest_kernel *g)
{
	return (unsigned int)g->series < GUEST_NR_SERIES && guest_pageblock(g);
}

struct guest_kernel guest_kernel_normal(const struct guest_kernel *g)
{
	return (struct guest_kernel){ g->series, guest_page_size(g) };
}

const struct guest_rmem_rules *guest_rmem_rules(const struct guest_kernel *g)
{
	return &rmem_rules[g->series];
}

uint64_t guest_cma_default_size(const struct guest_kernel *g)
{
	return align_up(GUEST_CMA_DEFAULT_SIZE, guest_pageblock(g));
}

uint64_t guest_phys_end(const struct guest_kernel *g)
{
	return 1ULL << guest_rmem_rules(g)->phys_bits;
}

const char *guest_series_name(enum guest_series series)
{
	switch (series) {
	case GUEST_LINUX_6_1:
		return "6.1";
	case GUEST_LINUX_6_12:
		return "6.12";
	default:
		return "?";
	}
}

const char *guest_kernel_name(const struct guest_kernel *g, char *buf, size_t size)
{
	char page[32];

	snprintf(buf, size, "Linux %s, %s pages", guest_series_name(g->series),
		 size_str(guest_page_size(g), page));
	return buf;
}

const char *guest_pageblock_text(const struct guest_kernel *g, char *buf, size_t size)
{
	char block[32], page[32];

	snprintf(buf, size, "%s, the pageblock of a %s-page guest",
		 size_str(guest_pageblock(g), block), size_str(guest_page_size(g), page));
	return buf;
}

int guest_series_from_text(const char *text, enum guest_series *series)
{
	if (!text)
		return -1;
	if (!strncasecmp(text, "linux", 5))
		text += strspn(text + 5, " -") + 5;
	for (int s = 0; s < GUEST_NR_SERIES; s++) {
		if (!strcmp(text, guest_series_name((enum guest_series)s))) {
			*series = (enum guest_series)s;
			return 0;
		}
	}
	return -1;
}

int guest_page_size_from_text(const char *text, uint64_t *page_size)
{
	char err[160];
	uint64_t v;

	if (size_parse(text, &v, err, sizeof(err)) || !guest_cma_min_align(v))
		return -1;
	*page_size = v;
	return 0;
}
