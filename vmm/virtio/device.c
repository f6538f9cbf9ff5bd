// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic virtio device. The driver's side of the handshake (virtio
 * 1.2, 3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (which we
 * refuse unless VERSION_1 is among them and nothing unoffered is),
 * queue setup, DRIVER_OK.
 *
 * A driver that leaves that path where the spec says it MUST NOT (clears
 * a status bit, changes features after FEATURES_OK, sets DRIVER_OK without
 * FEATURES_OK, touches a queue's registers while it is ready, sets a queue
 * ready before FEATURES_OK or larger than QueueNumMax) would leave it and
 * the device disagreeing about the device's state: the device sets
 * DEVICE_NEEDS_RESET rather than carry on with either view.
 *
 * Taking queues back (a reset, QueueReady = 0) stops them first, so that
 * what was taken from them is stale before the device waits for its I/O
 * with the lock dropped; until that wait ends the driver's writes that
 * would change the device's state are refused (stop_queues()).
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

/* FAILED: the driver gave up on the device (2.1); it resets it before using it again. */
bool virtio_running(const struct virtio_device *dev)
{
	return (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(dev->status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
}

static void raise_irq(struct virtio_device *dev, uint32_t cause)
{
	dev->interrupt_status |= cause;
	if (dev->transport.raise_irq)
		dev->transport.raise_irq(dev);
}

/*
 * 2.1.2: set DEVICE_NEEDS_RESET, and tell a live driver with a
 * configuration change notification. False if it was set already: one
 * report per reset, however often a hostile driver repeats itself.
 */
static bool set_needs_reset(struct virtio_device *dev)
{
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return false;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
	return true;
}

/* The driver broke the rules of the device as a whole (not of one queue). */
static void device_error(struct virtio_device *dev, const char *why)
{
	if (set_needs_reset(dev))
		pr_err("%s: %s; %s needs a reset (DEVICE_NEEDS_RESET); other devices go on",
		       dev->name, why, dev->name);
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

/* Would writing @val to feature word @word change what the driver accepted? */
static bool features_change(const struct virtio_device *dev, unsigned int word, uint32_t val)
{
	if (word >= 2)
		return val != 0;
	return (uint32_t)(dev->features_acked >> (32 * word)) != val;
}

/*
 * Take the lock for a register write that changes the device's state;
 * false, with the lock not held, while a reset or queue stop waits for
 * I/O (stop_queues()): the write is refused. Only a driver racing its own
 * reset from another vCPU sees that.
 */
static bool lock_for_write(struct virtio_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	if (!dev->quiescing)
		return true;
	pthread_mutex_unlock(&dev->lock);
	return false;
}

void virtio_set_driver_features(struct virtio_device *dev, unsigned int word, uint32_t val)
{
	if (!lock_for_write(dev))
		return;
	if (dev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		/* 3.1.1: no new features after FEATURES_OK; the same ones again are harmless. */
		if (features_change(dev, word, val))
			device_error(dev,
				     "the driver changed its features after FEATURES_OK (3.1.1)");
	} else if (word >= 2) {
		/* No feature past bit 63 is offered: accepting one fails FEATURES_OK (2.2.1). */
		dev->features_unoffered_high |= val != 0;
	} else {
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

/*
 * Take queues [@first, @first + @n) back from the device: each is disabled
 * and moves to a new generation first, so that whatever was taken from it
 * is stale (answers nothing, starts nothing) before the device waits for
 * its I/O (ops->queue_stop). That wait drops the lock: @quiescing, set by
 * the caller, refuses the driver's writes meanwhile, so that no queue is
 * set up again on rings the old requests could still reach.
 */
static void stop_queues(struct virtio_device *dev, unsigned int first, unsigned int n)
{
	for (unsigned int q = first; q < first + n; q++)
		vq_reset(&dev->vq[q]);
	for (unsigned int q = first; q < first + n; q++)
		if (dev->ops->queue_stop)
			dev->ops->queue_stop(dev, q);
}

static void reset_locked(struct virtio_device *dev)
{
	/* Not running from here on: kicks during the device's reset are ignored. */
	dev->status = 0;
	dev->generation++;
	dev->quiescing = true;
	stop_queues(dev, 0, dev->ops->nr_queues);
	if (dev->ops->reset)
		dev->ops->reset(dev);
	dev->quiescing = false;
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++)
		dev->vq[q].size = VIRTIO_QUEUE_SIZE;
	dev->features_acked = 0;
	dev->features_unoffered_high = false;
	dev->interrupt_status = 0;
	dev->queue_sel = 0;
}

static bool features_acceptable(struct virtio_device *dev)
{
	uint64_t unoffered = dev->features_acked & ~dev->features_offered;

	if (dev->features_unoffered_high) {
		pr_warn("%s: the driver accepted features past bit 63, none of which was offered; "
			"refusing FEATURES_OK",
			dev->name);
		return false;
	}
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

/* A non-zero status: the bits the driver adds, checked as 3.1.1 orders them. */
static void add_status(struct virtio_device *dev, uint32_t status)
{
	/* NEEDS_RESET is the device's to set, and only a reset clears it. */
	uint32_t old = dev->status, added = status & ~old & ~VIRTIO_CONFIG_S_NEEDS_RESET;

	/* 2.1.1: the driver MUST NOT clear a status bit; writing 0 resets. */
	if (old & ~status & ~VIRTIO_CONFIG_S_NEEDS_RESET) {
		device_error(dev, "the driver cleared device status bits (2.1.1)");
		return;
	}
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(dev))
		added &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	/* 3.1.1: no DRIVER_OK without accepted features (a legacy driver skips them). */
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !((old | added) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		dev->status |= added & ~VIRTIO_CONFIG_S_DRIVER_OK;
		device_error(dev, "the driver set DRIVER_OK without FEATURES_OK (3.1.1); cmavm's "
				  "devices are modern only");
		return;
	}
	dev->status |= added;
	if (!(added & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	driver_ok(dev);
	/* Broken during setup (a ring outside RAM): tell the now live driver (2.1.2). */
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_set_status(struct virtio_device *dev, uint32_t status)
{
	if (!lock_for_write(dev))
		return;
	if (!status)
		reset_locked(dev);
	else
		add_status(dev, status);
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
		/* 3.1.1: during feature negotiation the driver may read config, not write it. */
		if (ops->config_write && (dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
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

/*
 * The selected queue if its size and addresses may be written: only while
 * it is not ready (4.2.2). Writing them to a ready queue would move or
 * resize rings the device is using: that breaks the queue.
 */
static struct virtqueue *selected_unready(struct virtio_device *dev, const char *reg)
{
	struct virtqueue *vq = selected(dev);

	if (vq && vq->enabled) {
		vq_fail(vq, "%s written while the queue is ready (4.2.2)", reg);
		virtio_queue_broken(dev, vq);
		return NULL;
	}
	return vq;
}

void virtio_select_queue(struct virtio_device *dev, uint32_t q)
{
	if (!lock_for_write(dev))
		return;
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

	if (!lock_for_write(dev))
		return;
	vq = selected_unready(dev, "QueueNum");
	if (vq)
		vq->size = size > 0xffff ? 0 : (uint16_t)size; /* checked at enable */
	pthread_mutex_unlock(&dev->lock);
}

/* The register pair of a VIRTIO_QUEUE_* address, for messages (4.2.2). */
static const char *queue_addr_name(int which)
{
	return which == VIRTIO_QUEUE_DESC     ? "QueueDesc"
	       : which == VIRTIO_QUEUE_DRIVER ? "QueueDriver"
					      : "QueueDevice";
}

void virtio_set_queue_addr(struct virtio_device *dev, int which, bool high, uint32_t val)
{
	struct virtqueue *vq;
	uint64_t *addr;

	if (!lock_for_write(dev))
		return;
	vq = selected_unready(dev, queue_addr_name(which));
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

/*
 * QueueReady = 1. The ring layout depends on the features (EVENT_IDX adds
 * fields), so they must be settled first (3.1.1 sets up queues after
 * FEATURES_OK); the size must be one QueueNumMax allows (4.2.2).
 */
static int enable_queue(struct virtio_device *dev, struct virtqueue *vq)
{
	if (!(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return vq_fail(vq, "QueueReady set before FEATURES_OK (3.1.1)");
	if (vq->size > VIRTIO_QUEUE_SIZE)
		return vq_fail(vq, "queue size %u is larger than QueueNumMax %u (4.2.2)", vq->size,
			       VIRTIO_QUEUE_SIZE);
	vq->event_idx = virtio_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = virtio_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC);
	return vq_enable(vq);
}

/*
 * QueueReady = 0: the driver takes the queue back, before DRIVER_OK when
 * its setup failed, or on a live device when it deletes its queues (Linux's
 * vm_del_vq(), e.g. after a probe that failed past DRIVER_OK). 4.2.2: the
 * register reads back what was written, and Linux warns if it does not.
 * The device stops using the queue and returns once nothing taken from it
 * can still write guest memory or its rings, which the driver frees next.
 */
static void disable_queue(struct virtio_device *dev, struct virtqueue *vq)
{
	dev->quiescing = true;
	stop_queues(dev, (unsigned int)(vq - dev->vq), 1);
	dev->quiescing = false;
}

void virtio_set_queue_ready(struct virtio_device *dev, uint32_t ready)
{
	struct virtqueue *vq;

	if (!lock_for_write(dev))
		return;
	vq = selected(dev);
	if (vq && ready && !vq->enabled) {
		if (enable_queue(dev, vq))
			virtio_queue_broken(dev, vq);
	} else if (vq && !ready) {
		disable_queue(dev, vq);
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
	if (set_needs_reset(dev))
		pr_err("%s; %s needs a reset (DEVICE_NEEDS_RESET); other devices go on",
		       vq->broken_reason, dev->name);
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
	/* The device found the chain unanswerable (vq_fail): nothing goes back. */
	if (vq->broken)
		return -1;
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
