// SPDX-License-Identifier: GPL-2.0-only
/*
 * Split virtqueues from the device side (virtio 1.2, section 2.7).
 *
 * The driver runs on other CPUs while we read and write these rings, and a
 * hostile one may rewrite any byte of them at any moment. So every ring
 * field is read exactly once (one atomic load, or one copy of a whole
 * descriptor) and only that copy is checked and used; every guest-physical
 * address goes through guest_ram_ptr(); and the index fields carry the
 * ordering: acquire on avail->idx, release on used->idx, and a full fence
 * wherever we publish an index and then read the other side's wish about
 * notifications.
 */
#include "vmm/virtio/virtqueue.h"
#include "vmm/util/strbuf.h"
#include "vmm/hw/guest_ram.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * The rings as the driver lays them out, every field little-endian, and
 * their flags: struct vring_desc (2.7.5), vring_avail (2.7.6, then
 * used_event), vring_used (2.7.8, then avail_event), VRING_DESC_F_*,
 * VRING_AVAIL_F_NO_INTERRUPT, VRING_USED_F_NO_NOTIFY and the alignments
 * VRING_*_ALIGN_SIZE (the table at the start of 2.7).
 */
_Static_assert(sizeof(struct vring_desc) == 16, "2.7.5: a descriptor is 16 bytes");
_Static_assert(sizeof(struct vring_used_elem) == 8, "2.7.8: a used element is 8 bytes");

static uint64_t desc_bytes(uint16_t size)
{
	return (uint64_t)sizeof(struct vring_desc) * size;
}

/*
 * The event fields (used_event after the available ring, avail_event after
 * the used ring) exist only with VIRTIO_RING_F_EVENT_IDX (2.7.6, 2.7.8):
 * without it the rings are two bytes shorter, and may end right at the end
 * of RAM.
 */
static uint64_t event_field_bytes(const struct virtqueue *vq)
{
	return vq->event_idx ? sizeof(__virtio16) : 0;
}

/* flags, idx, ring[size], used_event */
static uint64_t avail_bytes(const struct virtqueue *vq)
{
	return sizeof(struct vring_avail) + sizeof(__virtio16) * (uint64_t)vq->size +
	       event_field_bytes(vq);
}

/* flags, idx, ring[size], avail_event */
static uint64_t used_bytes(const struct virtqueue *vq)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * (uint64_t)vq->size +
	       event_field_bytes(vq);
}

static struct vring_avail *avail_ring(const struct virtqueue *vq)
{
	return vq->avail;
}

static struct vring_used *used_ring(const struct virtqueue *vq)
{
	return vq->used;
}

static uint16_t *used_event(const struct virtqueue *vq)
{
	return &avail_ring(vq)->ring[vq->size];
}

static uint16_t *avail_event(const struct virtqueue *vq)
{
	return (uint16_t *)&used_ring(vq)->ring[vq->size];
}

static uint16_t load_le16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void store_le16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static void store_le32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

/*
 * Take one snapshot of descriptor @i of @table. The compiler barrier keeps
 * the compiler from re-reading guest memory in place of the copy, so what
 * we check is what we use. Bytes, not a struct pointer: the spec sets no
 * alignment for an indirect table.
 */
