/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPUs: one thread each, running KVM_RUN and handling its exits.
 *
 * Owns: vCPU creation with in-kernel PSCI (secondaries start powered off
 * until the guest's PSCI CPU_ON), the boot register state of the first
 * vCPU, the exit handling (MMIO to the bus, system events to a stop), and
 * kicking a vCPU out of the guest. A vCPU knows its machine only through
 * struct vcpu_ops: whether to park, whether to stop, how to ask for a stop.
 */
#ifndef VMM_MACHINE_VCPU_H
#define VMM_MACHINE_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm;
struct kvm_run;
struct mmio_bus;

/* What a vCPU asks of its machine; each callback may block only briefly. */
struct vcpu_ops {
	void *opaque;
	/* Before each KVM_RUN: returns once the machine is not paused. */
	void (*checkpoint)(void *opaque);
	bool (*stopping)(void *opaque);
	/* The guest powered off, reset, or KVM failed: stop with @exit_code. */
	void (*stop)(void *opaque, int exit_code);
};

struct vcpu {
	const struct vcpu_ops *ops;
	struct mmio_bus *bus;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool running;
};

int vcpu_create(struct vcpu *v, const struct kvm *kvm, struct mmio_bus *bus,
		const struct vcpu_ops *ops, unsigned int id);
/* booting.rst: PC at the Image, x0 the DTB address, x1-x3 zero. */
int vcpu_set_boot_regs(struct vcpu *v, uint64_t entry, uint64_t dtb);
int vcpu_start(struct vcpu *v);
/* Make the vCPU leave KVM_RUN (it then asks its ops what to do). */
void vcpu_kick(struct vcpu *v);
/* Make the vCPU leave KVM_RUN and see that it must stop; then join it. */
void vcpu_stop(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
