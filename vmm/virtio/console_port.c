// SPDX-License-Identifier: GPL-2.0-only
/*
 * The named port's bytes (virtio 1.2, 5.3.6): what the guest writes on
 * port 1's transmitq goes to ops.received; what the host sends waits in
 * the outbox, a ring of CONSOLE_TX_MAX bytes, until the driver gives
 * receive buffers on port 1's receiveq, and a chain takes as much as fits.
 *
 * Bytes flow only while the guest program has the port open: Linux drops
 * what arrives for a closed port (in_intr(), discard_port_data()) and
 * writes only through an open one, so the host's send takes nothing then,
 * a close drops what still waits, and guest bytes on a closed port, or on
 * port 0, which was never added, are dropped and counted.
 */
#include "vmm/virtio/console.h"

#include <string.h>

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Guest bytes are copied out of guest memory before the host sees them,
 * so the guest cannot change them while the host parses them.
 */
int64_t console_port_transmit(struct virtio_device *dev, struct virtqueue *vq,
			      struct vq_chain *chain)
{
	struct console *c = to_console(dev);
	uint64_t len = min_u64(chain->out_len, CONSOLE_CHAIN_MAX), off, n;

	if (!console_transmit_chain_ok(dev, vq, chain))
		return -1;
	for (off = 0; off < len && c->guest_open; off += n) {
		n = min_u64(len - off, CONSOLE_BOUNCE);
		vq_chain_read(chain, off, c->bounce, n);
		c->n.bytes_in += n;
		if (c->ops.received)
			c->ops.received(c->ops.opaque, c->bounce, n);
	}
	c->n.dropped += chain->out_len - off;
	return 0;
}

int64_t console_port0_transmit(struct virtio_device *dev, struct virtqueue *vq,
			       struct vq_chain *chain)
{
	if (!console_transmit_chain_ok(dev, vq, chain))
		return -1;
	to_console(dev)->n.dropped += chain->out_len;
	return 0;
}

static bool out_pending(const struct console *c)
{
	return c->out_len;
}

static uint32_t fill_port(struct console *c, const struct vq_chain *chain)
{
	uint64_t done = 0, n;

	while (c->out_len && done < chain->in_len) {
		n = min_u64(min_u64(CONSOLE_TX_MAX - c->out_head, c->out_len),
			    chain->in_len - done);
		vq_chain_write(chain, done, c->outbox + c->out_head, n);
		c->out_head = (c->out_head + n) % CONSOLE_TX_MAX;
		c->out_len -= n;
		done += n;
	}
	c->n.bytes_out += done;
	return (uint32_t)done;
}

void console_port_deliver(struct virtio_device *dev)
{
	console_fill_receiveq(dev, CQ_PORT_RX, out_pending, fill_port);
}

/* Append to the outbox ring what fits of @data; returns the bytes taken. */
static size_t outbox_put(struct console *c, const uint8_t *data, size_t len)
{
	size_t taken = (size_t)min_u64(len, CONSOLE_TX_MAX - c->out_len), done = 0;

	while (done < taken) {
		size_t tail = (c->out_head + c->out_len) % CONSOLE_TX_MAX;
		size_t n = (size_t)min_u64(CONSOLE_TX_MAX - tail, taken - done);

		memcpy(c->outbox + tail, data + done, n);
		c->out_len += n;
		done += n;
	}
	return taken;
}

size_t console_port_send(struct virtio_device *dev, const void *data, size_t len)
{
	struct console *c = to_console(dev);
	size_t taken;

	if (!c->guest_open)
		return 0;
	/* Buffers the driver added without a kick may make room first. */
	console_port_deliver(dev);
	taken = outbox_put(c, data, len);
	console_port_deliver(dev);
	return taken;
}

bool console_port_is_open(struct virtio_device *dev)
{
	return to_console(dev)->guest_open;
}

void console_port_set_open(struct virtio_device *dev, bool open)
{
	struct console *c = to_console(dev);

	if (open == c->guest_open)
		return;
	c->guest_open = open;
	if (open) {
		c->n.opens++;
	} else {
		c->n.dropped += c->out_len;
		c->out_head = c->out_len = 0;
	}
	if (c->ops.opened)
		c->ops.opened(c->ops.opaque, open);
}
