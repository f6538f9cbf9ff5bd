// SPDX-License-Identifier: GPL-2.0-only
/* Fake guest RAM between guard pages: see fake_ram.h. */
#include "tests/fuzz/fake_ram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define GUARD 4096

void fake_ram_init(struct guest_ram *ram, uint64_t gpa, uint64_t size)
{
	size_t total = size + 2 * GUARD;
	uint8_t *map = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED || mprotect(map + GUARD, size, PROT_READ | PROT_WRITE)) {
		perror("fake guest RAM");
		abort();
	}
	memset(ram, 0, sizeof(*ram));
	ram->memfd = -1;
	ram->gpa = gpa;
	ram->size = size;
	ram->host = map + GUARD;
	ram->reservation = map;
	ram->reservation_size = total;
}

void fake_ram_reset(struct guest_ram *ram, uint64_t gpa)
{
	memset(ram->host, 0, ram->size);
	ram->gpa = gpa;
}
