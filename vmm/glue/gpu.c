// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GPU between its parts: the GPU memory region (cma/region.h) made
 * before the guest starts, the virtio-gpu device placing resources in it,
 * and the control API's view of both: resources with their host-physical
 * contiguity, screenshots (PNG, vmm/util/png.h) and a scanout handed out
 * as a dma-buf.
 *
 * The API's callbacks run on the loop thread, in its sandbox: nothing here
 * opens a file once the guest runs (the region opened /dev/udmabuf and
 * pagemap when it was made).
 */
#include "vmm/glue/glue.h"
#include "cma/region.h"
#include "cma/size.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/util/png.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The API checks a display's size before the device does: by the same numbers. */
_Static_assert(CTL_GPU_SIDE_MIN == GPU_MIN_DIM && CTL_GPU_SIDE_MAX == GPU_MAX_DIM,
	       "the API's display sizes are the device's");

int vmm_gpu_region_create(struct vmm *m)
{
	const struct gpu_config *gpu = &m->cfg->gpu;
	char err[512];

	if (!gpu->enabled)
		return 0;
	m->gpu_region = cma_region_create("cmavm-gpu", gpu->backing, gpu->mem, err, sizeof(err));
	if (!m->gpu_region) {
		pr_err("%s: the GPU memory region was not made, so the guest does not start: %s",
		       gpu->flag, err);
		return -1;
	}
	return 0;
}

void vmm_gpu_region_destroy(struct vmm *m)
{
	cma_region_destroy(m->gpu_region);
	m->gpu_region = NULL;
}

static void describe_resource(struct vmm *m, const struct gpu_resource_info *in,
			      struct ctl_gpu_resource *out)
{
	struct cma_region_contiguity c;

	cma_region_measure(m->gpu_region, in->offset, in->bytes, &c);
	*out = (struct ctl_gpu_resource){
		.id = in->id,
		.width = in->width,
		.height = in->height,
		.format = gpu_format_name(in->format),
		.stride = in->stride,
		.bytes = in->bytes,
		.offset = in->offset,
		.backed = in->backed,
		.backing_entries = in->nr_entries,
		.largest_run = c.verified ? c.largest_run : 0,
		.runs = c.verified ? (unsigned int)c.runs : 0,
		.contiguous = c.verified && c.runs == 1,
		.host_phys = c.host_phys,
		.scanouts = in->scanouts,
	};
}

static void describe_scanouts(struct virtio_device *dev, struct ctl_gpu *out)
{
	out->nr_scanouts = gpu_nr_scanouts(dev);
	for (unsigned int i = 0; i < out->nr_scanouts && i < CTL_GPU_SCANOUTS_MAX; i++) {
		struct gpu_scanout_info s;

		gpu_scanout_info(dev, i, &s);
		out->scanouts[i] = (struct ctl_gpu_scanout){
			.id = i,
			.enabled = s.enabled,
			.width = s.width,
			.height = s.height,
			.resource_id = s.resource_id,
			.rect = { s.rect.x, s.rect.y, s.rect.width, s.rect.height },
			.flushes = s.flushes,
		};
	}
}

static int ctl_gpu_get(void *opaque, struct ctl_gpu *out)
{
	struct vmm *m = opaque;
	struct gpu_resource_info res[CTL_GPU_RESOURCES_MAX];
	struct virtio_device *dev = m->gpu;
	struct gpu_cursor cursor;

	if (!dev)
		return -ENODEV;
	*out = (struct ctl_gpu){
		.name = dev->name,
		.backing = cma_region_backing_name(cma_region_backing(m->gpu_region)),
		.region_bytes = cma_region_size(m->gpu_region),
		.page_size = cma_region_page_size(m->gpu_region),
		.export_why = cma_region_export_why(m->gpu_region),
	};
	pthread_mutex_lock(&dev->lock);
	out->used_bytes = cma_region_used(m->gpu_region);
	describe_scanouts(dev, out);
	out->nr_resources =
		gpu_resources(dev, res, CTL_GPU_RESOURCES_MAX, &out->nr_resources_total);
	cursor = gpu_cursor_info(dev);
	pthread_mutex_unlock(&dev->lock);
	for (unsigned int i = 0; i < out->nr_resources; i++)
		describe_resource(m, &res[i], &out->resources[i]);
	out->cursor.resource_id = cursor.resource_id;
	out->cursor.scanout = cursor.scanout;
	out->cursor.x = cursor.x;
	out->cursor.y = cursor.y;
	out->cursor.hot_x = cursor.hot_x;
	out->cursor.hot_y = cursor.hot_y;
	return 0;
}

