// SPDX-License-Identifier: GPL-2.0-only
/*
 * The transmitq (see net.h): the guest's frames to the tap.
 *
 * A chain is a 12-byte header and a frame (5.1.6.2), in device-readable
 * buffers split as the driver likes. The header is copied out and
 * checked (12 bytes at least, offloads the driver accepted, a frame of
 * at most NET_FRAME_MAX); a chain that fails is used at once with
 * nothing written and counted (tx_bad_frames), and the queue goes on.
 * The tap then gets the checked copy of the header and the frame
 * straight from the guest's buffers in one writev on the event loop's
 * io_uring (a tap takes a whole frame a write, or none), and the chain
 * is used when the write completes. A tap never makes a write wait: its
 * send buffer is unlimited, and a tap that is down refuses at once (EIO).
 *
 * A flood cannot hold the loop: a turn takes at most NET_TX_BURST chains,
 * then queues a NOP behind whatever else the loop has ready, whose
 * completion takes the next turn; at most NET_TX_SLOTS writes are in
 * flight, and a turn that finds none free waits for half of them to
 * complete. Driver notifications are off while turns go on, and on again
 * once a turn finds the ring empty (2.7.10).
 *
 * The device writes nothing of the guest's here but the used ring (and
 * avail_event in it): frames are only read. While the CMA engine's fence
 * (net.h) touches that ring, no turn is taken (the notification is
 * remembered: tx_fenced), and a chain whose write completes meanwhile is
 * answered when the fence comes down, before anything newer; reading the
 * buffers of a range being moved is harmless, so writes in flight go on.
 */
#include "vmm/virtio/net.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>

static void tx_done(struct ev_op *op, int res, unsigned int flags);

static struct net_tx_req *free_slot(struct net *net)
{
	if (net->tx_inflight == NET_TX_SLOTS)
		return NULL;
	for (unsigned int i = 0; i < NET_TX_SLOTS; i++)
		if (!net->tx[i].busy)
			return &net->tx[i];
	return NULL;
}

/* The header's checked copy, then the frame's bytes where the driver put them. */
static void build_iov(struct net_tx_req *req, const struct vq_chain *chain)
{
	uint64_t skip = NET_HDR_LEN;
	unsigned int n = 0;

	req->iov[n++] = (struct iovec){ &req->hdr, NET_HDR_LEN };
	for (unsigned int i = 0; i < chain->nr_out; i++) {
		const struct vq_buf *b = &chain->buf[i];

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		req->iov[n++] = (struct iovec){ (uint8_t *)b->host + skip, b->len - skip };
		skip = 0;
	}
	req->nr_iov = n;
}

static int tx_submit(struct virtio_device *dev, struct net_tx_req *req)
{
	struct net *net = to_net(dev);
	struct io_uring_sqe *sqe = ev_sqe(dev->loop, &req->op);

	if (!sqe)
		return -1;
	req->op.done = tx_done;
	req->busy = true;
	net->tx_inflight++;
	io_uring_prep_writev(sqe, net->fd, req->iov, req->nr_iov, 0);
	return 0;
}

/*
 * 1: @chain's frame is on its way in @req; 0: use the chain now, nothing
 * written (counted); -1: the queue broke (a device-writable buffer: no
 * transmit chain has one, 5.1.6.2).
 */
static int tx_chain(struct virtio_device *dev, struct virtqueue *vq, const struct vq_chain *chain,
		    struct net_tx_req *req)
{
	struct net *net = to_net(dev);

	if (chain->nr_out < chain->nr)
		return vq_fail(vq,
			       "chain from head %u: %u device-writable buffer(s) in a transmitq "
			       "(5.1.6.2)",
			       chain->head, chain->nr - chain->nr_out);
	/* a frame holds an Ethernet header at least: a tap refuses less (EINVAL) */
	if (chain->out_len < NET_HDR_LEN + ETH_HLEN ||
	    chain->out_len - NET_HDR_LEN > NET_FRAME_MAX) {
		net->n.tx_bad_frames++;
		return 0;
	}
	vq_chain_read(chain, 0, &req->hdr, NET_HDR_LEN);
	if (!net_hdr_accepted(dev, &req->hdr, &net_tx_offloads)) {
		net->n.tx_bad_frames++;
		return 0;
	}
	if (!net->link_up) {
		net->n.tx_dropped++;
		return 0;
	}
	req->hdr.num_buffers = 0;
	req->head = chain->head;
	req->generation = vq->generation;
	req->frame_len = (uint32_t)(chain->out_len - NET_HDR_LEN);
	build_iov(req, chain);
	if (tx_submit(dev, req)) {
		net->n.tx_errors++;
		return 0;
	}
	return 1;
}

/*
 * Does the fence keep the device off @vq's used ring? Then the queue
 * waits for the unfence (counted once however often it is tried).
 */
static bool tx_fenced_out(struct net *net, const struct virtqueue *vq)
{
	if (!net_ring_fenced(net, vq))
		return false;
	if (!net->tx_behind_fence)
		net->n.tx_fenced++;
	net->tx_behind_fence = true;
	return true;
}

/* What the fence held, answered in the order the writes completed; true if any. */
static bool tx_answer_held(struct net *net, struct virtqueue *vq)
{
	unsigned int n = net->nr_tx_held;

	net->tx_behind_fence = false;
	if (!n)
		return false;
	net->nr_tx_held = 0;
	vq_push_n(vq, net->tx_held, n);
	return true;
}

