/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a scanout that cmavm handed out as a dma-buf (PUT
 * /v1/gpu/export, `cmavm ctl gpu export -- PROGRAM`), for cmavm-dmabuf.
 *
 * Owns: how a buffer is described (its descriptor, size, stride, the
 * offset of its first pixel and which byte of a pixel is red, green and
 * blue, from a DRM fourcc or a virtio format's name), checking that the
 * description fits the buffer, mapping it read-only with the reads
 * bracketed by DMA_BUF_IOCTL_SYNC, and what is done with the visible
 * pixels: a CRC32, a comparison with raw pixels, a PNG file in memory.
 * Every error is a sentence naming the problem and the fix.
 */
#ifndef TOOLS_GPU_DMABUF_H
#define TOOLS_GPU_DMABUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMABUF_BPP	 4 /* every format here is 32 bits a pixel */
#define DMABUF_ERR_MAX	 256
#define DMABUF_DIFF_SHOW 8 /* the differences a comparison keeps to show */

struct dmabuf {
	int fd;
	uint32_t width, height, stride;
	uint64_t offset;    /* of the first pixel */
	uint64_t size;	    /* of the buffer; 0 until dmabuf_check() asks the descriptor */
	uint8_t r, g, b;    /* each one's byte within a pixel */
	int unused;	    /* the byte that is no colour nor alpha (X), -1: none */
	const uint8_t *map; /* while mapped: the whole buffer */
	bool is_dmabuf;	    /* the descriptor is a dma-buf (a memfd is not) */
};

/*
 * Which byte is which, from @fourcc ("XR24", ...) or, when that is NULL,
 * the virtio format name @format ("B8G8R8X8", ...). 0, or -1 with @err.
 */
int dmabuf_layout(struct dmabuf *b, const char *fourcc, const char *format, char *err,
		  size_t errlen);

/*
 * That @b->fd is open and the rows fit in the buffer; a @b->size of 0 is
 * read from the descriptor. 0, or -1 with @err.
 */
int dmabuf_check(struct dmabuf *b, char *err, size_t errlen);

/* Map the buffer read-only and start the CPU's reads; 0, or -1 with @err. */
int dmabuf_map(struct dmabuf *b, char *err, size_t errlen);

/* End the CPU's reads and unmap; 0, or -1 with @err (it is unmapped all the same). */
int dmabuf_unmap(struct dmabuf *b, char *err, size_t errlen);

/* The first pixel of visible row @y of the mapped buffer. */
const uint8_t *dmabuf_row(const struct dmabuf *b, uint32_t y);

/* zlib's CRC32 of the visible pixels, each row's width * 4 bytes in turn. */
uint32_t dmabuf_crc32(const struct dmabuf *b);

struct dmabuf_diff {
	uint64_t pixels; /* that differ */
	unsigned int nr_shown;
	struct {
		uint32_t x, y;
		uint32_t got, want; /* the pixel's bytes in memory order, first byte highest */
	} shown[DMABUF_DIFF_SHOW];
};

/*
 * The visible pixels against @want (width * height * 4 bytes, rows
 * packed, in the buffer's format), all four bytes of each but an unused
 * one (X), which the guest need not write.
 */
void dmabuf_compare(const struct dmabuf *b, const uint8_t *want, struct dmabuf_diff *d);

/* The visible pixels as a PNG file in memory (png_encode()); 0, or -1 with @err. */
int dmabuf_png(const struct dmabuf *b, uint8_t **png, size_t *len, char *err, size_t errlen);

#endif
