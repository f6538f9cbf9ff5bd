// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console (vmm/virtio/console.c, console_port.c): the multiport
 * control handshake as Linux 6.1's virtio_console does it, the guest
 * program opening and closing the port, bytes both ways across buffer
 * bounds, the bound on what waits for the guest, a hostile driver, reset.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_console.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

#define NAME "org.qemu.guest_agent.0"

/* The queues by number, as the driver's init_vqs() makes them with max_nr_ports = 2 */
#define TQ_PORT0_RX 0
#define TQ_PORT0_TX 1
#define TQ_CTRL_RX  2
#define TQ_CTRL_TX  3
#define TQ_PORT_RX  4
#define TQ_PORT_TX  5

#define PORT	  1
#define MULTIPORT BIT_ULL(VIRTIO_CONSOLE_F_MULTIPORT)

#define READY	  VIRTIO_CONSOLE_DEVICE_READY
#define PORT_ADD  VIRTIO_CONSOLE_PORT_ADD
#define PORT_RDY  VIRTIO_CONSOLE_PORT_READY
#define PORT_OPEN VIRTIO_CONSOLE_PORT_OPEN
#define PORT_NAME VIRTIO_CONSOLE_PORT_NAME

/* ---- the host side: what the device's callbacks saw ---- */

#define GOT_MAX (256 * 1024)

/*
 * The callbacks run on the loop thread (or on the thread that resets)
 * with the device lock held, before the chain that caused them is used:
 * once the test sees the used entry, what they recorded is visible.
 */
static struct {
	struct virtio_device *dev;
	uint8_t got[GOT_MAX];
	size_t got_len;
	bool opened[32];
	unsigned int nr_opened;
	size_t received;      /* bytes seen, kept or not */
	bool count_only;      /* keep none: more than GOT_MAX comes */
	bool echo;	      /* send back what the guest wrote */
	const char *greeting; /* send this when the guest opens */
} host;

static void on_received(void *opaque, const uint8_t *data, size_t len)
{
	assert_ptr_equal(opaque, &host);
	host.received += len;
	if (host.count_only)
		return;
	assert_true(host.got_len + len <= GOT_MAX);
	memcpy(host.got + host.got_len, data, len);
	host.got_len += len;
	if (host.echo)
		assert_int_equal(console_port_send(host.dev, data, len), len);
}

static void on_opened(void *opaque, bool open)
{
	assert_ptr_equal(opaque, &host);
	assert_true(host.nr_opened < 32);
	host.opened[host.nr_opened++] = open;
	if (open && host.greeting)
		console_port_send(host.dev, host.greeting, strlen(host.greeting));
}

static struct tdev *add_named(const char *name)
{
	struct console_options o = {
		.port_name = name,
		.ops = { .opaque = &host, .received = on_received, .opened = on_opened },
	};
	struct tdev *t;

	memset(&host, 0, sizeof(host));
	t = add_console(&o);
	host.dev = &t->dev;
	return t;
}

static struct tdev *add(void)
{
	return add_named(NAME);
}

static size_t host_send(struct tdev *t, const void *data, size_t len)
{
	size_t n;

	pthread_mutex_lock(&t->dev.lock);
	n = console_port_send(&t->dev, data, len);
	pthread_mutex_unlock(&t->dev.lock);
	return n;
}

static bool is_open(struct tdev *t)
{
	bool open;

	pthread_mutex_lock(&t->dev.lock);
	open = console_port_is_open(&t->dev);
	pthread_mutex_unlock(&t->dev.lock);
	return open;
}

/* ---- the driver's receive buffers, in the order it gave them ---- */

struct posted {
	uint16_t head;
	uint64_t gpa;
};

static struct {
	struct posted p[64];
	unsigned int first, n;
} rx[VIRTIO_MAX_QUEUES];

/* One device-writable buffer of @len bytes on @q (add_inbuf()). */
static void post_rx(struct tdev *t, unsigned int q, uint32_t len, bool notify)
{
	struct tbuf b = { galloc(t, len), len, true };
	unsigned int slot = (rx[q].first + rx[q].n++) % 64;

	rx[q].p[slot].gpa = b.gpa;
	rx[q].p[slot].head = build_chain(t, q, &b, 1);
	offer(t, q, rx[q].p[slot].head, notify);
}

