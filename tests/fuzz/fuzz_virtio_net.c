// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-net (vmm/virtio/net*.c) behind its virtio-mmio
 * registers, driven by the operations of virtio_driver.h (queue 0 the
 * receiveq, 1 the transmitq; 2 to 7 do not exist), its I/O on the event
 * loop's io_uring.
 *
 * The tap is a SOCK_SEQPACKET socketpair, made for each input: like a
 * tap with a vnet header, each read or write is one whole packet. Its
 * other end is the host's, worked by VDRV_HOST: packets of any length
 * (runts, and more than the device's buffer) with headers of any flags
 * and GSO type, accepted by the driver or not; draining what the device
 * wrote; the link down and up; the device's readings. When the input's
 * first byte has its top bit set, the "tap" claims every offload, so that
 * the GUEST_* features are offered too.
 *
 * A socketpair completes a write at once (or when the host drains it) and
 * a read when the host sends: the completions are ready when VDRV_RUN
 * looks, never worth waiting for (io_ms 0), and what completes depends
 * on the input alone.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/virtio_driver.h"

#define PACKET_MAX (12 + 65553 + 16) /* past the device's buffer, to be cut short */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int host_fd = -1;
static uint8_t packet[PACKET_MAX];

/* The GSO types a tap may write, those it never does, and ECN on either. */
static const uint8_t gso_types[8] = {
	VIRTIO_NET_HDR_GSO_NONE,
	VIRTIO_NET_HDR_GSO_TCPV4,
	VIRTIO_NET_HDR_GSO_UDP,
	VIRTIO_NET_HDR_GSO_TCPV6,
	VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
	VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
	2,
	VIRTIO_NET_HDR_GSO_ECN,
};

/*
 * A packet of bits 2 to 18 of @arg bytes (modulo PACKET_MAX), header
 * included: flags in bits 24 to 26, the GSO type chosen by bits 27 to 29.
 */
static void host_send(uint32_t arg)
{
	size_t len = ((arg >> 2) & 0x1ffff) % PACKET_MAX;

	memset(packet, 0, 12);
	packet[0] = (uint8_t)((arg >> 24) & 7);
	packet[1] = gso_types[(arg >> 27) & 7];
	packet[2] = (uint8_t)(arg >> 8); /* hdr_len, gso_size: whatever */
	packet[4] = (uint8_t)(arg >> 16);
	for (size_t i = 12; i < len; i++)
		packet[i] = (uint8_t)(i * 7);
	(void)!send(host_fd, packet, len, MSG_DONTWAIT);
}

static void host_drain(void)
{
	while (recv(host_fd, packet, sizeof(packet), MSG_DONTWAIT) >= 0)
		;
}

/* arg % 4 chooses: send a packet, drain, the link down or up, read the device's state. */
static void host_op(struct virtio_device *dev, uint32_t arg)
{
	struct net_info info;

	switch (arg % 4) {
	case 0:
		host_send(arg);
		break;
	case 1:
		host_drain();
		break;
	case 2:
		net_set_link(dev, arg & 4);
		break;
	default:
		net_get_info(dev, &info);
		break;
	}
}

static const struct vdrv_target net = { .host = host_op, .io_ms = 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_device dev;
	struct virtio_env env = vdrv_env();
	struct net_options opts = {
		.mac = { 0x02, 0xcb, 0, 0, 0, 1 },
		.offloads = size && data[0] & 0x80 ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
							     TUN_F_TSO_ECN | TUN_F_UFO
						   : 0,
		.tap_name = "fuzz0",
	};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	opts.tap_fd = sv[0];
	host_fd = sv[1];
	if (virtio_net_create(&dev, &env, &opts))
		abort();
	vdrv_run(&dev, &net, data, size);
	close(host_fd);
	return 0;
}
