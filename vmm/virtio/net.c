// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (virtio 1.2, 5.1) on a tap the operator made: the device as
 * the virtio core sees it. See net.h for how the files divide the work.
 *
 * The features follow what the tap does with its vnet header. What the
 * guest sends: a tap parses any header the kernel knows
 * (tun_get_user(), virtio_net_hdr_to_skb()) whatever TUNSETOFFLOAD says,
 * so CSUM, HOST_TSO4, HOST_TSO6 and HOST_ECN are always offered;
 * HOST_UFO only when the tap accepted TUN_F_UFO, as QEMU does, a kernel
 * that knows the flag being one that takes UFO headers. What the guest
 * receives: TUNSETOFFLOAD sets what the host may send the tap, so
 * GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, GUEST_ECN and GUEST_UFO are
 * offered as far as the tap accepted them when opened, and at DRIVER_OK
 * the tap is switched to what the driver accepted: it never hands the
 * device a packet the driver could not take (and one read before the
 * switch is checked again, net_rx.c).
 *
 * Not offered: CTRL_VQ, and with it receive filters, MAC changes and
 * announcements; MQ; MTU (the tap's MTU is the operator's to match).
 */
#include "vmm/virtio/net.h"
#include "vmm/util/log.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mac, status, max_virtqueue_pairs: the fields before mtu, which needs VIRTIO_NET_F_MTU. */
#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, mtu)
_Static_assert(NET_CONFIG_SIZE == 10, "5.1.4: mac[6], le16 status, le16 max_virtqueue_pairs");
_Static_assert(NET_HDR_LEN == 12, "5.1.6: the header with num_buffers, as VERSION_1 has it");
_Static_assert(NET_PACKET_MAX >= 65562, "5.1.6.3.1: what a receive buffer holds without MRG_RXBUF");

static void net_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct net *net = to_net(dev);
	struct virtio_net_config cfg = {
		.status = htole16(net->link_up ? VIRTIO_NET_S_LINK_UP : 0),
		.max_virtqueue_pairs = htole16(1),
	};

	memcpy(cfg.mac, net->mac, sizeof(cfg.mac));
	memcpy(data, (const uint8_t *)&cfg + offset, len);
}

/* Features are settled: the tap learns which offloads to use when the loop next reads it. */
static void net_start(struct virtio_device *dev)
{
	to_net(dev)->offloads_wanted = net_tap_offloads_for(dev);
}

static void net_notify(struct virtio_device *dev, unsigned int q)
{
	if (q == NET_RXQ)
		net_rx_kick(dev);
	else if (q == NET_TXQ)
		net_tx_turn(dev);
}

/*
 * The driver took queue @q back. The receiveq has nothing in flight that
 * writes guest memory (the tap is read into the device's own buffer);
 * the transmitq's writes read the driver's buffers until they complete,
 * and are waited for.
 */
static void net_queue_stop(struct virtio_device *dev, unsigned int q)
{
	if (q == NET_TXQ)
		net_tx_stop(dev);
}

/*
 * The mover's fence goes up (on the loop thread, or with no loop running):
 * from here every write checks it first. Nothing needs waiting for: no
 * write of the device's is ever in flight (net.h).
 */
static void net_fence(struct virtio_device *dev, const void *host, uint64_t len)
{
	struct net *net = to_net(dev);

	net->fence_host = host;
	net->fence_len = len;
}

/*
 * On the loop thread the held work goes on at once; from another thread
 * (the mover's, which must not take the loop's SQEs) a kick of each queue
 * that holds something has the loop do it, unless a new fence holds it
 * again by then.
 */
static void net_unfence(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	net->fence_host = NULL;
	net->fence_len = 0;
	if (ev_on_loop_thread(dev->loop)) {
		net_rx_unfenced(dev);
		net_tx_unfenced(dev);
		return;
	}
	if (!dev->transport.kick)
		return;
	if (net->rx_behind_fence)
		dev->transport.kick(dev, NET_RXQ);
	if (net->tx_behind_fence)
		dev->transport.kick(dev, NET_TXQ);
}

