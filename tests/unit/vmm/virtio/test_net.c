// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (vmm/virtio/net*.c): features and config space, frames both
 * ways across buffer bounds, mergeable receive buffers, a receiveq
 * without room, offloads in the header, what a hostile driver does to
 * either queue, the link, a reset, and the tap itself.
 *
 * The CMA engine's fence: packets for buffers in it, and both queues'
 * used rings in it, wait in the device and go on at the unfence, in
 * order and byte for byte; with the fenced range write-protected by a
 * userfaultfd, as a live move has it, the loop thread never writes it.
 *
 * Most tests stand a SOCK_SEQPACKET socketpair in for the tap: like a
 * tap with a vnet header, each read or write is one whole packet, header
 * and frame. The last ones open a real tap when /dev/net/tun lets them
 * (root), and skip otherwise.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/userfaultfd.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"
#include "vmm/virtio/net.h" /* NET_FRAME_MAX, NET_PACKET_MAX, NET_TX_BURST */

#define RXQ	       0
#define TXQ	       1
#define HDR	       12
#define F(x)	       BIT_ULL(VIRTIO_NET_F_##x)
#define MRG	       F(MRG_RXBUF)
#define ALL_TUN	       (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO)
#define QUIET_MS       100 /* how long "nothing happens" is watched for */
#define BIGQ	       256
#define ETHERTYPE_TEST 0x88b5 /* IEEE 802 local experimental */

static const uint8_t mac[6] = { 0x02, 0xcb, 0x01, 0x02, 0x03, 0x04 };

/*
 * The test's end of the "tap", the device's, a real tap to delete at
 * teardown, and a userfaultfd write-protecting part of fake RAM.
 */
static struct {
	int peer, devfd;
	char tap[IFNAMSIZ];
	int uffd;
	struct uffdio_range wp;
} fx = { -1, -1, "", -1, { 0, 0 } };

static int net_teardown(void **state);

#define TN(f) cmocka_unit_test_setup_teardown(f, setup, net_teardown)

static struct tdev *net_on_fd(int fd, unsigned int offloads, const char *name)
{
	struct net_options o = { .tap_fd = fd, .offloads = offloads, .tap_name = name };

	memcpy(o.mac, mac, sizeof(mac));
	fx.devfd = fd;
	return add_net(&o);
}

/* A device on a socketpair whose other end the test keeps (nonblocking). */
static struct tdev *net_dev(unsigned int offloads)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fx.peer = sv[1];
	assert_int_equal(fcntl(fx.peer, F_SETFL, O_NONBLOCK), 0);
	return net_on_fd(sv[0], offloads, "pair0");
}

/* ---- the host's side ---- */

