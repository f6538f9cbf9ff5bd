// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-blk (vmm/virtio/blk.c) behind its virtio-mmio
 * registers, driven by the operations of virtio_driver.h, its I/O on the
 * event loop's io_uring.
 *
 * The disk is a 64 KiB memfd, emptied before each input, opened by the
 * device through /proc/self/fd: no file is written anywhere. A memfd
 * cannot FALLOC_FL_ZERO_RANGE, so write-zeroes takes the device's
 * fallback of writing the zeroes. Every fourth input (by its first byte)
 * the disk is read-only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/virtio_driver.h"

#define DISK_SIZE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int disk_fd = -1;
static char disk_path[64];

static void empty_disk(void)
{
	if (disk_fd < 0) {
		disk_fd = memfd_create("fuzz-virtio-blk", MFD_CLOEXEC);
		snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
	}
	if (disk_fd < 0 || ftruncate(disk_fd, 0) || ftruncate(disk_fd, DISK_SIZE))
		abort();
}

/* A memfd read or write completes in microseconds: a second is a hang. */
static const struct vdrv_target blk = { .io_ms = 1000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_device dev;
	struct virtio_env env = vdrv_env();
	struct blk_options opts = { .path = disk_path, .readonly = size && data[0] % 4 == 3 };

	empty_disk();
	if (virtio_blk_create(&dev, &env, &opts))
		abort();
	vdrv_run(&dev, &blk, data, size);
	return 0;
}