/* The packet waiting is for a driver that is gone; turns under way end with the reset. */
static void net_reset(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	net_rx_forget(net);
	net->tx_waiting = false;
}

static void net_destroy(struct virtio_device *dev)
{
	struct net *net = to_net(dev);

	if (net->fd >= 0)
		close(net->fd);
	pthread_cond_destroy(&net->tx_idle);
	free(net->rx_buf);
	free(net->rx_used);
	free(net->tx);
	free(net);
}

static const struct virtio_counter_field net_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_packets),
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_bytes),
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_dropped),
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_no_buffers),
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_errors),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_packets),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_bytes),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_dropped),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_bad_frames),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_errors),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_yields),
	VIRTIO_COUNTER_FIELD(struct net_counters, rx_fenced),
	VIRTIO_COUNTER_FIELD(struct net_counters, tx_fenced),
};
_Static_assert(sizeof(net_counter_fields) / sizeof(net_counter_fields[0]) <= VIRTIO_COUNTERS_MAX,
	       "the control API takes VIRTIO_COUNTERS_MAX counters a device");

static unsigned int net_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	return virtio_fill_counters(out, &to_net(dev)->n, net_counter_fields,
				    sizeof(net_counter_fields) / sizeof(net_counter_fields[0]));
}

#define NET_ALWAYS_FEATURES                                                                        \
	(BIT_ULL(VIRTIO_NET_F_MAC) | BIT_ULL(VIRTIO_NET_F_STATUS) |                                \
	 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) | BIT_ULL(VIRTIO_NET_F_CSUM) |                            \
	 BIT_ULL(VIRTIO_NET_F_HOST_TSO4) | BIT_ULL(VIRTIO_NET_F_HOST_TSO6) |                       \
	 BIT_ULL(VIRTIO_NET_F_HOST_ECN))

static const struct virtio_device_ops net_ops = {
	.type = "net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = NET_QUEUES,
	.features = NET_ALWAYS_FEATURES,
	.config_size = NET_CONFIG_SIZE,
	.config_read = net_config_read,
	.queue_notify = net_notify,
	.start = net_start,
	.queue_stop = net_queue_stop,
	.reset = net_reset,
	.fence = net_fence,
	.unfence = net_unfence,
	.destroy = net_destroy,
	.counters = net_counters,
};

/*
 * The tap-dependent features, from the TUN_F_* sets it accepted: each
 * receive offload with what it depends on (5.1.3.1: GUEST_TSO4 needs
 * GUEST_CSUM, GUEST_ECN a GUEST_TSO), which the tap required too.
 */
static uint64_t tap_features(unsigned int offloads)
{
	uint64_t f = 0;

	if (!(offloads & TUN_F_CSUM))
		return 0;
	f |= BIT_ULL(VIRTIO_NET_F_GUEST_CSUM);
	if (offloads & TUN_F_TSO4)
		f |= BIT_ULL(VIRTIO_NET_F_GUEST_TSO4);
	if (offloads & TUN_F_TSO6)
		f |= BIT_ULL(VIRTIO_NET_F_GUEST_TSO6);
	if ((offloads & TUN_F_TSO_ECN) && (offloads & (TUN_F_TSO4 | TUN_F_TSO6)))
		f |= BIT_ULL(VIRTIO_NET_F_GUEST_ECN);
	if (offloads & TUN_F_UFO)
		f |= BIT_ULL(VIRTIO_NET_F_GUEST_UFO) | BIT_ULL(VIRTIO_NET_F_HOST_UFO);
	return f;
}

static struct net *net_alloc(void)
{
	struct net *net = calloc(1, sizeof(*net));

	if (!net)
		return NULL;
	net->rx_buf = calloc(1, NET_PACKET_MAX + 1); /* never host garbage for the guest */
	net->rx_used = calloc(VQ_MAX_SIZE, sizeof(*net->rx_used));
	net->tx = calloc(NET_TX_SLOTS, sizeof(*net->tx));
	if (net->rx_buf && net->rx_used && net->tx)
		return net;
	free(net->rx_buf);
	free(net->rx_used);
	free(net->tx);
	free(net);
	return NULL;
}

