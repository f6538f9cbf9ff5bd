/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to virtio-net (virtio 1.2, 5.1): the device's state, and the
 * calls between the files that make up the device:
 *
 *   net.c      the device as the virtio core sees it: features, config
 *              space, link status, start, reset, counters, the constructor;
 *              the CMA engine's fence (below)
 *   net_tx.c   the transmitq: each chain's header checked, the frame
 *              handed to the tap with one writev on the event loop's
 *              io_uring, at most NET_TX_BURST chains a turn
 *   net_rx.c   the receiveq: the tap read on the event loop's io_uring
 *              into one host buffer, each packet then copied into one
 *              chain, or into several with MRG_RXBUF
 *   net_tap.c  the tap: opening it and probing its offloads
 *              (net_tap_open(), devices.h), and switching them to what
 *              the driver accepted
 *
 * The ABI is <linux/virtio_net.h>'s: features VIRTIO_NET_F_*, the config
 * space struct virtio_net_config (5.1.4), the header struct
 * virtio_net_hdr_v1 (5.1.6) and its flags and GSO types; the tap's is
 * <linux/if_tun.h>'s (TUN_F_* for TUNSETOFFLOAD). The tap reads and
 * writes the same 12-byte header (TUNSETVNETHDRSZ), in the host's byte
 * order, which is the little-endian of VERSION_1 on every host cmavm
 * runs on.
 *
 * The fence. While the CMA engine moves a range of guest RAM live, the
 * range is write-protected, and a write into it by the loop thread would
 * wait in the kernel until the move's copy ends, and every device and the
 * API on the loop with it. The device writes guest RAM only on the loop
 * thread, under its lock: receive buffers, and both queues' used rings
 * (which a driver that took ACCESS_PLATFORM allocates in the CMA pool).
 * So nothing of it is ever in flight into guest RAM (no inflight_into),
 * and the fence (ops->fence, on the loop thread) is all it needs: a
 * queue whose used ring the fence touches does nothing that writes it,
 * and a packet whose receive buffers it touches waits in the device, the
 * tap unread, until ops->unfence lets both go on, in order.
 *
 * Every call is made with the device lock held, on the loop thread
 * unless it says otherwise.
 */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/hw/event_loop.h"
#include "vmm/virtio/devices.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tap's vnet header is in host order; a big-endian host needs TUNSETVNETLE"
#endif

#define NET_RXQ	   0 /* receiveq1 (5.1.2) */
#define NET_TXQ	   1 /* transmitq1 */
#define NET_QUEUES 2 /* no VIRTIO_NET_F_MQ, no VIRTIO_NET_F_CTRL_VQ */

#define NET_HDR_LEN sizeof(struct virtio_net_hdr_v1)
/*
 * The largest frame either way: a tap's largest MTU (ETH_MAX_MTU) with
 * its Ethernet and VLAN headers, more than the 64 KiB and Ethernet header
 * of the largest GSO packet.
 */
#define NET_FRAME_MAX  (65535 + 14 + 4)
#define NET_PACKET_MAX (NET_HDR_LEN + NET_FRAME_MAX)

/* Frames handed to the tap and not yet written: each holds its chain. */
#define NET_TX_SLOTS 64
/* Chains taken from the transmitq in one turn before the loop runs others. */
#define NET_TX_BURST 64

struct net_counters {
	uint64_t rx_packets, rx_bytes; /* frames put in receive buffers, header not counted */
	/* Packets lost: larger than the whole ring can hold, link down, no driver. */
	uint64_t rx_dropped;
	/* Packets that found the receiveq without room: the tap waits for buffers. */
	uint64_t rx_no_buffers;
	/* Tap reads that failed, or gave a packet too short or with an unaccepted offload. */
	uint64_t rx_errors;
	uint64_t tx_packets, tx_bytes; /* frames the tap took, header not counted */
	uint64_t tx_dropped;	       /* frames sent while the link was down */
	/* The driver's errors: a header short or asking an unaccepted offload, a frame too big. */
	uint64_t tx_bad_frames;
	uint64_t tx_errors; /* writes the tap refused */
	uint64_t tx_yields; /* turns that stopped at NET_TX_BURST chains, the rest left for later */
	/* Packets that waited for a move's fence (their buffers or the used ring in its range). */
	uint64_t rx_fenced;
	/* Times the transmitq stopped for a move's fence: turns put off, answers held. */
	uint64_t tx_fenced;
};

/* One frame on its way to the tap. */
struct net_tx_req {
	struct ev_op op;
	struct virtio_device *dev;
	unsigned int generation; /* the transmitq's when taken: another means it was taken back */
	uint16_t head;
	bool busy;
	uint32_t frame_len;
	struct virtio_net_hdr_v1 hdr; /* the header as checked: the tap reads this copy */
	unsigned int nr_iov;
	struct iovec iov[VQ_CHAIN_MAX + 1];
};

