/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The generic virtio device: what every device has, whatever its type and
 * whatever transport carries it (virtio 1.2, sections 2 and 3).
 *
 * Owns: feature negotiation, the device status state machine, reset, the
 * queues' configuration and enabling, interrupt causes, and what happens
 * when the guest breaks a queue (DEVICE_NEEDS_RESET and a log line naming
 * device and queue). A device file (blk.c, rng.c, balloon.c) fills a
 * struct virtio_device_ops with only its own logic; a transport (mmio.c)
 * maps its registers onto the virtio_* calls below.
 *
 * Locking: @lock guards the whole device. Transport calls come from vCPU
 * threads and take it; device callbacks (queue_notify, completions) run
 * on the event loop thread and take it too. A reset or QueueReady = 0
 * waits for the device's I/O with it dropped (@quiescing): register
 * writes that would change the device's state are refused until then.
 */
#ifndef VMM_VIRTIO_VIRTIO_H
#define VMM_VIRTIO_VIRTIO_H

/* The virtio ABI comes from the kernel's UAPI headers, as its drivers see it. */
#include <linux/virtio_config.h> /* VIRTIO_F_*, device status VIRTIO_CONFIG_S_* */
#include <linux/virtio_ids.h>	 /* VIRTIO_ID_* */
#include <linux/virtio_mmio.h>	 /* interrupt causes VIRTIO_MMIO_INT_* (4.2.2) */
#include <linux/virtio_ring.h>	 /* VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/virtio/virtqueue.h"

struct guest_ram;
struct ev_loop;

/* A device counter for the control API: "reads", "bytes_written", ... */
struct virtio_counter {
	const char *name;
	uint64_t value;
};

#define VIRTIO_COUNTERS_MAX 16

/*
 * A device keeps its counters as the uint64_t fields of one struct; a
 * table of these names each field once, and virtio_fill_counters() turns
 * the struct into the control API's counters in the table's order.
 */
struct virtio_counter_field {
	const char *name;
	size_t offset;
};

#define VIRTIO_COUNTER_FIELD(type, field)                                                          \
	{                                                                                          \
		.name = #field, .offset = offsetof(type, field)                                    \
	}

/* Fill @out with the @nr counters @fields names in @counters; returns @nr. */
unsigned int virtio_fill_counters(struct virtio_counter *out, const void *counters,
				  const struct virtio_counter_field *fields, unsigned int nr);

/*
 * Not in the UAPI headers, which have the bit numbers only (the kernel's
 * own BIT_ULL lives in its internal <linux/bits.h>).
 */
#define BIT_ULL(n) (1ULL << (n))

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_QUEUE_SIZE 256

struct virtio_device;

struct virtio_device_ops {
	const char *type; /* "blk", "rng", "balloon" */
	uint32_t device_id;
	unsigned int nr_queues;
	uint64_t features; /* device-specific features offered */
	uint32_t config_size;
	/* Config space access; @offset + @len is within config_size. */
	void (*config_read)(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(struct virtio_device *dev, uint32_t offset, const void *data,
			     uint32_t len);
	/* The driver kicked queue @q (loop thread, device lock held). */
	void (*queue_notify)(struct virtio_device *dev, unsigned int q);
	/* The driver set DRIVER_OK (device lock held). */
	void (*start)(struct virtio_device *dev);
	/*
	 * The driver took queue @q back: QueueReady = 0, or a reset, which
	 * takes every queue back before ops->reset. The queue is disabled
	 * and its generation has moved on already, so nothing taken from it
	 * may answer any more. Return once none of its requests can still
	 * write guest memory; may wait with the device lock dropped (the
	 * driver's register writes are refused meanwhile). Lock held.
	 */
	void (*queue_stop)(struct virtio_device *dev, unsigned int q);
	/* The driver reset the device: forget its state (device lock held). */
	void (*reset)(struct virtio_device *dev);
	/*
	 * Requests whose I/O is still under way and may write [host, host +
	 * len) of guest RAM (lock held). NULL: the device writes guest memory
	 * only synchronously, never from I/O in flight.
	 */
	unsigned int (*inflight_into)(struct virtio_device *dev, const void *host, uint64_t len);
	/*
	 * Hold back writes into [host, host + len) of guest RAM while the
	 * engine moves it: requests whose I/O in flight would write there
	 * (virtio-blk's reads), or the device's own writes on the loop thread
	 * (virtio-net's frames and used rings), which would otherwise fault
	 * on the write-protected range and hold the loop. From now until
	 * unfence they wait, in order, and go on then (loop thread, lock
	 * held). One fence at a time. NULL: the device does neither.
	 */
	void (*fence)(struct virtio_device *dev, const void *host, uint64_t len);
	void (*unfence)(struct virtio_device *dev);
	/* Free @priv and whatever it holds; NULL: free(priv) is enough. */
	void (*destroy)(struct virtio_device *dev);
	/* Fill up to VIRTIO_COUNTERS_MAX counters; returns how many (lock held). */
	unsigned int (*counters)(struct virtio_device *dev, struct virtio_counter *out);
};

/* What the transport provides to the generic device. */
struct virtio_transport {
	void (*raise_irq)(struct virtio_device *dev);
	/* Have the loop look at queue @q as if the driver had kicked it. */
	void (*kick)(struct virtio_device *dev, unsigned int q);
	void *opaque;
};

struct virtio_device {
	const struct virtio_device_ops *ops;
	char name[32]; /* "virtio-blk0": for messages and the API */
	const struct guest_ram *ram;
	struct ev_loop *loop;
	struct virtio_transport transport;
	pthread_mutex_t lock;

