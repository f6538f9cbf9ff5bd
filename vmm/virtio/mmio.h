/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2).
 *
 * Owns: the register window of one device, its queue notifications (one
 * eventfd per queue, signalled by KVM through an ioeventfd on QueueNotify
 * and read on the event loop) and its interrupt (an eventfd wired to the
 * device's SPI with an irqfd). The interrupt is edge-triggered in the
 * device tree: a write to the irqfd is one edge, and InterruptStatus tells
 * the driver why.
 */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H

#include <stdint.h>

#include "vmm/hw/event_loop.h"
#include "vmm/virtio/virtio.h"

/* The register offsets are <linux/virtio_mmio.h>'s VIRTIO_MMIO_*. */
#define VIRTIO_MMIO_SIZE   0x200
#define VIRTIO_MMIO_VENDOR 0x564d4143 /* "CAMV": cmavm */

struct virtio_mmio;

struct virtio_mmio_notify {
	struct ev_op op;
	struct virtio_mmio *mmio;
	unsigned int queue;
	int fd;
	uint64_t count;
};

struct virtio_mmio {
	struct virtio_device *dev;
	uint64_t base;
	unsigned int spi;
	int irq_fd;
	struct virtio_mmio_notify notify[VIRTIO_MAX_QUEUES];
};

/*
 * Wire @dev to the MMIO window at @base and interrupt @spi: eventfds for
 * notifications and the interrupt, registered with KVM's @vm_fd (or not at
 * all when @vm_fd < 0: tests kick queues with virtio_mmio_kick()).
 */
int virtio_mmio_init(struct virtio_mmio *m, struct virtio_device *dev, uint64_t base,
		     unsigned int spi, int vm_fd);
/* Close the eventfds (KVM drops its ioeventfds and irqfd with them). */
void virtio_mmio_destroy(struct virtio_mmio *m);
/* Start reading the notification eventfds; on the loop thread. */
int virtio_mmio_start(struct virtio_mmio *m);
/* One register access, as the MMIO bus hands it over (vCPU thread). */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
