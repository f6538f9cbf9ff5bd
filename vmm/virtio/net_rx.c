// SPDX-License-Identifier: GPL-2.0-only
/*
 * The receiveq (see net.h): packets from the tap into the driver's
 * receive buffers.
 *
 * The tap is read on the event loop's io_uring, one packet at a time,
 * into the device's own buffer (NET_PACKET_MAX bytes); the packet is
 * then copied into receive chains under the device lock. A copy a packet
 * buys what reading straight into guest buffers could not: the packet's
 * size is known before any chain is taken, which MRG_RXBUF needs (as many
 * chains as it takes, num_buffers in the first); no I/O in flight ever
 * writes guest memory, so neither a reset nor the CMA engine's moves have
 * any to wait for; and a driver that never refills its ring holds nothing
 * of the device's but that one packet.
 *
 * While the CMA engine's fence (net.h) touches the receiveq's used ring,
 * or any buffer of a chain the packet would fill, the packet waits in the
 * device as it would for buffers, counted (rx_fenced): the chains taken
 * go back unwritten from the fenced one on (those before it may hold part
 * of the packet, unused, rewritten when it goes), and the tap is not read
 * meanwhile, so nothing is lost or overtaken. Buffers are filled in ring
 * order, so one in the fence holds back the packets after it too; the
 * fence lasts one run's copy (16 MiB at most), and the tap's own queue
 * holds what comes meanwhile. The unfence delivers it, with no kick
 * from the driver.
 *
 * A packet that finds too few buffers waits in the device, counted
 * (rx_no_buffers), and the tap is not read again until the driver adds
 * buffers and notifies, which vq_pop() asked it to do when it found the
 * ring empty: no busy loop, and meanwhile the tap's own queue holds (past
 * its txqueuelen, drops) what comes. The chains taken for it go back
 * unused (vq_unpop()). A packet no buffers could hold (more than the whole
 * ring, or more than one chain without MRG_RXBUF) is dropped, and so is
 * every packet while the link is down or no driver runs the device.
 */
#include "vmm/virtio/net.h"
#include "vmm/util/log.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>

#define NUM_BUFFERS_AT offsetof(struct virtio_net_hdr_v1, num_buffers)

enum fill {
	FILL_DONE,    /* in the driver's buffers: net->rx_used says which */
	FILL_WAIT,    /* too few buffers for now */
	FILL_TOO_BIG, /* more than the buffers the driver can ever give at once */
	FILL_BROKEN,  /* the driver broke the ring: the queue is marked */
	FILL_FENCED,  /* the used ring or a buffer is in the fence: nothing published */
};

static void rx_arm(struct virtio_device *dev);

/* 5.1.6.3: device-writable buffers only; 5.1.6.3.1: at least the header in each. */
static bool rx_chain_ok(struct virtqueue *vq, const struct vq_chain *chain)
{
	if (chain->nr_out) {
		vq_fail(vq,
			"chain from head %u: %u device-readable buffer(s) in a receiveq (5.1.6.3)",
			chain->head, chain->nr_out);
		return false;
	}
	if (chain->in_len < NET_HDR_LEN) {
		vq_fail(vq,
			"chain from head %u: a receive buffer of %llu bytes, shorter than the "
			"%zu-byte header (5.1.6.3.1)",
			chain->head, (unsigned long long)chain->in_len, NET_HDR_LEN);
		return false;
	}
	return true;
}

/* Where byte @off of @chain's device-writable part is (rx_chain_ok() made sure it exists). */
static uint8_t *chain_byte(const struct vq_chain *chain, uint64_t off)
{
	for (unsigned int i = chain->nr_out; i < chain->nr; i++) {
		if (off < chain->buf[i].len)
			return (uint8_t *)chain->buf[i].host + off;
		off -= chain->buf[i].len;
	}
	return NULL;
}

/*
 * Copy the packet into chains taken one after another, each filled
 * before the next is taken, then write how many into the first one's
 * num_buffers (1 without MRG_RXBUF, 5.1.6.4). Each chain is looked at
 * against the fence before a byte goes into it.
 */
