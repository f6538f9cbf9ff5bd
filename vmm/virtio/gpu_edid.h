/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The EDID a virtio-gpu scanout answers VIRTIO_GPU_CMD_GET_EDID with
 * (virtio 1.2, 5.7.6.8), as Linux's drm_edid.c reads it.
 *
 * Owns: describing one virtual monitor whose preferred mode is the
 * scanout's size at 60 Hz, and which also offers the usual smaller sizes
 * and the size the guest shows now. The smaller sizes are what keeps a
 * guest's display on across a change of size: Linux's fbdev emulation
 * cannot grow its framebuffer, so on a display event it takes a mode no
 * larger than the one it has, and with none it turns the scanout off
 * (drm_fb_helper_hotplug_event, drm_client_modeset_probe; 6.12). The
 * layout is VESA E-EDID 1.4's base block; nothing here knows about the
 * device or its commands.
 */
#ifndef VMM_VIRTIO_GPU_EDID_H
#define VMM_VIRTIO_GPU_EDID_H

#include <stddef.h>
#include <stdint.h>

#define GPU_EDID_SIZE 128

/* The largest width or height a detailed timing holds (12 bits). */
#define GPU_EDID_MAX_SIDE 4095

struct gpu_edid_monitor {
	uint32_t width, height;		    /* the preferred mode */
	uint32_t shown_width, shown_height; /* the guest's mode now; 0 x 0: none */
	const char *name;		    /* NULL: none */
};

/*
 * A base EDID 1.4 block (checksum correct, no extension blocks):
 * - the preferred detailed timing, @m's width x height at 60 Hz with CVT
 *   reduced-blanking porches and sync computed for that size;
 * - a second detailed timing of the shown size, computed as the preferred
 *   one is, when there is one and it fits in the preferred mode without
 *   being its size; a dummy descriptor otherwise;
 * - as established and standard timings (VESA DMT's 60 Hz timings), each
 *   of 640x480, 800x600, 1024x768, 1280x720, 1280x800, 1280x1024,
 *   1440x900, 1600x1200, 1680x1050, 1920x1080 and 1920x1200 that fits in
 *   the preferred mode and is neither its size nor the shown size;
 * - a monitor name descriptor with @m's name (its first 13 characters,
 *   anything but printable ASCII as '?');
 * - a monitor range limits descriptor that holds every mode above.
 * Returns GPU_EDID_SIZE, or 0 with @out undefined when the preferred mode
 * cannot be described: a side 0 or above GPU_EDID_MAX_SIDE, or a pixel
 * clock above the 655.35 MHz a detailed timing holds (4095 x 4095 needs
 * 1076 MHz; 3840 x 2160 needs 533). Linux ignores detailed timings below
 * 64 x 64: such a size is described but the guest falls back to its own
 * modes.
 */
size_t gpu_edid_build(uint8_t out[GPU_EDID_SIZE], const struct gpu_edid_monitor *m);

#endif
