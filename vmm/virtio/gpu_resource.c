// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-gpu resources: host storage in the GPU memory region, the
 * guest's backing entries, and TRANSFER_TO_HOST_2D, the one copy between
 * them.
 *
 * Every number here comes from the guest: sizes are computed in 64 bits
 * and checked before anything is placed or copied, a backing entry is
 * checked against guest RAM when it is attached and translated again at
 * each copy (the CMA engine may have moved the memory behind it since),
 * and a copy never leaves the resource's storage or its backing.
 */
#include "vmm/virtio/gpu.h"
#include "cma/region.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/util/log.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GPU_MAX_RESOURCE_DIM 16384 /* a resource's width or height */

struct gpu_format {
	uint32_t id;
	const char *name, *fourcc;
	uint8_t r, g, b; /* byte offsets in a little-endian pixel */
};

/*
 * The formats are named by their bytes in memory, first byte first; DRM's
 * fourcc codes name a 32-bit little-endian word from its top, so the two
 * read in opposite orders (B8G8R8X8 is DRM's XRGB8888, "XR24").
 */
static const struct gpu_format formats[] = {
	{ VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, "B8G8R8A8", "AR24", 2, 1, 0 },
	{ VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, "B8G8R8X8", "XR24", 2, 1, 0 },
	{ VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, "A8R8G8B8", "BA24", 1, 2, 3 },
	{ VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, "X8R8G8B8", "BX24", 1, 2, 3 },
	{ VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, "R8G8B8A8", "AB24", 0, 1, 2 },
	{ VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, "X8B8G8R8", "RX24", 3, 2, 1 },
	{ VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, "A8B8G8R8", "RA24", 3, 2, 1 },
	{ VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, "R8G8B8X8", "XB24", 0, 1, 2 },
};

static const struct gpu_format *find_format(uint32_t id)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].id == id)
			return &formats[i];
	return NULL;
}

bool gpu_format_channels(uint32_t format, uint8_t *r, uint8_t *g, uint8_t *b)
{
	const struct gpu_format *f = find_format(format);

	if (!f)
		return false;
	*r = f->r;
	*g = f->g;
	*b = f->b;
	return true;
}

const char *gpu_format_name(uint32_t format)
{
	const struct gpu_format *f = find_format(format);

	return f ? f->name : "?";
}

const char *gpu_format_fourcc(uint32_t format)
{
	const struct gpu_format *f = find_format(format);

	return f ? f->fourcc : "?";
}

struct gpu_resource *gpu_find(struct gpu *g, uint32_t id)
{
	for (unsigned int i = 0; i < g->nr_res; i++)
		if (g->res[i]->id == id)
			return g->res[i];
	return NULL;
}

/* A guest that fills the region hears OUT_OF_MEMORY; the operator, a few lines. */
static uint32_t out_of_memory(struct gpu *g, uint32_t id, uint64_t bytes, bool too_many)
{
	bool say = g->n.oom++ < GPU_OOM_LOG_LINES;

	if (say && too_many)
		pr_warn("%s: resource %u refused (the guest gets OUT_OF_MEMORY): the guest holds "
			"%u resources, the most a GPU takes",
			g->dev->name, id, GPU_MAX_RESOURCES);
	else if (say)
		pr_warn("%s: resource %u of %llu bytes refused (the guest gets OUT_OF_MEMORY): "
			"no place for it in the GPU memory region (%llu of %llu bytes in use); "
			"give --gpu a larger mem=",
			g->dev->name, id, (unsigned long long)bytes,
			(unsigned long long)cma_region_used(g->region),
			(unsigned long long)cma_region_size(g->region));
	if (g->n.oom == GPU_OOM_LOG_LINES)
		pr_warn("%s: further refused resources are only counted (GET /v1/devices: oom)",
			g->dev->name);
	return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
}

