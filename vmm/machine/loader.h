/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot images: the arm64 kernel Image and the initrd.
 *
 * Owns: reading them from disk (a gzip-compressed Image is inflated), the
 * arm64 Image header (Documentation/arm64/booting.rst: text_offset,
 * image_size, flags), and copying them into guest RAM.
 */
#ifndef VMM_MACHINE_LOADER_H
#define VMM_MACHINE_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct guest_ram;

struct boot_file {
	char *path;
	uint8_t *data;
	size_t size;
};

struct kernel_image {
	struct boot_file file;
	uint64_t text_offset; /* load offset from a 2 MiB aligned base */
	uint64_t image_size;  /* memory the kernel occupies, BSS included */
	int compressed;	      /* the file was gzip */
};

/* Read and validate a kernel Image. 0, or -1 with a message printed. */
int kernel_image_read(const char *path, struct kernel_image *k);

/* Parse an Image header from @data; NULL on success, else why not. */
const char *arm64_image_parse(const uint8_t *data, size_t size, uint64_t *text_offset,
			      uint64_t *image_size);

int boot_file_read(const char *path, const char *what, struct boot_file *f);
void boot_file_free(struct boot_file *f);

/* Copy @size bytes to guest-physical @gpa; -1 if it does not fit in RAM. */
int guest_ram_load(const struct guest_ram *ram, uint64_t gpa, const void *data, size_t size,
		   const char *what);

#endif
