// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/loader.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/util/file.h"
#include "vmm/util/log.h"
#include "cma/size.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

#define HEADER_SIZE ARM64_IMAGE_HEADER_SIZE
_Static_assert(sizeof(struct arm64_image_header) == HEADER_SIZE, "booting.rst's header");
/* A gzip file is read this much at a time, into a mapping unmapped after. */
#define GZ_CHUNK (128 * 1024)
/* zlib counts in uInt, reads go in size_t: longer spans go in slices. */
#define SLICE (1U << 30)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Open and check a boot file, noting what it is; its descriptor, or -1. */
static int probe_open(const char *path, const char *what, struct boot_file *f)
{
	struct stat st;
	int fd = file_open_regular(path, what, &st);

	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size > BOOT_FILE_MAX || !st.st_size) {
		pr_err("the %s '%s' is %s bytes; expected between 1 byte and 1 GiB", what, path,
		       st.st_size ? "over a billion" : "0");
		goto err;
	}
	f->path = strdup(path);
	if (!f->path) {
		pr_err("out of memory checking the %s '%s'", what, path);
		goto err;
	}
	f->what = what;
	f->size = (uint64_t)st.st_size;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	return fd;
err:
	close(fd);
	return -1;
}

int boot_file_probe(const char *path, const char *what, struct boot_file *f)
{
	int fd;

	memset(f, 0, sizeof(*f));
	fd = probe_open(path, what, f);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void boot_file_free(struct boot_file *f)
{
	free(f->path);
	memset(f, 0, sizeof(*f));
}

/* The file that was probed, open again: -1, said why, if it is another now. */
static int reopen(const struct boot_file *f)
{
	struct stat st;
	int fd = file_open_regular(f->path, f->what, &st);

	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino)
		pr_err("the %s '%s' was replaced by another file after cmavm checked it; start "
		       "cmavm again",
		       f->what, f->path);
	else if ((uint64_t)st.st_size != f->size)
		pr_err("the %s '%s' changed size between the boot plan and the load (%llu bytes, "
		       "now %llu); start cmavm again once it is written",
		       f->what, f->path, (unsigned long long)f->size,
		       (unsigned long long)st.st_size);
	else
		return fd;
	close(fd);
	return -1;
}