uint32_t gpu_create(struct gpu *g, uint32_t id, uint32_t format, uint32_t width, uint32_t height)
{
	uint64_t bytes = (uint64_t)width * GPU_BPP * height, offset;
	struct gpu_resource *res;

	if (!id || gpu_find(g, id))
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	if (!find_format(format) || !width || !height || width > GPU_MAX_RESOURCE_DIM ||
	    height > GPU_MAX_RESOURCE_DIM)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (g->nr_res == GPU_MAX_RESOURCES)
		return out_of_memory(g, id, bytes, true);
	res = calloc(1, sizeof(*res));
	if (!res)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	if (cma_region_alloc(g->region, bytes, &offset)) {
		free(res);
		return out_of_memory(g, id, bytes, false);
	}
	*res = (struct gpu_resource){
		.id = id,
		.format = format,
		.width = width,
		.height = height,
		.stride = width * GPU_BPP,
		.bytes = bytes,
		.offset = offset,
		.pixels = cma_region_base(g->region) + offset,
	};
	g->res[g->nr_res++] = res;
	g->n.resources_created++;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* What showed @res shows nothing now: a scanout, the cursor. */
static void forget_uses(struct gpu *g, const struct gpu_resource *res)
{
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		if (g->scanout[i].resource_id == res->id)
			g->scanout[i].resource_id = 0;
	if (g->cursor.resource_id == res->id)
		g->cursor.resource_id = 0;
}

void gpu_detach(struct gpu *g, struct gpu_resource *res)
{
	g->nr_entries -= res->guest_entries;
	free(res->entries);
	res->entries = NULL;
	res->nr_entries = res->guest_entries = 0;
	res->backing_len = 0;
}

static void free_resource(struct gpu *g, struct gpu_resource *res)
{
	forget_uses(g, res);
	gpu_detach(g, res);
	cma_region_free(g->region, res->offset);
	free(res);
	g->n.resources_freed++;
}

/* 6.1 guests never send DETACH_BACKING: unref frees everything. */
void gpu_unref(struct gpu *g, struct gpu_resource *res)
{
	for (unsigned int i = 0; i < g->nr_res; i++) {
		if (g->res[i] == res) {
			g->res[i] = g->res[--g->nr_res];
			break;
		}
	}
	free_resource(g, res);
}

void gpu_unref_all(struct gpu *g)
{
	while (g->nr_res)
		free_resource(g, g->res[--g->nr_res]);
}

static int by_gpa(const void *a, const void *b)
{
	const struct gpu_entry *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* Entries that overlap would let one guest page stand for two places of the picture. */
static bool entries_overlap(const struct gpu_entry *entries, uint32_t nr)
{
	struct gpu_entry *sorted = malloc(nr * sizeof(*sorted));
	bool overlap = false;

	if (!sorted)
		return true;
	memcpy(sorted, entries, nr * sizeof(*sorted));
	qsort(sorted, nr, sizeof(*sorted), by_gpa);
	for (uint32_t i = 1; i < nr && !overlap; i++)
		overlap = sorted[i - 1].gpa + sorted[i - 1].len > sorted[i].gpa;
	free(sorted);
	return overlap;
}

/* Take the guest's entries: each inside RAM, none empty, none overlapping. */
static uint32_t read_entries(struct gpu *g, struct gpu_entry *out,
			     const struct virtio_gpu_mem_entry *in, uint32_t nr)
{
	uint64_t start = 0;

	for (uint32_t i = 0; i < nr; i++) {
		struct virtio_gpu_mem_entry e;

		memcpy(&e, &in[i], sizeof(e));
		out[i] = (struct gpu_entry){ le64toh(e.addr), le32toh(e.length), start };
		if (!out[i].len || !guest_ram_ptr(g->dev->ram, out[i].gpa, out[i].len))
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		start += out[i].len;
	}
	return entries_overlap(out, nr) ? VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER
					: VIRTIO_GPU_RESP_OK_NODATA;
}

/*
 * A guest's pages often follow each other: one copy for each run of them
 * rather than one per page. Returns the runs left in @e.
 */
static unsigned int merge_adjacent(struct gpu_entry *e, unsigned int nr)
{
	unsigned int n = 0;

	for (unsigned int i = 1; i < nr; i++) {
		if (e[n].gpa + e[n].len == e[i].gpa)
			e[n].len += e[i].len;
		else
			e[++n] = e[i];
	}
	return n + 1;
}

uint32_t gpu_attach(struct gpu *g, struct gpu_resource *res,
		    const struct virtio_gpu_mem_entry *entries, uint32_t nr)
{
	struct gpu_entry *e;
	uint32_t ret;

	if (res->entries)
		return VIRTIO_GPU_RESP_ERR_UNSPEC; /* detach first (5.7.6.8) */
	if (!nr || nr > GPU_MAX_ENTRIES)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (nr > GPU_MAX_ENTRIES_TOTAL - g->nr_entries) {
		g->n.oom++;
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY; /* unref or detach others first */
	}
	e = calloc(nr, sizeof(*e));
	if (!e)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	ret = read_entries(g, e, entries, nr);
	if (ret != VIRTIO_GPU_RESP_OK_NODATA) {
		free(e);
		return ret;
	}
	res->guest_entries = nr;
	res->nr_entries = merge_adjacent(e, nr);
	res->backing_len = e[res->nr_entries - 1].start + e[res->nr_entries - 1].len;
	/* The limit counts what the guest gave; the host keeps only the runs. */
	g->nr_entries += nr;
	res->entries = realloc(e, res->nr_entries * sizeof(*e)) ?: e;
	return ret;
}

bool gpu_rect_inside(const struct gpu_resource *res, const struct gpu_rect *r)
{
	return (uint64_t)r->x + r->width <= res->width && (uint64_t)r->y + r->height <= res->height;
}

/* The entry holding backing byte @pos: the last whose start is at most @pos. */
static unsigned int entry_at(const struct gpu_resource *res, uint64_t pos)
{
	unsigned int lo = 0, hi = res->nr_entries;

	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (res->entries[mid].start <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Copy backing [pos, pos + len) to @dst; false if guest RAM refuses a piece. */
static bool gather(struct gpu *g, const struct gpu_resource *res, uint64_t pos, uint8_t *dst,
		   uint64_t len)
{
	unsigned int i = entry_at(res, pos);

	while (len) {
		const struct gpu_entry *e = &res->entries[i++];
		uint64_t skip = pos - e->start, n = e->len - skip < len ? e->len - skip : len;
		const uint8_t *src = guest_ram_ptr(g->dev->ram, e->gpa + skip, n);

		if (!src)
			return false;
		memcpy(dst, src, n);
		dst += n;
		pos += n;
		len -= n;
	}
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Copy the rows of @r; false if guest RAM refuses a piece. */
static bool copy_rect(struct gpu *g, struct gpu_resource *res, const struct gpu_rect *r,
		      uint64_t offset)
{
	uint64_t row = (uint64_t)r->width * GPU_BPP;
	uint8_t *dst = res->pixels + (uint64_t)r->y * res->stride + (uint64_t)r->x * GPU_BPP;

	if (row == res->stride) /* whole rows: one copy */
		return gather(g, res, offset, dst, row * r->height);
	for (uint32_t y = 0; y < r->height; y++, dst += res->stride)
		if (!gather(g, res, offset + (uint64_t)y * res->stride, dst, row))
			return false;
	return true;
}

/*
 * The guest's rectangle @r lies in its backing from @offset, rows a
 * resource's stride apart (what Linux sends: the offset of the rectangle's
 * first pixel in a buffer laid out like the resource).
 */
uint32_t gpu_transfer(struct gpu *g, struct gpu_resource *res, const struct gpu_rect *r,
		      uint64_t offset)
{
	uint64_t row = (uint64_t)r->width * GPU_BPP, last, t0;

	if (!res->entries)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	if (!gpu_rect_inside(res, r))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	if (!r->width || !r->height)
		return VIRTIO_GPU_RESP_OK_NODATA;
	last = (uint64_t)res->stride * (r->height - 1) + row;
	if (offset > res->backing_len || last > res->backing_len - offset)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	t0 = now_ns();
	if (!copy_rect(g, res, r, offset))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	g->n.transfer_ns += now_ns() - t0;
	g->n.transfers++;
	g->n.transfer_bytes += row * r->height;
	return VIRTIO_GPU_RESP_OK_NODATA;
}