static uint8_t frame_byte(uint32_t seed, uint32_t i)
{
	return (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

static void fill_frame(uint8_t *f, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = frame_byte(seed, i);
}

/* One packet from the device, waited for up to @ms: its length, or -1. */
static ssize_t host_recv(void *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fx.peer, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fx.peer, buf, size, 0);
}

static void host_send(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, uint32_t len)
{
	struct iovec iov[2] = { { (void *)h, HDR }, { (void *)frame, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	assert_int_equal(sendmsg(fx.peer, &m, 0), HDR + len);
}

/* A packet of @len frame bytes made from @seed, with a zero header. */
static void host_send_plain(uint32_t len, uint32_t seed)
{
	static uint8_t f[NET_FRAME_MAX + 1];
	struct virtio_net_hdr_v1 h = { 0 };

	fill_frame(f, len, seed);
	host_send(&h, f, len);
}

static bool wait_counter(struct tdev *t, const char *name, uint64_t value)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while (counter(t, name) < value) {
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
	return counter(t, name) == value;
}

/* Bytes the device has not read from its end yet. */
static int unread(void)
{
	int n = -1;

	assert_int_equal(ioctl(fx.devfd, FIONREAD, &n), 0);
	return n;
}

/* ---- the driver's transmit side ---- */

/*
 * The driver's buffers for header @h and @len frame bytes from @seed, of
 * the lengths in @split (0-terminated; the rest in one last buffer), in
 * @b (8 at most); returns how many.
 */
static unsigned int frame_bufs(struct tdev *t, const struct virtio_net_hdr_v1 *h, uint32_t len,
			       uint32_t seed, const uint32_t *split, struct tbuf *b)
{
	uint8_t *data = malloc(HDR + len);
	uint32_t off = 0, total = HDR + len;
	unsigned int n = 0;

	memcpy(data, h, HDR);
	fill_frame(data + HDR, len, seed);
	for (; split && split[n] && off + split[n] < total; n++) {
		b[n] = (struct tbuf){ galloc(t, split[n]), split[n], false };
		off += split[n];
	}
	b[n++] = (struct tbuf){ galloc(t, total - off), total - off, false };
	for (unsigned int i = 0, at = 0; i < n; at += b[i].len, i++)
		memcpy(hp(b[i].gpa), data + at, b[i].len);
	free(data);
	return n;
}

/* The driver sends a frame as frame_bufs() lays it out; returns the used length. */
static uint32_t guest_send(struct tdev *t, const struct virtio_net_hdr_v1 *h, uint32_t len,
			   uint32_t seed, const uint32_t *split)
{
	struct tbuf b[8];

	return request(t, TXQ, b, frame_bufs(t, h, len, seed, split, b));
}

/* The same, not waited for: returns the chain's head. */
static uint16_t guest_offer(struct tdev *t, uint32_t len, uint32_t seed)
{
	struct tbuf b[8];

	return submit(t, TXQ, b,
		      frame_bufs(t, &(struct virtio_net_hdr_v1){ 0 }, len, seed, NULL, b));
}

/* The host gets exactly header @h (num_buffers 0) and the frame of @len from @seed. */
static void expect_frame(const struct virtio_net_hdr_v1 *h, uint32_t len, uint32_t seed)
{
	static uint8_t got[NET_PACKET_MAX + 1], want[NET_FRAME_MAX];
	struct virtio_net_hdr_v1 wh = *h;

	wh.num_buffers = 0;
	assert_int_equal(host_recv(got, sizeof(got), TIMEOUT_MS), HDR + len);
	assert_memory_equal(got, &wh, HDR);
	fill_frame(want, len, seed);
	assert_memory_equal(got + HDR, want, len);
}

/* ---- the driver's receive buffers, in the order it gave them ---- */

static struct {
	uint16_t head[QSIZE];
	uint64_t gpa[QSIZE];
	unsigned int first, n;
} rx;

/* A receive chain: one device-writable buffer of @len, or two split at @split (0: one). */
static void post_rx_split(struct tdev *t, uint32_t len, uint32_t split, bool notify)
{
	unsigned int slot = (rx.first + rx.n++) % QSIZE;
	uint64_t gpa = galloc(t, len);
	struct tbuf b[2] = { { gpa, split ? split : len, true },
			     { gpa + split, len - split, true } };

	assert_true(rx.n <= QSIZE);
	rx.gpa[slot] = gpa;
	rx.head[slot] = build_chain(t, RXQ, b, split ? 2 : 1);
	offer(t, RXQ, rx.head[slot], notify);
}

static void post_rx(struct tdev *t, uint32_t len, bool notify)
{
	post_rx_split(t, len, 0, notify);
}

/* The next chain the device used, its used length in @len. */
static uint8_t *take_rx(struct tdev *t, uint32_t *len)
{
	uint64_t gpa = rx.gpa[rx.first];
	uint16_t head = rx.head[rx.first];

	assert_true(rx.n > 0);
	rx.first = (rx.first + 1) % QSIZE;
	rx.n--;
	*len = next_used(t, RXQ, head);
	return hp(gpa);
}

/* The entry the device asks to be notified for, with VIRTIO_RING_F_EVENT_IDX. */
static uint16_t avail_event(struct tdev *t, unsigned int q)
{
	uint16_t v;

	memcpy(&v, hp(t->q[q].used + 4 + 8 * QSIZE), 2);
	return le16toh(v);
}

static void assert_no_more_used(struct tdev *t, unsigned int q)
{
	sleep_ms(QUIET_MS);
	loop_sync();
	assert_int_equal(used_idx(t, q), t->q[q].used_seen);
}

static uint16_t num_buffers(const uint8_t *chain)
{
	uint16_t v;

	memcpy(&v, chain + offsetof(struct virtio_net_hdr_v1, num_buffers), 2);
	return le16toh(v);
}

/*
 * Take @nr chains, check the first one's header against @h (num_buffers
 * @nr) and the bytes across them against the frame of @len from @seed.
 */
static void expect_packet(struct tdev *t, const struct virtio_net_hdr_v1 *h, uint32_t len,
			  uint32_t seed, unsigned int nr)
{
	uint8_t *packet = malloc(HDR + len), *want = malloc(len);
	struct virtio_net_hdr_v1 wh = *h;
	uint32_t off = 0, used;

	for (unsigned int i = 0; i < nr; i++) {
		uint8_t *c = take_rx(t, &used);

		assert_true(used > 0 && off + used <= HDR + len);
		if (i == 0)
			assert_int_equal(num_buffers(c), nr);
		memcpy(packet + off, c, used);
		off += used;
	}
	assert_int_equal(off, HDR + len);
	wh.num_buffers = htole16(nr);
	assert_memory_equal(packet, &wh, HDR);
	fill_frame(want, len, seed);
	assert_memory_equal(packet + HDR, want, len);
	free(packet);
	free(want);
}

static void start(struct tdev *t, uint64_t features)
{
	memset(&rx, 0, sizeof(rx));
	handshake(t, features);
}

static void assert_needs_reset(struct tdev *t)
{
	assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void assert_healthy(struct tdev *t)
{
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* ---- features and config ---- */

#define BASE_FEATURES                                                                              \
	(BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |                      \
	 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | F(MAC) | F(STATUS) | MRG | F(CSUM) | F(HOST_TSO4) |    \
	 F(HOST_TSO6) | F(HOST_ECN))

static void test_net_features(void **state)
{
	struct tdev *none, *csum, *all;

	(void)state;
	none = net_dev(0);
	close(fx.peer);
	csum = net_dev(TUN_F_CSUM);
	close(fx.peer);
	all = net_dev(ALL_TUN);
	assert_int_equal(device_features(none), BASE_FEATURES);
	assert_int_equal(device_features(csum), BASE_FEATURES | F(GUEST_CSUM));
	assert_int_equal(device_features(all), BASE_FEATURES | F(GUEST_CSUM) | F(GUEST_TSO4) |
						       F(GUEST_TSO6) | F(GUEST_ECN) | F(GUEST_UFO) |
						       F(HOST_UFO));
	assert_int_equal(rd(all, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
}

static void test_net_access_platform(void **state)
{
	struct virtio_device dev;
	struct virtio_env e = env();
	struct net_options o = { .tap_fd = -1, .tap_name = "none" };

	(void)state;
	e.access_platform = true;
	assert_int_equal(virtio_net_create(&dev, &e, &o), 0);
	assert_true(dev.features_offered & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	assert_string_equal(dev.name, "virtio-net0");
	virtio_destroy(&dev);
}

static void test_net_config(void **state)
{
	struct tdev *t = net_dev(0);
	uint8_t cfg[16];

	(void)state;
	memset(cfg, 0xee, sizeof(cfg));
	cfg_read(t, 0, cfg, 6);
	assert_memory_equal(cfg, mac, 6);
	cfg_read(t, 6, cfg, 2);
	assert_int_equal(cfg[0] | cfg[1] << 8, VIRTIO_NET_S_LINK_UP);
	cfg_read(t, 8, cfg, 2);
	assert_int_equal(cfg[0] | cfg[1] << 8, 1); /* max_virtqueue_pairs */
	cfg_read(t, 10, cfg, 2);		   /* mtu: no VIRTIO_NET_F_MTU, past the end */
	assert_int_equal(cfg[0] | cfg[1], 0);
	/* Writes are ignored: the MAC is the device's. */
	start(t, F(MAC));
	cfg_write32(t, 0, 0xffffffff);
	cfg_read(t, 0, cfg, 6);
	assert_memory_equal(cfg, mac, 6);
}

/* ---- transmit ---- */

static void test_net_tx_frames(void **state)
{
	static const uint32_t sizes[] = { 14, 60, 1514, 9014, NET_FRAME_MAX };
	static const uint32_t one[] = { 0 }, hdr_apart[] = { HDR, 0 },
			      ragged[] = { 5, 7, 3, 1000, 0 }, mixed[] = { 20, 0 };
	const uint32_t *splits[] = { one, hdr_apart, ragged, mixed };
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);
	uint64_t bytes = 0, n = 0;

	(void)state;
	start(t, 0);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unsigned int s = 0; s < 4; s++) {
			h.num_buffers = htole16(0x5555); /* the tap gets 0 */
			assert_int_equal(guest_send(t, &h, sizes[i], i * 4 + s, splits[s]), 0);
			expect_frame(&h, sizes[i], i * 4 + s);
			bytes += sizes[i];
			n++;
		}
		t->buf_next = t->region + RINGS_SIZE; /* the buffers are the driver's again */
	}
	assert_int_equal(counter(t, "tx_packets"), n);
	assert_int_equal(counter(t, "tx_bytes"), bytes);
	assert_int_equal(counter(t, "tx_bad_frames") + counter(t, "tx_errors"), 0);
}

/* Each is used at once with nothing written, counted, and never reaches the tap. */
static void test_net_tx_bad_frames(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM },
				 tso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 },
				 ecn = { .gso_type = VIRTIO_NET_HDR_GSO_ECN },
				 odd = { .gso_type = 2 }, ok = { 0 };
	struct tbuf shorty;
	uint8_t junk[HDR + 1];

	(void)state;
	start(t, 0); /* no CSUM, no HOST_TSO4, no HOST_ECN */
	shorty = (struct tbuf){ galloc(t, HDR - 1), HDR - 1, false };
	assert_int_equal(request(t, TXQ, &shorty, 1), 0);
	assert_int_equal(guest_send(t, &ok, NET_FRAME_MAX + 1, 1, NULL), 0);
	assert_int_equal(guest_send(t, &csum, 60, 2, NULL), 0);
	assert_int_equal(guest_send(t, &tso, 60, 3, NULL), 0);
	assert_int_equal(guest_send(t, &ecn, 60, 4, NULL), 0);
	assert_int_equal(guest_send(t, &odd, 60, 5, NULL), 0);
	assert_int_equal(guest_send(t, &ok, 13, 7, NULL), 0); /* less than an Ethernet header */
	assert_int_equal(counter(t, "tx_bad_frames"), 7);
	assert_int_equal(host_recv(junk, sizeof(junk), QUIET_MS), -1);
	/* The queue goes on. */
	assert_int_equal(guest_send(t, &ok, 60, 6, NULL), 0);
	expect_frame(&ok, 60, 6);
	assert_int_equal(counter(t, "tx_packets"), 1);
	assert_healthy(t);
}

/* Negotiated offloads pass through to the tap byte for byte. */
static void test_net_tx_offloads(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h4 = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		.hdr_len = htole16(66),
		.gso_size = htole16(1448),
		.csum_start = htole16(34),
		.csum_offset = htole16(16),
	};
	struct virtio_net_hdr_v1 h6 = h4, partial = h4;

	(void)state;
	h6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h6.csum_start = htole16(54);
	partial.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	partial.gso_size = 0;
	start(t, F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN));
	assert_int_equal(guest_send(t, &h4, 30000, 1, NULL), 0);
	expect_frame(&h4, 30000, 1);
	assert_int_equal(guest_send(t, &h6, 60000, 2, NULL), 0);
	expect_frame(&h6, 60000, 2);
	assert_int_equal(guest_send(t, &partial, 1514, 3, NULL), 0);
	expect_frame(&partial, 1514, 3);
	/* UFO was not offered (the "tap" accepts no TUN_F_UFO): refused. */
	h4.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(guest_send(t, &h4, 3000, 4, NULL), 0);
	assert_int_equal(counter(t, "tx_bad_frames"), 1);
	assert_int_equal(counter(t, "tx_packets"), 3);
}

/* 5.1.6.2: a transmit chain has no device-writable buffer; the queue breaks, not the VMM. */
static void test_net_tx_writable_buffer(void **state)
{
	struct tdev *t = net_dev(0);
	struct tbuf b[2];
	uint8_t junk[64];

	(void)state;
	start(t, 0);
	b[0] = (struct tbuf){ galloc(t, HDR + 60), HDR + 60, false };
	b[1] = (struct tbuf){ galloc(t, 16), 16, true };
	submit(t, TXQ, b, 2);
	assert_needs_reset(t);
	assert_int_equal(host_recv(junk, sizeof(junk), QUIET_MS), -1);
	/* A reset brings it back. */
	start(t, 0);
	assert_int_equal(guest_send(t, &(struct virtio_net_hdr_v1){ 0 }, 60, 9, NULL), 0);
	expect_frame(&(struct virtio_net_hdr_v1){ 0 }, 60, 9);
}

/* Chains outside RAM break their queue; the other devices go on. */
static void test_net_chain_outside_ram(void **state)
{
	struct tdev *t = net_dev(0), *rng = add_rng(), *t2;
	struct tbuf out = { RAM_END - 8, 64, false }, in = { RAM_END + 4096, 2048, true };
	struct tbuf r = { 0, 64, true };

	(void)state;
	start(t, 0);
	submit(t, TXQ, &out, 1);
	assert_needs_reset(t);
	handshake(rng, 0);
	r.gpa = galloc(rng, 64);
	assert_int_equal(request(rng, 0, &r, 1), 64);
	/* A receive chain outside RAM breaks the receiveq when a packet comes for it. */
	close(fx.peer);
	t2 = net_dev(0);
	start(t2, 0);
	submit(t2, RXQ, &in, 1);
	host_send_plain(100, 1);
	assert_needs_reset(t2);
	assert_int_equal(request(rng, 0, &r, 1), 64);
}

/* Queue @q as setup_queue() makes it, but BIGQ entries long (its rings have the room). */
static void setup_big_queue(struct tdev *t, unsigned int q)
{
	setup_queue(t, q);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, BIGQ);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

/*
 * A full ring of BIGQ frames and one notification: the device takes them
 * NET_TX_BURST at a time, letting the loop run between turns, and every
 * frame reaches the tap in order.
 */
static void test_net_tx_flood(void **state)
{
	struct tdev *t = net_dev(0);
	struct tqueue *tq = &t->q[TXQ];
	uint8_t got[HDR + 64];

	(void)state;
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1)));
	setup_queue(t, RXQ);
	setup_big_queue(t, TXQ);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	t->buf_next = t->region + RINGS_SIZE;
	for (unsigned int i = 0; i < BIGQ; i++) {
		uint64_t b = galloc(t, HDR + 60);

		fill_frame(hp(b + HDR), 60, i);
		write_desc(tq->desc, i, b, HDR + 60, 0, 0);
		put16(tq->avail + 4 + 2 * i, (uint16_t)i);
	}
	__atomic_store_n((uint16_t *)hp(tq->avail + 2), htole16(BIGQ), __ATOMIC_RELEASE);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	for (unsigned int i = 0; i < BIGQ; i++) {
		uint8_t want[60];

		assert_int_equal(host_recv(got, sizeof(got), TIMEOUT_MS), HDR + 60);
		fill_frame(want, 60, i);
		assert_memory_equal(got + HDR, want, 60);
	}
	assert_true(wait_used(t, TXQ, BIGQ, TIMEOUT_MS));
	assert_int_equal(counter(t, "tx_packets"), BIGQ);
	assert_true(counter(t, "tx_yields") >= 1);
	assert_true(counter(t, "tx_yields") <= BIGQ / NET_TX_BURST);
}

