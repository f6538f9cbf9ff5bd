// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/guest.h"

#include <ctype.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cma/size.h"
#include "vmm/machine/loader.h"
#include "vmm/util/file.h"
#include "vmm/util/log.h"

#define IMAGE_FLAGS_OFFSET 24 /* le64 flags in the Image header */
#define PAGE_SIZE_SHIFT	   1  /* bits 1-2: 0 unspecified, 1 4K, 2 16K, 3 64K */
#define BANNER		   "Linux version "
#define SCAN_CHUNK	   (1u << 20)

uint64_t arm64_image_page_size(const uint8_t *header)
{
	static const uint64_t sizes[] = { 0, SZ_4K, 4 * SZ_4K, SZ_64K };
	uint64_t flags;

	memcpy(&flags, header + IMAGE_FLAGS_OFFSET, sizeof(flags));
	return sizes[(le64toh(flags) >> PAGE_SIZE_SHIFT) & 3];
}

int guest_page_size_settle(const struct kernel_image *k, const char *flag_name, uint64_t flag,
			   uint64_t *page_size)
{
	uint64_t header = arm64_image_page_size(k->header);
	char a[32], b[32];

	if (header && flag && flag != header) {
		pr_err("%s %s: the kernel '%s' says in its Image header that its pages are %s; "
		       "drop %s (it is for kernels whose header does not say)",
		       flag_name, size_str(flag, a), k->file.path, size_str(header, b), flag_name);
		return -1;
	}
	*page_size = header ? header : flag ? flag : SZ_4K;
	if (!header && !flag)
		pr_info("the kernel '%s' does not say its page size in its Image header: "
			"assuming 4 KiB pages (pass %s 16K or 64K if it has larger ones)",
			k->file.path, flag_name);
	return 0;
}

/* The version after BANNER at @p (at most @avail bytes), into @out; 0 if it is one. */
static int banner_version(const char *p, size_t avail, char *out, size_t len)
{
	size_t n = 0;

	if (!avail || !isdigit((unsigned char)*p))
		return -1;
	while (n < avail && n + 1 < len &&
	       (isalnum((unsigned char)p[n]) || (p[n] && strchr(".+-_~", p[n]))))
		n++;
	if (n == avail || p[n] != ' ')
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Look for the banner in @buf; chunks overlap by a banner's length and a version's. */
static int scan_chunk(const char *buf, size_t got, char *out, size_t len)
{
	const char *p = buf, *end = buf + got;

	while ((p = memmem(p, (size_t)(end - p), BANNER, strlen(BANNER)))) {
		p += strlen(BANNER);
		if (!banner_version(p, (size_t)(end - p), out, len))
			return 0;
	}
	return KERNEL_VERSION_NONE;
}

static int scan_file(int fd, const char *path, char *out, size_t len)
{
	const size_t overlap = strlen(BANNER) + 64;
	char *buf = malloc(SCAN_CHUNK + overlap);
	size_t keep = 0, have;
	ssize_t got = 0;
	int ret = KERNEL_VERSION_NONE;

	if (!buf) {
		pr_err("out of memory reading the kernel '%s'", path);
		return -1;
	}
	while (ret == KERNEL_VERSION_NONE && (got = read(fd, buf + keep, SCAN_CHUNK)) > 0) {
		have = keep + (size_t)got;
		ret = scan_chunk(buf, have, out, len);
		keep = have < overlap ? have : overlap;
		memmove(buf, buf + have - keep, keep);
	}
	if (got < 0) {
		pr_errno("cannot read the kernel '%s'", path);
		ret = -1;
	}
	free(buf);
	return ret;
}

int kernel_image_version(const char *path, char *out, size_t len)
{
	struct stat st;
	unsigned char magic[2];
	int fd = file_open_regular(path, "kernel", &st), ret;

	if (fd < 0)
		return -1;
	if (pread(fd, magic, sizeof(magic), 0) == sizeof(magic) && magic[0] == 0x1f &&
	    magic[1] == 0x8b) {
		close(fd);
		return KERNEL_VERSION_GZIP;
	}
	ret = scan_file(fd, path, out, len);
	close(fd);
	return ret;
}

int guest_series_of_version(const char *version, enum guest_series *series)
{
	unsigned int major, minor;
	char next;

	if (sscanf(version, "%u.%u%c", &major, &minor, &next) < 2 || major < 5 ||
	    (major == 5 && minor < 18))
		return -1;
	*series = major > 6 || (major == 6 && minor >= 12) ? GUEST_LINUX_6_12 : GUEST_LINUX_6_1;
	return (major == 6 && (minor == 1 || minor == 12)) ? 0 : 1;
}
