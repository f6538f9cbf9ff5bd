// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the kernel loader (vmm/machine/loader.h) on the input as a
 * kernel file: arm64_image_parse() of it; gzip_inflate() of it into 1 MiB
 * and the header of what that gave; then the file path itself, as the
 * boot plan and the boot take it: kernel_image_probe() (the header, read
 * or inflated from the start of the stream) and kernel_image_load() into
 * 4 MiB of fake guest RAM between guard pages; and what the guest's page
 * size and version are read from (vmm/machine/guest.h: the header's flags,
 * the "Linux version" banner anywhere in the file). The file is a memfd,
 * reached through /proc/self/fd: nothing is written to disk.
 *
 * Beyond the sanitizers: inflating never claims more than its room, and an
 * accepted header promises what booting.rst allows (text_offset below
 * 32 MiB, image_size at least the Image, at most 256 MiB); a version read
 * is a NUL-ended string of version characters that fits its buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/fake_ram.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/loader.h"

#define INFLATE_ROOM (1u << 20)
#define RAM_GPA	     0x80000000ULL
#define RAM_SIZE     (4ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_loader: %s\n", what);
		abort();
	}
}

static void parse(const uint8_t *image, size_t size)
{
	uint64_t text_offset, image_size;

	if (arm64_image_parse(image, size, &text_offset, &image_size))
		return;
	check(text_offset < (32ULL << 20) && image_size >= size && image_size <= (256ULL << 20),
	      "an accepted header out of bounds");
}

static void read_guest(const char *path)
{
	char version[24];
	enum guest_series series;

	if (kernel_image_version(path, version, sizeof(version)))
		return;
	check(strlen(version) < sizeof(version) && version[0] >= '0' && version[0] <= '9',
	      "a version that is none");
	guest_series_of_version(version, &series);
}

/* The input as the file the operator gives: probed at planning, loaded at boot. */
static void probe_and_load(const uint8_t *data, size_t size, const struct guest_ram *ram)
{
	static int fd = -1;
	static char path[64];
	struct kernel_image k;

	if (fd < 0) {
		fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	read_guest(path);
	if (kernel_image_probe(path, &k))
		return;
	kernel_image_load(&k, ram, RAM_GPA, k.image_size < RAM_SIZE ? k.image_size : RAM_SIZE);
	boot_file_free(&k.file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_ram ram;
	static uint8_t *out;
	size_t made = 0;

	if (!out) {
		out = malloc(INFLATE_ROOM);
		fake_ram_init(&ram, RAM_GPA, RAM_SIZE);
	}
	check(out != NULL, "out of memory");
	parse(data, size);
	if (!gzip_inflate(data, size, out, INFLATE_ROOM, &made))
		parse(out, made);
	check(made <= INFLATE_ROOM, "inflated past its room");
	probe_and_load(data, size, &ram);
	return 0;
}