/* @len bytes from @off into @dst; -1, said why, on an error or an early end. */
static int read_exact(int fd, const struct boot_file *f, uint8_t *dst, uint64_t off, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, dst + done, min_u64(len - done, SLICE), (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_errno("reading the %s '%s'", f->what, f->path);
			return -1;
		}
		if (!n) {
			pr_err("reading the %s '%s': it ended after %llu of its %llu bytes; was it "
			       "changed while cmavm started?",
			       f->what, f->path, (unsigned long long)(off + done),
			       (unsigned long long)f->size);
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

/* Where the @room bytes at @gpa are; NULL, said why, unless all in guest RAM. */
static uint8_t *guest_dst(const struct boot_file *f, const struct guest_ram *ram, uint64_t gpa,
			  uint64_t room)
{
	uint8_t *dst = guest_ram_ptr(ram, gpa, room);

	if (!dst)
		pr_err("the %s (%llu bytes at 0x%llx) does not fit in guest RAM", f->what,
		       (unsigned long long)room, (unsigned long long)gpa);
	return dst;
}

int boot_file_load(const struct boot_file *f, const struct guest_ram *ram, uint64_t gpa,
		   uint64_t room)
{
	uint8_t *dst = guest_dst(f, ram, gpa, room);
	int fd, ret;

	if (!dst)
		return -1;
	if (f->size > room) {
		pr_err("the %s '%s' (%llu bytes) is larger than the %llu bytes planned for it",
		       f->what, f->path, (unsigned long long)f->size, (unsigned long long)room);
		return -1;
	}
	fd = reopen(f);
	if (fd < 0)
		return -1;
	ret = read_exact(fd, f, dst, 0, f->size);
	close(fd);
	return ret;
}

/*
 * gzip. One inflate loop serves a buffer (gzip_inflate, the fuzzing
 * target) and a file read a chunk at a time (the kernel, into guest RAM).
 */
enum gz_end { GZ_DONE, GZ_FULL, GZ_TRUNCATED, GZ_CORRUPT, GZ_NO_MEMORY, GZ_READ_FAILED };

struct gz {
	z_stream zs;
	int fd;		     /* -1: the input is [data, data + len) */
	const uint8_t *data; /* what is left of the buffer */
	size_t len;
	const struct boot_file *file; /* fd >= 0: the file, read into chunk */
	uint8_t *chunk;
	uint64_t off; /* the next byte of the file to read */
	bool read_failed;
};

static bool is_gzip(const uint8_t *data, size_t size)
{
	return size > 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/* More input for zlib; false at its end, or after a failed read (said why). */
static bool gz_refill(struct gz *g)
{
	size_t n;

	if (g->fd < 0) {
		n = min_u64(g->len, SLICE);
		g->zs.next_in = (Bytef *)g->data;
		g->data += n;
		g->len -= n;
	} else {
		n = min_u64(g->file->size - g->off, GZ_CHUNK);
		if (n && read_exact(g->fd, g->file, g->chunk, g->off, n)) {
			g->read_failed = true;
			return false;
		}
		g->zs.next_in = g->chunk;
		g->off += n;
	}
	g->zs.avail_in = (uInt)n;
	return n > 0;
}

/* Inflate into [@out, @out + @room) until the stream ends or something stops it. */
static enum gz_end gz_run(struct gz *g, uint8_t *out, size_t room)
{
	z_stream *zs = &g->zs;
	size_t given = 0;
	int ret;

	zs->next_out = out;
	zs->avail_out = 0;
	for (;;) {
		if (!zs->avail_out && given < room) {
			zs->avail_out = (uInt)min_u64(room - given, SLICE);
			given += zs->avail_out;
		}
		if (!zs->avail_in && !gz_refill(g))
			return g->read_failed ? GZ_READ_FAILED : GZ_TRUNCATED;
		ret = inflate(zs, Z_NO_FLUSH);
		if (ret == Z_STREAM_END)
			return GZ_DONE;
		if (ret == Z_MEM_ERROR)
			return GZ_NO_MEMORY;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return GZ_CORRUPT;
		/* Input left that needs output: the stream is longer than the room. */
		if (zs->avail_in && !zs->avail_out && given == room)
			return GZ_FULL;
		if (ret == Z_BUF_ERROR && zs->avail_in)
			return GZ_CORRUPT; /* no progress with room and input: never loop */
	}
}

static const char *gz_why(enum gz_end end, const char *zlib_msg)
{
	switch (end) {
	case GZ_DONE:
		return NULL;
	case GZ_FULL:
		return "it inflates to more than the room given to it";
	case GZ_TRUNCATED:
		return "the file is truncated";
	case GZ_CORRUPT:
		return zlib_msg ? zlib_msg : "it is not a gzip stream zlib can inflate";
	case GZ_NO_MEMORY:
		return "out of memory";
	case GZ_READ_FAILED:
		break;
	}
	return "a read failed";
}

const char *gzip_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t room,
			 size_t *out_len)
{
	struct gz g = { .fd = -1, .data = in, .len = in_len };
	enum gz_end end;
	const char *why;

	*out_len = 0;
	if (inflateInit2(&g.zs, 16 + MAX_WBITS) != Z_OK)
		return gz_why(GZ_NO_MEMORY, NULL);
	end = gz_run(&g, out, room);
	why = gz_why(end, g.zs.msg);
	*out_len = g.zs.total_out;
	inflateEnd(&g.zs);
	return why;
}

/* The gzip file open at @fd into @out; how it ended, the bytes made, zlib's word. */
static enum gz_end gz_file(int fd, const struct boot_file *f, uint8_t *out, size_t room,
			   size_t *made, const char **zlib_msg)
{
	struct gz g = { .fd = fd, .file = f };
	enum gz_end end = GZ_NO_MEMORY;

	*made = 0;
	*zlib_msg = NULL;
	g.chunk = mmap(NULL, GZ_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.chunk == MAP_FAILED)
		return end;
	if (inflateInit2(&g.zs, 16 + MAX_WBITS) == Z_OK) {
		end = gz_run(&g, out, room);
		*made = g.zs.total_out;
		*zlib_msg = g.zs.msg;
		inflateEnd(&g.zs);
	}
	munmap(g.chunk, GZ_CHUNK);
	return end;
}

static void gz_failed(const struct boot_file *f, enum gz_end end, const char *zlib_msg)
{
	if (end != GZ_READ_FAILED) /* read_exact() said why */
		pr_err("the %s '%s' looks gzip-compressed but does not inflate: %s", f->what,
		       f->path, gz_why(end, zlib_msg));
}

/*
 * What a gzip file says it inflates to: its trailer's ISIZE (the length,
 * mod 2^32, of its last member). A hint for sizing the Image before it is
 * inflated, taken only when plausible; zlib checks it against the stream.
 */
static uint64_t gzip_isize(int fd, const struct boot_file *f, uint64_t at_least)
{
	uint32_t isize;

	if (f->size < 18 || pread(fd, &isize, 4, (off_t)(f->size - 4)) != 4)
		return at_least;
	isize = le32toh(isize);
	return isize >= at_least && isize <= IMAGE_MAX ? isize : at_least;
}

/*
 * The Image's first bytes into @head (the file's, or inflated from the
 * start of its gzip stream), and into *@bytes the Image's size as far as
 * it is known before loading. 0, or -1 said why.
 */
static int read_head(int fd, struct kernel_image *k, uint8_t head[HEADER_SIZE], uint64_t *bytes)
{
	uint64_t got = min_u64(k->file.size, HEADER_SIZE);
	const char *zlib_msg;
	enum gz_end end;
	size_t made;

	if (read_exact(fd, &k->file, head, 0, got))
		return -1;
	*bytes = k->file.size;
	k->compressed = is_gzip(head, got);
	if (!k->compressed)
		return 0;
	memset(head, 0, HEADER_SIZE);
	end = gz_file(fd, &k->file, head, HEADER_SIZE, &made, &zlib_msg);
	if (end != GZ_DONE && end != GZ_FULL) {
		gz_failed(&k->file, end, zlib_msg);
		return -1;
	}
	*bytes = made < HEADER_SIZE ? made : gzip_isize(fd, &k->file, made);
	return 0;
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

int kernel_image_probe(const char *path, struct kernel_image *k)
{
	uint8_t head[HEADER_SIZE] = { 0 };
	const char *why;
	uint64_t bytes;
	int fd, ret;

	memset(k, 0, sizeof(*k));
	fd = probe_open(path, "kernel", &k->file);
	if (fd < 0)
		return -1;
	ret = read_head(fd, k, head, &bytes);
	close(fd);
	if (ret)
		goto err;
	why = arm64_image_parse(head, bytes, &k->text_offset, &k->image_size);
	memcpy(k->header, head, HEADER_SIZE);
	if (why) {
		pr_err("the kernel '%s' cannot be booted: %s", path, why);
		goto err;
	}
	return 0;
err:
	boot_file_free(&k->file);
	return -1;
}

/* A gzip kernel into guest RAM, in at most @room bytes; its size, or -1. */
static int64_t inflate_kernel(int fd, const struct kernel_image *k, uint8_t *dst, uint64_t room)
{
	const char *zlib_msg;
	enum gz_end end;
	char sz[32];
	size_t made;

	end = gz_file(fd, &k->file, dst, room, &made, &zlib_msg);
	if (end == GZ_DONE)
		return (int64_t)made;
	if (end == GZ_FULL)
		pr_err("the kernel '%s' looks gzip-compressed but does not inflate: it inflates to "
		       "more than the %s its Image header asks for (image_size)",
		       k->file.path, size_str(room, sz));
	else
		gz_failed(&k->file, end, zlib_msg);
	return -1;
}

/* The Image in guest RAM must be the one planned: one rewritten in place is not. */
static int check_loaded(const struct kernel_image *k, const uint8_t *img, uint64_t size)
{
	if (size >= HEADER_SIZE && !memcmp(img, k->header, HEADER_SIZE))
		return 0;
	pr_err("the kernel '%s' changed after cmavm checked it: its Image header is not the one "
	       "planned for; start cmavm again",
	       k->file.path);
	return -1;
}

int kernel_image_load(const struct kernel_image *k, const struct guest_ram *ram, uint64_t gpa,
		      uint64_t room)
{
	uint8_t *dst = guest_dst(&k->file, ram, gpa, room);
	int64_t size;
	int fd;

	if (!dst)
		return -1;
	if (!k->compressed) {
		if (boot_file_load(&k->file, ram, gpa, room))
			return -1;
		return check_loaded(k, dst, k->file.size);
	}
	fd = reopen(&k->file);
	if (fd < 0)
		return -1;
	size = inflate_kernel(fd, k, dst, room);
	close(fd);
	return size < 0 ? -1 : check_loaded(k, dst, (uint64_t)size);
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
