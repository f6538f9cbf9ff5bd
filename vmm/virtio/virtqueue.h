/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtqueue core: split rings (virtio 1.x, section 2.7), as a device
 * sees them, for every device.
 *
 * Owns: reading the available ring and descriptor chains (direct and
 * indirect) out of guest RAM, writing the used ring, and deciding when the
 * driver wants an interrupt (VIRTIO_RING_F_EVENT_IDX or the NO_INTERRUPT flag).
 * Every guest-physical address goes through guest_ram_ptr(), so a chain
 * that points outside RAM, loops, is too long, overflows, or is otherwise
 * malformed is refused, never followed: the queue is marked broken with a
 * reason, and the device decides what the guest sees (DEVICE_NEEDS_RESET).
 *
 * Not thread-safe: one queue is driven by one thread (the event loop).
 */
#ifndef VMM_VIRTIO_VIRTQUEUE_H
#define VMM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct guest_ram;

#define VQ_MAX_SIZE  1024 /* queue sizes offered are powers of 2 up to this */
#define VQ_CHAIN_MAX 256  /* buffers in one chain, direct or indirect */

/* One guest buffer of a chain, already translated and bounds-checked. */
struct vq_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writes; /* VRING_DESC_F_WRITE */
	void *host;	    /* host pointer to [gpa, gpa + len) */
};

/* A descriptor chain: device-readable buffers first, then device-writable. */
struct vq_chain {
	uint16_t head;	     /* descriptor index to return in the used ring */
	unsigned int nr;     /* buffers in @buf */
	unsigned int nr_out; /* the first @nr_out are device-readable */
	uint64_t out_len;    /* total bytes the device may read */
	uint64_t in_len;     /* total bytes the device may write */
	struct vq_buf buf[VQ_CHAIN_MAX];
};

struct virtqueue {
	/* set by the transport */
	const struct guest_ram *ram;
	const char *name; /* "virtio-blk queue 0", for messages */
	uint16_t size;	  /* QueueNum */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated: the rings have event fields */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated: else INDIRECT breaks the queue */

	/* device-side state */
	bool enabled;
	/*
	 * Moved on by vq_reset(): a chain taken before belongs to rings the
	 * driver has taken back, and its answer must not reach the new ones.
	 */
	unsigned int generation;
	bool broken;
	char broken_reason[160];
	uint16_t last_avail;	 /* next available-ring entry to take */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used->idx at the last vq_should_notify() */
	bool signalled_used_valid;
	bool notify_off; /* vq_notifications(false) in force */

	/* host views of the rings, checked once at vq_enable() */
	void *desc, *avail, *used;
};

/*
 * Check the queue size (a power of 2, 1..VQ_MAX_SIZE) and the ring
 * addresses (inside RAM, aligned as the spec requires, no overflow) and
 * start using the queue from index 0. 0, or -1 with the queue broken. A
 * broken queue stays broken (vq_enable fails) until vq_reset().
 */
int vq_enable(struct virtqueue *vq);
/*
 * Back to the state before vq_enable, and a new generation; the
 * transport-set fields are kept.
 */
void vq_reset(struct virtqueue *vq);

/*
 * Mark @vq broken because of what the guest wrote, keeping the first
 * reason (printf-style, "queue name: " put in front); returns -1 for the
 * caller to pass on. For a device that finds a chain it cannot answer
 * within its protocol (a buffer on the wrong side, no status byte).
 */
int vq_fail(struct virtqueue *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Take the next available chain. Returns 1 with @chain filled, 0 when the
 * ring is empty (or the queue is not enabled), -1 when the guest wrote
 * something malformed (the queue is now broken and says why; nothing more
 * is taken from it, and nothing is logged: the caller does that). With
 * EVENT_IDX and notifications on, an empty ring re-arms avail_event first,
 * so after a 0 the driver notifies for its next buffer.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/* Give a chain back with @written bytes written into its device-writable part. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/* A chain given back: its head, and the bytes written into it. */
struct vq_used {
	uint16_t head;
	uint32_t len;
};

/*
 * Give @n chains back with one used->idx update, so the driver sees all of
 * them or none: virtio-net's merged receive buffers (a driver that reads a
 * packet's first buffer takes the rest at once).
 */
void vq_push_n(struct virtqueue *vq, const struct vq_used *used, unsigned int n);

/*
 * Put the last @n chains taken back on the ring, to be taken again (their
 * contents as the device left them): a device that took buffers for
 * something it cannot finish yet (vhost's vhost_discard_vq_desc()). The
 * driver is not told: a caller that will wait for its next notification
 * must have had vq_pop() return 0 last (which set avail_event to the ring
 * as the driver left it); else it must take them again unasked.
 */
void vq_unpop(struct virtqueue *vq, unsigned int n);

/*
 * After one or more vq_push(): must the driver be interrupted? With
 * EVENT_IDX, whether used->idx crossed used_event since the previous call;
 * otherwise unless the driver set VRING_AVAIL_F_NO_INTERRUPT. False when
 * nothing was pushed since the previous call.
 */
bool vq_should_notify(struct virtqueue *vq);

/*
 * Driver notifications while the device is busy draining the ring: off
 * (VRING_USED_F_NO_NOTIFY, or with EVENT_IDX avail_event just behind what
 * was taken, out of the driver's reach), then on again, after which the
 * caller must look at the ring once more (vq_pop) to close the race with a
 * driver that added buffers in between.
 */
void vq_notifications(struct virtqueue *vq, bool enable);

/*
 * Copy between a chain's buffers and flat memory, across buffer bounds:
 * read from the device-readable part, write into the device-writable part,
 * @offset counted from the start of that part. Both stop at the end of the
 * part and return the bytes copied.
 */
uint64_t vq_chain_read(const struct vq_chain *chain, uint64_t offset, void *dst, uint64_t len);
uint64_t vq_chain_write(const struct vq_chain *chain, uint64_t offset, const void *src,
			uint64_t len);

#endif