/* The next buffer the device used on @q, with its used length in @len. */
static uint64_t take_rx(struct tdev *t, unsigned int q, uint32_t *len)
{
	struct posted p = rx[q].p[rx[q].first];

	assert_true(rx[q].n > 0);
	rx[q].first = (rx[q].first + 1) % 64;
	rx[q].n--;
	*len = next_used(t, q, p.head);
	return p.gpa;
}

/* Nothing more was used on @q than the test took. */
static void assert_no_more_used(struct tdev *t, unsigned int q)
{
	loop_sync();
	assert_int_equal(used_idx(t, q), t->q[q].used_seen);
}

/* ---- control messages ---- */

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, hp(gpa), 2);
	return le16toh(v);
}

/* A raw control message of @len bytes on the control transmitq; answered at once. */
static void send_raw(struct tdev *t, const void *msg, uint32_t len)
{
	struct tbuf b = { galloc(t, len), len, false };

	memcpy(hp(b.gpa), msg, len);
	assert_int_equal(request(t, TQ_CTRL_TX, &b, 1), 0);
}

static void ctrl_bytes(uint8_t out[8], uint32_t id, uint16_t event, uint16_t value)
{
	id = htole32(id);
	event = htole16(event);
	value = htole16(value);
	memcpy(out, &id, 4);
	memcpy(out + 4, &event, 2);
	memcpy(out + 6, &value, 2);
}

/* __send_control_msg(): one 8-byte buffer, which the driver spins on until used. */
static void send_ctrl(struct tdev *t, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	ctrl_bytes(m, id, event, value);
	send_raw(t, m, sizeof(m));
}

/* The next message on the control receiveq is @event for port 1 with @value. */
static void expect_ctrl(struct tdev *t, uint16_t event, uint16_t value, const char *name)
{
	uint32_t len;
	uint64_t gpa = take_rx(t, TQ_CTRL_RX, &len);

	assert_int_equal(get32(gpa), PORT);
	assert_int_equal(get16(gpa + 4), event);
	assert_int_equal(get16(gpa + 6), value);
	/* 5.3.6.2: the name follows, without a NUL; Linux takes the used length as its end. */
	assert_int_equal(len, 8 + (name ? strlen(name) : 0));
	if (name)
		assert_memory_equal(hp(gpa + 8), name, strlen(name));
}

/*
 * What Linux 6.1's virtcons_probe() and add_port() do: DRIVER_OK, fill the
 * control receiveq, DEVICE_READY; on PORT_ADD fill the port's receiveq
 * with @port_bufs pages and say PORT_READY.
 */
static void linux_probe(struct tdev *t, unsigned int port_bufs)
{
	handshake(t, MULTIPORT);
	memset(rx, 0, sizeof(rx));
	for (unsigned int i = 0; i < 4; i++)
		post_rx(t, TQ_CTRL_RX, PAGE, true);
	send_ctrl(t, VIRTIO_CONSOLE_BAD_ID, READY, 1);
	expect_ctrl(t, PORT_ADD, 1, NULL);
	for (unsigned int i = 0; i < port_bufs; i++)
		post_rx(t, TQ_PORT_RX, PAGE, true);
	send_ctrl(t, PORT, PORT_RDY, 1);
	expect_ctrl(t, PORT_NAME, 1, NAME);
	expect_ctrl(t, PORT_OPEN, 1, NULL);
}

/* ---- data ---- */

/* The guest writes @data in one chain of buffers of @sizes bytes (__send_to_port()). */
static void guest_write(struct tdev *t, unsigned int q, const void *data, const uint32_t *sizes,
			unsigned int n)
{
	struct tbuf b[8];
	size_t off = 0;

	assert_true(n <= 8);
	for (unsigned int i = 0; i < n; i++) {
		b[i] = (struct tbuf){ galloc(t, sizes[i]), sizes[i], false };
		memcpy(hp(b[i].gpa), (const uint8_t *)data + off, sizes[i]);
		off += sizes[i];
	}
	assert_int_equal(request(t, q, b, n), 0);
}

