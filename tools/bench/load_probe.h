/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns: `cmavm-bench boot-load`, the cost of putting a kernel and an initrd
 * into a memfd mapped as cmavm maps guest RAM, the old way (read into
 * buffers of their own, inflated into another, then copied) and cmavm's
 * loader's (straight in), no guest (load_probe.c).
 */
#ifndef CMAVM_TOOLS_BENCH_LOAD_PROBE_H
#define CMAVM_TOOLS_BENCH_LOAD_PROBE_H

/* Time both ways of loading @kernel and @initrd, @rounds times each. */
int load_probe_main(const char *kernel, const char *initrd, unsigned int rounds);

#endif
