// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/kvm.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_DEFAULT_IPA_BITS 40

int kvm_do_ioctl(int fd, unsigned long req, unsigned long arg, const char *name)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR && req != KVM_RUN);
	if (ret < 0)
		pr_errno("%s failed", name);
	return ret;
}

static int ipa_bits_for(uint64_t highest_gpa)
{
	int bits = KVM_DEFAULT_IPA_BITS;

	while (bits < 64 && (highest_gpa >> bits))
		bits++;
	return bits;
}

static int create_vm(struct kvm *kvm, uint64_t highest_gpa)
{
	int bits = ipa_bits_for(highest_gpa);
	unsigned long type = 0;

	if (bits > KVM_DEFAULT_IPA_BITS) {
		int max = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);

		if (max < bits) {
			pr_err("guest RAM ends at 0x%llx, which needs a %d-bit guest-physical "
			       "space; this host's KVM offers %d bits: lower --memory",
			       (unsigned long long)highest_gpa, bits,
			       max > 0 ? max : KVM_DEFAULT_IPA_BITS);
			return -1;
		}
		type = KVM_VM_TYPE_ARM_IPA_SIZE(bits);
	}
	kvm->vm_fd = kvm_ioctl(kvm->sys_fd, KVM_CREATE_VM, type);
	return kvm->vm_fd < 0 ? -1 : 0;
}

int kvm_open(struct kvm *kvm, uint64_t end_gpa)
{
	int version, max;

	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		pr_errno("cannot open /dev/kvm (is KVM enabled, and may this user open it?)");
		return -1;
	}
	version = kvm_ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks API version %d; cmavm needs %d", version, KVM_API_VERSION);
		goto err;
	}
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0) {
		pr_err("this host's KVM lacks in-kernel PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2); cmavm "
		       "needs it to start secondary vCPUs and power the guest off");
		goto err;
	}
	kvm->vcpu_mmap_size = kvm_ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0)
		goto err;
	if (create_vm(kvm, end_gpa - 1))
		goto err;
	max = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	kvm->max_vcpus = max > 0 ? (unsigned int)max : 1;
	return 0;
err:
	kvm_close(kvm);
	return -1;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->vm_fd = kvm->sys_fd = -1;
}

int kvm_add_ram(struct kvm *kvm, const struct guest_ram *ram)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = ram->gpa,
		.memory_size = ram->size,
		.userspace_addr = (uintptr_t)ram->host,
	};

	return kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -1 : 0;
}

int kvm_irq_line(struct kvm *kvm, unsigned int spi, int level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + spi),
		.level = level,
	};

	return kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -1 : 0;
}
