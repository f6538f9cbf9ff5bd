// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-rng (vmm/virtio/rng.c) behind its virtio-mmio
 * registers, driven by the operations of virtio_driver.h.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/virtio_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vdrv_target rng = { 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_device dev;
	struct virtio_env env = vdrv_env();

	if (virtio_rng_create(&dev, &env))
		abort();
	vdrv_run(&dev, &rng, data, size);
	return 0;
}
