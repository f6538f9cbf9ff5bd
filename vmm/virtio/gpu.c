// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-gpu, 2D (virtio 1.2, 5.7): a control queue and a cursor queue,
 * one scanout, EDID; no 3D, no blobs, no shared memory regions (the
 * transport reports their lengths as all ones).
 *
 * What cmavm adds is where the pixels live: each resource's host storage
 * is placed in the GPU memory region (cma/region.h) so that it is
 * host-physically contiguous at the region's level, and can be handed to
 * a host program as one dma-buf. The guest's own buffers (its backing)
 * stay where its driver put them: scattered shmem pages, never a CMA pool
 * (docs/devices.md says why).
 */
#include "vmm/virtio/gpu.h"
#include "cma/region.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define Q_CONTROL 0
#define Q_CURSOR  1

static void gpu_notify(struct virtio_device *dev, unsigned int q)
{
	virtio_process_queue(dev, &dev->vq[q],
			     q == Q_CONTROL ? gpu_control_request : gpu_cursor_request);
}

static void gpu_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct gpu *g = to_gpu(dev);
	struct virtio_gpu_config cfg = {
		.events_read = htole32(g->events_read),
		.num_scanouts = htole32(g->nr_scanouts),
	};

	memcpy(data, (const uint8_t *)&cfg + offset, len);
}

/* events_clear is the driver's only field: it clears the events it saw (5.7.4). */
static void gpu_config_write(struct virtio_device *dev, uint32_t offset, const void *data,
			     uint32_t len)
{
	uint32_t v;

	if (offset == offsetof(struct virtio_gpu_config, events_clear) && len == sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		to_gpu(dev)->events_read &= ~le32toh(v);
	}
}

/* A reset forgets every resource, so the region is empty again. */
static void gpu_reset(struct virtio_device *dev)
{
	struct gpu *g = to_gpu(dev);

	gpu_unref_all(g);
	memset(&g->cursor, 0, sizeof(g->cursor));
	for (unsigned int i = 0; i < g->nr_scanouts; i++)
		g->scanout[i].resource_id = 0;
	g->events_read = 0;
}

static void gpu_destroy(struct virtio_device *dev)
{
	struct gpu *g = to_gpu(dev);

	gpu_unref_all(g);
	free(g);
}

static const struct virtio_counter_field gpu_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct gpu_counters, commands),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, cursor_commands),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, errors),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, transfers),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, transfer_bytes),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, transfer_ns),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, flushes),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, resources_created),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, resources_freed),
	VIRTIO_COUNTER_FIELD(struct gpu_counters, oom),
};

static unsigned int gpu_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	return virtio_fill_counters(out, &to_gpu(dev)->n, gpu_counter_fields,
				    sizeof(gpu_counter_fields) / sizeof(gpu_counter_fields[0]));
}

static const struct virtio_device_ops gpu_ops = {
	.type = "gpu",
	.device_id = VIRTIO_ID_GPU,
	.nr_queues = 2,
	.features = BIT_ULL(VIRTIO_GPU_F_EDID),
	.config_size = sizeof(struct virtio_gpu_config),
	.config_read = gpu_config_read,
	.config_write = gpu_config_write,
	.queue_notify = gpu_notify,
	.reset = gpu_reset,
	.destroy = gpu_destroy,
	.counters = gpu_counters,
};

static bool mode_ok(uint32_t width, uint32_t height)
{
	return width >= GPU_MIN_DIM && height >= GPU_MIN_DIM && width <= GPU_MAX_DIM &&
	       height <= GPU_MAX_DIM;
}

int virtio_gpu_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct gpu_options *opts)
{
	struct gpu *g;

	if (!mode_ok(opts->width, opts->height) || !opts->region)
		return -1;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	virtio_init(dev, &gpu_ops, "virtio-gpu0", env->ram, env->loop, env->access_platform);
	g->dev = dev;
	g->region = opts->region;
	g->nr_scanouts = 1;
	g->scanout[0] = (struct gpu_scanout){
		.enabled = true,
		.width = opts->width,
		.height = opts->height,
	};
	dev->priv = g;
	return 0;
}

unsigned int gpu_nr_scanouts(struct virtio_device *dev)
{
	return to_gpu(dev)->nr_scanouts;
}

void gpu_scanout_info(struct virtio_device *dev, unsigned int i, struct gpu_scanout_info *out)
{
	const struct gpu_scanout *s = &to_gpu(dev)->scanout[i];

	*out = (struct gpu_scanout_info){
		.enabled = s->enabled,
		.width = s->width,
		.height = s->height,
		.resource_id = s->resource_id,
		.rect = s->rect,
		.flushes = s->flushes,
	};
}

static int by_id(const void *a, const void *b)
{
	const struct gpu_resource_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct gpu_resource_info resource_info(const struct gpu_resource *res)
{
	return (struct gpu_resource_info){
		.id = res->id,
		.format = res->format,
		.width = res->width,
		.height = res->height,
		.stride = res->stride,
		.bytes = res->bytes,
		.offset = res->offset,
		.backed = res->entries != NULL,
		.nr_entries = res->guest_entries,
	};
}

unsigned int gpu_resources(struct virtio_device *dev, struct gpu_resource_info *out,
			   unsigned int max, unsigned int *total)
{
	struct gpu *g = to_gpu(dev);
	struct gpu_resource_info *all = calloc(g->nr_res ? g->nr_res : 1, sizeof(*all));
	unsigned int n = 0;

	*total = g->nr_res;
	if (!all)
		return 0;
	for (unsigned int i = 0; i < g->nr_res; i++) {
		all[i] = resource_info(g->res[i]);
		for (unsigned int s = 0; s < g->nr_scanouts; s++)
			if (g->scanout[s].resource_id == all[i].id)
				all[i].scanouts |= 1u << s;
	}
	qsort(all, g->nr_res, sizeof(*all), by_id);
	for (; n < max && n < g->nr_res; n++)
		out[n] = all[n];
	free(all);
	return n;
}

struct gpu_cursor gpu_cursor_info(struct virtio_device *dev)
{
	return to_gpu(dev)->cursor;
}

struct cma_region *gpu_region(struct virtio_device *dev)
{
	return to_gpu(dev)->region;
}

int gpu_set_display(struct virtio_device *dev, unsigned int i, uint32_t width, uint32_t height)
{
	struct gpu *g = to_gpu(dev);

	if (i >= g->nr_scanouts)
		return -ENOENT;
	if (!mode_ok(width, height))
		return -EINVAL;
	g->scanout[i].width = width;
	g->scanout[i].height = height;
	g->events_read |= VIRTIO_GPU_EVENT_DISPLAY;
	virtio_config_changed(dev);
	return 0;
}

int gpu_scanout_picture(struct virtio_device *dev, unsigned int i, struct gpu_picture *out)
{
	struct gpu *g = to_gpu(dev);
	const struct gpu_resource *res;

	if (i >= g->nr_scanouts)
		return -ENOENT;
	res = g->scanout[i].resource_id ? gpu_find(g, g->scanout[i].resource_id) : NULL;
	if (!res)
		return -ENODATA;
	*out = (struct gpu_picture){
		.resource_id = res->id,
		.format = res->format,
		.stride = res->stride,
		.rect = g->scanout[i].rect,
		.pixels = res->pixels,
		.offset = res->offset,
		.bytes = res->bytes,
	};
	return 0;
}
