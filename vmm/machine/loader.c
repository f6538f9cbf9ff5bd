// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/loader.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/util/log.h"
#include "cma/size.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BOOT_FILE_MAX (1ULL << 30)
#define IMAGE_MAX     (256ULL << 20)

/* Documentation/arm64/booting.rst, "Call the kernel image" */
struct arm64_image_header {
	uint32_t code0, code1;
	uint64_t text_offset;
	uint64_t image_size;
	uint64_t flags;
	uint64_t res2, res3, res4;
	uint32_t magic;
	uint32_t res5;
};

#define ARM64_IMAGE_MAGIC 0x644d5241 /* "ARM\x64" */
#define ARM64_FLAG_BE	  (1ULL << 0)
/* Kernels before 3.17 leave image_size 0 and expect this text_offset. */
#define ARM64_LEGACY_OFFSET 0x80000
/* ... and want memory kept free after the image: give them this much. */
#define ARM64_LEGACY_SLACK (32ULL << 20)

int boot_file_read(const char *path, const char *what, struct boot_file *f)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd;

	memset(f, 0, sizeof(*f));
	/* O_NONBLOCK: opening a FIFO would wait for a writer that never comes */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_errno("cannot open the %s '%s'", what, path);
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("the %s '%s' is not a regular file (a FIFO, device or directory); give the "
		       "path of the file itself",
		       what, path);
		goto err;
	}
	if ((uint64_t)st.st_size > BOOT_FILE_MAX || !st.st_size) {
		pr_err("the %s '%s' is %s bytes; expected between 1 byte and 1 GiB", what, path,
		       st.st_size ? "over a billion" : "0");
		goto err;
	}
	f->size = (size_t)st.st_size;
	f->data = malloc(f->size);
	if (!f->data) {
		pr_err("out of memory reading the %s '%s'", what, path);
		goto err;
	}
	while (done < f->size) {
		n = read(fd, f->data + done, f->size - done);
		if (n <= 0) {
			pr_errno("reading the %s '%s'", what, path);
			goto err;
		}
		done += (size_t)n;
	}
	close(fd);
	f->path = strdup(path);
	return 0;
err:
	close(fd);
	free(f->data);
	f->data = NULL;
	return -1;
}

void boot_file_free(struct boot_file *f)
{
	free(f->data);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static int is_gzip(const struct boot_file *f)
{
	return f->size > 2 && f->data[0] == 0x1f && f->data[1] == 0x8b;
}

static int gunzip(struct boot_file *f)
{
	size_t cap = f->size * 4 > IMAGE_MAX ? IMAGE_MAX : f->size * 4;
	z_stream zs = { 0 };
	uint8_t *out = NULL;
	int ret = Z_OK;

	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -1;
	zs.next_in = f->data;
	zs.avail_in = (uInt)f->size;
	for (;;) {
		uint8_t *grown = realloc(out, cap);

		if (!grown)
			break;
		out = grown;
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret == Z_STREAM_END) {
			inflateEnd(&zs);
			free(f->data);
			f->data = out;
			f->size = zs.total_out;
			return 0;
		}
		/* Grow only when output space ran out; anything else is the end. */
		if ((ret != Z_OK && ret != Z_BUF_ERROR) || zs.avail_out || cap == IMAGE_MAX)
			break;
		cap = cap * 2 > IMAGE_MAX ? IMAGE_MAX : cap * 2;
	}
	inflateEnd(&zs);
	free(out);
	pr_err("the kernel '%s' looks gzip-compressed but does not inflate: %s", f->path,
	       zs.msg		  ? zs.msg
	       : zs.avail_in == 0 ? "the file is truncated"
				  : "it inflates to more than 256 MiB");
	return -1;
}

const char *arm64_image_parse(const uint8_t *data, size_t size, uint64_t *text_offset,
			      uint64_t *image_size)
{
	struct arm64_image_header h;

	if (size < sizeof(h))
		return "it is too short to hold an arm64 Image header";
	memcpy(&h, data, sizeof(h));
	if (le32toh(h.magic) != ARM64_IMAGE_MAGIC)
		return "it has no arm64 Image magic (\"ARM\\x64\" at byte 56); pass an arm64 "
		       "Image such as Debian's /boot/vmlinuz-*-arm64, not an ELF vmlinux";
	if (le64toh(h.flags) & ARM64_FLAG_BE)
		return "it is a big-endian kernel; cmavm boots little-endian kernels";
	*text_offset = le64toh(h.text_offset);
	*image_size = le64toh(h.image_size);
	if (!*image_size) {
		*text_offset = ARM64_LEGACY_OFFSET;
		*image_size = align_up(size, SZ_2M) + ARM64_LEGACY_SLACK;
	}
	if (*image_size < size)
		*image_size = size;
	if (*text_offset >= SZ_2M * 16 || *image_size > IMAGE_MAX)
		return "its header asks for an implausible text_offset or image_size";
	return NULL;
}

int kernel_image_read(const char *path, struct kernel_image *k)
{
	const char *why;

	memset(k, 0, sizeof(*k));
	if (boot_file_read(path, "kernel", &k->file))
		return -1;
	if (is_gzip(&k->file)) {
		k->compressed = 1;
		if (gunzip(&k->file))
			goto err;
	}
	why = arm64_image_parse(k->file.data, k->file.size, &k->text_offset, &k->image_size);
	if (why) {
		pr_err("the kernel '%s' cannot be booted: %s", path, why);
		goto err;
	}
	return 0;
err:
	boot_file_free(&k->file);
	return -1;
}

int guest_ram_load(const struct guest_ram *ram, uint64_t gpa, const void *data, size_t size,
		   const char *what)
{
	void *dst = guest_ram_ptr(ram, gpa, size);

	if (!dst) {
		pr_err("the %s (%zu bytes at 0x%llx) does not fit in guest RAM", what, size,
		       (unsigned long long)gpa);
		return -1;
	}
	memcpy(dst, data, size);
	return 0;
}