static void read_desc(const void *table, unsigned int i, struct vring_desc *d)
{
	struct vring_desc raw;

	memcpy(&raw, (const uint8_t *)table + sizeof(raw) * i, sizeof(raw));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

int vq_fail(struct virtqueue *vq, const char *fmt, ...)
{
	size_t room = sizeof(vq->broken_reason);
	va_list ap;

	if (vq->broken)
		return -1;
	vq->broken = true;
	snprintf(vq->broken_reason, room, "%s: ", vq->name ? vq->name : "virtqueue");
	va_start(ap, fmt);
	str_vappendf(vq->broken_reason, room, fmt, ap);
	va_end(ap);
	return -1;
}

/* Why [gpa, gpa + len) cannot be used, or NULL with *host set. */
static const char *guest_range(const struct virtqueue *vq, uint64_t gpa, uint64_t len, void **host)
{
	if (gpa + len < gpa)
		return "wraps around the address space";
	*host = guest_ram_ptr(vq->ram, gpa, len);
	return *host ? NULL : "is not inside guest RAM";
}

/* ---- enabling ---- */

static int check_size(struct virtqueue *vq)
{
	if (vq->size == 0)
		return vq_fail(vq, "queue size 0");
	if (vq->size & (vq->size - 1))
		return vq_fail(vq, "queue size %u is not a power of 2 (2.7)", vq->size);
	if (vq->size > VQ_MAX_SIZE)
		return vq_fail(vq, "queue size %u is larger than the maximum %d", vq->size,
			       VQ_MAX_SIZE);
	return 0;
}

/* One ring part: aligned as the table in 2.7 requires, and wholly in RAM. */
static int map_part(struct virtqueue *vq, const char *part, uint64_t gpa, uint64_t len,
		    uint64_t align, void **host)
{
	const char *problem;

	if (gpa & (align - 1))
		return vq_fail(vq, "%s at %#llx is not %llu-byte aligned (2.7)", part,
			       (unsigned long long)gpa, (unsigned long long)align);
	problem = guest_range(vq, gpa, len, host);
	if (problem)
		return vq_fail(vq, "%s at %#llx (%llu bytes) %s", part, (unsigned long long)gpa,
			       (unsigned long long)len, problem);
	return 0;
}

static void clear_device_state(struct virtqueue *vq)
{
	vq->enabled = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->notify_off = false;
	vq->desc = vq->avail = vq->used = NULL;
}

int vq_enable(struct virtqueue *vq)
{
	/* A broken queue stays broken until vq_reset(): the device needs a reset. */
	if (vq->broken)
		return -1;
	clear_device_state(vq);
	if (!vq->ram)
		return vq_fail(vq, "no guest RAM to map the rings from");
	if (check_size(vq) ||
	    map_part(vq, "descriptor table", vq->desc_gpa, desc_bytes(vq->size),
		     VRING_DESC_ALIGN_SIZE, &vq->desc) ||
	    map_part(vq, "available ring", vq->avail_gpa, avail_bytes(vq), VRING_AVAIL_ALIGN_SIZE,
		     &vq->avail) ||
	    map_part(vq, "used ring", vq->used_gpa, used_bytes(vq), VRING_USED_ALIGN_SIZE,
		     &vq->used))
		return -1;
	vq->enabled = true;
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	clear_device_state(vq);
	vq->generation++;
	vq->broken = false;
	vq->broken_reason[0] = '\0';
}

/* ---- descriptor chains ---- */

static void chain_init(struct vq_chain *chain, uint16_t head)
{
	chain->head = head;
	chain->nr = 0;
	chain->nr_out = 0;
	chain->out_len = 0;
	chain->in_len = 0;
}

/* Check one buffer descriptor and append it to @chain. */
static int add_buf(struct virtqueue *vq, struct vq_chain *chain, const struct vring_desc *d)
{
	bool writes = d->flags & VRING_DESC_F_WRITE;
	const char *problem;
	struct vq_buf *b;
	void *host;

	/* 2.7.4.1: a device may have a reasonable limit on buffers per chain. */
	if (chain->nr == VQ_CHAIN_MAX)
		return vq_fail(vq, "chain from head %u has more than %d buffers", chain->head,
			       VQ_CHAIN_MAX);
	if (d->len == 0)
		return vq_fail(vq, "chain from head %u: zero-length buffer at %#llx", chain->head,
			       (unsigned long long)d->addr);
	/* 2.7.4.2: device-writable buffers come after all device-readable ones. */
	if (!writes && chain->nr > chain->nr_out)
		return vq_fail(vq,
			       "chain from head %u: device-readable buffer %#llx after a "
			       "device-writable one (2.7.4.2)",
			       chain->head, (unsigned long long)d->addr);
	problem = guest_range(vq, d->addr, d->len, &host);
	if (problem)
		return vq_fail(vq, "chain from head %u: buffer %#llx+%#x %s", chain->head,
			       (unsigned long long)d->addr, d->len, problem);
	/* 2.7.5.2: no chain longer than 2^32 bytes; the used len is 32 bits. */
	if (chain->out_len + chain->in_len + d->len > UINT32_MAX)
		return vq_fail(vq, "chain from head %u is longer than 4 GiB in total (2.7.5.2)",
			       chain->head);

	b = &chain->buf[chain->nr++];
	b->gpa = d->addr;
	b->len = d->len;
	b->device_writes = writes;
	b->host = host;
	if (writes) {
		chain->in_len += d->len;
	} else {
		chain->nr_out++;
		chain->out_len += d->len;
	}
	return 0;
}

/* Check the descriptor that points at an indirect table (2.7.5.3) and map the table. */
static const void *map_indirect(struct virtqueue *vq, struct vq_chain *chain, uint16_t i,
				const struct vring_desc *d, unsigned int *entries)
{
	const char *problem;
	void *table;

	if (d->flags & VRING_DESC_F_NEXT) {
		vq_fail(vq,
			"chain from head %u: descriptor %u has both INDIRECT and NEXT (2.7.5.3.1)",
			chain->head, i);
		return NULL;
	}
	if (d->len == 0 || d->len % sizeof(struct vring_desc)) {
		vq_fail(vq,
			"chain from head %u: indirect table length %u is not a positive "
			"multiple of 16",
			chain->head, d->len);
		return NULL;
	}
	if (d->len / sizeof(struct vring_desc) > VQ_CHAIN_MAX) {
		vq_fail(vq, "chain from head %u: indirect table length %u is more than %d entries",
			chain->head, d->len, VQ_CHAIN_MAX);
		return NULL;
	}
	problem = guest_range(vq, d->addr, d->len, &table);
	if (problem) {
		vq_fail(vq, "chain from head %u: indirect table %#llx+%#x %s", chain->head,
			(unsigned long long)d->addr, d->len, problem);
		return NULL;
	}
	*entries = d->len / sizeof(struct vring_desc);
	return table;
}

/*
 * Follow the chain inside an indirect table from its entry 0. Visiting more
 * entries than the table has means a loop.
 */
static int read_indirect(struct virtqueue *vq, struct vq_chain *chain, uint16_t i,
			 const struct vring_desc *indirect)
{
	unsigned int entries, visited, j = 0;
	const void *table;
	struct vring_desc d;

	table = map_indirect(vq, chain, i, indirect, &entries);
	if (!table)
		return -1;
	for (visited = 1;; visited++) {
		if (visited > entries)
			return vq_fail(vq,
				       "chain from head %u: indirect table loops (more than %u "
				       "descriptors)",
				       chain->head, entries);
		read_desc(table, j, &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_fail(vq,
				       "chain from head %u: nested indirect table in indirect "
				       "descriptor %u (2.7.5.3.1)",
				       chain->head, j);
		if (add_buf(vq, chain, &d))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= entries)
			return vq_fail(vq,
				       "chain from head %u: indirect descriptor %u: next %u is "
				       "outside the table of %u",
				       chain->head, j, d.next, entries);
		j = d.next;
	}
}

/*
 * Follow a chain through the descriptor table: zero or more direct
 * descriptors, optionally ending in one indirect one (2.7.5.3.2). Visiting
 * more descriptors than the table has means a loop.
 */
static int read_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *chain)
{
	unsigned int visited;
	struct vring_desc d;
	uint16_t i = head;

	chain_init(chain, head);
	for (visited = 1;; visited++) {
		if (visited > vq->size)
			return vq_fail(vq,
				       "chain from head %u loops (more than %u descriptors, the "
				       "queue size)",
				       head, vq->size);
		read_desc(vq->desc, i, &d);
		if ((d.flags & VRING_DESC_F_INDIRECT) && !vq->indirect)
			return vq_fail(vq,
				       "chain from head %u: descriptor %u is INDIRECT, but "
				       "VIRTIO_F_INDIRECT_DESC was not negotiated (2.7.5.3.1)",
				       head, i);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return read_indirect(vq, chain, i, &d);
		if (add_buf(vq, chain, &d))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return vq_fail(vq,
				       "chain from head %u: descriptor %u: next %u is not below "
				       "the queue size %u",
				       head, i, d.next, vq->size);
		i = d.next;
	}
}

