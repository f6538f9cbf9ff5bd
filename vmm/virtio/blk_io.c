// SPDX-License-Identifier: GPL-2.0-only
/*
 * A virtio-blk request's I/O (see blk.h): one SQE at a time on the event
 * loop's io_uring, resumed after a short transfer, followed by an
 * fdatasync when the driver did not negotiate FLUSH, and answered in the
 * used ring when done. Reads into guest RAM the CMA engine is moving wait
 * behind the fence (blk_fence.h) and start when it comes down.
 */
#include "vmm/virtio/blk.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Reads write guest memory while in flight; a move of that memory must know. */
static void link_read(struct blk *blk, struct blk_req *req)
{
	if (req->type != VIRTIO_BLK_T_IN)
		return;
	req->next = blk->reading;
	if (blk->reading)
		blk->reading->prev = req;
	blk->reading = req;
}

static void unlink_read(struct blk *blk, struct blk_req *req)
{
	if (req->type != VIRTIO_BLK_T_IN)
		return;
	if (req->prev)
		req->prev->next = req->next;
	else
		blk->reading = req->next;
	if (req->next)
		req->next->prev = req->prev;
}

/* The request is no longer in flight: a queue stop may go on once none is. */
static void put_request(struct blk *blk, struct blk_req *req)
{
	if (!--blk->inflight)
		pthread_cond_broadcast(&blk->idle);
	free(req);
}

static void retire(struct blk *blk, struct blk_req *req)
{
	unlink_read(blk, req);
	put_request(blk, req);
}

/*
 * The driver took the queue back (QueueReady = 0 or a reset) since the
 * request was taken: it must neither answer into rings that may be new
 * nor start more I/O; its buffers are the driver's again.
 */
static bool stale(const struct blk_req *req)
{
	return req->generation != req->vq->generation;
}

static void finish(struct blk_req *req, uint8_t status)
{
	struct virtio_device *dev = req->dev;
	struct blk *blk = dev->priv;

	if (status != VIRTIO_BLK_S_OK)
		blk->n.errors++;
	*req->status = status;
	vq_push(req->vq, req->head, req->written);
	virtio_queue_done(dev, req->vq);
	retire(blk, req);
}

static void advance(struct blk_req *req, uint64_t done)
{
	req->offset += done;
	req->remaining -= done;
	if (req->zero_fill)
		return; /* submit() builds fresh iovecs of zeroes */
	while (done) {
		uint64_t take = done < req->iov->iov_len ? done : req->iov->iov_len;

		req->iov->iov_base = (uint8_t *)req->iov->iov_base + take;
		req->iov->iov_len -= take;
		done -= take;
		if (!req->iov->iov_len) {
			req->iov++;
			req->nr_iov--;
		}
	}
}

#define ZERO_CHUNK (64 * 1024)

/* Iovecs of zeroes covering as much of what remains as fits. */
static unsigned int zero_iovecs(struct blk_req *req)
{
	static const uint8_t zeroes[ZERO_CHUNK];
	uint64_t left = req->remaining;
	unsigned int n = 0;

	while (left && n < VQ_CHAIN_MAX) {
		uint64_t len = left < ZERO_CHUNK ? left : ZERO_CHUNK;

		req->iov_storage[n].iov_base = (void *)zeroes;
		req->iov_storage[n].iov_len = len;
		left -= len;
		n++;
	}
	return n;
}

/*
 * Some filesystems (tmpfs) cannot FALLOC_FL_ZERO_RANGE; write the zeroes
 * instead, rather than fail a request the guest has no fallback for.
 */
static bool fall_back_to_zero_fill(struct blk_req *req, int res)
{
	if (req->type != VIRTIO_BLK_T_WRITE_ZEROES || res != -EOPNOTSUPP || req->zero_fill ||
	    !(req->falloc_mode & FALLOC_FL_ZERO_RANGE))
		return false;
	req->zero_fill = true;
	return true;
}

static void prep_request(struct io_uring_sqe *sqe, struct blk_req *req, int fd)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, fd, req->iov, req->nr_iov, req->offset);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, fd, req->iov, req->nr_iov, req->offset);
		break;
	case VIRTIO_BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, fd, 0);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, req->falloc_mode, req->offset, req->remaining);
		break;
	}
}

static void io_done(struct ev_op *op, int res, unsigned int flags);

