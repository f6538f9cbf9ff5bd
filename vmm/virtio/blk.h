/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to virtio-blk (virtio 1.2, 5.2): the device's state, one
 * request's, and the calls between the files that make up the device:
 *
 *   blk.c          the device: its ops, config space, the queue handler
 *                  and the constructor
 *   blk_request.c  a descriptor chain read into a request and checked
 *                  against the spec and the image before any I/O: the
 *                  status a malformed, unsupported or out-of-range request
 *                  gets instead
 *   blk_io.c       a request's I/O through the event loop's io_uring:
 *                  submission, resumption, completion, the reads the fence
 *                  (blk_fence.h) holds back
 *   blk_image.c    the backing file: what may be one, opening it without
 *                  blocking, its size and its lock
 *
 * The ABI is <linux/virtio_blk.h>'s: features VIRTIO_BLK_F_*, request
 * types VIRTIO_BLK_T_* and status VIRTIO_BLK_S_* (5.2.6), the request
 * header struct virtio_blk_outhdr, the discard / write zeroes segment
 * struct virtio_blk_discard_write_zeroes and struct virtio_blk_config
 * (5.2.4). Every call is made under the device lock.
 */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <linux/virtio_blk.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/hw/event_loop.h"
#include "vmm/virtio/blk_fence.h"
#include "vmm/virtio/devices.h"

/* The header has no name for the sector size. */
#define SECTOR_SIZE	    512
#define BLK_HEADER	    sizeof(struct virtio_blk_outhdr)
#define BLK_SEGMENT	    sizeof(struct virtio_blk_discard_write_zeroes)
#define BLK_MAX_SEG_SECTORS (1u << 22) /* 2 GiB per discard / write-zeroes */

struct blk_counters {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t bytes_read, bytes_written, errors, unsupported;
	uint64_t bad_requests;	     /* driver errors: a layout refused, a flush not of sector 0 */
	uint64_t writethrough_syncs; /* fdatasync after a write, FLUSH not negotiated */
};

struct blk {
	int fd;
	bool readonly;
	uint64_t capacity; /* in sectors */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	struct virtio_blk_config config; /* little-endian, as the guest reads it */
	unsigned int inflight;		 /* held reads included */
	struct blk_req *reading;	 /* in-flight reads: what writes guest memory */
	pthread_cond_t idle;		 /* inflight reached 0; waited on under the device lock */
	struct blk_fence fence;
	struct blk_counters n;
};

struct blk_req {
	struct ev_op op;
	struct blk_req *prev, *next; /* on blk->reading while a read is in flight */
	struct blk_held held;	     /* on blk->fence while a read waits */
	struct virtio_device *dev;
	struct virtqueue *vq;
	unsigned int generation; /* @vq's when taken: another means the driver took it back */
	uint16_t head;
	uint32_t type;
	uint8_t *status;    /* the chain's last byte, device-writable */
	uint32_t written;   /* bytes the device writes, status included */
	uint64_t offset;    /* image offset of the next byte */
	uint64_t remaining; /* bytes still to transfer */
	int falloc_mode;    /* discard and write zeroes */
	bool zero_fill;	    /* write zeroes by writing them: no ZERO_RANGE here */
	bool sync_after;    /* written through: an fdatasync follows before the answer */
	bool syncing;	    /* that fdatasync is the I/O under way */
	bool nothing_to_do; /* answered OK without I/O */
	unsigned int nr_iov;
	struct iovec *iov; /* the part still to transfer */
	struct iovec iov_storage[VQ_CHAIN_MAX];
};

/* ---- blk_request.c ---- */

/*
 * Read @chain's header and check the request as 5.2.6 lays it out:
 * VIRTIO_BLK_S_OK with @req ready for blk_start() (unless it has
 * nothing_to_do: answered OK at once), or the status to answer with at
 * once (@req->written then counts the status byte). The chain must have
 * its device-writable status byte; nothing is read from or written to the
 * image here.
 */
uint8_t blk_prepare(struct virtio_device *dev, const struct vq_chain *chain, struct blk_req *req);

/* Answer GET_ID (5.2.6): the serial into the 20 device-writable data bytes. */
uint32_t blk_get_id(struct blk *blk, const struct vq_chain *chain);

/* ---- blk_io.c ---- */

/* Submit @req's I/O, or hold it behind the fence; false: no SQE, answer it now. */
bool blk_start(struct blk_req *req);
/* Start the held reads the fence no longer covers (loop thread). */
void blk_release_held(struct blk *blk);
/* Drop the held reads, which have written nothing, without a word to the ring. */
void blk_drop_held(struct blk *blk);
/* Reads still in flight that may write [host, host + len) of guest RAM. */
unsigned int blk_reads_into(const struct blk *blk, const void *host, uint64_t len);

/* ---- blk_image.c ---- */

/*
 * Open @opts->path (a regular file or a block device, refused at once if it
 * is anything else, never waited on), lock it and learn its capacity:
 * fills @blk->fd and @blk->capacity. -1 with a message naming the problem
 * and the fix, and @blk->fd -1.
 */
int blk_image_open(struct blk *blk, const struct blk_options *opts);

#endif
