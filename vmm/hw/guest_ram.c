// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/hw/guest_ram.h"
#include "vmm/util/log.h"
#include "cma/size.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static void advise_huge_pages(const struct guest_ram *ram)
{
	static const char path[] = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
	char mode[128] = "";
	FILE *f;

	/* Only honoured for shmem when the host allows it ("advise" or "always"). */
	if (madvise(ram->host, ram->size, MADV_HUGEPAGE)) {
		pr_warn("madvise(MADV_HUGEPAGE) on guest RAM failed (%s): the host cannot back it "
			"with huge pages; guest memory access will be slower",
			strerror(errno));
		return;
	}
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(mode, sizeof(mode), f) && (strstr(mode, "[never]") || strstr(mode, "[deny]"))) {
		mode[strcspn(mode, "\n")] = '\0';
		pr_warn("host shmem huge pages are off (%s: %s): guest RAM gets 4 KiB pages, which "
			"is slower; echo advise > %s",
			path, mode, path);
	}
	fclose(f);
}

int guest_ram_create(struct guest_ram *ram, uint64_t gpa, uint64_t size)
{
	uint8_t *aligned;

	ram->gpa = gpa;
	ram->size = size;
	ram->memfd = memfd_create("cmavm-guest-ram", MFD_CLOEXEC);
	if (ram->memfd < 0) {
		pr_errno("memfd_create for %llu bytes of guest RAM", (unsigned long long)size);
		return -1;
	}
	if (ftruncate(ram->memfd, (off_t)size)) {
		pr_errno("sizing the guest RAM memfd to %llu bytes", (unsigned long long)size);
		goto err_close;
	}
	/* Reserve address space with slack, then map the memfd at an aligned spot inside it. */
	ram->reservation_size = align_up(size, RAM_HOST_ALIGN) + RAM_HOST_ALIGN;
	ram->reservation = mmap(NULL, ram->reservation_size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram->reservation == MAP_FAILED) {
		pr_errno("reserving %zu bytes of address space for guest RAM",
			 ram->reservation_size);
		goto err_close;
	}
	aligned = (uint8_t *)align_up((uintptr_t)ram->reservation, RAM_HOST_ALIGN);
	ram->host =
		mmap(aligned, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ram->memfd, 0);
	if (ram->host == MAP_FAILED) {
		pr_errno("mapping the guest RAM memfd");
		munmap(ram->reservation, ram->reservation_size);
		goto err_close;
	}
	advise_huge_pages(ram);
	pr_debug("guest RAM: %llu MiB at guest 0x%llx, a memfd mapped shared at host %p (%llu "
		 "MiB aligned, huge pages advised)",
		 (unsigned long long)(size >> 20), (unsigned long long)gpa, (void *)ram->host,
		 (unsigned long long)(RAM_HOST_ALIGN >> 20));
	return 0;

err_close:
	close(ram->memfd);
	ram->memfd = -1;
	return -1;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->memfd < 0)
		return;
	munmap(ram->reservation, ram->reservation_size);
	close(ram->memfd);
	ram->memfd = -1;
}

void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	uint64_t offset;

	if (gpa < ram->gpa)
		return NULL;
	offset = gpa - ram->gpa;
	if (offset > ram->size || len > ram->size - offset)
		return NULL;
	return ram->host + offset;
}

int guest_ram_discard(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	void *host = guest_ram_ptr(ram, gpa, len);

	if (!host || !len || (gpa | len) & (SZ_4K - 1))
		return -1;
	/* RAM that is not a memfd (unit tests) is anonymous: drop its pages instead. */
	if (ram->memfd < 0)
		return madvise(host, len, MADV_DONTNEED);
	return fallocate(ram->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)(gpa - ram->gpa), (off_t)len);
}