/* ---- receive ---- */

/* Without MRG_RXBUF: one chain a packet, num_buffers 1 (5.1.6.4). */
static void test_net_rx_one_chain(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	start(t, 0);
	post_rx(t, 1526, false);
	post_rx_split(t, 1526, HDR, false); /* header and data apart */
	post_rx_split(t, 1526, 700, true);
	host_send_plain(1000, 1);
	expect_packet(t, &h, 1000, 1, 1);
	host_send_plain(1514, 2);
	expect_packet(t, &h, 1514, 2, 1);
	host_send_plain(1514, 3);
	expect_packet(t, &h, 1514, 3, 1);
	assert_int_equal(counter(t, "rx_packets"), 3);
	assert_int_equal(counter(t, "rx_bytes"), 1000 + 1514 + 1514);
	assert_true(wait_irq(t));
}

/*
 * A non-blocking descriptor works too: io_uring polls for it as for a
 * blocking one (kernels that answer its read EAGAIN instead have the
 * device poll before reading again).
 */
static void test_net_rx_nonblocking(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	assert_int_equal(fcntl(fx.devfd, F_SETFL, O_NONBLOCK), 0);
	start(t, MRG);
	sleep_ms(QUIET_MS); /* the read finds nothing yet */
	post_rx(t, 1526, true);
	host_send_plain(1000, 1);
	expect_packet(t, &h, 1000, 1, 1);
	post_rx(t, 1526, true);
	host_send_plain(500, 2);
	expect_packet(t, &h, 500, 2, 1);
	assert_int_equal(counter(t, "rx_errors") + counter(t, "rx_dropped"), 0);
}

