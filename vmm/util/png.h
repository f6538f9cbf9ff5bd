/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A picture of the GPU's pixels as a PNG file, in memory.
 *
 * Owns: turning 32-bit pixels, in any of the byte orders a scanout may
 * have, into an 8-bit RGB PNG. It opens no file and uses no stdio: it
 * runs on the VMM's event loop inside the seccomp sandbox, where only
 * memory is allowed; the caller writes the bytes wherever they go.
 */
#ifndef VMM_UTIL_PNG_H
#define VMM_UTIL_PNG_H

#include <stddef.h>
#include <stdint.h>

/* The largest width or height png_encode() takes. */
#define PNG_ENCODE_MAX_SIDE 16384

/*
 * A picture of 32-bit pixels as the GPU holds it: @stride bytes between
 * rows, each pixel 4 bytes with red, green and blue at byte offsets @r,
 * @g, @b (the fourth byte is alpha or unused, ignored).
 */
struct png_pixels {
	const uint8_t *data;
	uint32_t width, height, stride;
	uint8_t r, g, b;
};

/*
 * Encode as an 8-bit RGB PNG in memory, compressed for speed rather than
 * size: a screenshot is taken on the event loop thread and must be quick.
 * 0 with *@out (malloc()ed, the caller frees it) and *@len set, or -1
 * (out of memory, width/height 0 or above PNG_ENCODE_MAX_SIDE, stride
 * below 4 * width, an offset above 3, no data, or a libpng error).
 */
int png_encode(const struct png_pixels *px, uint8_t **out, size_t *len);

#endif
