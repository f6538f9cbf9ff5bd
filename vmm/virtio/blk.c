// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image file or a block device: the
 * device itself, its config space, and the queue handler that turns each
 * chain into a request (blk_request.c), answers it at once or starts its
 * I/O (blk_io.c). See blk.h for how the files divide the work. Every
 * request is checked against the spec and the image's capacity before any
 * I/O is issued, so the image is never touched outside the range a
 * well-formed request names.
 */
#include "vmm/virtio/blk.h"
#include "vmm/util/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Our config space ends where the secure erase fields begin: we offer no
 * VIRTIO_BLK_F_SECURE_ERASE, and the guest sees zeroes past the end.
 */
#define BLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)
_Static_assert(BLK_CONFIG_SIZE == 60, "the config space the guest has always seen");
_Static_assert(BLK_HEADER == 16 && BLK_SEGMENT == 16, "5.2.6: 16-byte header and segment");

/* The status byte: the chain's last byte, device-writable (blk_request() made sure). */
static uint8_t *status_byte(const struct vq_chain *chain)
{
	const struct vq_buf *last = &chain->buf[chain->nr - 1];

	return (uint8_t *)last->host + last->len - 1;
}

static struct blk_req *new_request(struct virtio_device *dev, struct virtqueue *vq,
				   const struct vq_chain *chain)
{
	struct blk_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->dev = dev;
	req->vq = vq;
	req->generation = vq->generation;
	req->head = chain->head;
	req->status = status_byte(chain);
	return req;
}

/* Answer at once, without I/O: returns what virtio_process_queue() wants. */
static int64_t answer_now(struct blk *blk, struct blk_req *req, uint8_t status)
{
	uint32_t written = req->written;

	if (status == VIRTIO_BLK_S_UNSUPP)
		blk->n.unsupported++;
	else if (status != VIRTIO_BLK_S_OK)
		blk->n.errors++;
	*req->status = status;
	free(req);
	return written;
}

static int64_t blk_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct blk *blk = dev->priv;
	struct blk_req *req;
	uint8_t status;

	/* 5.2.6: a request ends in a status byte the device writes; without one no answer fits. */
	if (chain->in_len < 1)
		return vq_fail(vq,
			       "chain from head %u: a request without a device-writable status "
			       "byte (5.2.6)",
			       chain->head);
	req = new_request(dev, vq, chain);
	if (!req) {
		*status_byte(chain) = VIRTIO_BLK_S_IOERR;
		blk->n.errors++;
		return 1;
	}
	status = blk_prepare(dev, chain, req);
	if (status != VIRTIO_BLK_S_OK)
		return answer_now(blk, req, status);
	if (req->type == VIRTIO_BLK_T_GET_ID) {
		req->written = blk_get_id(blk, chain);
		return answer_now(blk, req, VIRTIO_BLK_S_OK);
	}
	if (req->nothing_to_do)
		return answer_now(blk, req, VIRTIO_BLK_S_OK);
	if (!blk_start(req)) {
		req->written = 1;
		return answer_now(blk, req, VIRTIO_BLK_S_IOERR);
	}
	return -1;
}

/* Reads an unfence left held go first: they came before anything on the ring now. */
static void blk_notify(struct virtio_device *dev, unsigned int q)
{
	struct blk *blk = dev->priv;

	if (blk->fence.first)
		blk_release_held(blk);
	virtio_process_queue(dev, &dev->vq[q], blk_request);
}

static void blk_set_fence(struct virtio_device *dev, const void *host, uint64_t len)
{
	struct blk *blk = dev->priv;

	blk_fence_set(&blk->fence, host, len);
}

/* Off the loop thread (the mover's) no SQE may be taken: a kick of queue 0, the one, does. */
static void blk_unfence(struct virtio_device *dev)
{
	struct blk *blk = dev->priv;

	blk_fence_clear(&blk->fence);
	if (ev_on_loop_thread(dev->loop))
		blk_release_held(blk);
	else if (blk->fence.first && dev->transport.kick)
		dev->transport.kick(dev, 0);
}

static void blk_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct blk *blk = dev->priv;

	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

/*
 * The driver took the queue back (QueueReady = 0 or a reset); what was
 * taken from it is stale already and answers nothing. 3.3.1: the reset
 * completes only when no request can still write guest memory, so the
 * vCPU waits for the I/O in flight; held reads write nothing yet: they are
 * dropped at once, not waited for until a move ends. On the loop thread
 * (no vCPU) nothing can be waited for: the stale I/O ends unanswered.
 */
