/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest-physical memory map of a cmavm arm64 machine.
 *
 * Owns: the fixed addresses of the interrupt controller, the console and
 * the start of RAM. Devices below 2 GiB, RAM from 2 GiB up, as on QEMU's
 * virt machine, so that guest kernels find nothing unusual.
 */
#ifndef VMM_MACHINE_MEMORY_MAP_H
#define VMM_MACHINE_MEMORY_MAP_H

#define MMAP_GICD_BASE	   0x08000000ULL
#define MMAP_GICD_SIZE	   0x00010000ULL
#define MMAP_GICR_BASE	   0x08010000ULL
#define MMAP_GICR_STRIDE   0x00020000ULL /* RD_base + SGI_base frames per vCPU */
#define MMAP_GICR_LIMIT	   0x09000000ULL
#define MMAP_UART_BASE	   0x09000000ULL
#define MMAP_UART_SIZE	   0x00001000ULL
#define MMAP_VIRTIO_BASE   0x0a000000ULL
#define MMAP_VIRTIO_STRIDE 0x00000200ULL /* one virtio-mmio window per device */
#define MMAP_VIRTIO_MAX	   32
#define MMAP_RAM_BASE	   0x80000000ULL

/* RAM fits a 48-bit guest-physical space, the most arm64 KVM offers. */
#define MAX_MEMORY ((1ULL << 48) - MMAP_RAM_BASE)

/* Redistributor frames that fit below the console: the vCPU ceiling. */
#define MMAP_MAX_CPUS ((MMAP_GICR_LIMIT - MMAP_GICR_BASE) / MMAP_GICR_STRIDE)

/* Interrupts: SPI numbers (GIC INTID less 32) */
#define IRQ_SPI_UART   1
#define IRQ_SPI_VIRTIO 16  /* virtio device i has SPI 16 + i */
#define GIC_NR_IRQS    128 /* SGIs, PPIs and 96 SPIs */

#define UART_CLOCK_HZ 1843200

#endif