/* With MRG_RXBUF a packet spans chains; num_buffers may straddle two buffers. */
static void test_net_rx_mergeable(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	start(t, MRG);
	post_rx_split(t, 1000, 11, false); /* num_buffers' bytes in two buffers */
	for (unsigned int i = 0; i < 6; i++)
		post_rx(t, 1000, i == 5);
	host_send_plain(3500, 1);
	expect_packet(t, &h, 3500, 1, 4);
	host_send_plain(100, 2);
	expect_packet(t, &h, 100, 2, 1);
	host_send_plain(1988, 3); /* 2000 bytes: two full chains */
	expect_packet(t, &h, 1988, 3, 2);
	assert_int_equal(counter(t, "rx_packets"), 3);
	assert_int_equal(counter(t, "rx_no_buffers") + counter(t, "rx_dropped"), 0);
}

/*
 * A packet with no room waits in the device and the tap is not read
 * meanwhile; chains too few for it go back; it goes once there are
 * enough, and the next packet after it.
 */
static void test_net_rx_waits_for_buffers(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	start(t, MRG | BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	host_send_plain(3500, 1);
	host_send_plain(50, 2);
	assert_true(wait_counter(t, "rx_no_buffers", 1));
	sleep_ms(QUIET_MS);
	assert_int_equal(unread(), HDR + 50); /* the second is still in the tap */
	post_rx(t, 1000, false);
	post_rx(t, 1000, true);
	assert_no_more_used(t, RXQ);
	assert_int_equal(unread(), HDR + 50);
	/* The chains went back, and the driver's next buffer is to be notified (2.7.10). */
	assert_int_equal(avail_event(t, RXQ), 2);
	post_rx(t, 1000, false);
	post_rx(t, 1000, true);
	expect_packet(t, &h, 3500, 1, 4);
	assert_true(wait_counter(t, "rx_no_buffers", 2)); /* the second found none */
	post_rx(t, 1000, true);
	expect_packet(t, &h, 50, 2, 1);
	assert_int_equal(counter(t, "rx_dropped"), 0);
	assert_int_equal(counter(t, "rx_packets"), 2);
}

/* A packet the whole ring cannot hold is dropped; the chains serve the next one. */
static void test_net_rx_too_big(void **state)
{
	struct tdev *t = net_dev(0), *t1;
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	start(t, MRG);
	for (unsigned int i = 0; i < QSIZE; i++)
		post_rx(t, 64, i == QSIZE - 1);
	host_send_plain(QSIZE * 64, 1);
	assert_true(wait_counter(t, "rx_dropped", 1));
	host_send_plain(40, 2);
	expect_packet(t, &h, 40, 2, 1);
	/* Without MRG_RXBUF, one chain too small for the packet. */
	close(fx.peer);
	t1 = net_dev(0);
	start(t1, 0);
	post_rx(t1, 1526, true);
	host_send_plain(2000, 3);
	assert_true(wait_counter(t1, "rx_dropped", 1));
	host_send_plain(1000, 4);
	expect_packet(t1, &h, 1000, 4, 1);
	assert_int_equal(counter(t1, "rx_no_buffers"), 0);
}

/* The largest frame a tap carries fills the whole ring; one byte more is an error. */
static void test_net_rx_largest(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	start(t, MRG);
	for (unsigned int i = 0; i < QSIZE; i++)
		post_rx(t, 4200, i == QSIZE - 1);
	host_send_plain(NET_FRAME_MAX + 1, 1);
	assert_true(wait_counter(t, "rx_errors", 1));
	host_send_plain(NET_FRAME_MAX, 2);
	expect_packet(t, &h, NET_FRAME_MAX, 2, QSIZE);
	assert_int_equal(counter(t, "rx_bytes"), NET_FRAME_MAX);
}

/* Offloads the driver accepted reach it; others, and runt packets, do not. */
static void test_net_rx_offloads(void **state)
{
	struct tdev *t = net_dev(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	struct virtio_net_hdr_v1 tso = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = htole16(66),
		.gso_size = htole16(1448),
		.csum_start = htole16(34),
		.csum_offset = htole16(16),
	};
	struct virtio_net_hdr_v1 tso6 = tso, valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	uint8_t f[3000];
	struct net_info info;

	(void)state;
	tso6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	start(t, MRG | F(GUEST_CSUM) | F(GUEST_TSO4));
	for (unsigned int i = 0; i < 8; i++)
		post_rx(t, 1500, i == 7);
	fill_frame(f, 3000, 1);
	host_send(&tso6, f, 3000); /* TSO6 not accepted */
	host_send(&tso, f, 10);	   /* shorter than an Ethernet header */
	host_send(&tso, f, 3000);
	expect_packet(t, &tso, 3000, 1, 3);
	host_send(&valid, f, 3000);
	expect_packet(t, &valid, 3000, 1, 3);
	assert_int_equal(counter(t, "rx_errors"), 2);
	pthread_mutex_lock(&t->dev.lock);
	net_get_info(&t->dev, &info);
	pthread_mutex_unlock(&t->dev.lock);
	/* the "tap", a socketpair, refused TUNSETOFFLOAD: what it has is what it had */
	assert_int_equal(info.offloads, 0);
	assert_int_equal(info.tap_offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	/* Without GUEST_CSUM: flags 0 (5.1.6.4.1), and no partial checksum. */
	start(t, MRG);
	for (unsigned int i = 0; i < 4; i++)
		post_rx(t, 1500, i == 3);
	host_send(&tso, f, 100);
	host_send(&valid, f, 100);
	expect_packet(t, &(struct virtio_net_hdr_v1){ 0 }, 100, 1, 1);
	assert_int_equal(counter(t, "rx_errors"), 3);
}

/* 5.1.6.3: receive chains are device-writable and hold the header, or the queue breaks. */
static void test_net_rx_bad_chains(void **state)
{
	struct tdev *t = net_dev(0);
	struct tbuf readable[2], shorty;

	(void)state;
	start(t, MRG);
	readable[0] = (struct tbuf){ galloc(t, 64), 64, false };
	readable[1] = (struct tbuf){ galloc(t, 1500), 1500, true };
	submit(t, RXQ, readable, 2);
	host_send_plain(100, 1);
	assert_needs_reset(t);
	start(t, MRG);
	shorty = (struct tbuf){ galloc(t, HDR - 1), HDR - 1, true };
	submit(t, RXQ, &shorty, 1);
	host_send_plain(100, 2);
	assert_needs_reset(t);
	assert_true(wait_counter(t, "rx_dropped", 2));
}

/* ---- link, driver, reset ---- */

static void set_link(struct tdev *t, bool up)
{
	pthread_mutex_lock(&t->dev.lock);
	net_set_link(&t->dev, up);
	pthread_mutex_unlock(&t->dev.lock);
}

static uint16_t link_status(struct tdev *t)
{
	uint8_t s[2];

	cfg_read(t, 6, s, 2);
	return (uint16_t)(s[0] | s[1] << 8);
}

static void test_net_link(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t junk[64];
	uint32_t gen;

	(void)state;
	start(t, F(STATUS));
	post_rx(t, 1526, true);
	gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	set_link(t, false);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(link_status(t), 0);
	assert_int_not_equal(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(guest_send(t, &h, 60, 1, NULL), 0);
	assert_int_equal(counter(t, "tx_dropped"), 1);
	assert_int_equal(host_recv(junk, sizeof(junk), QUIET_MS), -1);
	host_send_plain(100, 2);
	assert_true(wait_counter(t, "rx_dropped", 1));
	assert_int_equal(used_idx(t, RXQ), 0);
	set_link(t, true);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(link_status(t), VIRTIO_NET_S_LINK_UP);
	host_send_plain(100, 3);
	expect_packet(t, &h, 100, 3, 1);
	assert_int_equal(guest_send(t, &h, 60, 4, NULL), 0);
	expect_frame(&h, 60, 4);
}

/* Nothing is read before DRIVER_OK; a reset drops the packet waiting; all works after. */
static void test_net_reset(void **state)
{
	struct tdev *t = net_dev(0);
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	host_send_plain(100, 1);
	sleep_ms(QUIET_MS);
	assert_int_equal(unread(), HDR + 100);
	start(t, 0);
	assert_true(wait_counter(t, "rx_no_buffers", 1));
	reset(t);
	assert_int_equal(counter(t, "rx_dropped"), 1);
	host_send_plain(200, 2);
	sleep_ms(QUIET_MS);
	assert_int_equal(unread(), HDR + 200); /* a reset device reads nothing */
	start(t, MRG);
	post_rx(t, 1526, true);
	expect_packet(t, &h, 200, 2, 1);
	assert_int_equal(guest_send(t, &h, 60, 3, NULL), 0);
	expect_frame(&h, 60, 3);
	assert_int_equal(counter(t, "rx_packets"), 1);
	assert_int_equal(counter(t, "tx_packets"), 1);
}

/*
 * The "tap" ends (a read gives 0): reading stops, with no spin and no
 * error counted, until the next kick; a write to it is a counted error.
 */
static void test_net_tap_gone(void **state)
{
	struct tdev *t = net_dev(0);

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* a socket, unlike a tap, raises it when its peer is gone */
	start(t, 0);
	close(fx.peer);
	fx.peer = -1;
	sleep_ms(QUIET_MS);
	assert_int_equal(counter(t, "rx_errors"), 0);
	assert_int_equal(counter(t, "rx_packets"), 0);
	post_rx(t, 1526, true);
	sleep_ms(QUIET_MS);
	assert_int_equal(counter(t, "rx_errors"), 0);
	assert_int_equal(guest_send(t, &(struct virtio_net_hdr_v1){ 0 }, 60, 1, NULL), 0);
	assert_int_equal(counter(t, "tx_errors"), 1);
	assert_healthy(t);
}

/* ---- the CMA engine's fence: the mover's side, under the device lock as the glue takes it ---- */

static void unfence_cb(void *arg)
{
	unfence_off_loop(arg);
}

/* On the loop thread, with no kick through the transport: the unfence delivers by itself. */
static void unfence_on_loop(struct tdev *t)
{
	void (*kick)(struct virtio_device * dev, unsigned int q) = t->dev.transport.kick;

	t->dev.transport.kick = NULL;
	assert_int_equal(ev_loop_call(&loop, unfence_cb, t), 0);
	t->dev.transport.kick = kick;
}

/* The driver's next receive buffer, filled with 0xcd to see that nothing wrote it. */
static uint64_t post_rx_marked(struct tdev *t, uint32_t len, bool notify)
{
	post_rx(t, len, notify);
	memset(hp(rx.gpa[(rx.first + rx.n - 1) % QSIZE]), 0xcd, len);
	return rx.gpa[(rx.first + rx.n - 1) % QSIZE];
}

/*
 * A packet whose buffer is in the fence waits in the device, the ones
 * after it in the tap, and a kick does not let it by; the one before it
 * went. Unfenced on the loop thread, they come in order, byte for byte.
 */
static void test_net_fence_holds_rx(void **state)
{
	static const uint32_t len[4] = { 1000, 1200, 800, 900 };
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);
	uint64_t fenced;

	(void)state;
	start(t, MRG | BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	post_rx_marked(t, 1526, false);
	fenced = post_rx_marked(t, 1526, false);
	post_rx_marked(t, 1526, false);
	post_rx_marked(t, 1526, true);
	fence(t, fenced, 1526);
	for (unsigned int i = 0; i < 4; i++)
		host_send_plain(len[i], i + 1);
	expect_packet(t, &h, len[0], 1, 1);
	assert_true(wait_counter(t, "rx_fenced", 1));
	assert_no_more_used(t, RXQ);
	assert_true(all_bytes(hp(fenced), 0xcd, 1526));
	assert_int_equal(unread(), 2 * HDR + len[2] + len[3]);
	post_rx(t, 1526, true);
	assert_no_more_used(t, RXQ);
	assert_int_equal(counter(t, "rx_fenced"), 1);
	assert_int_equal(counter(t, "rx_no_buffers"), 0);

	unfence_on_loop(t);
	for (unsigned int i = 1; i < 4; i++)
		expect_packet(t, &h, len[i], i + 1, 1);
	assert_no_more_used(t, RXQ); /* the fifth buffer waits for the next packet */
	assert_int_equal(counter(t, "rx_packets"), 4);
	assert_int_equal(counter(t, "rx_bytes"), len[0] + len[1] + len[2] + len[3]);
	assert_int_equal(counter(t, "rx_dropped") + counter(t, "rx_errors"), 0);
	assert_int_equal(counter(t, "rx_fenced"), 1);
}

/*
 * A merged packet whose third buffer of four is in the fence: the chains
 * before it go back too. The mover unfences from its own thread, and the
 * next move's fence (its fourth buffer) is up before the loop sees the
 * kick: it waits again, counted once; the last unfence lets it through.
 */
static void test_net_fence_mergeable_off_loop(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);

	(void)state;
	start(t, MRG);
	for (unsigned int i = 0; i < 6; i++)
		post_rx(t, 1000, i == 5);
	fence(t, rx.gpa[2] + 500, 1); /* one byte of it is enough */
	host_send_plain(3500, 1);
	assert_true(wait_counter(t, "rx_fenced", 1));
	assert_no_more_used(t, RXQ);

	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->unfence(&t->dev);
	t->dev.ops->fence(&t->dev, hp(rx.gpa[3]), 1000);
	pthread_mutex_unlock(&t->dev.lock);
	assert_no_more_used(t, RXQ);
	assert_int_equal(counter(t, "rx_fenced"), 1);

	unfence_off_loop(t);
	expect_packet(t, &h, 3500, 1, 4);
	host_send_plain(100, 2);
	expect_packet(t, &h, 100, 2, 1);
	assert_int_equal(counter(t, "rx_packets"), 2);
	assert_int_equal(counter(t, "rx_no_buffers") + counter(t, "rx_dropped"), 0);
}

/*
 * A fence elsewhere stops nothing: the transmit buffers in it are only
 * read, and receive buffers outside it are written.
 */
static void test_net_fence_elsewhere(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);

	(void)state;
	start(t, 0);
	post_rx(t, 1526, false);
	post_rx(t, 1526, true);
	fence(t, t->buf_next, 0x10000); /* where the frames' buffers go next */
	assert_int_equal(guest_send(t, &h, 1514, 1, NULL), 0);
	expect_frame(&h, 1514, 1);
	host_send_plain(1000, 2);
	expect_packet(t, &h, 1000, 2, 1);
	assert_int_equal(counter(t, "rx_fenced") + counter(t, "tx_fenced"), 0);
	unfence_on_loop(t);
	host_send_plain(500, 3);
	expect_packet(t, &h, 500, 3, 1);
}

/*
 * The used rings in the fence, down to avail_event alone (EVENT_IDX): a
 * packet waits with its buffer free and nothing of the receiveq's ring
 * written; a notification of the transmitq takes no turn. Both go on at
 * the unfence.
 */
static void test_net_fence_used_rings(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);
	uint8_t ring[0x1000], junk[HDR + 64];
	uint64_t buf;
	uint16_t head;

	(void)state;
	start(t, MRG | BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	buf = post_rx_marked(t, 1526, true);
	loop_sync();
	memcpy(ring, hp(t->q[RXQ].used), sizeof(ring));
	fence(t, t->q[RXQ].used + 4 + 8 * QSIZE, 2);
	host_send_plain(1000, 1);
	assert_true(wait_counter(t, "rx_fenced", 1));
	assert_no_more_used(t, RXQ);
	assert_memory_equal(hp(t->q[RXQ].used), ring, sizeof(ring));
	assert_true(all_bytes(hp(buf), 0xcd, 1526));
	unfence_on_loop(t);
	expect_packet(t, &h, 1000, 1, 1);

	fence(t, t->q[TXQ].used, 4); /* flags and idx */
	head = guest_offer(t, 60, 2);
	assert_int_equal(host_recv(junk, sizeof(junk), QUIET_MS), -1);
	assert_int_equal(counter(t, "tx_fenced"), 1);
	assert_no_more_used(t, TXQ);
	unfence_on_loop(t);
	expect_frame(&h, 60, 2);
	assert_int_equal(next_used(t, TXQ, head), 0);
	assert_int_equal(counter(t, "tx_packets"), 1);
}

/* The device's end of the "tap" filled until it takes no more: its next write waits. */
static unsigned int fill_tap(void)
{
	static uint8_t filler[8192];
	unsigned int n = 0;

	while (send(fx.devfd, filler, sizeof(filler), MSG_DONTWAIT) == (ssize_t)sizeof(filler))
		n++;
	assert_int_equal(errno, EAGAIN);
	assert_true(n > 0);
	return n;
}

static void drain_tap(unsigned int n)
{
	static uint8_t got[8192];

	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(host_recv(got, sizeof(got), TIMEOUT_MS), sizeof(got));
}

/*
 * A frame in flight when the fence comes over the transmitq's used ring
 * reaches the tap, but its chain is answered only at the unfence, before
 * the frame offered meanwhile (which waits for the unfence to be taken).
 */
static void test_net_fence_holds_tx_answers(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);
	unsigned int filled;
	uint16_t first, second;
	uint8_t junk[HDR + 64];

	(void)state;
	start(t, 0);
	filled = fill_tap();
	first = guest_offer(t, 60, 1);
	assert_no_more_used(t, TXQ); /* its write waits for room */
	fence(t, t->q[TXQ].used, 0x1000);
	drain_tap(filled);
	expect_frame(&h, 60, 1);
	assert_true(wait_counter(t, "tx_packets", 1));
	assert_no_more_used(t, TXQ);
	assert_int_equal(counter(t, "tx_fenced"), 1);
	second = guest_offer(t, 60, 2);
	assert_int_equal(host_recv(junk, sizeof(junk), QUIET_MS), -1);
	assert_int_equal(counter(t, "tx_fenced"), 1);

	unfence_off_loop(t);
	assert_int_equal(next_used(t, TXQ, first), 0);
	assert_int_equal(next_used(t, TXQ, second), 0);
	expect_frame(&h, 60, 2);
	assert_no_more_used(t, TXQ);
	assert_int_equal(counter(t, "tx_packets"), 2);
	assert_int_equal(counter(t, "tx_errors") + counter(t, "tx_bad_frames"), 0);
}

