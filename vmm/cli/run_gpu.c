// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --gpu [WIDTHxHEIGHT][,mem=SIZE][,backing=huge|contiguous|memfd]`:
 * the display's mode and the GPU memory region its resources live in.
 */
#include "vmm/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/region.h"
#include "cma/size.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/virtio/devices.h"

#define GPU_FORMAT "[WIDTHxHEIGHT][,mem=SIZE][,backing=huge|contiguous|memfd]"

/* One full-screen resource, on whole pages of the backing. */
static uint64_t frame_bytes(const struct gpu_config *gpu)
{
	return align_up((uint64_t)gpu->width * gpu->height * 4,
			cma_region_backing_page(gpu->backing));
}

/*
 * Room for GPU_FRAMES full-screen resources as the region places them (a
 * frame larger than a page on whole pages of its own, smaller ones as many
 * to a page as fit), and at least 2 MiB left for cursors and small ones:
 * with 1 GiB pages, usually one page.
 */
static uint64_t default_mem(const struct gpu_config *gpu)
{
	uint64_t page = cma_region_backing_page(gpu->backing);
	uint64_t frame = align_up((uint64_t)gpu->width * gpu->height * 4, SZ_4K);
	uint64_t per_page, pages, last;

	if (frame > page)
		return GPU_FRAMES * frame_bytes(gpu) + page;
	per_page = page / frame;
	pages = (GPU_FRAMES + per_page - 1) / per_page;
	last = GPU_FRAMES - (pages - 1) * per_page; /* frames on the last page */
	return (pages + (page - last * frame < SZ_2M)) * page;
}

static bool parse_dim(const char *s, char **end, uint32_t *out)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, end, 10);
	*out = v > GPU_MAX_DIM ? GPU_MAX_DIM + 1 : (uint32_t)v;
	return true;
}

static int parse_mode(struct gpu_config *gpu, const char *mode)
{
	char *end;

	if (!parse_dim(mode, &end, &gpu->width) || (*end != 'x' && *end != 'X') ||
	    !parse_dim(end + 1, &end, &gpu->height) || *end) {
		pr_err("%s: '%s' is not a display mode; give WIDTHxHEIGHT, e.g. 1280x800",
		       gpu->flag, mode);
		return -1;
	}
	if (gpu->width < GPU_MIN_DIM || gpu->height < GPU_MIN_DIM || gpu->width > GPU_MAX_DIM ||
	    gpu->height > GPU_MAX_DIM) {
		pr_err("%s: a display is %d to %d pixels wide and high", gpu->flag, GPU_MIN_DIM,
		       GPU_MAX_DIM);
		return -1;
	}
	return 0;
}

static int parse_option(struct gpu_config *gpu, const char *opt)
{
	char err[256];

	if (!strncmp(opt, "mem=", 4)) {
		if (size_parse(opt + 4, &gpu->mem, err, sizeof(err)) == 0)
			return 0;
		pr_err("%s: mem=%s: %s", gpu->flag, opt + 4, err);
		return -1;
	}
	if (!strncmp(opt, "backing=", 8)) {
		if (cma_region_backing_parse(opt + 8, &gpu->backing) == 0)
			return 0;
		pr_err("%s: backing=%s: give huge (2 MiB huge pages), contiguous (1 GiB huge "
		       "pages) or memfd (ordinary memory, no contiguity)",
		       gpu->flag, opt + 8);
		return -1;
	}
	pr_err("%s: unknown option '%s'; --gpu " GPU_FORMAT, gpu->flag, opt);
	return -1;
}

/* mem= in whole pages, enough for one full-screen resource at least. */
static int check_mem(struct gpu_config *gpu)
{
	uint64_t frame = frame_bytes(gpu);
	char a[32], b[32], c[32];

	if (!gpu->mem) {
		gpu->mem = default_mem(gpu);
		return 0;
	}
	/* the region is whole pages: mem=512M on 1 GiB pages is one page */
	if (align_up(gpu->mem, cma_region_backing_page(gpu->backing)) < frame) {
		pr_err("%s: mem=%s holds no %ux%u frame (%s on %s pages); give mem=%s or more",
		       gpu->flag, size_str(gpu->mem, a), gpu->width, gpu->height,
		       size_str(frame, b), cma_region_backing_name(gpu->backing),
		       size_str(default_mem(gpu), c));
		return -1;
	}
	gpu->mem = align_up(gpu->mem, cma_region_backing_page(gpu->backing));
	return 0;
}

int run_flag_gpu(struct vm_config *cfg, char *arg)
{
	struct gpu_config *gpu = &cfg->gpu;
	char *opt, *save = NULL;
	bool first = true;

	*gpu = (struct gpu_config){
		.enabled = true,
		.width = DEFAULT_GPU_WIDTH,
		.height = DEFAULT_GPU_HEIGHT,
		.backing = CMA_REGION_HUGE,
	};
	snprintf(gpu->flag, sizeof(gpu->flag), "--gpu%s%s", arg ? " " : "", arg ? arg : "");
	if (!arg) /* --gpu alone: every default */
		return check_mem(gpu);
	for (opt = strtok_r(arg, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save), first = false) {
		int ret =
			first && !strchr(opt, '=') ? parse_mode(gpu, opt) : parse_option(gpu, opt);

		if (ret)
			return -1;
	}
	return check_mem(gpu);
}
