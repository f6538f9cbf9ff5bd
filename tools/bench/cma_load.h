/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns: `cmavm-bench cma-load`, the guest-side load the live-move test and
 * the benchmarks run while the host moves the guest's CMA pool: pages of
 * the pool held and written, checked, and a vCPU that never touches the
 * pool timed (cma_load.c).
 */
#ifndef CMAVM_TOOLS_BENCH_CMA_LOAD_H
#define CMAVM_TOOLS_BENCH_CMA_LOAD_H

/* argv[0] is "cma-load"; returns the exit status. */
int cma_load_main(int argc, char **argv);

#endif