/*
 * A reset does not wait for the fence: the packet it held is dropped,
 * and so is an answer it held, which never reaches the new rings. The
 * fence is the mover's, not the driver's: it outlives the reset, and
 * holds what the driver does next until the unfence.
 */
static void test_net_fence_reset(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct tdev *t = net_dev(0);
	unsigned int filled;

	(void)state;
	start(t, 0);
	post_rx(t, 1526, true);
	filled = fill_tap();
	guest_offer(t, 60, 1);
	assert_no_more_used(t, TXQ);		   /* its write waits for room */
	fence(t, t->region, RINGS_SIZE + 0x10000); /* the rings and the first buffers */
	host_send_plain(100, 2);
	drain_tap(filled);
	expect_frame(&h, 60, 1);
	assert_true(wait_counter(t, "rx_fenced", 1));
	assert_true(wait_counter(t, "tx_packets", 1));
	reset(t);
	assert_int_equal(counter(t, "rx_dropped"), 1);

	start(t, 0); /* the same rings and buffers, in the fence still */
	post_rx(t, 1526, true);
	host_send_plain(200, 3);
	assert_true(wait_counter(t, "rx_fenced", 2));
	assert_no_more_used(t, RXQ);
	unfence_on_loop(t);
	expect_packet(t, &h, 200, 3, 1);
	assert_int_equal(guest_send(t, &h, 60, 4, NULL), 0);
	expect_frame(&h, 60, 4);
	assert_no_more_used(t, TXQ); /* one answer: the held one went with the old rings */
	assert_int_equal(counter(t, "rx_packets"), 1);
}

