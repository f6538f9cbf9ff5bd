// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-balloon (vmm/virtio/balloon.c) behind its
 * virtio-mmio registers, driven by the operations of virtio_driver.h.
 * Without memory hooks the balloon gives pages back by dropping them
 * from guest RAM itself; a statistics interval of one second arms the
 * timer, which each input's end cancels. VDRV_HOST turns the knobs the
 * control API turns: the target, the statistics interval, the readings.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/virtio_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* arg % 4 chooses the knob; the rest of arg is its value. */
static void host_op(struct virtio_device *dev, uint32_t arg)
{
	struct balloon_stats stats;
	struct balloon_info info;

	switch (arg % 4) {
	case 0:
		balloon_set_target(dev, (uint64_t)(arg >> 2) * 4096);
		break;
	case 1:
		balloon_set_stats_interval(dev, (arg >> 2) % 3);
		break;
	case 2:
		balloon_stats(dev, &stats);
		break;
	default:
		balloon_get_info(dev, &info);
		break;
	}
}

static const struct vdrv_target balloon = { .host = host_op };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_device dev;
	struct virtio_env env = vdrv_env();

	if (virtio_balloon_create(&dev, &env, 1))
		abort();
	vdrv_run(&dev, &balloon, data, size);
	return 0;
}
