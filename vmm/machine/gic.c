// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/gic.h"
#include "vmm/machine/kvm.h"
#include "vmm/util/log.h"
#include "vmm/machine/memory_map.h"

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	return kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -1 : 0;
}

int gic_create(struct kvm *kvm)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = MMAP_GICD_BASE, redist = MMAP_GICR_BASE;
	uint32_t nr_irqs = GIC_NR_IRQS;

	if (kvm_ioctl(kvm->vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
		pr_err("this host cannot give the guest a GICv3 (the host's own interrupt "
		       "controller must be a GICv3 for KVM to emulate one)");
		return -1;
	}
	/* One redistributor region: KVM sizes it from the number of vCPUs. */
	if (set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) ||
	    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist) ||
	    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs) ||
	    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) {
		close(dev.fd);
		return -1;
	}
	return (int)dev.fd;
}
