// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-console (vmm/virtio/console.c, console_port.c)
 * behind its virtio-mmio registers, driven by the operations of
 * virtio_driver.h: the control protocol, the port's bytes both ways, and
 * what a hostile driver does to them (queues 0 to 5 are the device's;
 * 6 and 7 do not exist).
 *
 * The host side does what the guest agent's client does: it answers from
 * inside the callbacks (a greeting when the port opens, an echo of part
 * of what the guest wrote), and VDRV_HOST sends bytes of its own.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/virtio_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtio_device dev;
static uint8_t host_bytes[CONSOLE_TX_MAX + 1];
static uint64_t sum; /* every received byte is read */

static void received(void *opaque, const uint8_t *data, size_t len)
{
	(void)opaque;
	for (size_t i = 0; i < len; i++)
		sum += data[i];
	if (len && data[0] & 1)
		console_port_send(&dev, data, len / 2);
}

static void opened(void *opaque, bool open)
{
	(void)opaque;
	if (open)
		console_port_send(&dev, "{\"execute\":\"guest-sync\"}\n", 25);
}

/* arg % 4 chooses: send (arg >> 2) % 4096 bytes, more than the bound, ask, nothing. */
static void host_op(struct virtio_device *d, uint32_t arg)
{
	switch (arg % 4) {
	case 0:
		console_port_send(d, host_bytes, (arg >> 2) % 4096);
		break;
	case 1:
		console_port_send(d, host_bytes, sizeof(host_bytes));
		break;
	case 2:
		sum += console_port_is_open(d);
		break;
	default:
		break;
	}
}

static const struct vdrv_target console = { .host = host_op };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct virtio_env env = vdrv_env();
	struct console_options opts = {
		.port_name = "org.qemu.guest_agent.0",
		.ops = { .received = received, .opened = opened },
	};

	for (size_t i = 0; !ready && i < sizeof(host_bytes); i++)
		host_bytes[i] = (uint8_t)(i * 13 + 1);
	ready = true;
	if (virtio_console_create(&dev, &env, &opts))
		abort();
	vdrv_run(&dev, &console, data, size);
	return 0;
}
