// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-rng (virtio 1.2, 5.4): every device-writable buffer the driver
 * offers is filled from the host's getrandom(). A device-readable buffer
 * the driver MUST NOT offer (5.4.6.1), and the device has no answer for
 * it but an empty one, which it MUST NOT give (5.4.6.2): the queue breaks.
 */
#include "vmm/virtio/devices.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <linux/virtio_rng.h> /* VIRTIO_ID_RNG; virtio-rng has no features or config */
#include <stdlib.h>
#include <sys/random.h>

/* Largest single request we fill; the driver asks for far less. */
#define RNG_MAX_REQUEST (64 * 1024)

struct rng {
	uint64_t requests;
	uint64_t bytes;
};

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int64_t rng_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct rng *rng = dev->priv;
	uint64_t written = 0;

	if (chain->nr_out)
		return vq_fail(vq,
			       "chain from head %u: %u device-readable buffer(s); an entropy "
			       "request has only device-writable ones (5.4.6.1)",
			       chain->head, chain->nr_out);
	for (unsigned int i = chain->nr_out; i < chain->nr && written < RNG_MAX_REQUEST; i++) {
		struct vq_buf *b = &chain->buf[i];
		uint64_t len =
			b->len < RNG_MAX_REQUEST - written ? b->len : RNG_MAX_REQUEST - written;

		if (fill_random(b->host, len)) {
			pr_errno("%s: getrandom", dev->name);
			break;
		}
		written += len;
	}
	rng->requests++;
	rng->bytes += written;
	return (int64_t)written;
}

static void rng_notify(struct virtio_device *dev, unsigned int q)
{
	virtio_process_queue(dev, &dev->vq[q], rng_request);
}

static const struct virtio_counter_field rng_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct rng, requests),
	VIRTIO_COUNTER_FIELD(struct rng, bytes),
};

static unsigned int rng_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	return virtio_fill_counters(out, dev->priv, rng_counter_fields,
				    sizeof(rng_counter_fields) / sizeof(rng_counter_fields[0]));
}

static const struct virtio_device_ops rng_ops = {
	.type = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_notify = rng_notify,
	.counters = rng_counters,
};

int virtio_rng_create(struct virtio_device *dev, const struct virtio_env *env)
{
	virtio_init(dev, &rng_ops, "virtio-rng0", env->ram, env->loop, env->access_platform);
	dev->priv = calloc(1, sizeof(struct rng));
	return dev->priv ? 0 : -1;
}
