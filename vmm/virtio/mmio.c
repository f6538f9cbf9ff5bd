// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/virtio/mmio.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Register offsets (virtio 1.2, 4.2.2) */
#define REG_MAGIC		0x000
#define REG_VERSION		0x004
#define REG_DEVICE_ID		0x008
#define REG_VENDOR_ID		0x00c
#define REG_DEVICE_FEATURES	0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DRIVER_HIGH	0x094
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_QUEUE_DEVICE_HIGH	0x0a4
#define REG_SHM_LEN_LOW		0x0b0
#define REG_SHM_LEN_HIGH	0x0b4
#define REG_CONFIG_GENERATION	0x0fc
#define REG_CONFIG		0x100

#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2

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
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return dev->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return virtio_get_device_features(dev, dev->device_features_sel);
	case REG_QUEUE_NUM_MAX:
		return virtio_queue_max_size(dev);
	case REG_QUEUE_READY:
		return virtio_get_queue_ready(dev);
	case REG_INTERRUPT_STATUS:
		return virtio_read_interrupt_status(dev);
	case REG_STATUS:
		return virtio_get_status(dev);
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case REG_CONFIG_GENERATION:
		return dev->config_generation;
	}
	return 0;
}

static void write_reg(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtio_device *dev = m->dev;

	switch (reg) {
	case REG_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		virtio_set_driver_features(dev, dev->driver_features_sel, v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		virtio_select_queue(dev, v);
		break;
	case REG_QUEUE_NUM:
		virtio_set_queue_size(dev, v);
		break;
	case REG_QUEUE_READY:
		virtio_set_queue_ready(dev, v);
		break;
	case VIRTIO_MMIO_NOTIFY:
		/* Normally caught by the ioeventfd; without one, pass it on. */
		kick(dev, v);
		break;
	case REG_INTERRUPT_ACK:
		virtio_ack_interrupt(dev, v);
		break;
	case REG_STATUS:
		virtio_set_status(dev, v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		virtio_set_queue_addr(dev, VIRTIO_QUEUE_DESC, reg == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		virtio_set_queue_addr(dev, VIRTIO_QUEUE_DRIVER, reg == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		virtio_set_queue_addr(dev, VIRTIO_QUEUE_DEVICE, reg == REG_QUEUE_DEVICE_HIGH, v);
		break;
	}
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;
	uint32_t v = 0;

	if (offset >= REG_CONFIG) {
		virtio_config_access(m->dev, (uint32_t)(offset - REG_CONFIG), data, len, is_write);
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
			.addr = m->base + VIRTIO_MMIO_NOTIFY,
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
