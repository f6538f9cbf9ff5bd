// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image file, its I/O submitted
 * through the event loop's io_uring. Every request is bounds-checked
 * against the image's capacity before any I/O is issued, so the image is
 * never touched outside the range a request names. Reads into guest RAM
 * that the CMA engine is moving wait behind a fence (blk_fence.h).
 */
#include "vmm/virtio/devices.h"
#include "vmm/hw/event_loop.h"
#include "vmm/util/log.h"
#include "vmm/virtio/blk_fence.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * The ABI is <linux/virtio_blk.h>'s: features VIRTIO_BLK_F_*, request
 * types VIRTIO_BLK_T_* and status VIRTIO_BLK_S_* (5.2.6), the request
 * header struct virtio_blk_outhdr, the discard / write zeroes segment
 * struct virtio_blk_discard_write_zeroes and struct virtio_blk_config
 * (5.2.4). The header has no name for the sector size.
 */
#define SECTOR_SIZE	    512
#define BLK_HEADER	    sizeof(struct virtio_blk_outhdr)
#define BLK_SEGMENT	    sizeof(struct virtio_blk_discard_write_zeroes)
#define BLK_MAX_SEG_SECTORS (1u << 22) /* 2 GiB per discard / write-zeroes */

/*
 * Our config space ends where the secure erase fields begin: we offer no
 * VIRTIO_BLK_F_SECURE_ERASE, and the guest sees zeroes past the end.
 */
#define BLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)
_Static_assert(BLK_CONFIG_SIZE == 60, "the config space the guest has always seen");
_Static_assert(BLK_HEADER == 16 && BLK_SEGMENT == 16, "5.2.6: 16-byte header and segment");

struct blk_counters {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t bytes_read, bytes_written, errors, unsupported;
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
	unsigned int generation;
	uint16_t head;
	uint32_t type;
	uint8_t *status;
	uint32_t written;   /* bytes the device writes, status included */
	uint64_t offset;    /* image offset of the next byte */
	uint64_t remaining; /* bytes still to transfer */
	int falloc_mode;    /* discard and write zeroes */
	bool zero_fill;	    /* write zeroes by writing them: no ZERO_RANGE here */
	unsigned int nr_iov;
	struct iovec *iov; /* the part still to transfer */
	struct iovec iov_storage[VQ_CHAIN_MAX];
};

