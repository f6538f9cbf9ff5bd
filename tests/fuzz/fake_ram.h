/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the fuzz targets in tests/fuzz/: fake guest RAM.
 *
 * Anonymous memory, no memfd (guest_ram_discard() then drops pages with
 * MADV_DONTNEED), between two inaccessible guard pages: AddressSanitizer
 * does not watch mmap()ed memory, so a read or write that leaves RAM by a
 * byte faults on a guard page instead. Mapped once per process; each input
 * clears it and may move it to another guest-physical base.
 */
#ifndef TESTS_FUZZ_FAKE_RAM_H
#define TESTS_FUZZ_FAKE_RAM_H

#include <stdint.h>

#include "vmm/hw/guest_ram.h"

/* @size bytes (a multiple of 4 KiB) at guest-physical @gpa; aborts if it cannot. */
void fake_ram_init(struct guest_ram *ram, uint64_t gpa, uint64_t size);
/* All zeroes again, at @gpa. */
void fake_ram_reset(struct guest_ram *ram, uint64_t gpa);

#endif
