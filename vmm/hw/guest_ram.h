/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM: one memfd, mapped shared, its host mapping 1 GiB aligned.
 *
 * Owns: the memory behind guest-physical RAM and the only translation from
 * a guest-physical range to a host pointer, which checks that the whole
 * range lies in RAM. A memfd (rather than anonymous memory) lets the host
 * CMA engine remap parts of it; the alignment lets KVM map it with
 * block mappings at stage 2.
 */
#ifndef VMM_HW_GUEST_RAM_H
#define VMM_HW_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#include "cma/size.h"

struct guest_ram {
	int memfd;
	uint64_t gpa; /* guest-physical base */
	uint64_t size;
	uint8_t *host;	   /* 1 GiB aligned host mapping of [gpa, gpa + size) */
	void *reservation; /* the larger mapping @host was carved from */
	size_t reservation_size;
};

int guest_ram_create(struct guest_ram *ram, uint64_t gpa, uint64_t size);
void guest_ram_destroy(struct guest_ram *ram);

/*
 * 1 GiB alignment (and address space to the next 1 GiB past RAM) lets the
 * host CMA engine map a 1 GiB huge page over any 1 GiB span of guest RAM;
 * it costs address space only.
 */
#define RAM_HOST_ALIGN SZ_1G

/* The end of the address space reserved after @host (for 1 GiB pages). */
static inline uint8_t *guest_ram_map_end(const struct guest_ram *ram)
{
	return ram->host + align_up(ram->size, RAM_HOST_ALIGN);
}

/* Host pointer for [gpa, gpa + len), or NULL if any byte is outside RAM. */
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

/*
 * Give the host backing of [gpa, gpa + len) back (a hole punched in the
 * memfd): the guest reads zeroes there until it writes again. Page-aligned
 * ranges inside RAM only; -1 otherwise.
 */
int guest_ram_discard(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

#endif
