/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the virtio-gpu files (gpu.c, gpu_cmd.c, gpu_resource.c):
 * the device's state and how its files hand it to each other.
 *
 * gpu.c is the device as the virtio core sees it (config, queues, reset)
 * and the knobs of devices.h; gpu_cmd.c decodes the guest's commands and
 * answers them (virtio 1.2, 5.7.6); gpu_resource.c owns the resources:
 * their host storage in the GPU memory region, the guest's backing
 * entries, and the copies between them.
 *
 * Everything here runs with the device lock held: on the loop thread for
 * the queues, on the loop thread too for the control API.
 */
#ifndef VMM_VIRTIO_GPU_H
#define VMM_VIRTIO_GPU_H

#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/devices.h"

struct cma_region;

#define GPU_MAX_RESOURCES 1024	/* more: VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY */
#define GPU_MAX_ENTRIES	  16384 /* backing entries of one resource */
/* ...and of all of them: what the host's heap holds for the guest's lists */
#define GPU_MAX_ENTRIES_TOTAL (256 * 1024)
#define GPU_BPP		      4 /* every 2D format is 32 bits a pixel */
#define GPU_OOM_LOG_LINES     8 /* then the oom counter says the rest */

/*
 * One run of guest memory behind a resource, in the order the guest gave;
 * entries it gave back to back in guest-physical memory are one run.
 */
struct gpu_entry {
	uint64_t gpa;
	uint64_t len;
	uint64_t start; /* bytes of backing before this run */
};

struct gpu_resource {
	uint32_t id;
	uint32_t format; /* enum virtio_gpu_formats */
	uint32_t width, height, stride;
	uint64_t bytes;	 /* stride * height */
	uint64_t offset; /* of the storage in the region */
	uint8_t *pixels; /* the region's base + offset */
	struct gpu_entry *entries;
	unsigned int nr_entries;    /* runs in @entries */
	unsigned int guest_entries; /* as the guest gave them */
	uint64_t backing_len;	    /* sum of the entries' lengths */
};

struct gpu_scanout {
	bool enabled;
	uint32_t width, height;
	uint32_t resource_id; /* 0: shows nothing */
	struct gpu_rect rect;
	uint64_t flushes;
};

struct gpu_counters {
	uint64_t commands, cursor_commands, errors, transfers, transfer_bytes, transfer_ns, flushes;
	uint64_t resources_created, resources_freed, oom;
};

struct gpu {
	struct virtio_device *dev;
	struct cma_region *region;
	unsigned int nr_scanouts;
	struct gpu_scanout scanout[VIRTIO_GPU_MAX_SCANOUTS];
	struct gpu_resource *res[GPU_MAX_RESOURCES]; /* the first nr_res are in use */
	unsigned int nr_res;
	unsigned int nr_entries; /* backing entries the guest gave, every resource's */
	struct gpu_cursor cursor;
	uint32_t events_read; /* VIRTIO_GPU_EVENT_DISPLAY pending */
	struct gpu_counters n;
};

static inline struct gpu *to_gpu(struct virtio_device *dev)
{
	return dev->priv;
}

/* gpu_cmd.c: answer one chain of the control queue, or take one cursor command. */
int64_t gpu_control_request(struct virtio_device *dev, struct virtqueue *vq,
			    struct vq_chain *chain);
int64_t gpu_cursor_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain);

/*
 * gpu_resource.c. Each returns VIRTIO_GPU_RESP_OK_NODATA or the error the
 * guest gets; @res arguments come from gpu_find().
 */
struct gpu_resource *gpu_find(struct gpu *g, uint32_t id);
uint32_t gpu_create(struct gpu *g, uint32_t id, uint32_t format, uint32_t width, uint32_t height);
void gpu_unref(struct gpu *g, struct gpu_resource *res);
void gpu_unref_all(struct gpu *g);
/* @entries: nr le virtio_gpu_mem_entry, read from the guest's request. */
uint32_t gpu_attach(struct gpu *g, struct gpu_resource *res,
		    const struct virtio_gpu_mem_entry *entries, uint32_t nr);
void gpu_detach(struct gpu *g, struct gpu_resource *res);
/* Is @r inside @res (no overflow)? */
bool gpu_rect_inside(const struct gpu_resource *res, const struct gpu_rect *r);
uint32_t gpu_transfer(struct gpu *g, struct gpu_resource *res, const struct gpu_rect *r,
		      uint64_t offset);

#endif