static enum fill rx_fill(struct virtio_device *dev, struct virtqueue *vq, unsigned int *nr)
{
	struct net *net = to_net(dev);
	struct vq_chain *chain = dev->chain;
	unsigned int max = virtio_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF) ? vq->size : 1;
	uint8_t *num_buffers[2] = { NULL, NULL };
	unsigned int k = 0;
	uint32_t off = 0, n;
	int ret;

	if (net_ring_fenced(net, vq))
		return FILL_FENCED; /* even an empty ring: vq_pop() may write avail_event */
	while (off < net->rx_len) {
		if (k == max) {
			vq_unpop(vq, k);
			return FILL_TOO_BIG;
		}
		ret = vq_pop(vq, chain);
		if (ret <= 0) {
			vq_unpop(vq, ret ? 0 : k);
			return ret ? FILL_BROKEN : FILL_WAIT;
		}
		if (!rx_chain_ok(vq, chain))
			return FILL_BROKEN;
		if (net_chain_fenced(net, chain)) {
			vq_unpop(vq, k + 1); /* taken again at the unfence, unasked */
			return FILL_FENCED;
		}
		if (k == 0) {
			num_buffers[0] = chain_byte(chain, NUM_BUFFERS_AT);
			num_buffers[1] = chain_byte(chain, NUM_BUFFERS_AT + 1);
		}
		n = chain->in_len < net->rx_len - off ? (uint32_t)chain->in_len : net->rx_len - off;
		vq_chain_write(chain, 0, net->rx_buf + off, n);
		net->rx_used[k++] = (struct vq_used){ chain->head, n };
		off += n;
	}
	*num_buffers[0] = (uint8_t)k; /* le16 */
	*num_buffers[1] = (uint8_t)(k >> 8);
	*nr = k;
	return FILL_DONE;
}

/* The packet waiting waits for the fence, counted once however often it is tried. */
static void rx_wait_for_fence(struct net *net)
{
	if (!net->rx_behind_fence)
		net->n.rx_fenced++;
	net->rx_behind_fence = true;
}

/*
 * The packet waiting: true once it is gone (delivered or dropped), false
 * while it waits, for buffers or for the fence (net->rx_behind_fence).
 */
static bool rx_deliver(struct virtio_device *dev)
{
	struct net *net = to_net(dev);
	struct virtqueue *vq = &dev->vq[NET_RXQ];
	unsigned int nr = 0;

	if (!virtio_running(dev) || !net->link_up || vq->broken) {
		net->n.rx_dropped++;
	} else {
		switch (rx_fill(dev, vq, &nr)) {
		case FILL_FENCED:
			rx_wait_for_fence(net);
			return false;
		case FILL_WAIT:
			net->rx_behind_fence = false;
			return false;
		case FILL_DONE:
			vq_push_n(vq, net->rx_used, nr);
			net->n.rx_packets++;
			net->n.rx_bytes += net->rx_len - NET_HDR_LEN;
			virtio_queue_done(dev, vq);
			break;
		case FILL_BROKEN:
			virtio_queue_broken(dev, vq);
			/* fall through */
		case FILL_TOO_BIG:
			net->n.rx_dropped++;
			break;
		}
	}
	net->rx_len = 0;
	net->rx_behind_fence = false;
	return true;
}

/*
 * The header as the driver may see it: the offloads it accepted only
 * (the tap was switched to them, but a packet read before the switch
 * may carry others), and without GUEST_CSUM flags 0 (5.1.6.4.1), which
 * drops the tap's DATA_VALID.
 */
static bool rx_header_fixed(const struct virtio_device *dev, uint8_t *packet)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, packet, NET_HDR_LEN);
	if (!net_hdr_accepted(dev, &h, &net_rx_offloads))
		return false;
	if (!virtio_has_feature(dev, VIRTIO_NET_F_GUEST_CSUM))
		h.flags = 0;
	h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	memcpy(packet, &h, NET_HDR_LEN);
	return true;
}

/* A packet of @len bytes came into rx_buf: false if it now waits for buffers. */
static bool rx_arrived(struct virtio_device *dev, uint32_t len)
{
	struct net *net = to_net(dev);

	if (!virtio_running(dev) || !net->link_up) {
		net->n.rx_dropped++;
		return true;
	}
	/* Shorter than an Ethernet header, or longer than any frame (and cut short). */
	if (len < NET_HDR_LEN + ETH_HLEN || len > NET_PACKET_MAX ||
	    !rx_header_fixed(dev, net->rx_buf)) {
		net->n.rx_errors++;
		return true;
	}
	net->rx_len = len;
	if (rx_deliver(dev))
		return true;
	if (!net->rx_behind_fence)
		net->n.rx_no_buffers++;
	return false;
}