static int submit(struct blk_req *req)
{
	struct blk *blk = req->dev->priv;
	struct io_uring_sqe *sqe = ev_sqe(req->dev->loop, &req->op);

	if (!sqe)
		return -1;
	req->op.done = io_done;
	if (req->syncing)
		io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
	else if (req->zero_fill)
		io_uring_prep_writev(sqe, blk->fd, req->iov_storage, zero_iovecs(req), req->offset);
	else
		prep_request(sqe, req, blk->fd);
	return 0;
}

static void resubmit(struct blk_req *req)
{
	if (submit(req))
		finish(req, VIRTIO_BLK_S_IOERR);
}

/* Does this request move data, so that a short result means "go on"? */
static bool transfers(const struct blk_req *req)
{
	return !req->syncing &&
	       (req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT || req->zero_fill);
}

/* The I/O under way ended with @res: the request goes on with more, or is answered. */
static void next_step(struct blk_req *req, int res)
{
	struct virtio_device *dev = req->dev;

	if (res < 0 && fall_back_to_zero_fill(req, res)) {
		resubmit(req);
	} else if (res < 0) {
		pr_warn("%s: %s at offset %llu failed: %s", dev->name,
			req->type == VIRTIO_BLK_T_IN ? "read" : "I/O",
			(unsigned long long)req->offset, strerror(-res));
		finish(req, VIRTIO_BLK_S_IOERR);
	} else if (transfers(req) && (uint64_t)res < req->remaining) {
		/* A short transfer: go on from where it stopped, unless nothing moved. */
		if (!res) {
			finish(req, VIRTIO_BLK_S_IOERR);
		} else {
			advance(req, (uint64_t)res);
			resubmit(req);
		}
	} else if (req->sync_after) {
		/* Written through: an fdatasync on the ring next, never a blocking call here. */
		req->sync_after = false;
		req->syncing = true;
		((struct blk *)dev->priv)->n.writethrough_syncs++;
		resubmit(req);
	} else {
		finish(req, VIRTIO_BLK_S_OK);
	}
}

static void io_done(struct ev_op *op, int res, unsigned int flags)
{
	struct blk_req *req = (struct blk_req *)op;
	struct virtio_device *dev = req->dev;

	(void)flags;
	pthread_mutex_lock(&dev->lock);
	if (stale(req))
		retire(dev->priv, req);
	else
		next_step(req, res);
	pthread_mutex_unlock(&dev->lock);
}

/* Would this request write the range the fence keeps I/O out of? */
static bool fenced_out(struct blk *blk, const struct blk_req *req)
{
	return req->type == VIRTIO_BLK_T_IN && blk_fence_blocks(&blk->fence, req->iov, req->nr_iov);
}

bool blk_start(struct blk_req *req)
{
	struct blk *blk = req->dev->priv;

	if (fenced_out(blk, req)) {
		blk_fence_hold(&blk->fence, &req->held);
		blk->inflight++;
		return true;
	}
	if (submit(req))
		return false;
	blk->inflight++;
	link_read(blk, req);
	return true;
}

static struct blk_req *held_req(struct blk_held *h)
{
	return (struct blk_req *)((char *)h - offsetof(struct blk_req, held));
}

/* Start a read the fence held back, as blk_start() would have (loop thread). */
static void start_held(struct blk *blk, struct blk_req *req)
{
	/* Unreachable while a queue stop drops what is held; it writes nothing if it is. */
	if (stale(req)) {
		put_request(blk, req);
		return;
	}
	link_read(blk, req);
	if (submit(req)) {
		req->written = 1; /* the answer to a failed submit */
		finish(req, VIRTIO_BLK_S_IOERR);
	}
}

/* Start a held read the fence no longer covers, or hold it again (loop thread). */
static void release_one(struct blk_held *h, void *arg)
{
	struct blk *blk = arg;

	if (fenced_out(blk, held_req(h)))
		blk_fence_hold(&blk->fence, h);
	else
		start_held(blk, held_req(h));
}

void blk_release_held(struct blk *blk)
{
	blk_fence_drain(&blk->fence, release_one, blk);
}

/* Held reads have written nothing: they go without a word to the ring. */
static void drop_one(struct blk_held *h, void *arg)
{
	put_request(arg, held_req(h));
}

void blk_drop_held(struct blk *blk)
{
	blk_fence_drain(&blk->fence, drop_one, blk);
}

unsigned int blk_reads_into(const struct blk *blk, const void *host, uint64_t len)
{
	unsigned int n = 0;

	for (const struct blk_req *req = blk->reading; req; req = req->next)
		n += iovecs_overlap(req->iov, req->nr_iov, host, len);
	return n;
}