static void blk_queue_stop(struct virtio_device *dev, unsigned int q)
{
	struct blk *blk = dev->priv;

	(void)q; /* the only queue: every request is its */
	blk_drop_held(blk);
	while (blk->inflight && !ev_on_loop_thread(dev->loop))
		pthread_cond_wait(&blk->idle, &dev->lock);
}

/* Reads still to land in [host, host + len); held ones write nothing yet. */
static unsigned int blk_inflight_into(struct virtio_device *dev, const void *host, uint64_t len)
{
	return blk_reads_into(dev->priv, host, len);
}

static void blk_destroy(struct virtio_device *dev)
{
	struct blk *blk = dev->priv;

	blk_drop_held(blk);
	close(blk->fd);
	pthread_cond_destroy(&blk->idle);
	free(blk);
}

static const struct virtio_counter_field blk_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct blk_counters, reads),
	VIRTIO_COUNTER_FIELD(struct blk_counters, writes),
	VIRTIO_COUNTER_FIELD(struct blk_counters, flushes),
	VIRTIO_COUNTER_FIELD(struct blk_counters, discards),
	VIRTIO_COUNTER_FIELD(struct blk_counters, write_zeroes),
	VIRTIO_COUNTER_FIELD(struct blk_counters, get_ids),
	VIRTIO_COUNTER_FIELD(struct blk_counters, bytes_read),
	VIRTIO_COUNTER_FIELD(struct blk_counters, bytes_written),
	VIRTIO_COUNTER_FIELD(struct blk_counters, errors),
	VIRTIO_COUNTER_FIELD(struct blk_counters, unsupported),
	VIRTIO_COUNTER_FIELD(struct blk_counters, bad_requests),
	VIRTIO_COUNTER_FIELD(struct blk_counters, writethrough_syncs),
};

static unsigned int blk_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	struct blk *blk = dev->priv;
	unsigned int n =
		virtio_fill_counters(out, &blk->n, blk_counter_fields,
				     sizeof(blk_counter_fields) / sizeof(blk_counter_fields[0]));

	out[n++] = (struct virtio_counter){ "capacity_bytes", blk->capacity * SECTOR_SIZE };
	out[n++] = (struct virtio_counter){ "readonly", blk->readonly };
	return n;
}

/* Read-only devices trade DISCARD and WRITE_ZEROES for RO in blk_create(). */
#define BLK_RW_ONLY_FEATURES (BIT_ULL(VIRTIO_BLK_F_DISCARD) | BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))

static const struct virtio_device_ops blk_ops = {
	.type = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.features = BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) |
		    BIT_ULL(VIRTIO_BLK_F_FLUSH) | BLK_RW_ONLY_FEATURES,
	.config_size = BLK_CONFIG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
	.queue_stop = blk_queue_stop,
	.destroy = blk_destroy,
	.inflight_into = blk_inflight_into,
	.fence = blk_set_fence,
	.unfence = blk_unfence,
	.counters = blk_counters,
};

static void fill_config(struct blk *blk)
{
	struct virtio_blk_config *c = &blk->config;

	c->capacity = htole64(blk->capacity);
	c->seg_max = htole32(VQ_CHAIN_MAX - 2);
	c->blk_size = htole32(SECTOR_SIZE);
	c->max_discard_sectors = htole32(BLK_MAX_SEG_SECTORS);
	c->max_discard_seg = htole32(1);
	c->discard_sector_alignment = htole32(4096 / SECTOR_SIZE);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_SEG_SECTORS);
	c->max_write_zeroes_seg = htole32(1);
	c->write_zeroes_may_unmap = 1;
}

int virtio_blk_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct blk_options *opts)
{
	struct blk *blk = calloc(1, sizeof(*blk));
	char name[32];

	if (!blk)
		return -1;
	blk->readonly = opts->readonly;
	if (blk_image_open(blk, opts)) {
		free(blk);
		return -1;
	}
	pthread_cond_init(&blk->idle, NULL);
	snprintf(blk->serial, sizeof(blk->serial), "cmavm-blk%u", opts->index);
	fill_config(blk);
	snprintf(name, sizeof(name), "virtio-blk%u", opts->index);
	virtio_init(dev, &blk_ops, name, env->ram, env->loop, env->access_platform);
	if (opts->readonly) {
		dev->features_offered &= ~BLK_RW_ONLY_FEATURES;
		dev->features_offered |= BIT_ULL(VIRTIO_BLK_F_RO);
	}
	dev->priv = blk;
	return 0;
}