/* ---- the fence under a real write-protect ---- */

/* Write-protect [gpa, gpa + len) of fake RAM, page-aligned; false where the host cannot. */
static bool wp_protect(uint64_t gpa, uint64_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = { .range = { (uintptr_t)hp(gpa), len },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	fx.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	fx.wp = reg.range;
	return fx.uffd >= 0 && !ioctl(fx.uffd, UFFDIO_API, &api) &&
	       (api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) &&
	       !ioctl(fx.uffd, UFFDIO_REGISTER, &reg) && !ioctl(fx.uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* Writable again, and whoever waits on it woken. */
static void wp_release(void)
{
	struct uffdio_writeprotect wp = { .range = fx.wp, .mode = 0 };

	if (fx.uffd < 0)
		return;
	ioctl(fx.uffd, UFFDIO_WRITEPROTECT, &wp);
	ioctl(fx.uffd, UFFDIO_UNREGISTER, &fx.wp);
	close(fx.uffd);
	fx.uffd = -1;
}

/*
 * Did anyone write the protected range within @ms? It waits in the
 * kernel then, the device lock held if it is the loop thread: the lock
 * is not taken before this says no.
 */
static void assert_no_write(unsigned int ms)
{
	struct pollfd p = { .fd = fx.uffd, .events = POLLIN };

	if (poll(&p, 1, (int)ms) != 0) {
		wp_release();
		fail_msg("the loop thread wrote the fenced range");
	}
}

/* The packet was read from the "tap": the device has it, and may have written it by now. */
static void wait_read(void)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while (unread() && now_ms() < end)
		sleep_ms(1);
	assert_int_equal(unread(), 0);
}

/*
 * As a live move has it: [gpa, gpa + PAGE) fenced and write-protected.
 * A packet of @len from @seed waits, the loop writes nothing there, and a
 * frame still goes out; once protect and fence are down, the packet
 * arrives whole, in @nr buffers.
 */
static void packet_past_protect(struct tdev *t, uint64_t gpa, uint32_t len, uint32_t seed,
				unsigned int nr)
{
	struct virtio_net_hdr_v1 h = { 0 };
	uint64_t fenced = counter(t, "rx_fenced");

	if (!wp_protect(gpa, PAGE))
		skip();
	fence(t, gpa, PAGE);
	host_send_plain(len, seed);
	wait_read();
	assert_no_write(QUIET_MS);
	assert_int_equal(guest_send(t, &h, 60, seed + 1, NULL), 0);
	expect_frame(&h, 60, seed + 1);
	assert_int_equal(counter(t, "rx_fenced"), fenced + 1);
	wp_release();
	unfence_on_loop(t);
	expect_packet(t, &h, len, seed, nr);
}

/* A buffer in the fence (a merged packet's third), then the receiveq's used ring. */
static void test_net_fence_write_protected(void **state)
{
	struct tdev *t = net_dev(0);

	(void)state;
	start(t, MRG | BIT_ULL(VIRTIO_RING_F_EVENT_IDX));
	t->buf_next = (t->buf_next + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	for (unsigned int i = 0; i < 6; i++)
		post_rx(t, PAGE, i == 5); /* a page each */
	packet_past_protect(t, rx.gpa[2], 3 * PAGE + 100, 1, 4);
	packet_past_protect(t, t->q[RXQ].used, 500, 3, 1); /* a page of its own */
}

/* ---- the tap ---- */

static bool tap_ioctl(const char *name, int flags, unsigned long req, unsigned long arg)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)flags;
	ok = ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, req, arg) == 0;
	close(fd);
	return ok;
}

