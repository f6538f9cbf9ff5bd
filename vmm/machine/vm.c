// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bringing a planned guest to life on KVM/arm64, and taking it down. The
 * order matters: RAM before vCPUs, all vCPUs before the GIC is
 * initialised, every device on the bus before the first KVM_RUN.
 */
#include "vmm/machine/vm.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/hw/console.h"
#include "vmm/machine/gic.h"
#include "vmm/util/log.h"
#include "vmm/machine/memory_map.h"
#include "vmm/machine/vcpu.h"

#include <errno.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void vm_vcpu_checkpoint(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested && !vm->stopping) {
		vm->parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (vm->pause_requested && !vm->stopping)
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

bool vm_stopping(struct vm *vm)
{
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return stopping;
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

static int add_devices(struct vm *vm)
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
	return mmio_bus_add(&vm->bus, &uart);
}

static int load_guest(struct vm *vm, const struct boot_plan *plan)
{
	const struct layout *l = &plan->layout;

	if (guest_ram_load(&vm->ram, l->kernel.base, plan->kernel.file.data, plan->kernel.file.size,
			   "kernel") ||
	    guest_ram_load(&vm->ram, l->dtb.base, plan->dtb, plan->dtb_size, "device tree"))
		return -1;
	if (l->initrd.size && guest_ram_load(&vm->ram, l->initrd.base, plan->initrd.data,
					     plan->initrd.size, "initrd"))
		return -1;
	return 0;
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
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_create(vm, &vm->vcpus[i], i))
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
		if (vm_stopping(vm)) {
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

static int start_devices(struct vm *vm)
{
	if (ev_loop_init(&vm->loop, 256))
		return -1;
	vm->loop_ready = true;
	if (vm_engine_create(vm) || vm_devices_create(vm))
		return -1;
	return ev_loop_start(&vm->loop);
}

static int start(struct vm *vm)
{
	if (pthread_create(&vm->signal_thread, NULL, signal_thread, vm))
		return -1;
	vm->signal_thread_started = true;
	if (console_start(&vm->uart, quit_from_console, vm))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpus[i]))
			return -1;
	/* Last: a pause asked for through the API needs running vCPUs to park. */
	return vm_control_open(vm);
}

static int wait_for_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->stopping)
		pthread_cond_wait(&vm->stop_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return vm->exit_code;
}

static void teardown(struct vm *vm)
{
	console_stop();
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_stop(&vm->vcpus[i]);
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	if (vm->signal_thread_started) {
		pthread_kill(vm->signal_thread, SIGUSR2);
		pthread_join(vm->signal_thread, NULL);
	}
	vm_control_close(vm); /* while the loop runs: it lets go of the connections */
	if (vm->loop_ready) {
		ev_loop_stop(&vm->loop);
		vm_devices_destroy(vm);
		vm_engine_destroy(vm);
		ev_loop_destroy(&vm->loop);
	}
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	guest_ram_destroy(&vm->ram);
	kvm_close(&vm->kvm);
}

int vm_run(const struct vm_config *cfg, const struct boot_plan *plan)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int code = 1;

	if (!vm)
		return 1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->cfg = cfg;
	vm->plan = plan;
	vm->ram.memfd = -1;
	vm->gic_fd = -1;
	vm->nr_vcpus = cfg->cpus;
	block_signals();
	if (kvm_open(&vm->kvm, region_end(&plan->layout.ram)))
		goto out;
	if (check_cpus(vm, cfg->cpus) || guest_ram_create(&vm->ram, MMAP_RAM_BASE, cfg->memory) ||
	    kvm_add_ram(&vm->kvm, &vm->ram) || load_guest(vm, plan) || add_devices(vm) ||
	    create_vcpus(vm, plan) || start_devices(vm))
		goto out;
	if (start(vm)) {
		vm_stop(vm, 1);
		goto out;
	}
	code = wait_for_stop(vm);
out:
	teardown(vm);
	free(vm);
	return code;
}
