/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the fuzz targets in tests/fuzz/: reading a fuzzer's input as
 * a stream of little-endian numbers and byte strings.
 *
 * Past the end every read gives zeroes (and nothing for a byte string), so
 * a target reads what it needs without checking each step, and stops when
 * fin_done() says the input is used up.
 */
#ifndef TESTS_FUZZ_FUZZ_INPUT_H
#define TESTS_FUZZ_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline struct fuzz_input fin_make(const uint8_t *data, size_t size)
{
	return (struct fuzz_input){ data, size };
}

static inline bool fin_done(const struct fuzz_input *in)
{
	return in->left == 0;
}

/* Up to @len bytes into @dst; the rest of @dst is zeroed. Returns the bytes taken. */
static inline size_t fin_bytes(struct fuzz_input *in, void *dst, size_t len)
{
	size_t n = len < in->left ? len : in->left;

	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->left -= n;
	return n;
}

static inline uint64_t fin_le(struct fuzz_input *in, unsigned int bytes)
{
	uint8_t b[8];
	uint64_t v = 0;

	fin_bytes(in, b, bytes);
	while (bytes--)
		v = v << 8 | b[bytes];
	return v;
}

static inline uint8_t fin_u8(struct fuzz_input *in)
{
	return (uint8_t)fin_le(in, 1);
}

static inline uint16_t fin_u16(struct fuzz_input *in)
{
	return (uint16_t)fin_le(in, 2);
}

static inline uint32_t fin_u32(struct fuzz_input *in)
{
	return (uint32_t)fin_le(in, 4);
}

static inline uint64_t fin_u64(struct fuzz_input *in)
{
	return fin_le(in, 8);
}

#endif
