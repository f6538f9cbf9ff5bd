/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sizes as people write them (512M, 2G) and as cmavm prints them (64 MiB).
 *
 * Owns: the one parser every size flag goes through, and the one printer
 * every message uses, so that "--cma 64M" and "64 MiB" always agree.
 */
#ifndef CMA_SIZE_H
#define CMA_SIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SZ_4K  0x1000ULL
#define SZ_64K 0x10000ULL
#define SZ_1M  0x100000ULL
#define SZ_2M  0x200000ULL
#define SZ_4M  0x400000ULL
#define SZ_1G  0x40000000ULL
#define SZ_4G  0x100000000ULL

/*
 * Parse "<digits>[K|M|G|T]" (binary units, case-insensitive, an optional
 * trailing "iB" or "B"), or a 0x-prefixed hex number of bytes. A bare
 * decimal number is bytes. Returns 0, or -1 with a sentence in @err saying
 * what is wrong and what would be right.
 */
int size_parse(const char *text, uint64_t *out, char *err, size_t errlen);

/* "64 MiB", "1 GiB", "1536 KiB", "4097 bytes": exact, never rounded. */
const char *size_str(uint64_t bytes, char buf[static 32]);

static inline bool is_aligned(uint64_t v, uint64_t align)
{
	return (v & (align - 1)) == 0;
}

static inline uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline uint64_t align_down(uint64_t v, uint64_t align)
{
	return v & ~(align - 1);
}

static inline bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif
