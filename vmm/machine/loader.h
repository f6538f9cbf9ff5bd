/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot images: the arm64 kernel Image and the initrd.
 *
 * Owns: checking them while the boot is planned (a regular file of a sane
 * size; the kernel's arm64 Image header, Documentation/arm64/booting.rst,
 * inflated from the start of the stream when the file is gzip), and
 * loading them once guest RAM exists straight into the guest's pages at
 * the addresses the plan gave them: read from the file, or inflated, with
 * no copy made or kept. Between plan and load only the path, the size and
 * the file's identity are kept, so loading refuses a file that was
 * replaced or changed size meanwhile.
 */
#ifndef VMM_MACHINE_LOADER_H
#define VMM_MACHINE_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct guest_ram;

struct boot_file {
	char *path;
	const char *what; /* "kernel" or "initrd", for messages */
	uint64_t size;	  /* bytes in the file when it was probed */
	uint64_t dev, ino;
};

#define ARM64_IMAGE_HEADER_SIZE 64

struct kernel_image {
	struct boot_file file;
	uint64_t text_offset;			 /* load offset from a 2 MiB aligned base */
	uint64_t image_size;			 /* memory the kernel occupies, BSS included */
	int compressed;				 /* the file is gzip: inflated while loading */
	uint8_t header[ARM64_IMAGE_HEADER_SIZE]; /* as planned for: loading checks it */
};

/* Check a boot file and note its size. 0, or -1 with a message printed. */
int boot_file_probe(const char *path, const char *what, struct boot_file *f);
/* Check a kernel and read its Image header. 0, or -1 with a message printed. */
int kernel_image_probe(const char *path, struct kernel_image *k);
void boot_file_free(struct boot_file *f);

/*
 * Read the whole file into guest RAM at @gpa, where @room bytes are its
 * own; the file is open only meanwhile. 0, or -1 with a message printed.
 */
int boot_file_load(const struct boot_file *f, const struct guest_ram *ram, uint64_t gpa,
		   uint64_t room);
/* The kernel at @gpa: read, or inflated into at most @room bytes. */
int kernel_image_load(const struct kernel_image *k, const struct guest_ram *ram, uint64_t gpa,
		      uint64_t room);

/* Parse an Image header from @data; NULL on success, else why not. */
const char *arm64_image_parse(const uint8_t *data, size_t size, uint64_t *text_offset,
			      uint64_t *image_size);

/*
 * Inflate the gzip stream in @in into @out, at most @room bytes; the code
 * that inflates a kernel into guest RAM, from a buffer rather than a file.
 * NULL with *@out_len set, or why not (a truncated stream, a corrupt one,
 * or one that inflates to more than @room). Bytes after the stream's end
 * are ignored, as a boot loader ignores them.
 */
const char *gzip_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t room,
			 size_t *out_len);

/* Copy @size bytes to guest-physical @gpa; -1 if it does not fit in RAM. */
int guest_ram_load(const struct guest_ram *ram, uint64_t gpa, const void *data, size_t size,
		   const char *what);

#endif
