/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPUs: one thread each, running KVM_RUN and handling its exits.
 *
 * Owns: vCPU creation with in-kernel PSCI (secondaries start powered off
 * until the guest's PSCI CPU_ON), the boot register state of the first
 * vCPU, the exit handling (MMIO to the bus, system events to a VM stop),
 * and kicking a vCPU out of the guest when the VM must stop.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool running;
};

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int id);
/* booting.rst: PC at the Image, x0 the DTB address, x1-x3 zero. */
int vcpu_set_boot_regs(struct vcpu *v, uint64_t entry, uint64_t dtb);
int vcpu_start(struct vcpu *v);
/* Make the vCPU leave KVM_RUN (it then looks at the VM's state). */
void vcpu_kick(struct vcpu *v);
/* Make the vCPU leave KVM_RUN and see that the VM is stopping; then join it. */
void vcpu_stop(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
