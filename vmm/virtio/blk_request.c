// SPDX-License-Identifier: GPL-2.0-only
/*
 * A virtio-blk request read out of its descriptor chain and checked (see
 * blk.h). 5.2.6 lays a request out as a device-readable header, data on
 * the side its type says (device-writable for what the device fills in,
 * device-readable for what it takes), and a device-writable status byte
 * last. Data on the wrong side, a header cut short or a length the type
 * does not allow is the driver's error: VIRTIO_BLK_S_IOERR, and the image
 * is not touched. A type the device does not offer, or whose feature the
 * driver did not accept, is VIRTIO_BLK_S_UNSUPP; FLUSH, which the device
 * can always honour, is the exception (prepare_flush()).
 */
#include "vmm/virtio/blk.h"
#include "vmm/util/log.h"

#include <endian.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>

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

/* Data bytes after the header the device reads, and before the status it writes. */
static uint64_t data_out(const struct vq_chain *chain)
{
	return chain->out_len - BLK_HEADER;
}

static uint64_t data_in(const struct vq_chain *chain)
{
	return chain->in_len - 1;
}

/* A driver error: counted, and the first one per device logged with its reason. */
static void note_bad_request(struct virtio_device *dev, const struct vq_chain *chain,
			     const char *why, const char *answer)
{
	struct blk *blk = dev->priv;

	if (!blk->n.bad_requests++)
		pr_warn("%s: request from head %u: %s (%llu bytes device-readable, %llu "
			"device-writable); %s (reported once)",
			dev->name, chain->head, why, (unsigned long long)chain->out_len,
			(unsigned long long)chain->in_len, answer);
}

/* The driver laid the request out wrong: IOERR ("device or driver error", 5.2.6). */
static uint8_t bad_request(struct virtio_device *dev, const struct vq_chain *chain, const char *why)
{
	note_bad_request(dev, chain, why, "answered VIRTIO_BLK_S_IOERR");
	return VIRTIO_BLK_S_IOERR;
}

/* IN: the data is all device-writable; OUT: all device-readable (5.2.6). */
static uint8_t check_transfer_layout(struct virtio_device *dev, const struct vq_chain *chain,
				     bool is_read)
{
	uint64_t len = is_read ? data_in(chain) : data_out(chain);

	if (is_read && data_out(chain))
		return bad_request(dev, chain, "a read with device-readable data");
	if (!is_read && data_in(chain))
		return bad_request(dev, chain, "a write with device-writable data");
	if (len % SECTOR_SIZE)
		return bad_request(dev, chain, "data not a multiple of 512 bytes");
	return VIRTIO_BLK_S_OK;
}