	uint64_t features_offered;
	uint64_t features_acked;
	bool features_unoffered_high; /* a nonzero write to a feature word past the second */
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	unsigned int queue_sel;
	uint32_t device_features_sel, driver_features_sel;
	/* Bumped as a reset begins; each queue has its own too (vq->generation). */
	unsigned int generation;
	/*
	 * A reset or a queue stop waits for the device's I/O with the lock
	 * dropped: the driver's writes to status, features and queue
	 * registers are refused until it ends.
	 */
	bool quiescing;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	char queue_names[VIRTIO_MAX_QUEUES][48];
	void *priv;		/* the device file's own state */
	struct vq_chain *chain; /* scratch for virtio_process_queue() */
};

/*
 * Set up @dev: offered features = ops->features | VERSION_1 | INDIRECT_DESC
 * | EVENT_IDX, plus ACCESS_PLATFORM when @access_platform.
 */
void virtio_init(struct virtio_device *dev, const struct virtio_device_ops *ops, const char *name,
		 const struct guest_ram *ram, struct ev_loop *loop, bool access_platform);

/* Free what virtio_init() and the device allocated. The loop must be stopped. */
void virtio_destroy(struct virtio_device *dev);

/* Transport-facing: each takes the device lock. */
uint32_t virtio_get_device_features(struct virtio_device *dev, unsigned int word);
void virtio_set_driver_features(struct virtio_device *dev, unsigned int word, uint32_t val);
uint32_t virtio_get_status(struct virtio_device *dev);
void virtio_set_status(struct virtio_device *dev, uint32_t status);
uint32_t virtio_read_interrupt_status(struct virtio_device *dev);
void virtio_ack_interrupt(struct virtio_device *dev, uint32_t bits);
void virtio_config_access(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len,
			  bool is_write);
/* Queue registers of the selected queue (QueueSel) */
void virtio_select_queue(struct virtio_device *dev, uint32_t q);
uint32_t virtio_queue_max_size(struct virtio_device *dev);
void virtio_set_queue_size(struct virtio_device *dev, uint32_t size);
void virtio_set_queue_addr(struct virtio_device *dev, int which, bool high, uint32_t val);
uint32_t virtio_get_queue_ready(struct virtio_device *dev);
void virtio_set_queue_ready(struct virtio_device *dev, uint32_t ready);
/* A notification for queue @q (from the ioeventfd, on the loop thread). */
void virtio_notify_queue(struct virtio_device *dev, unsigned int q);

#define VIRTIO_QUEUE_DESC   0
#define VIRTIO_QUEUE_DRIVER 1
#define VIRTIO_QUEUE_DEVICE 2

/* Device-facing, lock held: */
bool virtio_has_feature(const struct virtio_device *dev, unsigned int bit);
/* Used buffers were pushed on @vq: interrupt the driver if it wants one. */
void virtio_queue_done(struct virtio_device *dev, struct virtqueue *vq);
/* The device's config changed (e.g. the balloon target): tell the driver. */
void virtio_config_changed(struct virtio_device *dev);
/* The guest broke @vq (vq->broken_reason says how): NEEDS_RESET, log, stop. */
void virtio_queue_broken(struct virtio_device *dev, struct virtqueue *vq);
bool virtio_running(const struct virtio_device *dev);

/*
 * Take every available chain of @vq and hand it to @handle, which returns
 * the bytes it wrote (pushed at once) or -1 to keep the chain (it will
 * push it later, e.g. when its I/O completes). A chain the device cannot
 * answer within its protocol (a buffer on the wrong side, no status byte
 * to write an error into) @handle refuses with vq_fail(): nothing is
 * pushed and the queue breaks as for a malformed ring. Re-enables driver
 * notifications once the ring is empty and looks again, so that no kick is
 * lost; interrupts the driver if it wants one; breaks the queue on a
 * malformed chain. Lock held.
 */
typedef int64_t (*virtio_chain_fn)(struct virtio_device *dev, struct virtqueue *vq,
				   struct vq_chain *chain);
void virtio_process_queue(struct virtio_device *dev, struct virtqueue *vq, virtio_chain_fn handle);

#endif
