// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic virtio device. The driver's side of the handshake (virtio
 * 1.2, 3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (which we
 * refuse unless VERSION_1 is among them and nothing unoffered is),
 * queue setup, DRIVER_OK.
 */
#include "vmm/virtio/virtio.h"
#include "vmm/util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void virtio_init(struct virtio_device *dev, const struct virtio_device_ops *ops, const char *name,
		 const struct guest_ram *ram, struct ev_loop *loop, bool access_platform)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->ram = ram;
	dev->loop = loop;
	pthread_mutex_init(&dev->lock, NULL);
	dev->chain = calloc(1, sizeof(*dev->chain));
	dev->features_offered = ops->features | BIT_ULL(VIRTIO_F_VERSION_1) |
				BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |
				BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	if (access_platform)
		dev->features_offered |= BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		struct virtqueue *vq = &dev->vq[q];

		snprintf(dev->queue_names[q], sizeof(dev->queue_names[q]), "%s queue %u", name, q);
		vq->name = dev->queue_names[q];
		vq->ram = ram;
		vq->size = VIRTIO_QUEUE_SIZE;
	}
}

void virtio_destroy(struct virtio_device *dev)
{
	if (!dev->ops)
		return;
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	else
		free(dev->priv);
	dev->priv = NULL;
	free(dev->chain);
	dev->chain = NULL;
	pthread_mutex_destroy(&dev->lock);
	dev->ops = NULL;
}

unsigned int virtio_fill_counters(struct virtio_counter *out, const void *counters,
				  const struct virtio_counter_field *fields, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		out[i].name = fields[i].name;
		memcpy(&out[i].value, (const uint8_t *)counters + fields[i].offset,
		       sizeof(uint64_t));
	}
	return nr;
}

bool virtio_has_feature(const struct virtio_device *dev, unsigned int bit)
{
	return dev->features_acked & BIT_ULL(bit);
}