/* Split [off, off + len) of the readable (or writable) part into iovecs. */
static unsigned int chain_iovecs(const struct vq_chain *chain, bool writable, uint64_t off,
				 uint64_t len, struct iovec *iov)
{
	unsigned int first = writable ? chain->nr_out : 0;
	unsigned int last = writable ? chain->nr : chain->nr_out;
	unsigned int n = 0;

	for (unsigned int i = first; i < last && len; i++) {
		const struct vq_buf *b = &chain->buf[i];
		uint64_t take;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		take = b->len - off < len ? b->len - off : len;
		iov[n].iov_base = (uint8_t *)b->host + off;
		iov[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* Does [sector, sector + bytes / 512) lie inside the image? */
static bool in_range(const struct blk *blk, uint64_t sector, uint64_t bytes)
{
	return sector <= blk->capacity && bytes / SECTOR_SIZE <= blk->capacity - sector &&
	       bytes % SECTOR_SIZE == 0;
}

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

/* The request is no longer in flight: reset may go on once none is. */
static void put_request(struct blk *blk, struct blk_req *req)
{
	if (!--blk->inflight)
		pthread_cond_broadcast(&blk->idle);
	free(req);
}

static void finish(struct blk_req *req, uint8_t status)
{
	struct virtio_device *dev = req->dev;
	struct blk *blk = dev->priv;

	if (status != VIRTIO_BLK_S_OK)
		blk->n.errors++;
	if (req->generation == dev->generation) {
		*req->status = status;
		vq_push(req->vq, req->head, req->written);
		virtio_queue_done(dev, req->vq);
	}
	unlink_read(blk, req);
	put_request(blk, req);
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

static int submit(struct blk_req *req);

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

static void io_done(struct ev_op *op, int res, unsigned int flags)
{
	struct blk_req *req = (struct blk_req *)op;
	struct virtio_device *dev = req->dev;
	bool transfer = req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT;
	bool stale;

	(void)flags;
	pthread_mutex_lock(&dev->lock);
	stale = req->generation != dev->generation;
	if (res < 0 && !stale && fall_back_to_zero_fill(req, res)) {
		if (submit(req))
			finish(req, VIRTIO_BLK_S_IOERR);
	} else if (res < 0) {
		pr_warn("%s: %s at offset %llu failed: %s", dev->name,
			req->type == VIRTIO_BLK_T_IN ? "read" : "I/O",
			(unsigned long long)req->offset, strerror(-res));
		finish(req, VIRTIO_BLK_S_IOERR);
	} else if ((transfer || req->zero_fill) && (uint64_t)res < req->remaining) {
		/* A short transfer: go on from where it stopped, unless nothing moved. */
		if (!res || stale) {
			finish(req, VIRTIO_BLK_S_IOERR);
		} else {
			advance(req, (uint64_t)res);
			if (submit(req))
				finish(req, VIRTIO_BLK_S_IOERR);
		}
	} else {
		finish(req, VIRTIO_BLK_S_OK);
	}
	pthread_mutex_unlock(&dev->lock);
}

static int submit(struct blk_req *req)
{
	struct blk *blk = req->dev->priv;
	struct io_uring_sqe *sqe = ev_sqe(req->dev->loop, &req->op);

	if (!sqe)
		return -1;
	req->op.done = io_done;
	if (req->zero_fill) {
		io_uring_prep_writev(sqe, blk->fd, req->iov_storage, zero_iovecs(req), req->offset);
		return 0;
	}
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, blk->fd, req->iov, req->nr_iov, req->offset);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, blk->fd, req->iov, req->nr_iov, req->offset);
		break;
	case VIRTIO_BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, blk->fd, 0);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, blk->fd, req->falloc_mode, req->offset,
					req->remaining);
		break;
	}
	return 0;
}

/* Read/write: the data is the readable part after the header, or the writable part before the
 * status. */
static uint8_t prepare_transfer(struct blk *blk, struct blk_req *req, const struct vq_chain *chain,
				uint64_t sector)
{
	bool is_read = req->type == VIRTIO_BLK_T_IN;
	uint64_t len = is_read ? chain->in_len - 1 : chain->out_len - BLK_HEADER;

	if (!is_read && blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!in_range(blk, sector, len))
		return VIRTIO_BLK_S_IOERR;
	req->offset = sector * SECTOR_SIZE;
	req->remaining = len;
	req->nr_iov = chain_iovecs(chain, is_read, is_read ? 0 : BLK_HEADER, len, req->iov_storage);
	req->iov = req->iov_storage;
	req->written = is_read ? (uint32_t)len + 1 : 1;
	if (is_read) {
		blk->n.reads++;
		blk->n.bytes_read += len;
	} else {
		blk->n.writes++;
		blk->n.bytes_written += len;
	}
	return VIRTIO_BLK_S_OK;
}