static void expect_data(struct tdev *t, const void *data, uint32_t len)
{
	uint32_t used;
	uint64_t gpa = take_rx(t, TQ_PORT_RX, &used);

	assert_int_equal(used, len);
	assert_memory_equal(hp(gpa), data, len);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + i / 251 + seed);
}

static void assert_needs_reset(struct tdev *t)
{
	assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
}

/* ---- tests ---- */

/* Device 3; MULTIPORT only; max_nr_ports 2, so six queues; emerg_wr is not there. */
static void test_console_device(void **state)
{
	struct tdev *t = add();
	uint64_t f;

	(void)state;
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), 3);
	f = device_features(t);
	assert_true(f & BIT_ULL(1));	       /* MULTIPORT */
	assert_false(f & BIT_ULL(0));	       /* SIZE: not a console */
	assert_false(f & BIT_ULL(2));	       /* EMERG_WRITE */
	assert_int_equal(cfg_read32(t, 4), 2); /* max_nr_ports */
	handshake(t, MULTIPORT);	       /* checks that queue 6 does not exist */
	cfg_write32(t, 8, 'x');		       /* emerg_wr, not offered */
	assert_int_equal(cfg_read32(t, 8), 0);
	assert_int_equal(cfg_read32(t, 0), 0); /* cols, rows: no SIZE */
	assert_int_equal(counter(t, "dropped"), 0);
	assert_false(is_open(t));
}

/*
 * DEVICE_READY -> PORT_ADD 1; PORT_READY -> PORT_NAME, PORT_OPEN 1. No
 * CONSOLE_PORT, and port 0 is never added: its receive buffers stay.
 */
static void test_console_linux_handshake(void **state)
{
	struct tdev *t = add();

	(void)state;
	linux_probe(t, 4);
	post_rx(t, TQ_PORT0_RX, PAGE, true);
	assert_no_more_used(t, TQ_CTRL_RX);
	assert_no_more_used(t, TQ_PORT_RX);
	assert_no_more_used(t, TQ_PORT0_RX);
	assert_int_equal(counter(t, "control_in"), 2);
	assert_int_equal(counter(t, "control_out"), 3);
	assert_int_equal(counter(t, "control_errors"), 0);
	/* The host is connected, the guest program is not yet. */
	assert_false(is_open(t));
	assert_int_equal(host.nr_opened, 0);
	assert_int_equal(host_send(t, "x", 1), 0);
}

/* port_fops_open() / port_fops_release(): PORT_OPEN 1 and 0 reach ops.opened, once each. */
static void test_console_open_close(void **state)
{
	struct tdev *t = add();

	(void)state;
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_true(is_open(t));
	assert_int_equal(host.nr_opened, 1);
	assert_true(host.opened[0]);
	send_ctrl(t, PORT, PORT_OPEN, 1); /* no change: no second call */
	assert_int_equal(host.nr_opened, 1);
	send_ctrl(t, PORT, PORT_OPEN, 0);
	assert_false(is_open(t));
	assert_int_equal(host.nr_opened, 2);
	assert_false(host.opened[1]);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_int_equal(host.nr_opened, 3);
	assert_int_equal(counter(t, "opens"), 2);
	assert_int_equal(counter(t, "control_errors"), 0);
	assert_no_more_used(t, TQ_CTRL_RX);
}

/* What the guest writes reaches ops.received in order, across buffer and chain bounds. */
static void test_console_guest_to_host(void **state)
{
	static uint8_t big[10000];
	struct tdev *t = add();
	const uint32_t two[2] = { 3, 2 }, three[3] = { 4000, 5000, 1000 }, one[1] = { 6 };

	(void)state;
	linux_probe(t, 4);
	guest_write(t, TQ_PORT_TX, "closed", one, 1); /* Linux does not; dropped */
	assert_int_equal(host.got_len, 0);
	assert_int_equal(counter(t, "dropped"), 6);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	guest_write(t, TQ_PORT_TX, "hello", two, 2);
	assert_int_equal(host.got_len, 5);
	assert_memory_equal(host.got, "hello", 5);
	fill_pattern(big, sizeof(big), 1);
	guest_write(t, TQ_PORT_TX, big, three, 3);
	assert_int_equal(host.got_len, 5 + sizeof(big));
	assert_memory_equal(host.got + 5, big, sizeof(big));
	assert_int_equal(counter(t, "bytes_in"), 5 + sizeof(big));
	assert_int_equal(counter(t, "dropped"), 6);
	/* Nothing went back to the guest. */
	assert_no_more_used(t, TQ_PORT_RX);
}

