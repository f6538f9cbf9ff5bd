// SPDX-License-Identifier: GPL-2.0-only
#include "tools/gpu/dmabuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "vmm/util/png.h"

/* ---- the layout ---- */

/* DRM fourccs are little-endian words: XR24 is [31:0] X:R:G:B, bytes B G R X. */
static const struct {
	const char *fourcc;
	const char *bytes; /* what each byte of a pixel is, in memory order */
} fourccs[] = {
	{ "XR24", "BGRX" }, { "AR24", "BGRA" }, { "XB24", "RGBX" }, { "AB24", "RGBA" },
	{ "RX24", "XBGR" }, { "RA24", "ABGR" }, { "BX24", "XRGB" }, { "BA24", "ARGB" },
};

#define NR_FOURCCS (sizeof(fourccs) / sizeof(fourccs[0]))

/* @bytes ("BGRX") as @b's byte of each; false when it is not one R, G, B and A or X. */
static bool set_bytes(struct dmabuf *b, const char bytes[4])
{
	static const char kinds[] = "RGBAX";
	unsigned int seen = 0, i;

	b->unused = -1;
	for (i = 0; i < 4; i++) {
		const char *p = bytes[i] ? strchr(kinds, bytes[i]) : NULL;
		unsigned int bit = p ? 1u << (p - kinds) : 0;

		if (!bit || (seen & bit))
			return false;
		seen |= bit;
		if (bytes[i] == 'R')
			b->r = i;
		else if (bytes[i] == 'G')
			b->g = i;
		else if (bytes[i] == 'B')
			b->b = i;
		else if (bytes[i] == 'X')
			b->unused = (int)i;
	}
	return (seen & 7) == 7; /* four kinds, red, green and blue among them */
}

/* "B8G8R8X8": virtio names its formats in memory order, 8 bits each. */
static bool format_bytes(const char *format, char bytes[4])
{
	unsigned int i;

	if (strlen(format) != 8)
		return false;
	for (i = 0; i < 4; i++) {
		if (format[2 * i + 1] != '8')
			return false;
		bytes[i] = format[2 * i];
	}
	return true;
}

int dmabuf_layout(struct dmabuf *b, const char *fourcc, const char *format, char *err,
		  size_t errlen)
{
	char bytes[4];
	size_t i;

	if (fourcc) {
		for (i = 0; i < NR_FOURCCS; i++)
			if (!strcmp(fourccs[i].fourcc, fourcc) && set_bytes(b, fourccs[i].bytes))
				return 0;
		snprintf(err, errlen,
			 "unknown fourcc '%s'; give one of XR24, AR24, XB24, AB24, RX24, RA24, "
			 "BX24, BA24",
			 fourcc);
		return -1;
	}
	if (format && format_bytes(format, bytes) && set_bytes(b, bytes))
		return 0;
	if (format)
		snprintf(err, errlen,
			 "unknown pixel format '%s'; give a virtio format such as B8G8R8X8, or "
			 "a fourcc (--fourcc XR24)",
			 format);
	else
		snprintf(err, errlen,
			 "the pixel format is missing; give --fourcc (XR24, ...) or --format "
			 "(B8G8R8X8, ...), or set CMAVM_DMABUF_FOURCC");
	return -1;
}

/* ---- checking, mapping ---- */

/* Whether @fd is a dma-buf: the kernel names its inode so ("/dmabuf:", "anon_inode:dmabuf"). */
static bool fd_is_dmabuf(int fd)
{
	char link[64], target[256];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strstr(target, "dmabuf") != NULL;
}

static int fd_size(struct dmabuf *b, char *err, size_t errlen)
{
	off_t end = lseek(b->fd, 0, SEEK_END);

	if (end <= 0) {
		snprintf(err, errlen,
			 "cannot tell the size of the buffer at fd %d (%s); give it with --size",
			 b->fd, end ? strerror(errno) : "it is empty");
		return -1;
	}
	b->size = (uint64_t)end;
	return 0;
}

int dmabuf_check(struct dmabuf *b, char *err, size_t errlen)
{
	uint64_t end;

	if (b->fd < 0 || fcntl(b->fd, F_GETFD) < 0) {
		snprintf(err, errlen,
			 "fd %d is not open; run me as 'cmavm ctl gpu export -- cmavm-dmabuf ...', "
			 "which hands the dma-buf over as fd 3",
			 b->fd);
		return -1;
	}
	b->is_dmabuf = fd_is_dmabuf(b->fd);
	if (!b->width || !b->height) {
		snprintf(err, errlen,
			 "the buffer's width or height is 0; give --width and --height");
		return -1;
	}
	if (b->stride < (uint64_t)b->width * DMABUF_BPP) {
		snprintf(err, errlen,
			 "a stride of %u bytes is less than a row of %u pixels (%llu bytes); give "
			 "the buffer's own with --stride",
			 b->stride, b->width, (unsigned long long)b->width * DMABUF_BPP);
		return -1;
	}
	if (!b->size && fd_size(b, err, errlen))
		return -1;
	end = b->offset + (uint64_t)b->stride * (b->height - 1) + (uint64_t)b->width * DMABUF_BPP;
	if (end > b->size || b->size > SIZE_MAX) {
		snprintf(err, errlen,
			 "%ux%u pixels at offset %llu with a stride of %u end at byte %llu, past "
			 "the buffer's %llu; check --width, --height, --stride and --offset",
			 b->width, b->height, (unsigned long long)b->offset, b->stride,
			 (unsigned long long)end, (unsigned long long)b->size);
		return -1;
	}
	return 0;
}

