// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-bench boot-load KERNEL INITRD: the kernel (raw or gzip) and the
 * initrd put into fresh guest RAM, a memfd mapped shared and 2 MiB aligned
 * with transparent huge pages asked for, as cmavm maps it, both ways:
 *
 *   load_copy_ms 58.0 ms      each file read into a buffer of its own, a gzip
 *                             kernel inflated into another (grown as needed),
 *                             then copied into guest RAM: cmavm's load until
 *                             issue 9 (which also kept the buffers)
 *   load_direct_ms 30.0 ms    cmavm's loader as it is (vmm/machine/loader.c):
 *                             probed, then read or inflated straight into
 *                             guest RAM
 *
 * The median of the rounds, the two ways taking turns, the files read once
 * before so that both find them in the page cache. The baseline of the
 * boot figures in tools/bench/boot.
 */
#include "tools/bench/load_probe.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "vmm/hw/guest_ram.h"
#include "vmm/machine/loader.h"

#define ALIGN	   (2ULL << 20)
#define RAM_GPA	   0x80000000ULL
#define IMAGE_MAX  (256ULL << 20)
#define MAX_ROUNDS 15

/* As the boot plan sees them: the kernel at the start of RAM, the initrd after it. */
struct boot_files {
	struct kernel_image kernel;
	struct boot_file initrd;
	uint64_t initrd_at, total;
};

static uint64_t align_2m(uint64_t v)
{
	return (v + ALIGN - 1) & ~(ALIGN - 1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The old way's reading: the whole file into a buffer of its own. */
static uint8_t *read_whole(const struct boot_file *f)
{
	uint8_t *buf = malloc(f->size);
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	uint64_t done = 0;
	ssize_t n = 1;

	while (buf && fd >= 0 && done < f->size && n > 0) {
		n = read(fd, buf + done, f->size - done);
		done += n > 0 ? (uint64_t)n : 0;
	}
	if (fd >= 0)
		close(fd);
	if (done == f->size)
		return buf;
	free(buf);
	return NULL;
}

/* The old way's gunzip: into a buffer from 4 times the file, doubled as needed. */
static uint8_t *old_gunzip(uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = len * 4 > IMAGE_MAX ? IMAGE_MAX : len * 4;
	z_stream zs = { .next_in = in, .avail_in = (uInt)len };
	uint8_t *out = NULL, *grown;
	int ret = Z_OK;

	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return NULL;
	while (ret != Z_STREAM_END && (grown = realloc(out, cap))) {
		out = grown;
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret != Z_STREAM_END && ((ret != Z_OK && ret != Z_BUF_ERROR) || zs.avail_out))
			break;
		cap = cap * 2 > IMAGE_MAX ? IMAGE_MAX : cap * 2;
	}
	inflateEnd(&zs);
	free(in);
	*out_len = zs.total_out;
	if (ret == Z_STREAM_END)
		return out;
	free(out);
	return NULL;
}

static int copy_in(const struct boot_file *f, int gzip, uint8_t *dst)
{
	uint8_t *buf = read_whole(f);
	size_t len = f->size;

	if (buf && gzip)
		buf = old_gunzip(buf, len, &len);
	if (!buf)
		return -1;
	memcpy(dst, buf, len);
	free(buf);
	return 0;
}

static int load_copy(const struct boot_files *b, uint8_t *ram)
{
	return copy_in(&b->kernel.file, b->kernel.compressed, ram) ||
	       copy_in(&b->initrd, 0, ram + b->initrd_at);
}

static int load_direct(const struct boot_files *b, uint8_t *ram)
{
	struct guest_ram g = { .memfd = -1, .gpa = RAM_GPA, .size = b->total, .host = ram };

	return kernel_image_load(&b->kernel, &g, RAM_GPA, b->kernel.image_size) ||
	       boot_file_load(&b->initrd, &g, RAM_GPA + b->initrd_at, b->initrd.size);
}

/* A fresh memfd of @size mapped shared, 2 MiB aligned, huge pages advised. */
static uint8_t *fresh_ram(uint64_t size, void **reservation)
{
	int fd = memfd_create("boot-load", MFD_CLOEXEC);
	uint8_t *aligned;

	*reservation = MAP_FAILED;
	if (fd < 0 || ftruncate(fd, (off_t)size))
		goto fail;
	*reservation = mmap(NULL, size + ALIGN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*reservation == MAP_FAILED)
		goto fail;
	aligned = (uint8_t *)align_2m((uintptr_t)*reservation);
	if (mmap(aligned, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
	    MAP_FAILED)
		goto fail;
	madvise(aligned, size, MADV_HUGEPAGE);
	close(fd); /* the mapping keeps it */
	return aligned;
fail:
	perror("boot-load: guest RAM");
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* One round one way: the milliseconds to put both files into fresh RAM; -1 on failure. */
static double load_round(const struct boot_files *b,
			 int (*load)(const struct boot_files *, uint8_t *))
{
	void *reservation;
	uint8_t *ram = fresh_ram(b->total, &reservation);
	double t = now_ms();
	int bad = !ram || load(b, ram);

	t = now_ms() - t;
	if (reservation != MAP_FAILED)
		munmap(reservation, b->total + ALIGN);
	return bad ? -1 : t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int load_probe_main(const char *kernel, const char *initrd, unsigned int rounds)
{
	double copy[MAX_ROUNDS], direct[MAX_ROUNDS];
	struct boot_files b;

	if (!rounds || rounds > MAX_ROUNDS)
		return 2;
	if (kernel_image_probe(kernel, &b.kernel) || boot_file_probe(initrd, "initrd", &b.initrd))
		return 1;
	b.initrd_at = align_2m(b.kernel.image_size);
	b.total = b.initrd_at + align_2m(b.initrd.size);
	load_round(&b, load_copy); /* the files into the page cache */
	for (unsigned int r = 0; r < rounds; r++) {
		copy[r] = load_round(&b, load_copy);
		direct[r] = load_round(&b, load_direct);
		if (copy[r] < 0 || direct[r] < 0)
			return 1;
	}
	printf("load_kernel %s%s\n", kernel, b.kernel.compressed ? " (gzip)" : "");
	printf("load_copy_ms %.1f ms\n", median(copy, rounds));
	printf("load_direct_ms %.1f ms\n", median(direct, rounds));
	boot_file_free(&b.kernel.file);
	boot_file_free(&b.initrd);
	return 0;
}