int virtio_net_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct net_options *opts)
{
	struct net *net = net_alloc();
	char name[32];

	if (!net) {
		errno = ENOMEM;
		return -1;
	}
	net->fd = opts->tap_fd;
	snprintf(net->tap, sizeof(net->tap), "%s", opts->tap_name ? opts->tap_name : "?");
	memcpy(net->mac, opts->mac, sizeof(net->mac));
	net->link_up = true;
	net->tap_offloads = opts->offloads;
	pthread_cond_init(&net->tx_idle, NULL);
	snprintf(name, sizeof(name), "virtio-net%u", opts->index);
	virtio_init(dev, &net_ops, name, env->ram, env->loop, env->access_platform);
	dev->features_offered |= tap_features(opts->offloads);
	dev->priv = net;
	net->dev = dev;
	for (unsigned int i = 0; i < NET_TX_SLOTS; i++)
		net->tx[i].dev = dev;
	if (dev->chain)
		return 0;
	errno = ENOMEM;
	net->fd = -1; /* the caller's still */
	virtio_destroy(dev);
	return -1;
}

void net_get_info(struct virtio_device *dev, struct net_info *out)
{
	struct net *net = to_net(dev);

	memset(out, 0, sizeof(*out));
	memcpy(out->tap, net->tap, sizeof(out->tap));
	memcpy(out->mac, net->mac, sizeof(out->mac));
	out->link_up = net->link_up;
	out->tap_offloads = net->tap_offloads;
	out->offloads = net->offloads_set;
}

/*
 * The receive side learns of the change on the loop thread, through a
 * kick of its queue: a packet waiting is dropped while the link is down,
 * and reading goes on (and drops) so that nothing stale waits in the tap.
 */
void net_set_link(struct virtio_device *dev, bool up)
{
	struct net *net = to_net(dev);

	if (net->link_up == up)
		return;
	net->link_up = up;
	virtio_config_changed(dev);
	if (dev->transport.kick)
		dev->transport.kick(dev, NET_RXQ);
}

const struct net_offload_bits net_rx_offloads = {
	VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
	VIRTIO_NET_F_GUEST_ECN,	 VIRTIO_NET_F_GUEST_UFO,
};
const struct net_offload_bits net_tx_offloads = {
	VIRTIO_NET_F_CSUM,     VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
	VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO,
};

/*
 * 5.1.6.2 and 5.1.6.4: a partial checksum needs the CSUM feature of its
 * direction, each GSO type its own, and the ECN bit goes with a GSO type
 * and its ECN feature.
 */
bool net_hdr_accepted(const struct virtio_device *dev, const struct virtio_net_hdr_v1 *h,
		      const struct net_offload_bits *bits)
{
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !virtio_has_feature(dev, bits->csum))
		return false;
	if (ecn && !virtio_has_feature(dev, bits->ecn))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !ecn;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return virtio_has_feature(dev, bits->tso4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return virtio_has_feature(dev, bits->tso6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return virtio_has_feature(dev, bits->ufo);
	}
	return false;
}

/* Does [host, host + len) overlap the fence? */
static bool fenced(const struct net *net, const void *host, uint64_t len)
{
	const uint8_t *p = host;

	return net->fence_host && p < net->fence_host + net->fence_len && net->fence_host < p + len;
}

/*
 * The used ring as the virtqueue core writes it (2.7.8): flags, idx, the
 * elements and, with EVENT_IDX, avail_event, which vq_pop() and
 * vq_notifications() write too. Not enabled: nothing is written.
 */
bool net_ring_fenced(const struct net *net, const struct virtqueue *vq)
{
	uint64_t len = sizeof(struct vring_used) + sizeof(struct vring_used_elem) * vq->size +
		       (vq->event_idx ? sizeof(__virtio16) : 0);

	return vq->enabled && vq->used && fenced(net, vq->used, len);
}

bool net_chain_fenced(const struct net *net, const struct vq_chain *chain)
{
	for (unsigned int i = chain->nr_out; i < chain->nr; i++)
		if (fenced(net, chain->buf[i].host, chain->buf[i].len))
			return true;
	return false;
}
