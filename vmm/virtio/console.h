/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the virtio-console files (console.c, console_port.c): the
 * device's state and how its files hand it to each other.
 *
 * console.c is the device as the virtio core sees it (config, queues,
 * reset, counters) and the control protocol (virtio 1.2, 5.3.6.2);
 * console_port.c carries the named port's bytes both ways.
 *
 * Everything here runs with the device lock held.
 */
#ifndef VMM_VIRTIO_CONSOLE_H
#define VMM_VIRTIO_CONSOLE_H

#include <linux/virtio_console.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/virtio/devices.h"

/*
 * The queues as the Linux driver numbers them with max_nr_ports = 2
 * (init_vqs(): port 0's pair, the control pair, then port 1's).
 */
#define CQ_PORT0_RX    0
#define CQ_PORT0_TX    1
#define CQ_CONTROL_RX  2
#define CQ_CONTROL_TX  3
#define CQ_PORT_RX     4
#define CQ_PORT_TX     5
#define CONSOLE_QUEUES 6

#define CONSOLE_PORT	 1  /* the named port's id */
#define CONSOLE_NR_PORTS 2  /* max_nr_ports: port 0 is a queue pair, never added */
#define CONSOLE_CTRL_MAX 16 /* control messages waiting for control receive buffers */
/*
 * Bytes taken from one transmit chain: Linux writes at most 32 KiB a
 * buffer, and a splice at most a pipe's worth (1 MiB at pipe-max-size).
 */
#define CONSOLE_CHAIN_MAX (1u << 20)
#define CONSOLE_BOUNCE	  4096 /* guest bytes are copied out before the host sees them */

struct console_counters {
	uint64_t bytes_in;  /* guest to host, handed to ops.received */
	uint64_t bytes_out; /* host to guest, written into receive buffers */
	/* Bytes lost: written to a closed port or to port 0, or waiting at a close or reset. */
	uint64_t dropped;
	uint64_t control_in;  /* control messages taken from the driver */
	uint64_t control_out; /* control messages given to the driver */
	/* Messages of the wrong size, event, value or port; receive buffers too small. */
	uint64_t control_errors;
	uint64_t control_dropped; /* messages for the driver that found the queue full */
	uint64_t bad_chains;	  /* buffers on the wrong side: the queue broke */
	uint64_t opens;		  /* the guest program opened the port */
};

/* A control message for the driver; PORT_NAME's name is added as it goes out. */
struct console_ctrl {
	uint32_t id;
	uint16_t event, value;
};

struct console {
	struct console_port_ops ops;
	char name[CONSOLE_NAME_MAX + 1];
	size_t name_len;
	bool guest_open;

	struct console_ctrl ctrl[CONSOLE_CTRL_MAX]; /* a ring */
	unsigned int ctrl_head, ctrl_count;

	uint8_t *outbox; /* CONSOLE_TX_MAX bytes, a ring */
	size_t out_head, out_len;

	/*
	 * Scratch for the receive queues: a chain taken while the core's own
	 * (dev->chain) is in use, when a reply goes out from the callbacks.
	 */
	struct vq_chain *chain;
	uint8_t bounce[CONSOLE_BOUNCE];
	struct console_counters n;
};

static inline struct console *to_console(struct virtio_device *dev)
{
	return dev->priv;
}

/*
 * Give receive buffers of queue @q to @fill while @more says there is
 * something to give; each chain is used with what @fill wrote. A chain
 * with a device-readable buffer breaks the queue (5.3.6.1).
 */
void console_fill_receiveq(struct virtio_device *dev, unsigned int q,
			   bool (*more)(const struct console *c),
			   uint32_t (*fill)(struct console *c, const struct vq_chain *chain));
/* Is every buffer of @chain on the side a transmitq has? Else the queue breaks. */
bool console_transmit_chain_ok(struct virtio_device *dev, struct virtqueue *vq,
			       const struct vq_chain *chain);

/* console_port.c */
int64_t console_port_transmit(struct virtio_device *dev, struct virtqueue *vq,
			      struct vq_chain *chain);
int64_t console_port0_transmit(struct virtio_device *dev, struct virtqueue *vq,
			       struct vq_chain *chain);
void console_port_deliver(struct virtio_device *dev);
/* The guest program opened or closed the port: a close drops what waits for it. */
void console_port_set_open(struct virtio_device *dev, bool open);

#endif
