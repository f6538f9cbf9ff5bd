/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to virtio-blk (blk.c): the fence, a range of guest RAM that the
 * CMA engine's mover is moving and that reads must not write meanwhile,
 * and the reads it holds back until the fence comes down, oldest first.
 *
 * Owns: the range, the overlap test of a request's iovecs against it, and
 * the queue of held requests. Not the requests themselves: blk.c embeds a
 * struct blk_held in each, and starts, drops and frees them. Every call is
 * made under the device lock.
 */
#ifndef VMM_VIRTIO_BLK_FENCE_H
#define VMM_VIRTIO_BLK_FENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_held {
	struct blk_held *next;
};

struct blk_fence {
	const uint8_t *host; /* NULL: no fence */
	uint64_t len;
	struct blk_held *first, *last;
};

/* Does any of @iov[0..@nr) overlap [host, host + len)? */
bool iovecs_overlap(const struct iovec *iov, unsigned int nr, const void *host, uint64_t len);

void blk_fence_set(struct blk_fence *f, const void *host, uint64_t len);
void blk_fence_clear(struct blk_fence *f);
/* Would I/O into @iov[0..@nr) write the fenced range? */
bool blk_fence_blocks(const struct blk_fence *f, const struct iovec *iov, unsigned int nr);

/* Queue @h behind the requests already held. */
void blk_fence_hold(struct blk_fence *f, struct blk_held *h);
/*
 * Empty the queue, then hand what it held to @fn, oldest first; @fn may
 * hold a request again, behind those it held again before.
 */
void blk_fence_drain(struct blk_fence *f, void (*fn)(struct blk_held *h, void *arg), void *arg);

#endif
