/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A running virtual machine.
 *
 * Owns: the lifetime of one guest, from KVM VM creation through vCPU
 * start to the first stop request (guest power-off or reset, a KVM error,
 * a signal, Ctrl-a x), and the exit code that request carries.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdbool.h>

#include "guest_ram.h"
#include "kvm.h"
#include "mmio_bus.h"
#include "uart_16550.h"

struct vm_config;
struct boot_plan;
struct vcpu;

struct vm {
	struct kvm kvm;
	struct guest_ram ram;
	struct mmio_bus bus;
	struct uart_16550 uart;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	int gic_fd;
	pthread_t signal_thread;
	bool signal_thread_started;

	pthread_mutex_t lock;
	pthread_cond_t stop_cond;
	bool stopping;
	int exit_code;
};

/* Boot the planned guest and run it until it stops; returns the exit code. */
int vm_run(const struct vm_config *cfg, const struct boot_plan *plan);

/* Ask the VM to stop; the first request's exit code wins. Any thread. */
void vm_stop(struct vm *vm, int exit_code);
bool vm_stopping(struct vm *vm);

#endif