/* One chain gives at most 1 MiB to the host (Linux writes 32 KiB, a splice a pipe's worth). */
static void test_console_chain_cap(void **state)
{
	struct tdev *t = add();
	const uint32_t half = 600 * 1024;
	struct tbuf b[2];

	(void)state;
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	host.count_only = true;
	b[0] = (struct tbuf){ galloc(t, half), half, false };
	b[1] = b[0]; /* the same bytes twice: 1200 KiB in one chain */
	assert_int_equal(request(t, TQ_PORT_TX, b, 2), 0);
	assert_int_equal(host.received, 1024 * 1024);
	assert_int_equal(counter(t, "bytes_in"), 1024 * 1024);
	assert_int_equal(counter(t, "dropped"), 2 * half - 1024 * 1024);
}

/*
 * The host sends before any receive buffer exists: the bytes wait, and go
 * out as buffers come, split across them; a chain of two buffers is filled
 * across its bound; buffers added without a kick are found by the next send.
 */
static void test_console_host_to_guest(void **state)
{
	struct tdev *t = add();
	const char *msg = "0123456789abcdefXYZ";
	uint64_t gpa[2];
	struct tbuf b[2];
	uint16_t head;

	(void)state;
	linux_probe(t, 0);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_int_equal(host_send(t, msg, 19), 19);
	assert_no_more_used(t, TQ_PORT_RX);
	post_rx(t, TQ_PORT_RX, 8, true);
	expect_data(t, "01234567", 8);
	post_rx(t, TQ_PORT_RX, 16, true);
	expect_data(t, "89abcdefXYZ", 11);

	for (unsigned int i = 0; i < 2; i++) {
		gpa[i] = galloc(t, 5);
		b[i] = (struct tbuf){ gpa[i], 5, true };
	}
	head = submit(t, TQ_PORT_RX, b, 2);
	assert_int_equal(host_send(t, "ABCDEFGH", 8), 8);
	assert_int_equal(next_used(t, TQ_PORT_RX, head), 8);
	assert_memory_equal(hp(gpa[0]), "ABCDE", 5);
	assert_memory_equal(hp(gpa[1]), "FGH", 3);

	post_rx(t, TQ_PORT_RX, 64, false);
	assert_int_equal(host_send(t, "quiet", 5), 5);
	expect_data(t, "quiet", 5);
	assert_int_equal(counter(t, "bytes_out"), 19 + 8 + 5);
	assert_int_equal(counter(t, "dropped"), 0);
}

/*
 * A guest that never reads: at most CONSOLE_TX_MAX bytes wait, the rest is
 * refused to the host; as buffers come room comes back; a close drops what
 * waits.
 */
static void test_console_pending_bound(void **state)
{
	static uint8_t data[100000];
	struct tdev *t = add();

	(void)state;
	assert_int_equal(CONSOLE_TX_MAX, 65536);
	fill_pattern(data, sizeof(data), 3);
	linux_probe(t, 0);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_int_equal(host_send(t, data, sizeof(data)), 65536);
	assert_int_equal(host_send(t, data, 10), 0);
	for (unsigned int i = 0; i < 16; i++)
		post_rx(t, TQ_PORT_RX, PAGE, i == 15);
	for (unsigned int i = 0; i < 16; i++)
		expect_data(t, data + i * PAGE, PAGE);
	assert_int_equal(counter(t, "bytes_out"), 65536);
	/* Room again; these wait, and the guest's close drops them. */
	assert_int_equal(host_send(t, data, 1000), 1000);
	assert_int_equal(host_send(t, data, 100000), 64536);
	send_ctrl(t, PORT, PORT_OPEN, 0);
	assert_int_equal(counter(t, "dropped"), 65536);
	assert_int_equal(host_send(t, data, 10), 0);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	post_rx(t, TQ_PORT_RX, PAGE, true);
	assert_no_more_used(t, TQ_PORT_RX);
}

