// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2, 5.3), for
 * one named port between a program in the guest and the VMM: the QEMU
 * guest agent's. It is no console (cmavm's console is the UART): no port
 * is nominated with CONSOLE_PORT, and port 0, whose queues the driver
 * always creates, is never added.
 *
 * The control protocol, as Linux 6.1's virtio_console drives it:
 *
 *   driver  DEVICE_READY 1   its control receive buffers are in (virtcons_probe())
 *   device  PORT_ADD 1       the spec's DEVICE_ADD, for port 1
 *   driver  PORT_READY 1     port 1 exists, its receive buffers are in (add_port())
 *   device  PORT_NAME        followed by the name, without a NUL
 *   device  PORT_OPEN 1      the host side is connected: the guest may write
 *   driver  PORT_OPEN 1 / 0  a program opened or closed /dev/vportNp1
 *
 * After hibernation the driver sends PORT_READY, and PORT_OPEN 1 if the
 * port was open, without DEVICE_READY (virtcons_restore()): PORT_READY is
 * answered whenever it comes.
 *
 * The driver spins until its control transmit buffer is used
 * (__send_control_msg()), so control messages are handled at once; those
 * for the driver wait, at most CONSOLE_CTRL_MAX, for control receive
 * buffers. A message of the wrong size, event, value or port is counted
 * (control_errors) and ignored; a buffer on the wrong side breaks its
 * queue (5.3.6.1), as for every device.
 */
#include "vmm/virtio/console.h"
#include "vmm/util/log.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTRL_BYTES sizeof(struct virtio_console_control)
_Static_assert(CTRL_BYTES == 8, "5.3.6.2: a control message is le32 id, le16 event, le16 value");

/* Are @chain's buffers all on the side 5.3.6.1 gives the queue? Else it breaks. */
static bool chain_on_side(struct virtio_device *dev, struct virtqueue *vq,
			  const struct vq_chain *chain, bool writable)
{
	unsigned int wrong = writable ? chain->nr_out : chain->nr - chain->nr_out;

	if (!wrong)
		return true;
	to_console(dev)->n.bad_chains++;
	vq_fail(vq, "chain from head %u: %u device-%s buffer(s) in a %s (5.3.6.1)", chain->head,
		wrong, writable ? "readable" : "writable", writable ? "receiveq" : "transmitq");
	return false;
}

bool console_transmit_chain_ok(struct virtio_device *dev, struct virtqueue *vq,
			       const struct vq_chain *chain)
{
	return chain_on_side(dev, vq, chain, false);
}

/*
 * Receive buffers are taken only when there is something to put in them:
 * the rest stay on the ring, where the driver keeps them.
 */
void console_fill_receiveq(struct virtio_device *dev, unsigned int q,
			   bool (*more)(const struct console *c),
			   uint32_t (*fill)(struct console *c, const struct vq_chain *chain))
{
	struct console *c = to_console(dev);
	struct virtqueue *vq = &dev->vq[q];
	bool pushed = false;
	int ret = 0;

	while (virtio_running(dev) && !vq->broken && more(c)) {
		ret = vq_pop(vq, c->chain);
		if (ret <= 0)
			break;
		if (!chain_on_side(dev, vq, c->chain, true)) {
			ret = -1;
			break;
		}
		vq_push(vq, c->chain->head, fill(c, c->chain));
		pushed = true;
	}
	if (ret < 0)
		virtio_queue_broken(dev, vq);
	if (pushed)
		virtio_queue_done(dev, vq);
}

/* ---- control messages for the driver ---- */

static bool ctrl_pending(const struct console *c)
{
	return c->ctrl_count;
}

/*
 * One message a buffer: the driver reads each used buffer as one message,
 * PORT_NAME's name running to the used length (handle_control_message()).
 * A buffer too small for the message goes back empty and the message
 * waits for the next (Linux gives a page each).
 */