static void rx_retry_due(struct ev_op *op, int res, unsigned int flags)
{
	struct net *net = container_of(op, struct net, rx_op);
	struct virtio_device *dev = net->dev;

	(void)res;
	(void)flags;
	pthread_mutex_lock(&dev->lock);
	net->rx_reading = false;
	rx_arm(dev);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * A failed read is read again after NET_RX_RETRY_MS: a guest whose ring
 * is full never kicks the receive queue, so waiting for a kick would end
 * its receiving for good, and reading at once would spin on a tap that
 * keeps failing. The tap's end (0), or the loop's (ECANCELED), stops it.
 */
static void rx_failed(struct virtio_device *dev, int res)
{
	struct net *net = to_net(dev);
	struct io_uring_sqe *sqe;

	if (res == 0 || res == -ECANCELED || res == -EBADFD) {
		net->rx_stopped = true;
		return;
	}
	net->n.rx_errors++;
	if (!(net->warned & NET_WARNED_RX_READ)) {
		net->warned |= NET_WARNED_RX_READ;
		pr_warn("%s: reading tap %s: %s; read again every %d ms while it fails (counted "
			"as rx_errors; reported once)",
			dev->name, net->tap, strerror(-res), NET_RX_RETRY_MS);
	}
	sqe = ev_sqe(dev->loop, &net->rx_op);
	if (!sqe) {
		dev->transport.kick(dev, NET_RXQ);
		return;
	}
	net->rx_retry = (struct __kernel_timespec){ .tv_nsec = NET_RX_RETRY_MS * 1000000L };
	net->rx_op.done = rx_retry_due;
	io_uring_prep_timeout(sqe, &net->rx_retry, 0, 0);
	net->rx_reading = true;
}

/* A non-blocking descriptor had no packet yet: wait for one, then read. */
static void rx_poll(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	net->rx_polling = !ev_poll_once(dev->loop, &net->rx_op, net->fd, POLLIN);
	net->rx_reading = net->rx_polling;
	if (!net->rx_polling)
		dev->transport.kick(dev, NET_RXQ);
}

static void rx_done(struct ev_op *op, int res, unsigned int flags)
{
	struct net *net = container_of(op, struct net, rx_op);
	struct virtio_device *dev = net->dev;

	(void)flags;
	pthread_mutex_lock(&dev->lock);
	net->rx_reading = false;
	if (net->rx_polling) {
		net->rx_polling = false;
		if (res < 0)
			rx_failed(dev, res);
		else
			rx_arm(dev);
	} else if (res == -EAGAIN || res == -EINTR) {
		rx_poll(dev);
	} else if (res <= 0) {
		rx_failed(dev, res);
	} else if (rx_arrived(dev, (uint32_t)res)) {
		rx_arm(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* Read the tap's next packet, unless one is under way or waiting, or nobody would take it. */
static void rx_arm(struct virtio_device *dev)
{
	struct net *net = to_net(dev);
	struct io_uring_sqe *sqe;

	if (net->rx_reading || net->rx_len || net->rx_stopped || !virtio_running(dev))
		return;
	sqe = ev_sqe(dev->loop, &net->rx_op);
	if (!sqe) { /* the ring is full for now: the loop's next turn comes back here */
		dev->transport.kick(dev, NET_RXQ);
		return;
	}
	net->rx_op.done = rx_done;
	io_uring_prep_read(sqe, net->fd, net->rx_buf, NET_PACKET_MAX + 1, 0);
	net->rx_reading = true;
}

void net_rx_kick(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	net_tap_apply_offloads(net);
	net->rx_stopped = false;
	if (net->rx_len && !rx_deliver(dev))
		return;
	rx_arm(dev);
}

void net_rx_forget(struct net *net)
{
	net->rx_behind_fence = false;
	if (!net->rx_len)
		return;
	net->n.rx_dropped++;
	net->rx_len = 0;
}

void net_rx_unfenced(struct virtio_device *dev)
{
	if (to_net(dev)->rx_behind_fence && rx_deliver(dev))
		rx_arm(dev);
}