/*
 * Control messages of the wrong size, for ports that were never added,
 * with events only the device sends, or values other than 0 and 1: each
 * counted and ignored; the device goes on.
 */
static void test_console_hostile_control(void **state)
{
	struct tdev *t = add();
	uint8_t m[12];
	const uint16_t host_events[] = { PORT_ADD,
					 VIRTIO_CONSOLE_PORT_REMOVE,
					 VIRTIO_CONSOLE_CONSOLE_PORT,
					 VIRTIO_CONSOLE_RESIZE,
					 PORT_NAME,
					 99 };
	const uint32_t bad_ports[] = { 0, 2, VIRTIO_CONSOLE_BAD_ID };
	unsigned int errors = 0;

	(void)state;
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	memset(m, 0, sizeof(m));
	ctrl_bytes(m, PORT, PORT_OPEN, 0);
	send_raw(t, m, 7);
	send_raw(t, m, 12);
	errors += 2;
	for (unsigned int i = 0; i < 3; i++) {
		send_ctrl(t, bad_ports[i], PORT_OPEN, 0);
		send_ctrl(t, bad_ports[i], PORT_RDY, 1);
		errors += 2;
	}
	for (unsigned int i = 0; i < 6; i++, errors++)
		send_ctrl(t, PORT, host_events[i], 1);
	send_ctrl(t, PORT, PORT_OPEN, 2);
	send_ctrl(t, VIRTIO_CONSOLE_BAD_ID, READY, 7);
	errors += 2;
	assert_int_equal(counter(t, "control_errors"), errors);
	assert_true(is_open(t));
	assert_int_equal(host.nr_opened, 1);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The one control receive buffer left was not used for any of them. */
	assert_no_more_used(t, TQ_CTRL_RX);
	assert_int_equal(host_send(t, "still", 5), 5);
	expect_data(t, "still", 5);
}

/*
 * A flood of DEVICE_READY without buffers to answer in: CONSOLE_CTRL_MAX
 * answers wait, the rest are dropped and counted; a receive buffer too
 * small for a message goes back empty and the message waits.
 */
static void test_console_control_flood(void **state)
{
	struct tdev *t = add();
	uint32_t len;

	(void)state;
	linux_probe(t, 4); /* one control receive buffer left */
	for (unsigned int i = 0; i < 30; i++)
		send_ctrl(t, VIRTIO_CONSOLE_BAD_ID, READY, 1);
	assert_int_equal(counter(t, "control_dropped"), 30 - 1 - 16);
	expect_ctrl(t, PORT_ADD, 1, NULL); /* in the buffer the probe left */
	post_rx(t, TQ_CTRL_RX, 4, true);
	take_rx(t, TQ_CTRL_RX, &len);
	assert_int_equal(len, 0);
	assert_int_equal(counter(t, "control_errors"), 1);
	for (unsigned int i = 0; i < 14; i++)
		post_rx(t, TQ_CTRL_RX, PAGE, true);
	for (unsigned int i = 0; i < 14; i++)
		expect_ctrl(t, PORT_ADD, 1, NULL);
	for (unsigned int i = 0; i < 2; i++)
		post_rx(t, TQ_CTRL_RX, PAGE, true);
	for (unsigned int i = 0; i < 2; i++)
		expect_ctrl(t, PORT_ADD, 1, NULL);
	post_rx(t, TQ_CTRL_RX, PAGE, true);
	assert_no_more_used(t, TQ_CTRL_RX);
	assert_int_equal(counter(t, "control_out"), 3 + 17);
}

