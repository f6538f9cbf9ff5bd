/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest kernel's cma= parameter, read exactly as Linux 6.1 reads it.
 *
 * Owns: splitting a kernel command line the way the kernel does
 * (lib/cmdline.c next_arg, kernel/params.c parse_args), finding the cma=
 * values the kernel acts on as early params (init/main.c do_early_param),
 * and evaluating them with the kernel's own number rules
 * (lib/cmdline.c memparse, lib/vsprintf.c simple_strtoull) into the state
 * kernel/dma/contiguous.c early_cma() leaves behind. What the guest then
 * does with that state is the DTB checker's business (fdt/dtb_check.h).
 */
#ifndef FDT_CMA_PARAM_H
#define FDT_CMA_PARAM_H

#include <stdbool.h>
#include <stdint.h>

/* COMMAND_LINE_SIZE on arm64 (arch/arm64/include/uapi/asm/setup.h) */
#define CMA_PARAM_CMDLINE_SIZE 2048
/* Room to quote a value or its ignored tail in a message; longer is cut. */
#define CMA_PARAM_TEXT_MAX 64

/*
 * The state early_cma() leaves in size_cmdline, base_cmdline and
 * limit_cmdline (kernel/dma/contiguous.c). Those are static variables that
 * every cma= updates, so a later "cma=SIZE" without '@' keeps the base and
 * limit of an earlier "cma=SIZE@BASE": @range_carried says so.
 */
struct cma_param {
	bool present;	/* size_cmdline != -1: some cma=VALUE was acted on */
	uint64_t size;	/* bytes, before the kernel's 2 MiB rounding */
	uint64_t base;	/* 0 when never given */
	uint64_t limit; /* 0 when never given: no limit */
	/*
	 * dma_contiguous_reserve(): base + size == limit, i.e. "size@base"
	 * or "size@base-(base+size)". cma_declare_contiguous_nid() drops it
	 * again when the (aligned) base is 0.
	 */
	bool fixed;
	bool range_carried;		  /* base/limit come from an earlier cma= */
	bool no_value;			  /* a bare "cma": "Config string not provided" */
	unsigned int nr_values;		  /* cma=VALUE seen before any "--" */
	unsigned int nr_bare;		  /* bare "cma" seen before any "--" */
	bool after_dashes;		  /* a cma after "--" went to init, not to the kernel */
	bool truncated;			  /* command line cut to COMMAND_LINE_SIZE - 1 bytes */
	char value[CMA_PARAM_TEXT_MAX];	  /* the last value, as written */
	char ignored[CMA_PARAM_TEXT_MAX]; /* what early_cma() silently skipped of it */
};

/*
 * One value, as early_cma() reads it on top of the kernel's initial state:
 * memparse size, then '@' memparse base, then '-' memparse limit (else
 * limit = base + size). @value NULL is the bare "cma" the kernel rejects
 * with "Config string not provided": returns -1 with @out->no_value set.
 * Junk is not an error, as in the kernel: it ends up in @out->ignored.
 */
int cma_param_parse(const char *value, struct cma_param *out);

/*
 * The cma= state the kernel ends up with after its early-param pass over
 * @cmdline (NULL: an empty command line). Every cma=VALUE before a bare
 * "--" updates the state in turn, so the last one wins (for size, and for
 * base and limit when it has '@'). Returns 0.
 */
int cma_param_from_cmdline(const char *cmdline, struct cma_param *out);

/*
 * memparse() of lib/cmdline.c: a simple_strtoull() base-0 number (0x hex
 * when a hex digit follows, leading 0 octal, wrapping on overflow) with one
 * optional K/M/G/T/P/E suffix. @end is set to the first byte not used.
 */
uint64_t cma_memparse(const char *text, const char **end);

#endif
