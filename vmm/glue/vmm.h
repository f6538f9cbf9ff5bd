/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One running cmavm: the machine and everything built around it.
 *
 * Owns: the boot sequence, top to bottom in vmm_run() (vmm/glue/vmm.c),
 * and the teardown in the reverse order. Hosts that are not arm64 get a
 * vmm_run() that explains why no guest can run there.
 */
#ifndef VMM_GLUE_VMM_H
#define VMM_GLUE_VMM_H

struct boot_plan;
struct vm_config;

/* Boot the planned guest and run it until it stops; returns the exit code. */
int vmm_run(const struct vm_config *cfg, const struct boot_plan *plan);

#endif