/* A device-readable buffer in a receiveq, or a device-writable one in a transmitq */
static void wrong_side(struct tdev *t, unsigned int q)
{
	struct tbuf b[2] = { { galloc(t, 8), 8, false }, { galloc(t, 8), 8, true } };
	uint16_t before = used_idx(t, q);
	uint8_t m[8];

	ctrl_bytes(hp(b[0].gpa), PORT, PORT_OPEN, 0);
	if (q == TQ_CTRL_TX || q == TQ_PORT_TX) {
		submit(t, q, b, 2);
	} else if (q == TQ_PORT_RX) {
		submit(t, q, b, 1);
		assert_int_equal(host_send(t, "x", 1), 1);
	} else {
		/* Behind the control buffer the probe left: PORT_NAME fits, PORT_OPEN does not. */
		submit(t, q, b, 1);
		ctrl_bytes(m, PORT, PORT_RDY, 1);
		b[1] = (struct tbuf){ galloc(t, 8), 8, false };
		memcpy(hp(b[1].gpa), m, 8);
		submit(t, TQ_CTRL_TX, &b[1], 1);
		expect_ctrl(t, PORT_NAME, 1, NAME);
		before++;
	}
	assert_needs_reset(t);
	assert_int_equal(used_idx(t, q), before);
}

/* 5.3.6.1: the queue breaks (DEVICE_NEEDS_RESET) before anything is taken from the chain. */
static void test_console_wrong_sides(void **state)
{
	struct tdev *t = add();
	const unsigned int queues[] = { TQ_CTRL_TX, TQ_PORT_TX, TQ_CTRL_RX, TQ_PORT_RX };

	(void)state;
	for (unsigned int i = 0; i < 4; i++) {
		linux_probe(t, 0);
		send_ctrl(t, PORT, PORT_OPEN, 1);
		wrong_side(t, queues[i]);
		assert_int_equal(counter(t, "bad_chains"), i + 1);
		assert_true(is_open(t)); /* the PORT_OPEN 0 in the bad chain was not taken */
	}
	assert_int_equal(host.got_len, 0);
	assert_int_equal(counter(t, "bytes_out"), 0);
}

/*
 * A reset forgets the port's state, the bytes and messages waiting, and
 * tells the host; after it, PORT_READY alone (virtcons_restore() after
 * hibernation sends no DEVICE_READY) is answered again.
 */
static void test_console_reset(void **state)
{
	static uint8_t data[20000];
	struct tdev *t = add();

	(void)state;
	fill_pattern(data, sizeof(data), 5);
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_int_equal(host_send(t, data, sizeof(data)), sizeof(data));
	for (unsigned int i = 0; i < 4; i++)
		expect_data(t, data + i * PAGE, PAGE);
	for (unsigned int i = 0; i < 3; i++) /* one answered, two wait */
		send_ctrl(t, VIRTIO_CONSOLE_BAD_ID, READY, 1);
	expect_ctrl(t, PORT_ADD, 1, NULL);

	reset(t);
	assert_false(is_open(t));
	assert_int_equal(host.nr_opened, 2);
	assert_false(host.opened[1]);
	assert_int_equal(counter(t, "dropped"), sizeof(data) - 4 * PAGE);
	assert_int_equal(host_send(t, "x", 1), 0);

	handshake(t, MULTIPORT);
	memset(rx, 0, sizeof(rx));
	for (unsigned int i = 0; i < 4; i++) {
		post_rx(t, TQ_CTRL_RX, PAGE, true);
		post_rx(t, TQ_PORT_RX, PAGE, true);
	}
	assert_no_more_used(t, TQ_CTRL_RX);
	assert_no_more_used(t, TQ_PORT_RX);
	send_ctrl(t, PORT, PORT_RDY, 1);
	expect_ctrl(t, PORT_NAME, 1, NAME);
	expect_ctrl(t, PORT_OPEN, 1, NULL);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	assert_int_equal(host.nr_opened, 3);
	assert_int_equal(host_send(t, "back", 4), 4);
	expect_data(t, "back", 4);
	/* A reset with the port closed does not call the host again. */
	send_ctrl(t, PORT, PORT_OPEN, 0);
	reset(t);
	assert_int_equal(host.nr_opened, 4);
}

/*
 * Port 0 was never added: what the guest writes there is dropped, its
 * receive buffers stay. A driver without MULTIPORT has only port 0's
 * queues (5.3.2): the control queues do nothing.
 */