/* ---- the available ring ---- */

/* Entries the driver has made available past last_avail (2.7.6), or -1. */
static int avail_pending(struct virtqueue *vq)
{
	uint16_t idx, pending;

	/*
	 * Acquire: the ring entries and descriptors the driver wrote before
	 * its barrier and idx update (2.7.13.3) must be read after idx.
	 */
	idx = le16toh(__atomic_load_n(&avail_ring(vq)->idx, __ATOMIC_ACQUIRE));
	pending = idx - vq->last_avail;
	if (pending > vq->size)
		return vq_fail(vq,
			       "avail->idx %u is %u entries past the %u taken, more than the "
			       "queue size %u",
			       idx, pending, vq->last_avail, vq->size);
	return pending;
}

/*
 * Ask for a notification when the driver adds entry @idx (2.7.10), and
 * fence: the caller reads avail->idx next, and a driver that bumped it in
 * between must either be seen or see our avail_event and notify.
 */
static void publish_avail_event(struct virtqueue *vq, uint16_t idx)
{
	store_le16(avail_event(vq), idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * With EVENT_IDX, the driver only notifies when it crosses avail_event; if
 * we find the ring empty with notifications on, point avail_event at the
 * next entry and look again, or a buffer added meanwhile would wait for a
 * notification that never comes.
 */
static int avail_pending_rearmed(struct virtqueue *vq)
{
	int pending = avail_pending(vq);

	if (pending != 0 || !vq->event_idx || vq->notify_off)
		return pending;
	publish_avail_event(vq, vq->last_avail);
	return avail_pending(vq);
}

int vq_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	uint16_t slot, head;
	int pending;

	if (vq->broken)
		return -1;
	if (!vq->enabled)
		return 0;
	pending = avail_pending_rearmed(vq);
	if (pending <= 0)
		return pending;
	slot = vq->last_avail & (vq->size - 1);
	head = load_le16(&avail_ring(vq)->ring[slot]);
	if (head >= vq->size)
		return vq_fail(vq, "avail ring entry %u: head %u is not below the queue size %u",
			       vq->last_avail, head, vq->size);
	if (read_chain(vq, head, chain))
		return -1;
	vq->last_avail++;
	return 1;
}

/* ---- the used ring ---- */

void vq_push_n(struct virtqueue *vq, const struct vq_used *used, unsigned int n)
{
	uint16_t first = vq->used_idx;

	if (vq->broken || !vq->enabled)
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct vring_used_elem *elem =
			&used_ring(vq)->ring[(uint16_t)(first + i) & (vq->size - 1)];

		store_le32(&elem->id, used[i].head);
		store_le32(&elem->len, used[i].len);
	}
	vq->used_idx = (uint16_t)(first + n);
	/* Release: the elements (and the data written into the buffers) before idx (2.7.8.2). */
	__atomic_store_n(&used_ring(vq)->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	/*
	 * used_idx came round to the last signalled one (65536 pushes since
	 * the check): the 16-bit window no longer says which were new.
	 */
	if ((uint16_t)(vq->signalled_used - first - 1) < n)
		vq->signalled_used_valid = false;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	struct vq_used one = { head, written };

	vq_push_n(vq, &one, 1);
}

void vq_unpop(struct virtqueue *vq, unsigned int n)
{
	vq->last_avail -= (uint16_t)n;
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	if (vq->broken || !vq->enabled)
		return false;
	/*
	 * used->idx (vq_push) must be visible before we read the driver's
	 * wish: a driver that re-enables interrupts, fences and re-checks
	 * used->idx then either sees our entries or we see its wish.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (valid && old == vq->used_idx)
		return false; /* nothing pushed since the last check */
	if (!vq->event_idx)
		return !(load_le16(&avail_ring(vq)->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	/* Did used->idx move past used_event going from @old? (2.7.7.2) */
	return vring_need_event(load_le16(used_event(vq)), vq->used_idx, old);
}

void vq_notifications(struct virtqueue *vq, bool enable)
{
	if (vq->broken || !vq->enabled)
		return;
	vq->notify_off = !enable;
	if (!vq->event_idx) {
		store_le16(&used_ring(vq)->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	} else if (enable) {
		store_le16(avail_event(vq), vq->last_avail);
	} else {
		/*
		 * 2.7.10: with EVENT_IDX used->flags must stay 0. Point
		 * avail_event just behind what we took: the driver, at most
		 * the queue size ahead, cannot reach it again until the
		 * 16-bit index wraps (and then we only get a spurious one).
		 */
		store_le16(avail_event(vq), vq->last_avail - 1);
	}
	/* The caller re-checks the ring next: our store must be visible before that read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- copying ---- */

/*
 * Copy @len bytes between flat memory and @nr buffers, starting @offset
 * bytes into the buffers: into @to when reading, out of @from when writing.
 */
static uint64_t copy_bufs(const struct vq_buf *buf, unsigned int nr, uint64_t offset, void *to,
			  const void *from, uint64_t len)
{
	uint64_t done = 0, n;
	unsigned int i;

	for (i = 0; i < nr && done < len; i++) {
		if (offset >= buf[i].len) {
			offset -= buf[i].len;
			continue;
		}
		n = buf[i].len - offset;
		if (n > len - done)
			n = len - done;
		if (to)
			memcpy((uint8_t *)to + done, (const uint8_t *)buf[i].host + offset, n);
		else
			memcpy((uint8_t *)buf[i].host + offset, (const uint8_t *)from + done, n);
		done += n;
		offset = 0;
	}
	return done;
}

uint64_t vq_chain_read(const struct vq_chain *chain, uint64_t offset, void *dst, uint64_t len)
{
	return copy_bufs(chain->buf, chain->nr_out, offset, dst, NULL, len);
}

uint64_t vq_chain_write(const struct vq_chain *chain, uint64_t offset, const void *src,
			uint64_t len)
{
	return copy_bufs(chain->buf + chain->nr_out, chain->nr - chain->nr_out, offset, NULL, src,
			 len);
}
