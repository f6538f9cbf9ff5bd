/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the virtio device fuzz targets (fuzz_virtio_*.c): a driver
 * whose every move comes from the fuzzer's input, against one device
 * behind its virtio-mmio registers (vmm/virtio/mmio.h), on fake guest RAM
 * and the event loop run on the fuzzing thread (inline_loop.h).
 *
 * The input is a sequence of operations, each an opcode byte (taken
 * modulo VDRV_NR_OPS) and its operands, little-endian:
 *
 *   VDRV_WRITE     u16 reg, u32 value     a 32-bit register write (reg < 0x200)
 *   VDRV_READ      u16 reg, u8 len        a read of 1, 2, 4 or 8 bytes (len & 3)
 *   VDRV_WRITE_N   u16 reg, u8 len, u64   a write of 1, 2, 4 or 8 bytes
 *   VDRV_MEM       u16 off, u8 n, n bytes guest RAM content at RAM_GPA + off
 *   VDRV_HANDSHAKE u64 features           reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK
 *   VDRV_QUEUE     u8 q, u16 size, u16 desc, u16 avail, u16 used
 *                                         QueueSel, QueueNum, the three areas at
 *                                         RAM_GPA + offset, QueueReady = 1
 *   VDRV_DRIVER_OK                        Status |= DRIVER_OK
 *   VDRV_DESC      u8 q, u16 i, u16 addr, u32 len, u16 flags, u16 next
 *                                         descriptor i of queue q's table (as set
 *                                         by VDRV_QUEUE), buffer at RAM_GPA + addr
 *   VDRV_AVAIL     u8 q, u16 head         head on q's available ring, idx bumped
 *   VDRV_NOTIFY    u8 q                   QueueNotify = q
 *   VDRV_RUN                              run the I/O completions: each that
 *                                         comes within the target's io_ms
 *   VDRV_ACK                              read InterruptStatus, write InterruptACK
 *   VDRV_FENCE     u16 off, u16 len       the CMA engine's side, device lock held:
 *   VDRV_UNFENCE                          fence RAM_GPA + off for len bytes, unfence,
 *   VDRV_PEEK                             read the counters and the I/O into RAM
 *   VDRV_HOST      u32 arg                the device's own knobs (the control API's
 *                                         side), if the target gives a host_op
 *
 * After each operation the harness does what the event loop would:
 * reads the queue notification eventfds and hands each notified queue to
 * the device, and consumes interrupt edges. At the end the device is
 * reset, whatever is in flight is cancelled or completed, and the device
 * destroyed: nothing outlives the input.
 */
#ifndef TESTS_FUZZ_VIRTIO_DRIVER_H
#define TESTS_FUZZ_VIRTIO_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"

#define VDRV_RAM_GPA  0x40000000ULL
#define VDRV_RAM_SIZE 0x10000ULL /* offsets in operations are 16 bits */

enum vdrv_op {
	VDRV_WRITE,
	VDRV_READ,
	VDRV_WRITE_N,
	VDRV_MEM,
	VDRV_HANDSHAKE,
	VDRV_QUEUE,
	VDRV_DRIVER_OK,
	VDRV_DESC,
	VDRV_AVAIL,
	VDRV_NOTIFY,
	VDRV_RUN,
	VDRV_ACK,
	VDRV_FENCE,
	VDRV_UNFENCE,
	VDRV_PEEK,
	VDRV_HOST,
	VDRV_NR_OPS,
};

/* What the device constructors are given: the fake RAM and the loop. */
struct virtio_env vdrv_env(void);

/* What differs between the devices' targets. */
struct vdrv_target {
	/* A device's own knobs, turned by VDRV_HOST with the device lock held; may be NULL. */
	void (*host)(struct virtio_device *dev, uint32_t arg);
	/*
	 * How long VDRV_RUN waits for each completion while operations are in
	 * flight: long enough for the device's I/O, so that when it completes
	 * depends on the input alone (0: the device does no I/O, only timers).
	 */
	unsigned int io_ms;
};

/*
 * Wire @dev, just made on vdrv_env() by its constructor, to a virtio-mmio
 * transport, drive it with the operations in @data, then reset and destroy it.
 */
void vdrv_run(struct virtio_device *dev, const struct vdrv_target *target, const uint8_t *data,
	      size_t size);

#endif
