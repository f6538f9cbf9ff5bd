// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bringing a planned guest to life on KVM/arm64, and taking it down. The
 * order matters: RAM before vCPUs, all vCPUs before the GIC is
 * initialised, every device on the bus before the first KVM_RUN.
 */
#include "vmm/machine/vm.h"
#include "vmm/hw/console.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/hw/mmio_bus.h"
#include "vmm/hw/uart_16550.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/gic.h"
#include "vmm/machine/kvm.h"
#include "vmm/machine/memory_map.h"
#include "vmm/machine/vcpu.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Private to this file: the rest of the VMM holds a struct vm * only. */
struct vm {
	struct kvm kvm;
	struct guest_ram ram;
	struct mmio_bus bus;
	struct uart_16550 uart;
	bool uart_ready;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct vcpu_ops vcpu_ops;
	int gic_fd;
	pthread_t signal_thread;
	bool signal_thread_started;
	bool console_started;
	struct timespec started;

	pthread_mutex_t lock;
	pthread_cond_t stop_cond;
	pthread_cond_t pause_cond;
	bool stopping;
	bool held; /* vCPUs wait before their first KVM_RUN until vm_release() */
	bool pause_requested;
	bool paused;
	unsigned int parked; /* vCPUs waiting in vcpu_checkpoint() */
	int exit_code;
};

void vm_stop(struct vm *vm, int exit_code)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_code = exit_code;
		pthread_cond_broadcast(&vm->stop_cond);
		pthread_cond_broadcast(&vm->pause_cond); /* parked vCPUs leave */
	}
	pthread_mutex_unlock(&vm->lock);
}

static bool must_park(const struct vm *vm)
{
	return (vm->held || vm->pause_requested) && !vm->stopping;
}

/* A vCPU, before each KVM_RUN: park while the machine is held or paused. */
static void vcpu_checkpoint(void *opaque)
{
	struct vm *vm = opaque;

	pthread_mutex_lock(&vm->lock);
	if (must_park(vm)) {
		vm->parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (must_park(vm))
			pthread_cond_wait(&vm->pause_cond, &vm->lock);
		vm->parked--;
	}
	pthread_mutex_unlock(&vm->lock);
}

#define PAUSE_TIMEOUT_MS 2000

static void add_ms(struct timespec *ts, long ms)
{
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Kick every vCPU until all are parked (re-kicking: a kick can land early). */
static int wait_parked(struct vm *vm)
{
	struct timespec deadline, step;

	clock_gettime(CLOCK_REALTIME, &deadline);
	add_ms(&deadline, PAUSE_TIMEOUT_MS);
	while (vm->parked < vm->nr_vcpus && !vm->stopping) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
		clock_gettime(CLOCK_REALTIME, &step);
		if (step.tv_sec > deadline.tv_sec ||
		    (step.tv_sec == deadline.tv_sec && step.tv_nsec >= deadline.tv_nsec))
			return -ETIMEDOUT;
		add_ms(&step, 5);
		pthread_cond_timedwait(&vm->pause_cond, &vm->lock, &step);
	}
	return vm->stopping ? -EBUSY : 0;
}

