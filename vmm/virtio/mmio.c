// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/virtio/mmio.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_mmio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * The register offsets are <linux/virtio_mmio.h>'s VIRTIO_MMIO_* (virtio
 * 1.2, 4.2.2); the values the header lacks (the Linux driver keeps them
 * to itself) are these.
 */
#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2		/* not legacy (1) */

static void kick(struct virtio_device *dev, unsigned int q)
{
	struct virtio_mmio *m = dev->transport.opaque;

	if (q < VIRTIO_MAX_QUEUES && m->notify[q].fd >= 0)
		eventfd_write(m->notify[q].fd, 1);
}

static uint32_t read_reg(struct virtio_mmio *m, uint64_t reg)
{
	struct virtio_device *dev = m->dev;

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_device_features(dev, dev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return virtio_queue_max_size(dev);
	case VIRTIO_MMIO_QUEUE_READY:
		return virtio_get_queue_ready(dev);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return virtio_read_interrupt_status(dev);
	case VIRTIO_MMIO_STATUS:
		return virtio_get_status(dev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	}
	return 0;
}

/* Each queue address is two registers, low and high halves (4.2.2). */
static const struct {
	uint64_t low, high;
	int which;
} queue_addr_regs[] = {
	{ VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_QUEUE_DESC },
	{ VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_QUEUE_DRIVER },
	{ VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_QUEUE_DEVICE },
};

/* false: @reg is not a queue address register */
static bool write_queue_addr(struct virtio_device *dev, uint64_t reg, uint32_t v)
{
	for (unsigned int i = 0; i < sizeof(queue_addr_regs) / sizeof(queue_addr_regs[0]); i++) {
		if (reg == queue_addr_regs[i].low || reg == queue_addr_regs[i].high) {
			virtio_set_queue_addr(dev, queue_addr_regs[i].which,
					      reg == queue_addr_regs[i].high, v);
			return true;
		}
	}
	return false;
}

static void write_reg(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtio_device *dev = m->dev;

	if (write_queue_addr(dev, reg, v))
		return;
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_driver_features(dev, dev->driver_features_sel, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		virtio_select_queue(dev, v);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		virtio_set_queue_size(dev, v);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_set_queue_ready(dev, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; without one, pass it on. */
		kick(dev, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		virtio_ack_interrupt(dev, v);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(dev, v);
		break;
	}
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;
	uint32_t v = 0;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		virtio_config_access(m->dev, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len,
				     is_write);
		return;
	}
	/* 4.2.2: the control registers are 32 bits wide and 32-bit aligned. */
	if (len != 4 || offset % 4) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		write_reg(m, offset, le32toh(v));
	} else {
		v = htole32(read_reg(m, offset));
		memcpy(data, &v, 4);
	}
}

static void raise_irq(struct virtio_device *dev)
{
	struct virtio_mmio *m = dev->transport.opaque;

	if (eventfd_write(m->irq_fd, 1))
		pr_errno("%s: signalling the interrupt", dev->name);
}

static int register_with_kvm(struct virtio_mmio *m, int vm_fd)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)m->irq_fd, .gsi = m->spi };

	if (ioctl(vm_fd, KVM_IRQFD, &irqfd)) {
		pr_errno("%s: KVM_IRQFD for SPI %u failed", m->dev->name, m->spi);
		return -1;
	}
	for (unsigned int q = 0; q < m->dev->ops->nr_queues; q++) {
		struct kvm_ioeventfd ioev = {
			.datamatch = q,
			.addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = m->notify[q].fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm_fd, KVM_IOEVENTFD, &ioev)) {
			pr_errno("%s: KVM_IOEVENTFD for queue %u failed", m->dev->name, q);
			return -1;
		}
	}
	return 0;
}

int virtio_mmio_init(struct virtio_mmio *m, struct virtio_device *dev, uint64_t base,
		     unsigned int spi, int vm_fd)
{
	memset(m, 0, sizeof(*m));
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		m->notify[q].fd = -1;
	m->dev = dev;
	m->base = base;
	m->spi = spi;
	dev->transport.raise_irq = raise_irq;
	dev->transport.kick = kick;
	dev->transport.opaque = m;
	m->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
		m->notify[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		m->notify[q].mmio = m;
		m->notify[q].queue = q;
		if (m->notify[q].fd < 0)
			break;
	}
	if (m->irq_fd < 0 || (dev->ops->nr_queues && m->notify[dev->ops->nr_queues - 1].fd < 0)) {
		pr_errno("%s: eventfd", dev->name);
		return -1;
	}
	return vm_fd >= 0 ? register_with_kvm(m, vm_fd) : 0;
}

static int read_notifications(struct virtio_mmio_notify *n);

static void notified(struct ev_op *op, int res, unsigned int flags)
{
	struct virtio_mmio_notify *n = (struct virtio_mmio_notify *)op;

	(void)flags;
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		/* -ECANCELED at teardown; anything else would only repeat. */
		if (res != -ECANCELED)
			pr_err("%s: reading queue %u notifications failed: %s; the queue stops",
			       n->mmio->dev->name, n->queue, strerror(-res));
		return;
	}
	virtio_notify_queue(n->mmio->dev, n->queue);
	read_notifications(n);
}

static int read_notifications(struct virtio_mmio_notify *n)
{
	struct io_uring_sqe *sqe = ev_sqe(n->mmio->dev->loop, &n->op);

	if (!sqe)
		return -1;
	n->op.done = notified;
	io_uring_prep_read(sqe, n->fd, &n->count, sizeof(n->count), 0);
	return 0;
}

int virtio_mmio_start(struct virtio_mmio *m)
{
	for (unsigned int q = 0; q < m->dev->ops->nr_queues; q++)
		if (read_notifications(&m->notify[q]))
			return -1;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (m->notify[q].fd >= 0)
			close(m->notify[q].fd);
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	m->irq_fd = -1;
}
