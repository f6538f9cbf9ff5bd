// SPDX-License-Identifier: GPL-2.0-only
/*
 * The files behind guest memory: making them (an ordinary memfd, a hugetlb
 * memfd of 2 MiB or 1 GiB pages), mapping them (over guest RAM, or apart
 * at a 2 MiB boundary), punching their pages out, and what to tell a
 * user whose host has no memory for them.
 */
#include "cma/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t file_page_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) || st.st_blksize <= 0 ? CMA_PAGE : (uint64_t)st.st_blksize;
}

/*
 * Huge pages exist already (populated, copied into): MAP_POPULATE maps them
 * now, sparing the guest the faults and letting pagemap see them at once.
 * An ordinary file is mapped lazily: populating it would fill its holes.
 */
int map_over(uint8_t *host, uint64_t len, int fd, uint64_t off)
{
	int populate = file_page_size(fd) > CMA_PAGE ? MAP_POPULATE : 0;
	void *p = mmap(host, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | populate, fd,
		       (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM asks for transparent huge pages (guest_ram.c): keep asking. */
	madvise(host, len, MADV_HUGEPAGE);
	return 0;
}

const char *no_memory_hint(uint64_t page_size)
{
	if (page_size == GIGANTIC)
		return "the host has no free 1 GiB huge page: boot it with hugepagesz=1G "
		       "hugepages=N (see HugePages_Free in /proc/meminfo)";
	if (page_size == CMA_HUGE_PAGE)
		return "the host has too few free 2 MiB huge pages: echo N > "
		       "/proc/sys/vm/nr_hugepages (see HugePages_Free in /proc/meminfo)";
	return "the host is out of memory";
}

void punch(int fd, uint64_t off, uint64_t len)
{
	if (fd >= 0)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

int memfd_sized(const char *name, unsigned int flags, uint64_t size)
{
	int fd = memfd_create(name, flags), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int alloc_backing(struct cma_engine *e, uint64_t size, uint64_t page_size)
{
	unsigned int flags =
		MFD_CLOEXEC | MFD_HUGETLB | (page_size == GIGANTIC ? MFD_HUGE_1GB : MFD_HUGE_2MB);

	if (e->hooks.alloc_backing)
		return e->hooks.alloc_backing(e->hooks.opaque, size, page_size);
	return memfd_sized("cmavm-window", flags, size);
}

/*
 * What mmap() maps for @len bytes of @fd: whole huge pages of a hugetlb file
 * (its st_blksize is the huge page size), just @len of an ordinary memfd (as
 * tests give), where unmapping more would unmap the neighbours.
 */
uint64_t mapped_len(int fd, uint64_t len)
{
	uint64_t page = file_page_size(fd);

	return (len + page - 1) & ~(page - 1);
}

/* Did a failed MAP_FIXED leave the old mapping in place? (ENOMEM can come first.) */
bool still_mapped(uint8_t *host)
{
	unsigned char v;

	return !mincore(host, CMA_PAGE, &v) || errno != ENOMEM;
}

/*
 * @len bytes of @fd from @off mapped at a 2 MiB-aligned address, so that a
 * file on huge pages (shmem with transparent huge pages, hugetlbfs) is
 * mapped a whole huge page at a time. NULL on failure.
 */
uint8_t *map_aligned(uint64_t len, int prot, int fd, uint64_t off)
{
	uint64_t slack = CMA_HUGE_PAGE;
	uint8_t *resv = mmap(NULL, len + slack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *at;

	if (resv == MAP_FAILED)
		return NULL;
	at = (uint8_t *)(((uintptr_t)resv + slack - 1) & ~(uintptr_t)(slack - 1));
	if (at > resv)
		munmap(resv, (size_t)(at - resv));
	munmap(at + len, (size_t)(resv + len + slack - (at + len)));
	if (mmap(at, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off) == MAP_FAILED) {
		munmap(at, len);
		return NULL;
	}
	madvise(at, len, MADV_HUGEPAGE);
	return at;
}