/* A persistent tap owned by @owner (-1: anyone's), as `ip tuntap add` makes; false to skip. */
static bool make_tap(uid_t owner)
{
	snprintf(fx.tap, sizeof(fx.tap), "cmvt%d", (int)getpid() % 100000);
	if (!tap_ioctl(fx.tap, IFF_TAP | IFF_NO_PI, TUNSETPERSIST, 1)) {
		fx.tap[0] = '\0';
		return false;
	}
	return owner == (uid_t)-1 || tap_ioctl(fx.tap, IFF_TAP | IFF_NO_PI, TUNSETOWNER, owner);
}

static void set_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char path[96];
	FILE *f;

	/* No IPv6 on it: the kernel's own router solicitations would come in too. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static void expect_open_error(const char *name, const char *needle)
{
	struct net_tap_info info;
	char err[512] = "";

	assert_int_equal(net_tap_open(name, &info, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("net_tap_open(\"%s\"): \"%s\" does not say \"%s\"", name, err, needle);
}

static void test_net_tap_open_errors(void **state)
{
	(void)state;
	expect_open_error("", "1 to 15 characters");
	expect_open_error("sixteen_chars_xx", "1 to 15 characters");
	expect_open_error("cmvt_nosuch", "there is no tap cmvt_nosuch: create it: sudo ip tuntap "
					 "add dev cmvt_nosuch mode tap user ");
	if (access("/dev/net/tun", R_OK | W_OK))
		skip();
	expect_open_error("lo", "lo is not a tap");
}

/* This thread without CAP_NET_ADMIN, which lets root into any tap. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uint32_t bit = 1u << (CAP_NET_ADMIN % 32);

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_NET_ADMIN / 32].effective &= ~bit;
	d[CAP_NET_ADMIN / 32].permitted &= ~bit;
	return (int)syscall(SYS_capset, &h, d);
}

/* net_tap_open() as a yes or no: 0, or -1 with @err. */
static int open_and_close(const char *name, char *err, size_t errlen)
{
	struct net_tap_info info;
	int fd = net_tap_open(name, &info, err, errlen);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * @call on a tap made for another user, from a child process without
 * CAP_NET_ADMIN: what it said, in @err. Skips where the tap cannot be made
 * or the capability not dropped.
 */
static void as_another_user(int (*call)(const char *name, char *err, size_t errlen), char *err,
			    size_t len)
{
	int pipefd[2], status;
	pid_t pid;

	if (geteuid() != 0 || !make_tap(12345))
		skip();
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (drop_net_admin())
			_exit(2);
		call(fx.tap, err, len);
		_exit(write(pipefd[1], err, strlen(err)) < 0);
	}
	close(pipefd[1]);
	assert_true(read(pipefd[0], err, len - 1) >= 0);
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WEXITSTATUS(status) == 2)
		skip();
}

/* A tap made for another user is refused, with the fix, to a process without privileges. */
static void test_net_tap_not_yours(void **state)
{
	char err[512] = "";

	(void)state;
	as_another_user(open_and_close, err, sizeof(err));
	if (!strstr(err, "is not yours") || !strstr(err, "mode tap user "))
		fail_msg("\"%s\"", err);
}