/*
 * A chain whose frame the tap took (or refused): used now, after what the
 * fence held, or held itself while the fence covers the used ring. At
 * most NET_TX_SLOTS are held: no turn takes a chain while they are.
 */
static void tx_answer(struct virtio_device *dev, struct virtqueue *vq, uint16_t head)
{
	struct net *net = to_net(dev);

	if (tx_fenced_out(net, vq)) {
		if (net->nr_tx_held < NET_TX_SLOTS)
			net->tx_held[net->nr_tx_held++] = (struct vq_used){ head, 0 };
		return;
	}
	tx_answer_held(net, vq);
	vq_push(vq, head, 0);
	virtio_queue_done(dev, vq);
}

/* The next chain; on an empty ring, notifications on again and one more look (2.7.10). */
static int tx_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	int ret = vq_pop(vq, chain);

	if (ret)
		return ret;
	vq_notifications(vq, true);
	return vq_pop(vq, chain);
}

/*
 * The turn took its NET_TX_BURST chains: the next one comes after what
 * the loop has ready now, as if the driver had kicked again (the queue's
 * notify eventfd). Not by waiting for the driver's next kick: with
 * EVENT_IDX it sends none for chains it has already made available.
 */
static void tx_yield(struct virtio_device *dev)
{
	to_net(dev)->n.tx_yields++;
	dev->transport.kick(dev, NET_TXQ);
}

void net_tx_turn(struct virtio_device *dev)
{
	struct net *net = to_net(dev);
	struct virtqueue *vq = &dev->vq[NET_TXQ];
	bool pushed = false;
	unsigned int taken;
	int ret = 0;

	if (!virtio_running(dev) || !vq->enabled || vq->broken || tx_fenced_out(net, vq))
		return;
	pushed = tx_answer_held(net, vq);
	vq_notifications(vq, false);
	for (taken = 0; taken < NET_TX_BURST; taken++) {
		struct net_tx_req *req = free_slot(net);

		if (!req) {
			net->tx_waiting = true;
			break;
		}
		ret = tx_pop(vq, dev->chain);
		if (ret <= 0)
			break; /* empty, or broken */
		ret = tx_chain(dev, vq, dev->chain, req);
		if (ret < 0)
			break;
		if (ret == 0) {
			vq_push(vq, dev->chain->head, 0);
			pushed = true;
		}
	}
	if (taken == NET_TX_BURST)
		tx_yield(dev);
	if (ret < 0)
		virtio_queue_broken(dev, vq);
	if (pushed)
		virtio_queue_done(dev, vq);
}

/*
 * A write's result, counted; the first failure of the host's is reported.
 * EINVAL is the tap refusing the frame itself (a header whose offsets or
 * GSO fields the kernel rejects): the guest's doing, a bad frame, which
 * must not use up the warning that a real failure (the tap down) needs.
 */
static void tx_count(struct virtio_device *dev, const struct net_tx_req *req, int res)
{
	struct net *net = to_net(dev);

	if (res >= 0 && (uint32_t)res == req->frame_len + NET_HDR_LEN) {
		net->n.tx_packets++;
		net->n.tx_bytes += req->frame_len;
		return;
	}
	if (res == -EINVAL) {
		net->n.tx_bad_frames++;
		return;
	}
	net->n.tx_errors++;
	if (res == -ECANCELED || (net->warned & NET_WARNED_TX_WRITE))
		return;
	net->warned |= NET_WARNED_TX_WRITE;
	pr_warn("%s: tap %s refused a frame: %s%s (counted as tx_errors; reported once)", dev->name,
		net->tap, res < 0 ? strerror(-res) : "a short write",
		res == -EIO ? "; is it down? sudo ip link set it up" : "");
}

static void tx_done(struct ev_op *op, int res, unsigned int flags)
{
	struct net_tx_req *req = container_of(op, struct net_tx_req, op);
	struct virtio_device *dev = req->dev;
	struct net *net = to_net(dev);
	struct virtqueue *vq = &dev->vq[NET_TXQ];

	(void)flags;
	pthread_mutex_lock(&dev->lock);
	/* Taken back since (QueueReady = 0, a reset): the answer would reach new rings. */
	if (req->generation == vq->generation) {
		tx_count(dev, req, res);
		tx_answer(dev, vq, req->head);
	}
	req->busy = false;
	if (!--net->tx_inflight)
		pthread_cond_broadcast(&net->tx_idle);
	if (net->tx_waiting && net->tx_inflight <= NET_TX_SLOTS / 2) {
		net->tx_waiting = false;
		net_tx_turn(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}

/*
 * 3.3.1: once the reset or QueueReady = 0 returns, the device must not
 * read the driver's buffers: the vCPU waits for the writes in flight,
 * which a tap completes at once. On the loop thread (no vCPU) nothing can
 * be waited for: the stale writes end unanswered.
 */
void net_tx_stop(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	net->tx_waiting = false;
	net->tx_behind_fence = false;
	net->nr_tx_held = 0; /* answers for rings the driver took back */
	while (net->tx_inflight && !ev_on_loop_thread(dev->loop))
		pthread_cond_wait(&net->tx_idle, &dev->lock);
}

void net_tx_unfenced(struct virtio_device *dev)
{
	if (to_net(dev)->tx_behind_fence)
		net_tx_turn(dev);
}
