/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel GICv3 (KVM_DEV_TYPE_ARM_VGIC_V3).
 *
 * Owns: creating it at the addresses of vmm/machine/memory_map.h, one
 * redistributor per vCPU, and initialising it once every vCPU exists.
 */
#ifndef VMM_MACHINE_GIC_H
#define VMM_MACHINE_GIC_H

struct kvm;

/*
 * Call after all vCPUs are created and before the first KVM_RUN. Returns
 * the vGIC device fd (the caller closes it), or -1.
 */
int gic_create(struct kvm *kvm);

#endif