static uint32_t fill_ctrl(struct console *c, const struct vq_chain *chain)
{
	struct console_ctrl m = c->ctrl[c->ctrl_head];
	struct virtio_console_control wire = {
		.id = htole32(m.id),
		.event = htole16(m.event),
		.value = htole16(m.value),
	};
	size_t name = m.event == VIRTIO_CONSOLE_PORT_NAME ? c->name_len : 0;

	if (chain->in_len < CTRL_BYTES + name) {
		c->n.control_errors++;
		return 0;
	}
	c->ctrl_head = (c->ctrl_head + 1) % CONSOLE_CTRL_MAX;
	c->ctrl_count--;
	vq_chain_write(chain, 0, &wire, CTRL_BYTES);
	vq_chain_write(chain, CTRL_BYTES, c->name, name);
	c->n.control_out++;
	return (uint32_t)(CTRL_BYTES + name);
}

static void send_control(struct virtio_device *dev, uint16_t event, uint16_t value)
{
	struct console *c = to_console(dev);

	if (c->ctrl_count == CONSOLE_CTRL_MAX) {
		if (!c->n.control_dropped)
			pr_warn("%s: %d control messages wait for the driver's buffers; more are "
				"dropped (counted as control_dropped; reported once)",
				dev->name, CONSOLE_CTRL_MAX);
		c->n.control_dropped++;
		return;
	}
	c->ctrl[(c->ctrl_head + c->ctrl_count) % CONSOLE_CTRL_MAX] = (struct console_ctrl){
		.id = CONSOLE_PORT,
		.event = event,
		.value = value,
	};
	c->ctrl_count++;
	console_fill_receiveq(dev, CQ_CONTROL_RX, ctrl_pending, fill_ctrl);
}

/* ---- control messages from the driver ---- */

static void control_error(struct virtio_device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void control_error(struct virtio_device *dev, const char *fmt, ...)
{
	struct console *c = to_console(dev);
	char why[128];
	va_list ap;

	if (!c->n.control_errors++) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		pr_warn("%s: %s; ignored (counted as control_errors; reported once)", dev->name,
			why);
	}
}

/* The driver says it failed (value 0): nothing to answer, but the port will not work. */
static void driver_failed(struct virtio_device *dev, const char *what)
{
	pr_warn("%s: the driver failed to set up %s; the port \"%s\" is not there for the guest",
		dev->name, what, to_console(dev)->name);
}

static void handle_control(struct virtio_device *dev, uint32_t id, uint16_t event, uint16_t value)
{
	if (value > 1) {
		control_error(dev, "control event %u with value %u (5.3.6.2: 0 or 1)", event,
			      value);
		return;
	}
	/* 5.3.6.2: DEVICE_READY's id is unused (Linux sends VIRTIO_CONSOLE_BAD_ID). */
	if (event == VIRTIO_CONSOLE_DEVICE_READY) {
		if (value)
			send_control(dev, VIRTIO_CONSOLE_PORT_ADD, 1);
		else
			driver_failed(dev, "the device (DEVICE_READY 0)");
		return;
	}
	if (id != CONSOLE_PORT) {
		control_error(dev, "control event %u for port %u; only port %u was added", event,
			      id, CONSOLE_PORT);
		return;
	}
	if (event == VIRTIO_CONSOLE_PORT_READY && value) {
		send_control(dev, VIRTIO_CONSOLE_PORT_NAME, 1);
		send_control(dev, VIRTIO_CONSOLE_PORT_OPEN, 1);
	} else if (event == VIRTIO_CONSOLE_PORT_READY) {
		driver_failed(dev, "its port (PORT_READY 0)");
	} else if (event == VIRTIO_CONSOLE_PORT_OPEN) {
		console_port_set_open(dev, value);
	} else {
		control_error(dev, "control event %u, which only the device sends", event);
	}
}

static int64_t control_transmit(struct virtio_device *dev, struct virtqueue *vq,
				struct vq_chain *chain)
{
	struct virtio_console_control m;

	if (!console_transmit_chain_ok(dev, vq, chain))
		return -1;
	if (chain->out_len != CTRL_BYTES) {
		control_error(dev, "a control message of %llu bytes (5.3.6.2: %zu)",
			      (unsigned long long)chain->out_len, CTRL_BYTES);
		return 0;
	}
	vq_chain_read(chain, 0, &m, CTRL_BYTES);
	to_console(dev)->n.control_in++;
	handle_control(dev, le32toh(m.id), le16toh(m.event), le16toh(m.value));
	return 0;
}

/* ---- the device ---- */

