/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns: `cmavm-bench engine-commit`, the CMA engine's own window commit
 * and release on a memfd standing for guest RAM, no guest (engine_probe.c).
 */
#ifndef CMAVM_TOOLS_BENCH_ENGINE_PROBE_H
#define CMAVM_TOOLS_BENCH_ENGINE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Commit and release a @mib MiB huge window @rounds times; live or paused,
 * with @threads (1 or 2) populating and copying.
 */
int engine_probe_main(uint64_t mib, unsigned int rounds, bool live, unsigned int threads);

#endif