bool virtio_running(const struct virtio_device *dev)
{
	return (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void raise_irq(struct virtio_device *dev, uint32_t cause)
{
	dev->interrupt_status |= cause;
	if (dev->transport.raise_irq)
		dev->transport.raise_irq(dev);
}

uint32_t virtio_get_device_features(struct virtio_device *dev, unsigned int word)
{
	uint32_t v = 0;

	pthread_mutex_lock(&dev->lock);
	if (word < 2)
		v = (uint32_t)(dev->features_offered >> (32 * word));
	pthread_mutex_unlock(&dev->lock);
	return v;
}

void virtio_set_driver_features(struct virtio_device *dev, unsigned int word, uint32_t val)
{
	pthread_mutex_lock(&dev->lock);
	/* 2.2.2: features are only written before FEATURES_OK. */
	if (word < 2 && !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		dev->features_acked &= ~(0xffffffffULL << (32 * word));
		dev->features_acked |= (uint64_t)val << (32 * word);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* One register's worth of device state, read under the lock. */
static uint32_t read_locked(struct virtio_device *dev, const uint32_t *field)
{
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	v = *field;
	pthread_mutex_unlock(&dev->lock);
	return v;
}

uint32_t virtio_get_status(struct virtio_device *dev)
{
	return read_locked(dev, &dev->status);
}

static void reset_locked(struct virtio_device *dev)
{
	/* Not running from here on: kicks during the device's reset are ignored. */
	dev->status = 0;
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
		vq_reset(&dev->vq[q]);
		dev->vq[q].size = VIRTIO_QUEUE_SIZE;
	}
	dev->status = 0;
	dev->features_acked = 0;
	dev->interrupt_status = 0;
	dev->queue_sel = 0;
	dev->generation++;
}

static bool features_acceptable(struct virtio_device *dev)
{
	uint64_t unoffered = dev->features_acked & ~dev->features_offered;

	if (unoffered) {
		pr_warn("%s: the driver accepted features 0x%llx that were not offered; "
			"refusing FEATURES_OK",
			dev->name, (unsigned long long)unoffered);
		return false;
	}
	if (!virtio_has_feature(dev, VIRTIO_F_VERSION_1)) {
		pr_warn("%s: the driver did not accept VIRTIO_F_VERSION_1; cmavm's devices are "
			"modern only (a legacy driver?)",
			dev->name);
		return false;
	}
	return true;
}

static void driver_ok(struct virtio_device *dev)
{
	bool event_idx = virtio_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);

	for (unsigned int q = 0; q < dev->ops->nr_queues; q++)
		dev->vq[q].event_idx = event_idx;
	if (dev->ops->start)
		dev->ops->start(dev);
	/*
	 * Kicks that came before DRIVER_OK were ignored, and drivers do kick
	 * early (virtio_balloon's init_vqs() queues its stats buffer): look at
	 * every queue once now.
	 */
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++)
		if (dev->vq[q].enabled && dev->transport.kick)
			dev->transport.kick(dev, q);
}

void virtio_set_status(struct virtio_device *dev, uint32_t status)
{
	uint32_t old;

	pthread_mutex_lock(&dev->lock);
	old = dev->status;
	if (!status) {
		reset_locked(dev);
	} else {
		if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(dev))
			status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		/* 3.1.1: no DRIVER_OK without accepted features (a legacy driver skips it). */
		if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    !(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			pr_warn("%s: the driver set DRIVER_OK without FEATURES_OK; ignored "
				"(cmavm's "
				"devices are modern only)",
				dev->name);
			status &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		}
		/* NEEDS_RESET is the device's to set, and only a reset clears it. */
		dev->status = status | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
		if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
			driver_ok(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}

uint32_t virtio_read_interrupt_status(struct virtio_device *dev)
{
	return read_locked(dev, &dev->interrupt_status);
}

void virtio_ack_interrupt(struct virtio_device *dev, uint32_t bits)
{
	pthread_mutex_lock(&dev->lock);
	dev->interrupt_status &= ~bits;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_config_access(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len,
			  bool is_write)
{
	const struct virtio_device_ops *ops = dev->ops;

	pthread_mutex_lock(&dev->lock);
	if (offset > ops->config_size || len > ops->config_size - offset) {
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		if (ops->config_write)
			ops->config_write(dev, offset, data, len);
	} else if (ops->config_read) {
		ops->config_read(dev, offset, data, len);
	} else {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&dev->lock);
}

static struct virtqueue *selected(struct virtio_device *dev)
{
	return dev->queue_sel < dev->ops->nr_queues ? &dev->vq[dev->queue_sel] : NULL;
}

/* The selected queue if its size and addresses may be written: only while it is not ready. */
static struct virtqueue *selected_unready(struct virtio_device *dev)
{
	struct virtqueue *vq = selected(dev);

	return vq && !vq->enabled ? vq : NULL;
}

void virtio_select_queue(struct virtio_device *dev, uint32_t q)
{
	pthread_mutex_lock(&dev->lock);
	dev->queue_sel = q;
	pthread_mutex_unlock(&dev->lock);
}

/* A register of the selected queue, under the lock; 0 when there is no such queue (4.2.2). */
static uint32_t read_selected(struct virtio_device *dev,
			      uint32_t (*reg)(const struct virtqueue *vq))
{
	struct virtqueue *vq;
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	vq = selected(dev);
	v = vq ? reg(vq) : 0;
	pthread_mutex_unlock(&dev->lock);
	return v;
}

static uint32_t queue_num_max(const struct virtqueue *vq)
{
	return VIRTIO_QUEUE_SIZE;
}

static uint32_t queue_ready(const struct virtqueue *vq)
{
	return vq->enabled;
}

uint32_t virtio_queue_max_size(struct virtio_device *dev)
{
	return read_selected(dev, queue_num_max);
}

void virtio_set_queue_size(struct virtio_device *dev, uint32_t size)
{
	struct virtqueue *vq;

	pthread_mutex_lock(&dev->lock);
	vq = selected_unready(dev);
	if (vq)
		vq->size = size > 0xffff ? 0 : (uint16_t)size; /* checked at enable */
	pthread_mutex_unlock(&dev->lock);
}

void virtio_set_queue_addr(struct virtio_device *dev, int which, bool high, uint32_t val)
{
	struct virtqueue *vq;
	uint64_t *addr;

	pthread_mutex_lock(&dev->lock);
	vq = selected_unready(dev);
	if (vq) {
		addr = which == VIRTIO_QUEUE_DESC     ? &vq->desc_gpa
		       : which == VIRTIO_QUEUE_DRIVER ? &vq->avail_gpa
						      : &vq->used_gpa;
		if (high)
			*addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
		else
			*addr = (*addr & ~0xffffffffULL) | val;
	}
	pthread_mutex_unlock(&dev->lock);
}

uint32_t virtio_get_queue_ready(struct virtio_device *dev)
{
	return read_selected(dev, queue_ready);
}

void virtio_set_queue_ready(struct virtio_device *dev, uint32_t ready)
{
	struct virtqueue *vq;

	pthread_mutex_lock(&dev->lock);
	vq = selected(dev);
	if (vq && ready && !vq->enabled) {
		if (vq_enable(vq))
			virtio_queue_broken(dev, vq);
	} else if (vq && !ready) {
		vq_reset(vq);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_notify_queue(struct virtio_device *dev, unsigned int q)
{
	pthread_mutex_lock(&dev->lock);
	if (q < dev->ops->nr_queues && dev->vq[q].enabled && !dev->vq[q].broken &&
	    virtio_running(dev) && dev->ops->queue_notify)
		dev->ops->queue_notify(dev, q);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_queue_done(struct virtio_device *dev, struct virtqueue *vq)
{
	if (vq_should_notify(vq))
		raise_irq(dev, VIRTIO_MMIO_INT_VRING);
}

void virtio_config_changed(struct virtio_device *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_queue_broken(struct virtio_device *dev, struct virtqueue *vq)
{
	pr_err("%s; %s needs a reset (DEVICE_NEEDS_RESET); other devices go on", vq->broken_reason,
	       dev->name);
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* 2.1.2: the device sends a configuration change notification. */
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

/* 1: a chain was handled, 0: the ring is empty, -1: the guest broke the queue */
static int handle_next(struct virtio_device *dev, struct virtqueue *vq, virtio_chain_fn handle,
		       bool *pushed)
{
	int ret = vq_pop(vq, dev->chain);
	int64_t written;

	if (ret != 1)
		return ret;
	written = handle(dev, vq, dev->chain);
	if (written >= 0) {
		vq_push(vq, dev->chain->head, (uint32_t)written);
		*pushed = true;
	}
	return 1;
}

void virtio_process_queue(struct virtio_device *dev, struct virtqueue *vq, virtio_chain_fn handle)
{
	bool pushed = false;
	int ret;

	if (!dev->chain || vq->broken)
		return;
	vq_notifications(vq, false);
	for (;;) {
		ret = handle_next(dev, vq, handle, &pushed);
		if (ret == 0) {
			/* Empty: ask for kicks again, then look once more (2.7.10). */
			vq_notifications(vq, true);
			ret = handle_next(dev, vq, handle, &pushed);
		}
		if (ret != 1)
			break;
	}
	if (ret < 0)
		virtio_queue_broken(dev, vq);
	if (pushed)
		virtio_queue_done(dev, vq);
}
