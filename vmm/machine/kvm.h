/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM system and VM file descriptors.
 *
 * Owns: opening /dev/kvm, creating the VM with a large enough IPA space,
 * registering guest RAM, and the one ioctl wrapper whose failures name the
 * ioctl and the errno, so that every KVM error reads the same way.
 */
#ifndef VMM_MACHINE_KVM_H
#define VMM_MACHINE_KVM_H

#include <stdint.h>

struct guest_ram;

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_mmap_size;
	unsigned int max_vcpus;
};

/* ioctl(); on failure prints "KVM_FOO failed: <errno>" and returns -1. */
#define kvm_ioctl(fd, req, arg) kvm_do_ioctl(fd, req, (unsigned long)(arg), #req)
int kvm_do_ioctl(int fd, unsigned long req, unsigned long arg, const char *name);

/* A VM whose guest-physical space reaches @end_gpa (exclusive). */
int kvm_open(struct kvm *kvm, uint64_t end_gpa);
void kvm_close(struct kvm *kvm);
int kvm_add_ram(struct kvm *kvm, const struct guest_ram *ram);
int kvm_irq_line(struct kvm *kvm, unsigned int spi, int level);

#endif