/* Discard and write zeroes: one segment (we offer max_*_seg = 1). */
static uint8_t prepare_segment(struct blk *blk, struct blk_req *req, const struct vq_chain *chain)
{
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t sector, bytes;
	uint32_t flags;

	if (blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (chain->out_len != BLK_HEADER + BLK_SEGMENT ||
	    vq_chain_read(chain, BLK_HEADER, &seg, BLK_SEGMENT) != BLK_SEGMENT)
		return VIRTIO_BLK_S_UNSUPP;
	sector = le64toh(seg.sector);
	bytes = (uint64_t)le32toh(seg.num_sectors) * SECTOR_SIZE;
	flags = le32toh(seg.flags);
	if (!bytes || bytes > (uint64_t)BLK_MAX_SEG_SECTORS * SECTOR_SIZE ||
	    !in_range(blk, sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	if (req->type == VIRTIO_BLK_T_DISCARD) {
		if (flags)
			return VIRTIO_BLK_S_UNSUPP; /* 5.2.6.2: no flags for discard */
		req->falloc_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		blk->n.discards++;
	} else {
		/* Unmap may punch a hole: it reads back as zeroes all the same. */
		req->falloc_mode = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
					   ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
					   : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		blk->n.write_zeroes++;
	}
	req->offset = sector * SECTOR_SIZE;
	req->remaining = bytes;
	req->written = 1;
	return VIRTIO_BLK_S_OK;
}

static uint32_t get_id(struct blk *blk, const struct vq_chain *chain)
{
	uint64_t room = chain->in_len - 1;
	uint64_t n = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	memcpy(id, blk->serial, strnlen(blk->serial, VIRTIO_BLK_ID_BYTES));
	vq_chain_write(chain, 0, id, n);
	blk->n.get_ids++;
	return (uint32_t)n + 1;
}

static struct blk_req *new_request(struct virtio_device *dev, struct virtqueue *vq,
				   const struct vq_chain *chain, uint32_t type)
{
	struct blk_req *req = calloc(1, sizeof(*req));
	const struct vq_buf *last = &chain->buf[chain->nr - 1];

	if (!req)
		return NULL;
	req->dev = dev;
	req->vq = vq;
	req->generation = dev->generation;
	req->head = chain->head;
	req->type = type;
	req->status = (uint8_t *)last->host + last->len - 1;
	return req;
}

/* Answer at once, without I/O: returns what virtio_process_queue() wants. */
static int64_t answer_now(struct blk *blk, struct blk_req *req, uint8_t status, uint32_t written)
{
	if (status == VIRTIO_BLK_S_UNSUPP)
		blk->n.unsupported++;
	else if (status != VIRTIO_BLK_S_OK)
		blk->n.errors++;
	*req->status = status;
	free(req);
	return written;
}

/* Would this request write the range the fence keeps I/O out of? */
static bool fenced_out(struct blk *blk, const struct blk_req *req)
{
	return req->type == VIRTIO_BLK_T_IN && blk_fence_blocks(&blk->fence, req->iov, req->nr_iov);
}

static int64_t blk_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct blk *blk = dev->priv;
	struct virtio_blk_outhdr hdr;
	uint8_t status;
	uint32_t type;
	uint64_t sector;
	struct blk_req *req;

	/* Without a header to read and a status byte to write there is no request. */
	if (chain->out_len < BLK_HEADER || chain->in_len < 1 ||
	    vq_chain_read(chain, 0, &hdr, BLK_HEADER) != BLK_HEADER) {
		blk->n.errors++;
		pr_warn("%s: a request without header or status byte (%llu bytes out, %llu in); "
			"returned unanswered",
			vq->name, (unsigned long long)chain->out_len,
			(unsigned long long)chain->in_len);
		return 0;
	}
	type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);
	req = new_request(dev, vq, chain, type);
	if (!req)
		return 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = prepare_transfer(blk, req, chain, sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk->n.flushes++;
		req->written = 1;
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = prepare_segment(blk, req, chain);
		break;
	case VIRTIO_BLK_T_GET_ID:
		return answer_now(blk, req, VIRTIO_BLK_S_OK, get_id(blk, chain));
	default:
		return answer_now(blk, req, VIRTIO_BLK_S_UNSUPP, 1);
	}
	if (status != VIRTIO_BLK_S_OK)
		return answer_now(blk, req, status, 1);
	if (fenced_out(blk, req)) {
		blk_fence_hold(&blk->fence, &req->held);
		blk->inflight++;
		return -1;
	}
	if (submit(req))
		return answer_now(blk, req, VIRTIO_BLK_S_IOERR, 1);
	blk->inflight++;
	link_read(blk, req);
	return -1;
}

static struct blk_req *held_req(struct blk_held *h)
{
	return (struct blk_req *)((char *)h - offsetof(struct blk_req, held));
}

/* Start a read the fence held back, as blk_request() would have (loop thread). */
static void start_held(struct blk *blk, struct blk_req *req)
{
	/* Unreachable while blk_reset() drops what is held; it writes nothing if it is. */
	if (req->generation != req->dev->generation) {
		put_request(blk, req);
		return;
	}
	link_read(blk, req);
	if (submit(req)) {
		req->written = 1; /* blk_request()'s answer to a failed submit */
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

/* Held reads have written nothing: they go without a word to the ring. */
static void drop_one(struct blk_held *h, void *arg)
{
	put_request(arg, held_req(h));
}

/* Reads an unfence left held go first: they came before anything on the ring now. */
static void blk_notify(struct virtio_device *dev, unsigned int q)
{
	struct blk *blk = dev->priv;

	if (blk->fence.first)
		blk_fence_drain(&blk->fence, release_one, blk);
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
		blk_fence_drain(&blk->fence, release_one, blk);
	else if (blk->fence.first && dev->transport.kick)
		dev->transport.kick(dev, 0);
}

static void blk_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct blk *blk = dev->priv;

	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

/*
 * 3.3.1: reset completes only when no request can still write guest memory.
 * Held reads cannot: they are dropped at once, not waited for until a move ends.
 */
static void blk_reset(struct virtio_device *dev)
{
	struct blk *blk = dev->priv;

	blk_fence_drain(&blk->fence, drop_one, blk);
	while (blk->inflight && !ev_on_loop_thread(dev->loop))
		pthread_cond_wait(&blk->idle, &dev->lock);
}

/* Reads still to land in [host, host + len); held ones write nothing yet. */
static unsigned int blk_inflight_into(struct virtio_device *dev, const void *host, uint64_t len)
{
	struct blk *blk = dev->priv;
	unsigned int n = 0;

	for (struct blk_req *req = blk->reading; req; req = req->next)
		n += iovecs_overlap(req->iov, req->nr_iov, host, len);
	return n;
}

static void blk_destroy(struct virtio_device *dev)
{
	struct blk *blk = dev->priv;

	blk_fence_drain(&blk->fence, drop_one, blk);
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
	.reset = blk_reset,
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

static int image_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st)) {
		pr_errno("--disk %s: fstat", path);
		return -1;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) ? -1 : 0;
	if (!S_ISREG(st.st_mode)) {
		pr_err("--disk %s: not a regular file or block device", path);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Two VMs writing one image corrupt it: take a lock as QEMU does. */
static int lock_image(int fd, const char *path, bool readonly)
{
	if (!flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB))
		return 0;
	pr_err("--disk %s: the image is in use by another process (locked); stop it, or add "
	       ",ro to share it read-only",
	       path);
	return -1;
}

static int open_image(struct blk *blk, const struct blk_options *opts)
{
	uint64_t size;

	blk->fd = open(opts->path, (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (blk->fd < 0) {
		pr_errno("--disk %s: cannot open the image", opts->path);
		return -1;
	}
	if (image_size(blk->fd, opts->path, &size) ||
	    lock_image(blk->fd, opts->path, opts->readonly))
		return -1;
	if (size < SECTOR_SIZE) {
		pr_err("--disk %s: the image is smaller than one 512-byte sector", opts->path);
		return -1;
	}
	if (size % SECTOR_SIZE)
		pr_warn("--disk %s: the last %llu bytes are not a whole sector; the guest will "
			"not see them",
			opts->path, (unsigned long long)(size % SECTOR_SIZE));
	blk->capacity = size / SECTOR_SIZE;
	return 0;
}

int virtio_blk_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct blk_options *opts)
{
	struct blk *blk = calloc(1, sizeof(*blk));
	char name[32];

	if (!blk)
		return -1;
	blk->readonly = opts->readonly;
	pthread_cond_init(&blk->idle, NULL);
	if (open_image(blk, opts)) {
		if (blk->fd >= 0)
			close(blk->fd);
		free(blk);
		return -1;
	}
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
