/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test only: /reserved-memory pools written as given, past every check
 * cmavm makes, so that tests can boot what cmavm would refuse (a pool
 * misaligned for the guest's pageblock, reusable with no-map, more CMA
 * areas than the guest holds, one across a zone boundary) and compare the
 * guest's verdict with `cmavm dtb check`'s.
 *
 * Owns: reading $CMAVM_TEST_RAW_POOLS and adding its pools to a written
 * DTB. The variable holds pools separated by spaces, each
 * NAME@ADDRESS+SIZE[:reusable][:no-map][:default] (sizes as --cma takes
 * them). Nothing else in cmavm knows these pools: the host CMA engine does
 * not manage them and nothing touches their memory.
 */
#ifndef VMM_MACHINE_TEST_POOLS_H
#define VMM_MACHINE_TEST_POOLS_H

#include <stddef.h>
#include <stdint.h>

#define TEST_POOLS_ENV "CMAVM_TEST_RAW_POOLS"
#define TEST_POOLS_MAX 64

struct raw_pool {
	char name[32];
	uint64_t base, size;
	unsigned int flags; /* DTB_F_REUSABLE, DTB_F_NO_MAP, DTB_F_CMA_DEFAULT */
};

/* @text into @out (at most TEST_POOLS_MAX); how many, or -1 with @err. */
int test_pools_parse(const char *text, struct raw_pool *out, char *err, size_t errlen);

/*
 * Add the pools of $CMAVM_TEST_RAW_POOLS to the DTB at *@dtb (*@size
 * bytes, malloc()ed; replaced by a larger one), at most @max bytes in
 * all. How many were added (0 without the variable), or -1 said why.
 */
int test_pools_add(uint8_t **dtb, size_t *size, size_t max);

#endif