static uint8_t prepare_transfer(struct virtio_device *dev, struct blk_req *req,
				const struct vq_chain *chain, uint64_t sector)
{
	struct blk *blk = dev->priv;
	bool is_read = req->type == VIRTIO_BLK_T_IN;
	uint64_t len = is_read ? data_in(chain) : data_out(chain);
	uint8_t status = check_transfer_layout(dev, chain, is_read);

	if (status != VIRTIO_BLK_S_OK)
		return status;
	/* 5.2.6.2: a read-only device fails every write and writes nothing. */
	if ((!is_read && blk->readonly) || !in_range(blk, sector, len))
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

/*
 * Discard and write zeroes take exactly one device-readable segment: we
 * offer max_discard_seg = max_write_zeroes_seg = 1 (5.2.6.1: no more).
 */
static uint8_t read_segment(struct virtio_device *dev, const struct vq_chain *chain,
			    struct virtio_blk_discard_write_zeroes *seg)
{
	if (data_in(chain))
		return bad_request(dev, chain, "a segment request with device-writable data");
	if (data_out(chain) != BLK_SEGMENT)
		return bad_request(dev, chain, "not exactly one 16-byte segment");
	vq_chain_read(chain, BLK_HEADER, seg, BLK_SEGMENT);
	return VIRTIO_BLK_S_OK;
}

/* 5.2.6.2: UNSUPP for any flag discard does not take (all) or write zeroes does not know. */
static int falloc_mode(uint32_t type, uint32_t flags)
{
	if (type == VIRTIO_BLK_T_DISCARD)
		return flags ? -1 : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
		return -1;
	/* Unmap may punch a hole: it reads back as zeroes all the same. */
	return flags ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
		     : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

static uint8_t prepare_segment(struct virtio_device *dev, struct blk_req *req,
			       const struct vq_chain *chain)
{
	struct blk *blk = dev->priv;
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t sector, bytes;
	uint8_t status = read_segment(dev, chain, &seg);

	if (status != VIRTIO_BLK_S_OK)
		return status;
	sector = le64toh(seg.sector);
	bytes = (uint64_t)le32toh(seg.num_sectors) * SECTOR_SIZE;
	req->falloc_mode = falloc_mode(req->type, le32toh(seg.flags));
	if (req->falloc_mode < 0)
		return VIRTIO_BLK_S_UNSUPP;
	if (blk->readonly || !bytes || bytes > (uint64_t)BLK_MAX_SEG_SECTORS * SECTOR_SIZE ||
	    !in_range(blk, sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	if (req->type == VIRTIO_BLK_T_DISCARD)
		blk->n.discards++;
	else
		blk->n.write_zeroes++;
	req->offset = sector * SECTOR_SIZE;
	req->remaining = bytes;
	req->written = 1;
	return VIRTIO_BLK_S_OK;
}

/*
 * 5.2.6.1: the driver MUST set sector 0 and SHOULD send no data; no device
 * MUST refuses a flush that does otherwise, and failing it would tell the
 * guest its data may be lost: it is done, and the driver's error counted.
 * Without VIRTIO_BLK_F_FLUSH negotiated the device is writethrough: every
 * write was stable before it was answered (5.2.6.2), so there is nothing
 * to commit, and OK is the truth. UNSUPP ("a request unsupported by
 * device", 5.2.6) would not be: the device offered FLUSH, and the spec
 * lets a driver that distrusts writethrough flush after every write.
 */
static uint8_t prepare_flush(struct virtio_device *dev, struct blk_req *req,
			     const struct vq_chain *chain, uint64_t sector)
{
	struct blk *blk = dev->priv;

	if (sector)
		note_bad_request(dev, chain, "a flush of a sector other than 0",
				 "flushed all the same");
	blk->n.flushes++;
	req->written = 1;
	req->nothing_to_do = !virtio_has_feature(dev, VIRTIO_BLK_F_FLUSH);
	return VIRTIO_BLK_S_OK;
}

/* 5.2.6.1: exactly 20 device-writable bytes of data. */
static uint8_t check_get_id(struct virtio_device *dev, struct blk_req *req,
			    const struct vq_chain *chain)
{
	if (data_out(chain) || data_in(chain) != VIRTIO_BLK_ID_BYTES)
		return bad_request(dev, chain, "GET_ID without exactly 20 device-writable bytes");
	req->written = VIRTIO_BLK_ID_BYTES + 1;
	return VIRTIO_BLK_S_OK;
}

uint32_t blk_get_id(struct blk *blk, const struct vq_chain *chain)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	memcpy(id, blk->serial, strnlen(blk->serial, VIRTIO_BLK_ID_BYTES));
	vq_chain_write(chain, 0, id, VIRTIO_BLK_ID_BYTES);
	blk->n.get_ids++;
	return VIRTIO_BLK_ID_BYTES + 1;
}

/*
 * The feature a request type needs negotiated; 0: none (GET_ID has no
 * feature bit, and FLUSH is answered either way: prepare_flush()).
 */
static int type_feature(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_DISCARD:
		return VIRTIO_BLK_F_DISCARD;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return VIRTIO_BLK_F_WRITE_ZEROES;
	}
	return 0;
}

/* Without FLUSH negotiated but offered, a write is stable once answered (5.2.6.2). */
static bool writes_through(const struct virtio_device *dev, uint32_t type)
{
	return (type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
		type == VIRTIO_BLK_T_WRITE_ZEROES) &&
	       !virtio_has_feature(dev, VIRTIO_BLK_F_FLUSH);
}

static uint8_t prepare_type(struct virtio_device *dev, struct blk_req *req,
			    const struct vq_chain *chain, uint64_t sector)
{
	int feature = type_feature(req->type);

	if (feature && !virtio_has_feature(dev, feature))
		return VIRTIO_BLK_S_UNSUPP;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return prepare_transfer(dev, req, chain, sector);
	case VIRTIO_BLK_T_FLUSH:
		return prepare_flush(dev, req, chain, sector);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return prepare_segment(dev, req, chain);
	case VIRTIO_BLK_T_GET_ID:
		return check_get_id(dev, req, chain);
	}
	return VIRTIO_BLK_S_UNSUPP;
}

uint8_t blk_prepare(struct virtio_device *dev, const struct vq_chain *chain, struct blk_req *req)
{
	struct virtio_blk_outhdr hdr;
	uint8_t status;

	/* The header is the first 16 device-readable bytes, however they are framed (2.6.4). */
	if (chain->out_len < BLK_HEADER) {
		status = bad_request(dev, chain, "a header shorter than 16 device-readable bytes");
	} else {
		vq_chain_read(chain, 0, &hdr, BLK_HEADER);
		req->type = le32toh(hdr.type);
		status = prepare_type(dev, req, chain, le64toh(hdr.sector));
	}
	if (status != VIRTIO_BLK_S_OK)
		req->written = 1; /* the status byte alone */
	req->sync_after = status == VIRTIO_BLK_S_OK && writes_through(dev, req->type);
	return status;
}
