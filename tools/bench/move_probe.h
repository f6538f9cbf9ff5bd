/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Owns: `cmavm-bench move-probe`, the host kernel's cost of one live
 * pageblock move without a guest (move_probe.c).
 */
#ifndef CMAVM_TOOLS_BENCH_MOVE_PROBE_H
#define CMAVM_TOOLS_BENCH_MOVE_PROBE_H

enum move_probe_mode {
	MOVE_PROBE_LIVE, /* as the engine moves live */
	MOVE_PROBE_NOWP, /* no write-protect: the pausing path's copy */
	MOVE_PROBE_VIEW, /* write-protected, copied from a mapping of its own */
};

/* Moves @n (1 to 64) blocks; returns the exit status. */
int move_probe_main(unsigned int n, enum move_probe_mode mode);

#endif
