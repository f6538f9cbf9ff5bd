// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/vcpu.h"
#include "vmm/hw/mmio_bus.h"
#include "vmm/machine/kvm.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIG_VCPU_KICK SIGUSR1

#define CORE_REG(name)                                                                             \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(name))

/* EL1h with D, A, I and F masked: the state booting.rst requires. */
#define PSTATE_BOOT 0x3c5

static __thread struct vcpu *this_vcpu;

/*
 * A kick sets immediate_exit, so that a kick landing between the stop
 * check and KVM_RUN still makes KVM_RUN return at once (api.rst).
 */
static void kick_handler(int sig)
{
	(void)sig;
	if (this_vcpu)
		this_vcpu->run->immediate_exit = 1;
}

static void install_kick_handler_once(void)
{
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_kick_handler_once);
}

static int set_reg(struct vcpu *v, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	return kvm_ioctl(v->fd, KVM_SET_ONE_REG, &reg) < 0 ? -1 : 0;
}

int vcpu_create(struct vcpu *v, const struct kvm *kvm, struct mmio_bus *bus,
		const struct vcpu_ops *ops, unsigned int id)
{
	struct kvm_vcpu_init init;

	memset(v, 0, sizeof(*v));
	v->ops = ops;
	v->bus = bus;
	v->id = id;
	v->run_size = (size_t)kvm->vcpu_mmap_size;
	v->fd = kvm_ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -1;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		pr_errno("mapping the kvm_run area of vCPU %u", id);
		v->run = NULL;
		return -1;
	}
	if (kvm_ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return -1;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (id)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	return kvm_ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0 ? -1 : 0;
}

int vcpu_set_boot_regs(struct vcpu *v, uint64_t entry, uint64_t dtb)
{
	if (set_reg(v, CORE_REG(regs.pstate), PSTATE_BOOT) ||
	    set_reg(v, CORE_REG(regs.pc), entry) || set_reg(v, CORE_REG(regs.regs[0]), dtb))
		return -1;
	for (int i = 1; i <= 3; i++)
		if (set_reg(v, CORE_REG(regs.regs[i]), 0))
			return -1;
	return 0;
}

static const char *system_event_name(uint32_t type)
{
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return "powered off";
	case KVM_SYSTEM_EVENT_RESET:
		return "asked for a reset";
	case KVM_SYSTEM_EVENT_CRASH:
		return "reported a crash";
	default:
		return "raised an unknown system event";
	}
}

static void handle_system_event(struct vcpu *v)
{
	uint32_t type = v->run->system_event.type;
	int code = type == KVM_SYSTEM_EVENT_SHUTDOWN || type == KVM_SYSTEM_EVENT_RESET ? 0 : 1;

	pr_info("the guest %s (PSCI, vCPU %u)", system_event_name(type), v->id);
	v->ops->stop(v->ops->opaque, code);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		mmio_bus_access(v->bus, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
				run->mmio.is_write);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		return false;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)", v->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vCPU %u: KVM internal error (suberror %u)", v->id, run->internal.suberror);
		break;
	default:
		pr_err("vCPU %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
		break;
	}
	v->ops->stop(v->ops->opaque, 1);
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;

	this_vcpu = v;
	sigemptyset(&kick);
	sigaddset(&kick, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	while (!v->ops->stopping(v->ops->opaque)) {
		v->ops->checkpoint(v->ops->opaque);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			if (errno == ENOSYS)
				pr_err("vCPU %u: the guest made an MMIO access KVM cannot decode "
				       "(a "
				       "load/store pair or writeback to device memory); KVM_RUN "
				       "failed with ENOSYS",
				       v->id);
			else
				pr_errno("KVM_RUN failed on vCPU %u", v->id);
			v->ops->stop(v->ops->opaque, 1);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	char name[16];
	int err;

	install_kick_handler();
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	err = sandbox_thread_create(&v->thread, SANDBOX_VCPU, name, vcpu_thread, v);
	if (err) {
		errno = err;
		pr_errno("starting the thread of vCPU %u", v->id);
		return -1;
	}
	v->running = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->running)
		pthread_kill(v->thread, SIG_VCPU_KICK);
}

void vcpu_stop(struct vcpu *v)
{
	struct timespec ts;

	if (!v->running)
		return;
	/* Kick until it leaves: a kick may land before it enters KVM_RUN. */
	for (;;) {
		pthread_kill(v->thread, SIG_VCPU_KICK);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!pthread_timedjoin_np(v->thread, NULL, &ts))
			break;
	}
	v->running = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
