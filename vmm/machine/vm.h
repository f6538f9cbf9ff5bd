/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arm64 machine on KVM: one guest's vCPUs, RAM, interrupt controller
 * and console, from KVM VM creation to the first stop request.
 *
 * Owns: the order in which the machine is built (RAM before vCPUs, every
 * vCPU before the GIC is initialised, the boot images in RAM before the
 * first KVM_RUN), the machine's threads (vCPUs, the signal thread, the
 * console), its run state (running, paused, stopping) and the exit code
 * of the first stop request (guest power-off or reset, a KVM error, a
 * signal, Ctrl-a x, the API).
 *
 * struct vm is private to vmm/machine/. The rest of the VMM (vmm/glue/)
 * builds its devices on the machine through the calls below: it adds
 * MMIO regions before vm_start(), and pauses, resumes and stops the guest
 * from any thread but a vCPU's.
 */
#ifndef VMM_MACHINE_VM_H
#define VMM_MACHINE_VM_H

#include <stdbool.h>
#include <time.h>

struct boot_plan;
struct guest_ram;
struct mmio_device;
struct vm;
struct vm_config;

enum vm_state {
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING, /* a stop was requested; the machine is going away */
};

/*
 * Everything before the guest's first instruction: the KVM VM, guest RAM
 * with the kernel, initrd and DTB in it, the console UART on the MMIO
 * bus, the vCPUs with the boot registers set, the GIC. Signals are routed
 * to the machine's signal thread from here on: threads created after this
 * call inherit the mask. NULL, with the error printed, if any step fails.
 */
struct vm *vm_create(const struct vm_config *cfg, const struct boot_plan *plan);

/* A device's MMIO region on the bus; before vm_start() only. */
int vm_add_mmio(struct vm *vm, const struct mmio_device *dev);
const struct guest_ram *vm_ram(const struct vm *vm);
/* The KVM VM file descriptor, for devices' ioeventfds and irqfds. */
int vm_kvm_fd(const struct vm *vm);
unsigned int vm_nr_vcpus(const struct vm *vm);
/* CLOCK_MONOTONIC when the vCPUs were released. */
struct timespec vm_started(const struct vm *vm);

/*
 * Start the signal thread, the console and the vCPUs; the vCPUs wait
 * before the guest's first instruction until vm_release(), so that every
 * thread is in the sandbox first. A pause meanwhile finds them parked.
 */
int vm_start(struct vm *vm);
void vm_release(struct vm *vm);
/* Wait for the first stop request; returns its exit code. */
int vm_wait(struct vm *vm);
/* End the vCPU, console and signal threads (the guest runs no more). */
void vm_halt(struct vm *vm);
/* Free the machine; after vm_halt(), and after devices let go of RAM. */
void vm_destroy(struct vm *vm);

/* Ask the machine to stop; the first request's exit code wins. Any thread. */
void vm_stop(struct vm *vm, int exit_code);
enum vm_state vm_state(struct vm *vm);

/*
 * Pause: every vCPU out of the guest and parked until vm_resume(). Returns
 * 0, -EALREADY, -EBUSY (stopping), or -ETIMEDOUT (a vCPU did not park in
 * time; the machine runs on). From any thread but a vCPU's.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

#endif