static void console_notify(struct virtio_device *dev, unsigned int q)
{
	/* Only port 0's queues exist without MULTIPORT (5.3.2). */
	if (q >= CQ_CONTROL_RX && !virtio_has_feature(dev, VIRTIO_CONSOLE_F_MULTIPORT))
		return;
	switch (q) {
	case CQ_CONTROL_TX:
		virtio_process_queue(dev, &dev->vq[q], control_transmit);
		break;
	case CQ_CONTROL_RX:
		console_fill_receiveq(dev, q, ctrl_pending, fill_ctrl);
		break;
	case CQ_PORT_TX:
		virtio_process_queue(dev, &dev->vq[q], console_port_transmit);
		break;
	case CQ_PORT_RX:
		console_port_deliver(dev);
		break;
	case CQ_PORT0_TX:
		virtio_process_queue(dev, &dev->vq[q], console_port0_transmit);
		break;
	default:
		/* Port 0's receiveq: the port is never added, its buffers stay. */
		break;
	}
}

static void console_start(struct virtio_device *dev)
{
	if (!virtio_has_feature(dev, VIRTIO_CONSOLE_F_MULTIPORT))
		pr_warn("%s: the driver did not accept VIRTIO_CONSOLE_F_MULTIPORT; without it "
			"there is no port \"%s\"",
			dev->name, to_console(dev)->name);
}

/* 5.3.4: only max_nr_ports is valid (no SIZE, no EMERG_WRITE); writes are ignored. */
static void console_config_read(struct virtio_device *dev, uint32_t offset, void *data,
				uint32_t len)
{
	struct virtio_console_config cfg = { .max_nr_ports = htole32(CONSOLE_NR_PORTS) };

	(void)dev;
	memcpy(data, (const uint8_t *)&cfg + offset, len);
}

static void console_reset(struct virtio_device *dev)
{
	struct console *c = to_console(dev);

	c->ctrl_head = c->ctrl_count = 0;
	console_port_set_open(dev, false);
}

static void console_destroy(struct virtio_device *dev)
{
	struct console *c = to_console(dev);

	free(c->outbox);
	free(c->chain);
	free(c);
}

static const struct virtio_counter_field console_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct console_counters, bytes_in),
	VIRTIO_COUNTER_FIELD(struct console_counters, bytes_out),
	VIRTIO_COUNTER_FIELD(struct console_counters, dropped),
	VIRTIO_COUNTER_FIELD(struct console_counters, control_in),
	VIRTIO_COUNTER_FIELD(struct console_counters, control_out),
	VIRTIO_COUNTER_FIELD(struct console_counters, control_errors),
	VIRTIO_COUNTER_FIELD(struct console_counters, control_dropped),
	VIRTIO_COUNTER_FIELD(struct console_counters, bad_chains),
	VIRTIO_COUNTER_FIELD(struct console_counters, opens),
};

static unsigned int console_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	return virtio_fill_counters(out, &to_console(dev)->n, console_counter_fields,
				    sizeof(console_counter_fields) /
					    sizeof(console_counter_fields[0]));
}

static const struct virtio_device_ops console_ops = {
	.type = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = CONSOLE_QUEUES,
	.features = BIT_ULL(VIRTIO_CONSOLE_F_MULTIPORT),
	.config_size = sizeof(struct virtio_console_config),
	.config_read = console_config_read,
	.queue_notify = console_notify,
	.start = console_start,
	.reset = console_reset,
	.destroy = console_destroy,
	.counters = console_counters,
};

static struct console *console_alloc(void)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->outbox = malloc(CONSOLE_TX_MAX);
	c->chain = calloc(1, sizeof(*c->chain));
	if (c->outbox && c->chain)
		return c;
	free(c->outbox);
	free(c->chain);
	free(c);
	return NULL;
}

int virtio_console_create(struct virtio_device *dev, const struct virtio_env *env,
			  const struct console_options *opts)
{
	size_t len = opts->port_name ? strnlen(opts->port_name, CONSOLE_NAME_MAX + 1) : 0;
	struct console *c;

	if (!len || len > CONSOLE_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	c = console_alloc();
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(c->name, opts->port_name, len);
	c->name_len = len;
	c->ops = opts->ops;
	virtio_init(dev, &console_ops, "virtio-console0", env->ram, env->loop,
		    env->access_platform);
	dev->priv = c;
	return 0;
}