static void expect_check_error(const char *name, const char *needle)
{
	char err[512] = "";

	assert_int_equal(net_tap_check(name, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("net_tap_check(\"%s\"): \"%s\" does not say \"%s\"", name, err, needle);
}

/*
 * The dry run's look at a tap says what net_tap_open() would, without
 * attaching: a tap held by a descriptor is in use, and free again once
 * that is closed.
 */
static void test_net_tap_check(void **state)
{
	struct net_tap_info info;
	char err[512] = "";
	int fd;

	(void)state;
	expect_check_error("", "1 to 15 characters");
	expect_check_error("cmvt_nosuch", "there is no tap cmvt_nosuch: create it: sudo ip tuntap "
					  "add dev cmvt_nosuch mode tap user ");
	expect_check_error("lo", "lo is not a tap (a tun device, or another kind of interface); "
				 "make a tap: sudo ip tuntap add dev NEWTAP mode tap user ");
	if (!make_tap((uid_t)-1))
		skip();
	if (net_tap_check(fx.tap, err, sizeof(err)))
		fail_msg("%s", err);
	fd = net_tap_open(fx.tap, &info, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	set_up(fx.tap); /* the carrier reads only while it is up */
	expect_check_error(fx.tap, "is in use by another process (another cmavm?)");
	close(fd);
	if (net_tap_check(fx.tap, err, sizeof(err)))
		fail_msg("after close: %s", err);
}

/* A tun device is no tap, though the tun driver made it too. */
static void test_net_tap_check_refuses_a_tun(void **state)
{
	(void)state;
	snprintf(fx.tap, sizeof(fx.tap), "cmvu%d", (int)getpid() % 100000);
	if (!tap_ioctl(fx.tap, IFF_TUN | IFF_NO_PI, TUNSETPERSIST, 1)) {
		fx.tap[0] = '\0';
		skip();
	}
	expect_check_error(fx.tap, "is not a tap");
	tap_ioctl(fx.tap, IFF_TUN | IFF_NO_PI, TUNSETPERSIST, 0);
	fx.tap[0] = '\0';
}

/* Another user's tap, looked at by a process without CAP_NET_ADMIN: as the kernel would refuse it.
 */
static void test_net_tap_check_not_yours(void **state)
{
	char err[512] = "";

	(void)state;
	as_another_user(net_tap_check, err, sizeof(err));
	if (!strstr(err, "is not yours") || !strstr(err, "mode tap user "))
		fail_msg("\"%s\"", err);
	/* with CAP_NET_ADMIN, root may have any tap */
	if (net_tap_check(fx.tap, err, sizeof(err)))
		fail_msg("as root: %s", err);
}

/* A frame from the host's stack into the tap, through a packet socket bound to it. */
static bool host_into_tap(const char *name, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	bool ok;

	if (s < 0)
		return false;
	to.sll_ifindex = (int)if_nametoindex(name);
	memcpy(to.sll_addr, frame, 6);
	ok = sendto(s, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len;
	close(s);
	return ok;
}

/* A test frame: to the device's MAC, ethertype ETHERTYPE_TEST. */
static void test_frame(uint8_t *f, uint32_t len, uint32_t seed)
{
	fill_frame(f, len, seed);
	memcpy(f, mac, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
}

/* Receive chains until the test frame comes: anything else the kernel sent is skipped. */
static void expect_test_frame(struct tdev *t, const uint8_t *want, uint32_t len)
{
	for (unsigned int tries = 0; tries < 8; tries++) {
		uint32_t used;
		uint8_t *c = take_rx(t, &used);

		post_rx(t, 2048, true);
		if (used == HDR + len && c[HDR + 12] == want[12] && c[HDR + 13] == want[13]) {
			assert_memory_equal(c + HDR, want, len);
			return;
		}
	}
	fail_msg("the test frame never came through the tap");
}

static void test_net_real_tap(void **state)
{
	struct net_info info_after = { 0 };
	struct net_tap_info info;
	char err[512] = "";
	struct tdev *t;
	uint8_t f[200];
	int fd;

	(void)state;
	if (!make_tap((uid_t)-1))
		skip();
	fd = net_tap_open(fx.tap, &info, err, sizeof(err));
	if (fd < 0)
		fail_msg("%s", err);
	assert_string_equal(info.name, fx.tap);
	assert_false(info.up);
	assert_int_equal(info.offloads & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	expect_open_error(fx.tap, "is in use by another process");
	t = net_on_fd(fd, info.offloads, info.name);
	start(t, MRG | F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6));
	for (unsigned int i = 0; i < 8; i++)
		post_rx(t, 2048, i == 7);
	/* a real tap says yes: it gets what the driver took (on the loop, after the kick) */
	for (int i = 0; i < 100 && info_after.offloads != (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	     i++) {
		sleep_ms(10);
		pthread_mutex_lock(&t->dev.lock);
		net_get_info(&t->dev, &info_after);
		pthread_mutex_unlock(&t->dev.lock);
	}
	assert_int_equal(info_after.offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	test_frame(f, sizeof(f), 1);
	/* Down, the tap refuses the frame. */
	assert_int_equal(guest_send(t, &(struct virtio_net_hdr_v1){ 0 }, 60, 1, NULL), 0);
	assert_int_equal(counter(t, "tx_errors"), 1);
	set_up(fx.tap);
	assert_int_equal(guest_send(t, &(struct virtio_net_hdr_v1){ 0 }, 60, 2, NULL), 0);
	assert_int_equal(counter(t, "tx_packets"), 1);
	if (!host_into_tap(fx.tap, f, sizeof(f)))
		skip();
	expect_test_frame(t, f, sizeof(f));
	assert_healthy(t);
}

/*
 * Not persistent any more, it goes with its last descriptor. The
 * device's may outlive the device for a while: the io_uring that read
 * it lets go of it once the ring's teardown has run, in the background.
 */
static void delete_tap(const char *name)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while (!tap_ioctl(name, IFF_TAP | IFF_NO_PI, TUNSETPERSIST, 0) && if_nametoindex(name) &&
	       now_ms() < end)
		sleep_ms(10);
}

static int net_teardown(void **state)
{
	int ret;

	wp_release(); /* a loop thread waiting on it would never let the teardown end */
	ret = teardown(state);

	if (fx.peer >= 0)
		close(fx.peer);
	fx.peer = fx.devfd = -1;
	if (fx.tap[0])
		delete_tap(fx.tap);
	fx.tap[0] = '\0';
	return ret;
}

static const struct CMUnitTest tests[] = {
	TN(test_net_features),
	TN(test_net_access_platform),
	TN(test_net_config),
	TN(test_net_tx_frames),
	TN(test_net_tx_bad_frames),
	TN(test_net_tx_offloads),
	TN(test_net_tx_writable_buffer),
	TN(test_net_chain_outside_ram),
	TN(test_net_tx_flood),
	TN(test_net_rx_one_chain),
	TN(test_net_rx_nonblocking),
	TN(test_net_rx_mergeable),
	TN(test_net_rx_waits_for_buffers),
	TN(test_net_rx_too_big),
	TN(test_net_rx_largest),
	TN(test_net_rx_offloads),
	TN(test_net_rx_bad_chains),
	TN(test_net_link),
	TN(test_net_reset),
	TN(test_net_tap_gone),
	TN(test_net_fence_holds_rx),
	TN(test_net_fence_mergeable_off_loop),
	TN(test_net_fence_elsewhere),
	TN(test_net_fence_used_rings),
	TN(test_net_fence_holds_tx_answers),
	TN(test_net_fence_reset),
	TN(test_net_fence_write_protected),
	TN(test_net_tap_open_errors),
	TN(test_net_tap_not_yours),
	TN(test_net_tap_check),
	TN(test_net_tap_check_refuses_a_tun),
	TN(test_net_tap_check_not_yours),
	TN(test_net_real_tap),
};

int main(void)
{
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