int vm_pause(struct vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	if (vm->stopping) {
		ret = -EBUSY;
	} else if (vm->paused) {
		ret = -EALREADY;
	} else {
		vm->pause_requested = true;
		ret = wait_parked(vm);
		if (ret) {
			vm->pause_requested = false;
			pthread_cond_broadcast(&vm->pause_cond);
		} else {
			vm->paused = true;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (ret == -ETIMEDOUT)
		pr_warn("pause: a vCPU did not leave the guest within %d ms; the VM runs on",
			PAUSE_TIMEOUT_MS);
	return ret;
}

int vm_resume(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->stopping)
		ret = -EBUSY;
	else if (!vm->paused)
		ret = -EALREADY;
	else {
		vm->paused = false;
		vm->pause_requested = false;
		pthread_cond_broadcast(&vm->pause_cond);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

enum vm_state vm_state(struct vm *vm)
{
	enum vm_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->stopping ? VM_STOPPING : vm->paused ? VM_PAUSED : VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

static bool vcpu_stopping(void *opaque)
{
	return vm_state(opaque) == VM_STOPPING;
}

static void vcpu_stop_request(void *opaque, int exit_code)
{
	vm_stop(opaque, exit_code);
}

static void uart_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	kvm_irq_line(&vm->kvm, IRQ_SPI_UART, level);
}

static void uart_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	uart_16550_mmio(opaque, offset, data, len, is_write);
}

static int add_console_uart(struct vm *vm)
{
	struct uart_16550_ops ops = { .set_irq = uart_irq, .tx = console_tx, .opaque = vm };
	struct mmio_device uart = {
		.name = "16550 console",
		.base = MMAP_UART_BASE,
		.size = MMAP_UART_SIZE,
		.access = uart_access,
		.opaque = &vm->uart,
	};

	uart_16550_init(&vm->uart, &ops);
	vm->uart_ready = true;
	return mmio_bus_add(&vm->bus, &uart);
}

/* Read (or inflated) from the files straight into guest RAM, once it is mapped. */
static int load_guest(struct vm *vm, const struct boot_plan *plan)
{
	return boot_plan_load(plan, &vm->ram);
}

static int check_cpus(struct vm *vm, unsigned int cpus)
{
	if (cpus > vm->kvm.max_vcpus) {
		pr_err("--cpus %u: this host's KVM allows at most %u vCPUs per VM", cpus,
		       vm->kvm.max_vcpus);
		return -1;
	}
	return 0;
}

static int create_vcpus(struct vm *vm, const struct boot_plan *plan)
{
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	vm->vcpu_ops = (struct vcpu_ops){
		.opaque = vm,
		.checkpoint = vcpu_checkpoint,
		.stopping = vcpu_stopping,
		.stop = vcpu_stop_request,
	};
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_create(&vm->vcpus[i], &vm->kvm, &vm->bus, &vm->vcpu_ops, i))
			return -1;
	vm->gic_fd = gic_create(&vm->kvm);
	if (vm->gic_fd < 0)
		return -1;
	return vcpu_set_boot_regs(&vm->vcpus[0], plan->layout.kernel.base, plan->layout.dtb.base);
}

static void quit_from_console(void *opaque)
{
	vm_stop(opaque, 0);
}

/*
 * SIGINT, SIGTERM, SIGHUP stop the VM; a second one, while it is already
 * stopping, gives up at once (terminal restored). SIGUSR2 ends the thread.
 */
static void *signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	while (!sigwait(&set, &sig) && sig != SIGUSR2) {
		if (vm_state(vm) == VM_STOPPING) {
			console_restore();
			_exit(128 + sig);
		}
		pr_info("signal %d (%s): stopping the VM", sig, strsignal(sig));
		vm_stop(vm, 128 + sig);
	}
	return NULL;
}

/* Threads inherit this mask: signals go to the signal thread, kicks to vCPUs. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A console reader that goes away must not kill cmavm with the tty raw. */
	signal(SIGPIPE, SIG_IGN);
}

struct vm *vm_create(const struct vm_config *cfg, const struct boot_plan *plan)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->ram.memfd = -1;
	vm->gic_fd = -1;
	vm->nr_vcpus = cfg->cpus;
	block_signals();
	if (kvm_open(&vm->kvm, region_end(&plan->layout.ram)) || check_cpus(vm, cfg->cpus) ||
	    guest_ram_create(&vm->ram, MMAP_RAM_BASE, cfg->memory) ||
	    kvm_add_ram(&vm->kvm, &vm->ram) || load_guest(vm, plan) || add_console_uart(vm) ||
	    create_vcpus(vm, plan)) {
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

int vm_add_mmio(struct vm *vm, const struct mmio_device *dev)
{
	return mmio_bus_add(&vm->bus, dev);
}

const struct guest_ram *vm_ram(const struct vm *vm)
{
	return &vm->ram;
}

int vm_kvm_fd(const struct vm *vm)
{
	return vm->kvm.vm_fd;
}

unsigned int vm_nr_vcpus(const struct vm *vm)
{
	return vm->nr_vcpus;
}

struct timespec vm_started(const struct vm *vm)
{
	return vm->started;
}

int vm_start(struct vm *vm)
{
	if (sandbox_thread_create(&vm->signal_thread, SANDBOX_SIGNALS, "signals", signal_thread,
				  vm))
		return -1;
	vm->signal_thread_started = true;
	vm->console_started = true; /* even half started, it is stopped at halt */
	if (console_start(&vm->uart, quit_from_console, vm))
		return -1;
	vm->held = true;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpus[i]))
			return -1;
	return 0;
}

void vm_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	vm->held = false;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_wait(struct vm *vm)
{
	int code;

	pthread_mutex_lock(&vm->lock);
	while (!vm->stopping)
		pthread_cond_wait(&vm->stop_cond, &vm->lock);
	code = vm->exit_code;
	pthread_mutex_unlock(&vm->lock);
	return code;
}

void vm_halt(struct vm *vm)
{
	if (vm->console_started)
		console_stop();
	vm->console_started = false;
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_stop(&vm->vcpus[i]);
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->signal_thread_started) {
		pthread_kill(vm->signal_thread, SIGUSR2);
		pthread_join(vm->signal_thread, NULL);
	}
	vm->signal_thread_started = false;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vm_halt(vm);
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	if (vm->uart_ready)
		uart_16550_destroy(&vm->uart);
	guest_ram_destroy(&vm->ram);
	kvm_close(&vm->kvm);
	pthread_cond_destroy(&vm->pause_cond);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