/*
 * Start or end the CPU's reads. A memfd or a file (tests, a copy) has no
 * such ioctl and answers ENOTTY: nothing to sync there. A dma-buf always
 * has it (Linux 4.6 on), so any error of one is a real one.
 */
static int sync_reads(const struct dmabuf *b, uint64_t when, char *err, size_t errlen)
{
	struct dma_buf_sync sync = { .flags = when | DMA_BUF_SYNC_READ };
	int ret;

	do
		ret = ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &sync);
	while (ret && (errno == EINTR || errno == EAGAIN));
	if (!ret || (errno == ENOTTY && !b->is_dmabuf))
		return 0;
	snprintf(err, errlen, "DMA_BUF_IOCTL_SYNC (%s) on fd %d failed: %s",
		 when == DMA_BUF_SYNC_START ? "start" : "end", b->fd, strerror(errno));
	return -1;
}

int dmabuf_map(struct dmabuf *b, char *err, size_t errlen)
{
	void *map = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd, 0);

	if (map == MAP_FAILED) {
		snprintf(err, errlen,
			 "cannot map the buffer at fd %d: %s; is it a dma-buf from 'cmavm ctl gpu "
			 "export'?",
			 b->fd, strerror(errno));
		return -1;
	}
	b->map = map;
	if (!sync_reads(b, DMA_BUF_SYNC_START, err, errlen))
		return 0;
	munmap(map, b->size);
	b->map = NULL;
	return -1;
}

int dmabuf_unmap(struct dmabuf *b, char *err, size_t errlen)
{
	int ret = sync_reads(b, DMA_BUF_SYNC_END, err, errlen);

	munmap((void *)b->map, b->size);
	b->map = NULL;
	return ret;
}

/* ---- the visible pixels ---- */

const uint8_t *dmabuf_row(const struct dmabuf *b, uint32_t y)
{
	return b->map + b->offset + (uint64_t)y * b->stride;
}

uint32_t dmabuf_crc32(const struct dmabuf *b)
{
	uLong crc = crc32(0, Z_NULL, 0);
	uint32_t y;

	for (y = 0; y < b->height; y++)
		crc = crc32(crc, dmabuf_row(b, y), b->width * DMABUF_BPP);
	return (uint32_t)crc;
}

static uint32_t pixel_word(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool same_pixel(const struct dmabuf *b, const uint8_t *got, const uint8_t *want)
{
	unsigned int i;

	for (i = 0; i < DMABUF_BPP; i++)
		if ((int)i != b->unused && got[i] != want[i])
			return false;
	return true;
}

void dmabuf_compare(const struct dmabuf *b, const uint8_t *want, struct dmabuf_diff *d)
{
	uint32_t x, y;

	memset(d, 0, sizeof(*d));
	for (y = 0; y < b->height; y++) {
		const uint8_t *got = dmabuf_row(b, y);

		for (x = 0; x < b->width; x++, got += DMABUF_BPP, want += DMABUF_BPP) {
			if (same_pixel(b, got, want))
				continue;
			if (d->nr_shown < DMABUF_DIFF_SHOW) {
				d->shown[d->nr_shown].x = x;
				d->shown[d->nr_shown].y = y;
				d->shown[d->nr_shown].got = pixel_word(got);
				d->shown[d->nr_shown++].want = pixel_word(want);
			}
			d->pixels++;
		}
	}
}

int dmabuf_png(const struct dmabuf *b, uint8_t **png, size_t *len, char *err, size_t errlen)
{
	const struct png_pixels px = {
		.data = dmabuf_row(b, 0),
		.width = b->width,
		.height = b->height,
		.stride = b->stride,
		.r = b->r,
		.g = b->g,
		.b = b->b,
	};

	if (b->width > PNG_ENCODE_MAX_SIDE || b->height > PNG_ENCODE_MAX_SIDE) {
		snprintf(err, errlen, "%ux%u is larger than a PNG this tool writes (%d a side)",
			 b->width, b->height, PNG_ENCODE_MAX_SIDE);
		return -1;
	}
	if (!png_encode(&px, png, len))
		return 0;
	snprintf(err, errlen, "encoding %ux%u pixels as PNG failed: out of memory?", b->width,
		 b->height);
	return -1;
}