static void no_scanout(struct vmm *m, unsigned int i, char *err, size_t errlen)
{
	snprintf(err, errlen, "the GPU has no scanout %u; it has %u (0 to %u)", i,
		 gpu_nr_scanouts(m->gpu), gpu_nr_scanouts(m->gpu) - 1);
}

static int ctl_gpu_set_display(void *opaque, unsigned int scanout, uint32_t width, uint32_t height,
			       char *err, size_t errlen)
{
	struct vmm *m = opaque;
	int ret;

	if (!m->gpu)
		return -ENODEV;
	pthread_mutex_lock(&m->gpu->lock);
	ret = gpu_set_display(m->gpu, scanout, width, height);
	pthread_mutex_unlock(&m->gpu->lock);
	if (ret == -ENOENT)
		no_scanout(m, scanout, err, errlen);
	else if (ret == -EINVAL)
		snprintf(err, errlen,
			 "%ux%u is not a display mode the GPU offers; give a width "
			 "and height from %d to %d",
			 width, height, GPU_MIN_DIM, GPU_MAX_DIM);
	return ret;
}

/* Where the part shown starts, from the resource's first pixel. */
static uint64_t first_shown(const struct gpu_picture *p)
{
	return (uint64_t)p->rect.y * p->stride + (uint64_t)p->rect.x * 4;
}

/* What scanout @i shows, with the device lock held; the errors the API wants. */
static int picture(struct vmm *m, unsigned int i, struct gpu_picture *p, char *err, size_t errlen)
{
	int ret = gpu_scanout_picture(m->gpu, i, p);

	if (ret == -ENOENT)
		no_scanout(m, i, err, errlen);
	else if (ret == -ENODATA)
		snprintf(err, errlen,
			 "scanout %u shows nothing yet: the guest has not set it "
			 "up (is its virtio_gpu driver loaded?); try again once it has",
			 i);
	return ret;
}

static int ctl_gpu_screenshot(void *opaque, unsigned int scanout, uint8_t **png, size_t *len,
			      char *err, size_t errlen)
{
	struct vmm *m = opaque;
	struct gpu_picture p;
	struct png_pixels px;
	int ret;

	if (!m->gpu)
		return -ENODEV;
	pthread_mutex_lock(&m->gpu->lock);
	ret = picture(m, scanout, &p, err, errlen);
	if (!ret) {
		px = (struct png_pixels){
			.data = p.pixels + first_shown(&p),
			.width = p.rect.width,
			.height = p.rect.height,
			.stride = p.stride,
		};
		gpu_format_channels(p.format, &px.r, &px.g, &px.b);
		ret = png_encode(&px, png, len) ? -ENOMEM : 0;
	}
	pthread_mutex_unlock(&m->gpu->lock);
	return ret;
}

static int ctl_gpu_export(void *opaque, unsigned int scanout, struct ctl_gpu_export *out, char *err,
			  size_t errlen)
{
	struct vmm *m = opaque;
	struct cma_region_contiguity c;
	struct gpu_picture p;
	uint64_t size;
	int ret;

	if (!m->gpu)
		return -ENODEV;
	pthread_mutex_lock(&m->gpu->lock);
	ret = picture(m, scanout, &p, err, errlen);
	pthread_mutex_unlock(&m->gpu->lock);
	if (ret)
		return ret;
	if (*cma_region_export_why(m->gpu_region)) {
		snprintf(err, errlen, "%s", cma_region_export_why(m->gpu_region));
		return -EOPNOTSUPP;
	}
	size = align_up(p.bytes, SZ_4K);
	cma_region_measure(m->gpu_region, p.offset, p.bytes, &c);
	*out = (struct ctl_gpu_export){
		.fd = cma_region_export(m->gpu_region, p.offset, size, err, errlen),
		.resource_id = p.resource_id,
		.width = p.rect.width,
		.height = p.rect.height,
		.stride = p.stride,
		.format = gpu_format_name(p.format),
		.fourcc = gpu_format_fourcc(p.format),
		.offset = first_shown(&p),
		.size = size,
		.host_phys = c.host_phys,
		.contiguous = c.verified && c.runs == 1,
	};
	return out->fd < 0 ? -EIO : 0;
}

void vmm_gpu_ctl_ops(struct ctl_ops *ops)
{
	ops->gpu_get = ctl_gpu_get;
	ops->gpu_set_display = ctl_gpu_set_display;
	ops->gpu_screenshot = ctl_gpu_screenshot;
	ops->gpu_export = ctl_gpu_export;
}