struct net {
	struct virtio_device *dev;
	int fd;
	char tap[NET_IFNAMSIZ];
	uint8_t mac[6];
	bool link_up;
	unsigned int tap_offloads;     /* TUN_F_* the tap accepts */
	unsigned int offloads_wanted;  /* TUN_F_* for the features the driver accepted */
	unsigned int offloads_set;     /* TUN_F_* the tap has (it said yes to) */
	unsigned int offloads_refused; /* the last set it said no to, | NET_OFFLOADS_REFUSED */
	unsigned int warned;	       /* NET_WARNED_*: what was reported once */

	/* receive: one packet at a time, read into @rx_buf */
	uint8_t *rx_buf;    /* NET_PACKET_MAX + 1 bytes: the last one tells a packet too long */
	uint32_t rx_len;    /* a packet waiting for receive buffers; 0: none */
	bool rx_reading;    /* @rx_op is in flight: a read, or a poll before one */
	bool rx_polling;    /* that one is a poll (a non-blocking descriptor) */
	bool rx_stopped;    /* the tap ended: not read again until a kick */
	struct ev_op rx_op; /* a read, a poll or a retry's timeout; never in flight twice */
	struct __kernel_timespec rx_retry; /* after a failed read */
	struct vq_used *rx_used;	   /* VQ_MAX_SIZE entries */
	bool rx_behind_fence;		   /* the packet waiting waits for the fence */

	/* transmit */
	struct net_tx_req *tx; /* NET_TX_SLOTS */
	unsigned int tx_inflight;
	bool tx_waiting;	/* a turn stopped for want of a free slot */
	pthread_cond_t tx_idle; /* tx_inflight reached 0; waited on under the device lock */
	bool tx_behind_fence;	/* the fence stopped a turn or held answers */
	/* Chains whose frames the tap took while the fence covered the used ring. */
	struct vq_used tx_held[NET_TX_SLOTS];
	unsigned int nr_tx_held;

	/* The range of guest RAM the CMA engine moves (host address); NULL: no fence. */
	const uint8_t *fence_host;
	uint64_t fence_len;

	struct net_counters n;
};

#define NET_OFFLOADS_REFUSED (1u << 31) /* above every TUN_F_* */
#define NET_RX_RETRY_MS	     100	/* a failed tap read is read again after this */

#define NET_WARNED_OFFLOAD  (1u << 0)
#define NET_WARNED_TX_WRITE (1u << 1)
#define NET_WARNED_RX_READ  (1u << 2)

static inline struct net *to_net(struct virtio_device *dev)
{
	return dev->priv;
}

/* ---- net.c ---- */

/* The feature bits that allow each offload in one direction. */
struct net_offload_bits {
	unsigned int csum, tso4, tso6, ecn, ufo;
};
extern const struct net_offload_bits net_rx_offloads; /* GUEST_*: what the tap hands the driver */
extern const struct net_offload_bits net_tx_offloads; /* CSUM, HOST_*: what the driver sends */

/* Does @h ask only for offloads the driver accepted, in the direction @bits names? */
bool net_hdr_accepted(const struct virtio_device *dev, const struct virtio_net_hdr_v1 *h,
		      const struct net_offload_bits *bits);

/* Would writing @vq's used ring (any of the part the device writes) touch the fence? */
bool net_ring_fenced(const struct net *net, const struct virtqueue *vq);
/* Would writing @chain's device-writable buffers touch the fence? */
bool net_chain_fenced(const struct net *net, const struct vq_chain *chain);

/* ---- net_tx.c ---- */

/* Take chains from the transmitq for one turn (its notification, or going on). */
void net_tx_turn(struct virtio_device *dev);
/* The transmitq was taken back: wait for its writes off the loop thread (lock dropped). */
void net_tx_stop(struct virtio_device *dev);
/* The fence came down: answer what it held, and take the turn it put off. */
void net_tx_unfenced(struct virtio_device *dev);

/* ---- net_rx.c ---- */

/*
 * The receiveq was notified, or the device started or its link changed:
 * deliver the packet waiting, if any, and read the tap again if none.
 */
void net_rx_kick(struct virtio_device *dev);
/* Forget the packet waiting (a reset): counted as dropped. */
void net_rx_forget(struct net *net);
/* The fence came down: deliver the packet it held, then read the tap again. */
void net_rx_unfenced(struct virtio_device *dev);

/* ---- net_tap.c ---- */

/* TUN_F_* for the receive offloads the driver accepted (GUEST_*). */
unsigned int net_tap_offloads_for(const struct virtio_device *dev);
/* Set the tap's offloads to @net->offloads_wanted if they differ. */
void net_tap_apply_offloads(struct net *net);

#endif
