// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --window POOL:LEVEL[:OFFSET:LENGTH]` and `,window=` on a
 * pool's flag: the windows committed before the guest's first
 * instruction, each in a pool there is, in whole guest pageblocks (the
 * pageblock of the guest's page size, known once the kernel is read), and
 * none over another.
 */
#include "vmm/cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#define WINDOW_FORMAT "POOL:LEVEL[:OFFSET:LENGTH], e.g. linux,cma:huge or linux,cma:huge:0:32M"

/* OFFSET or LENGTH (@what) of a --window: a size; whole pageblocks are checked later. */
static int window_size(const struct boot_window *w, const char *what, const char *text,
		       uint64_t *out)
{
	char err[256];

	if (size_parse(text, out, err, sizeof(err))) {
		pr_err("%s: %s %s", w->flag, what, err);
		return -1;
	}
	return 0;
}

/*
 * A whole number of the guest's pageblocks, or an error whose hint offers
 * the sizes around it, down to @least.
 */
static int whole_blocks(const struct boot_window *w, const char *what, uint64_t value,
			uint64_t least, const struct guest_kernel *guest)
{
	uint64_t block = guest_pageblock(guest), down, up;
	char a[32], b[32], c[32], d[32], e[32];

	if (is_aligned(value, block))
		return 0;
	down = align_down(value, block);
	up = align_up(value, block);
	pr_err("%s: %s %s is not a whole number of the guest's %s pageblocks (%s pages); use "
	       "%s%s%s",
	       w->flag, what, size_str(value, a), size_str(block, d), size_str(guest->page_size, e),
	       down >= least ? (down ? size_str(down, b) : "0") : "", down >= least ? " or " : "",
	       size_str(up, c));
	return -1;
}

/* Cut @arg at each ':' into @part[]; returns how many parts (more than @max: @max + 1). */
static size_t split_colons(char *arg, char **part, size_t max)
{
	size_t n = 0;
	char *p;

	while ((p = strsep(&arg, ":"))) {
		if (n == max)
			return max + 1;
		part[n++] = p;
	}
	return n;
}

/* POOL:LEVEL[:OFFSET:LENGTH]; the pool and the range are checked once every flag is in. */
int run_flag_window(struct vm_config *cfg, char *arg)
{
	struct boot_window *w = &cfg->windows[cfg->nr_windows];
	char *part[4];
	size_t n;

	if (cfg->nr_windows == CMA_MAX_WINDOWS) {
		pr_err("--window %s: at most %d boot windows", arg, CMA_MAX_WINDOWS);
		return -1;
	}
	memset(w, 0, sizeof(*w));
	snprintf(w->flag, sizeof(w->flag), "--window %s", arg);
	n = split_colons(arg, part, 4);
	if ((n != 2 && n != 4) || !*part[0]) {
		pr_err("%s: write " WINDOW_FORMAT, w->flag);
		return -1;
	}
	if (strlen(part[0]) >= sizeof(w->pool)) {
		pr_err("%s: pool name '%s' is longer than %d characters; no pool has it", w->flag,
		       part[0], POOL_NAME_MAX - 1);
		return -1;
	}
	strcpy(w->pool, part[0]);
	if (cma_level_parse(part[1], &w->level)) {
		pr_err("%s: unknown level '%s'; use resident, huge or contiguous", w->flag,
		       part[1]);
		return -1;
	}
	if (n == 4 && (window_size(w, "offset", part[2], &w->offset) ||
		       window_size(w, "length", part[3], &w->length)))
		return -1;
	if (n == 4 && !w->length) {
		pr_err("%s: length 0 is no window; give a length such as 32M, or drop "
		       "OFFSET:LENGTH for the whole pool",
		       w->flag);
		return -1;
	}
	cfg->nr_windows++;
	return 0;
}

/* ,window= on a pool's flag: a boot window over the whole pool. */
static int add_pool_windows(struct vm_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_pools; i++) {
		const struct pool_spec *p = &cfg->pools[i];
		struct boot_window *w = &cfg->windows[cfg->nr_windows];

		if (!p->window)
			continue;
		if (cfg->nr_windows == CMA_MAX_WINDOWS) {
			pr_err("%s: at most %d boot windows in all", p->flag, CMA_MAX_WINDOWS);
			return -1;
		}
		/* length 0: the whole pool, whose size the layout judges */
		*w = (struct boot_window){ .level = (enum cma_level)p->window_level };
		snprintf(w->pool, sizeof(w->pool), "%s", p->name);
		snprintf(w->flag, sizeof(w->flag), "%s", p->flag);
		cfg->nr_windows++;
	}
	return 0;
}

