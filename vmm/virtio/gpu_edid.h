/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The EDID a virtio-gpu scanout answers VIRTIO_GPU_CMD_GET_EDID with
 * (virtio 1.2, 5.7.6.8), as Linux's drm_edid.c reads it.
 *
 * Owns: describing one virtual monitor whose only mode is the scanout's
 * size at 60 Hz, so that the guest picks that size as its preferred mode.
 * The layout is VESA E-EDID 1.4's base block; nothing here knows about
 * the device or its commands.
 */
#ifndef VMM_VIRTIO_GPU_EDID_H
#define VMM_VIRTIO_GPU_EDID_H

#include <stddef.h>
#include <stdint.h>

#define GPU_EDID_SIZE 128

/* The largest width or height a detailed timing holds (12 bits). */
#define GPU_EDID_MAX_SIDE 4095

/*
 * A base EDID 1.4 block (checksum correct, no extension blocks) whose
 * preferred detailed timing is @width x @height at 60 Hz, with CVT
 * reduced-blanking porches and sync computed for that size; a monitor
 * name descriptor with @name (its first 13 characters, anything but
 * printable ASCII as '?'; NULL for none); a monitor range limits
 * descriptor. Returns GPU_EDID_SIZE, or 0 with @out undefined when the
 * size cannot be described: @width or @height 0 or above
 * GPU_EDID_MAX_SIDE, or a pixel clock above the 655.35 MHz a detailed
 * timing holds (4095 x 4095 needs 1076 MHz; 3840 x 2160 needs 533).
 * Linux ignores detailed timings below 64 x 64: such a size is described
 * but the guest falls back to its own modes.
 */
size_t gpu_edid_build(uint8_t out[GPU_EDID_SIZE], uint32_t width, uint32_t height,
		      const char *name);

#endif
