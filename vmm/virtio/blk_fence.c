// SPDX-License-Identifier: GPL-2.0-only
/* The virtio-blk fence and the reads it holds back: see blk_fence.h. */
#include "vmm/virtio/blk_fence.h"

#include <stddef.h>

bool iovecs_overlap(const struct iovec *iov, unsigned int nr, const void *host, uint64_t len)
{
	const uint8_t *start = host;

	for (unsigned int i = 0; i < nr; i++) {
		const uint8_t *base = iov[i].iov_base;

		if (base < start + len && start < base + iov[i].iov_len)
			return true;
	}
	return false;
}

void blk_fence_set(struct blk_fence *f, const void *host, uint64_t len)
{
	f->host = host;
	f->len = len;
}

void blk_fence_clear(struct blk_fence *f)
{
	f->host = NULL;
	f->len = 0;
}

bool blk_fence_blocks(const struct blk_fence *f, const struct iovec *iov, unsigned int nr)
{
	return f->host && iovecs_overlap(iov, nr, f->host, f->len);
}

void blk_fence_hold(struct blk_fence *f, struct blk_held *h)
{
	h->next = NULL;
	if (f->last)
		f->last->next = h;
	else
		f->first = h;
	f->last = h;
}

void blk_fence_drain(struct blk_fence *f, void (*fn)(struct blk_held *h, void *arg), void *arg)
{
	struct blk_held *h = f->first, *next;

	f->first = f->last = NULL;
	for (; h; h = next) {
		next = h->next;
		fn(h, arg);
	}
}