/* The pool window @w names; NULL, with the pools there are, if none. */
static const struct pool_spec *window_pool(const struct vm_config *cfg, const struct boot_window *w)
{
	char names[POOL_MAX * (POOL_NAME_MAX + 2)] = "", add[POOL_NAME_MAX + 32];

	for (size_t i = 0; i < cfg->nr_pools; i++) {
		if (!strcmp(cfg->pools[i].name, w->pool))
			return &cfg->pools[i];
		str_appendf(names, sizeof(names), "%s%s", i ? ", " : "", cfg->pools[i].name);
	}
	if (!strcmp(w->pool, POOL_DEFAULT_NAME))
		snprintf(add, sizeof(add), "give --cma a size");
	else
		snprintf(add, sizeof(add), "add --dma-pool %s:SIZE", w->pool);
	if (cfg->nr_pools)
		pr_err("%s: there is no pool named '%s'; the pools are %s (or %s)", w->flag,
		       w->pool, names, add);
	else
		pr_err("%s: there is no pool named '%s', nor any other; %s", w->flag, w->pool, add);
	return NULL;
}

/*
 * Inside its pool, in whole pageblocks; without OFFSET:LENGTH, the whole
 * pool (whose size the layout checks, naming the pool's flag).
 */
static int check_window_range(struct boot_window *w, const struct pool_spec *p,
			      const struct guest_kernel *guest)
{
	char a[32], b[32], c[32];

	if (!w->length)
		w->length = p->size;
	else if (whole_blocks(w, "offset", w->offset, 0, guest) ||
		 whole_blocks(w, "length", w->length, guest_pageblock(guest), guest))
		return -1;
	if (w->offset < p->size && w->length <= p->size - w->offset)
		return 0;
	pr_err("%s: [%s, +%s) is not inside pool '%s' (%s); OFFSET + LENGTH may be at most the "
	       "pool's size",
	       w->flag, size_str(w->offset, a), size_str(w->length, b), p->name,
	       size_str(p->size, c));
	return -1;
}

static bool windows_overlap(const struct boot_window *a, const struct boot_window *b)
{
	return !strcmp(a->pool, b->pool) && a->offset < b->offset + b->length &&
	       b->offset < a->offset + a->length;
}

/* Every boot window in a pool there is, inside it, and none over another. */
int run_check_windows(struct vm_config *cfg)
{
	const struct pool_spec *p;

	if (add_pool_windows(cfg))
		return -1;
	for (size_t i = 0; i < cfg->nr_windows; i++) {
		p = window_pool(cfg, &cfg->windows[i]);
		if (!p || check_window_range(&cfg->windows[i], p, &cfg->guest))
			return -1;
	}
	for (size_t i = 0; i < cfg->nr_windows; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct boot_window *a = &cfg->windows[j], *b = &cfg->windows[i];

			if (!windows_overlap(a, b))
				continue;
			pr_err("%s overlaps %s in pool '%s'; boot windows may not overlap: make "
			       "their ranges disjoint, or drop one",
			       b->flag, a->flag, a->pool);
			return -1;
		}
	}
	return 0;
}