static void test_console_port0_and_no_multiport(void **state)
{
	struct tdev *t = add();
	const uint32_t one[1] = { 100 };
	uint8_t junk[100];

	(void)state;
	memset(junk, 'j', sizeof(junk));
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	post_rx(t, TQ_PORT0_RX, PAGE, true);
	guest_write(t, TQ_PORT0_TX, junk, one, 1);
	assert_int_equal(counter(t, "dropped"), 100);
	assert_int_equal(host.got_len, 0);
	assert_int_equal(host_send(t, "p1", 2), 2);
	expect_data(t, "p1", 2);
	assert_no_more_used(t, TQ_PORT0_RX);

	handshake(t, 0);
	memset(rx, 0, sizeof(rx));
	post_rx(t, TQ_CTRL_RX, PAGE, true);
	{
		struct tbuf b = { galloc(t, 8), 8, false };

		ctrl_bytes(hp(b.gpa), VIRTIO_CONSOLE_BAD_ID, READY, 1);
		submit(t, TQ_CTRL_TX, &b, 1);
	}
	loop_sync();
	assert_int_equal(used_idx(t, TQ_CTRL_TX), 0);
	assert_no_more_used(t, TQ_CTRL_RX);
	guest_write(t, TQ_PORT0_TX, junk, one, 1);
	assert_int_equal(counter(t, "dropped"), 200);
	assert_false(is_open(t));
}

/*
 * The guest agent's pattern: the host answers from inside the callbacks,
 * a greeting when the port opens and a reply to what the guest wrote.
 */
static void test_console_replies_from_callbacks(void **state)
{
	struct tdev *t = add();
	const uint32_t four[1] = { 4 };

	(void)state;
	host.greeting = "{\"hello\":1}";
	host.echo = true;
	linux_probe(t, 4);
	send_ctrl(t, PORT, PORT_OPEN, 1);
	expect_data(t, "{\"hello\":1}", 11);
	guest_write(t, TQ_PORT_TX, "ping", four, 1);
	assert_memory_equal(host.got, "ping", 4);
	expect_data(t, "ping", 4);
	assert_int_equal(counter(t, "bytes_in"), 4);
	assert_int_equal(counter(t, "bytes_out"), 15);
}

/* A name must be 1 to CONSOLE_NAME_MAX bytes; the longest goes out whole. */
static void test_console_names(void **state)
{
	static char longest[CONSOLE_NAME_MAX + 2];
	struct virtio_env e = env();
	struct virtio_device dev;
	struct console_options o = { .port_name = "" };
	struct tdev *t;

	(void)state;
	memset(longest, 'n', CONSOLE_NAME_MAX + 1);
	assert_int_equal(CONSOLE_NAME_MAX, 255);
	errno = 0;
	assert_int_equal(virtio_console_create(&dev, &e, &o), -1);
	assert_int_equal(errno, EINVAL);
	o.port_name = NULL;
	assert_int_equal(virtio_console_create(&dev, &e, &o), -1);
	o.port_name = longest; /* 256 bytes */
	errno = 0;
	assert_int_equal(virtio_console_create(&dev, &e, &o), -1);
	assert_int_equal(errno, EINVAL);

	longest[CONSOLE_NAME_MAX] = 0;
	t = add_named(longest);
	handshake(t, MULTIPORT);
	memset(rx, 0, sizeof(rx));
	post_rx(t, TQ_CTRL_RX, PAGE, true);
	post_rx(t, TQ_CTRL_RX, PAGE, true);
	send_ctrl(t, PORT, PORT_RDY, 1);
	expect_ctrl(t, PORT_NAME, 1, longest);
	expect_ctrl(t, PORT_OPEN, 1, NULL);
}

static const struct CMUnitTest tests[] = {
	T(test_console_device),
	T(test_console_linux_handshake),
	T(test_console_open_close),
	T(test_console_guest_to_host),
	T(test_console_chain_cap),
	T(test_console_host_to_guest),
	T(test_console_pending_bound),
	T(test_console_hostile_control),
	T(test_console_control_flood),
	T(test_console_wrong_sides),
	T(test_console_reset),
	T(test_console_port0_and_no_multiport),
	T(test_console_replies_from_callbacks),
	T(test_console_names),
};

int main(void)
{
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
