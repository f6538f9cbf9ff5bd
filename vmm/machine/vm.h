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

#include "vmm/control/api.h"
#include "cma/engine.h"
#include "vmm/hw/event_loop.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/control/http_server.h"
#include "vmm/machine/kvm.h"
#include "vmm/virtio/mmio.h"
#include "vmm/hw/mmio_bus.h"
#include "vmm/hw/uart_16550.h"

struct vm_config;
struct boot_plan;
struct vcpu;

/* A virtio device and the transport that carries it. */
struct vm_device {
	struct virtio_device dev;
	struct virtio_mmio mmio;
	int kind; /* enum virtio_slot_kind */
	bool created;
};

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

	const struct vm_config *cfg;
	const struct boot_plan *plan;
	struct timespec started;
	struct ev_loop loop;
	bool loop_ready;
	size_t nr_devices;
	struct vm_device *devices;
	struct virtio_device *balloon;
	struct http_server api;
	bool api_open;
	struct ctl_ops ctl_ops;
	struct cma_engine engine; /* every pool's pageblocks; on the loop thread */
	bool engine_ready;
	bool engine_paused; /* the engine paused the guest (not the operator) */

	pthread_mutex_t lock;
	pthread_cond_t stop_cond;
	pthread_cond_t pause_cond;
	bool stopping;
	bool pause_requested;
	bool paused;
	unsigned int parked; /* vCPUs waiting in vm_vcpu_checkpoint() */
	int exit_code;
};

/* Boot the planned guest and run it until it stops; returns the exit code. */
int vm_run(const struct vm_config *cfg, const struct boot_plan *plan);

/* Ask the VM to stop; the first request's exit code wins. Any thread. */
void vm_stop(struct vm *vm, int exit_code);
bool vm_stopping(struct vm *vm);

/*
 * Pause: every vCPU out of the guest and parked until vm_resume(). Returns
 * 0, -EALREADY, -EBUSY (stopping), or -ETIMEDOUT (a vCPU did not park in
 * time; the VM runs on). From any thread but a vCPU's.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* A vCPU thread calls this before each KVM_RUN: it parks while paused. */
void vm_vcpu_checkpoint(struct vm *vm);

/* vm_devices.c: the virtio devices of the plan, on the MMIO bus and the loop. */
int vm_devices_create(struct vm *vm);
void vm_devices_destroy(struct vm *vm);

/* vm_engine.c: the host CMA engine over guest RAM and the plan's pools. */
int vm_engine_create(struct vm *vm);
void vm_engine_destroy(struct vm *vm);
struct memory_hooks vm_engine_memory_hooks(struct vm *vm);
void vm_engine_ctl_ops(struct ctl_ops *ops);

/* vm_control.c: the control socket. */
int vm_control_open(struct vm *vm);
void vm_control_close(struct vm *vm);

#endif
