// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live moves: userfaultfd write-protect over the range being moved.
 *
 * While a range is write-protected, a guest write to it (a vCPU through
 * KVM's fault path, or a device's copy into guest memory) waits in the
 * kernel; readers and everything outside the range run on. The engine
 * copies the range, maps the new backing over it and wakes the writers,
 * whose fault is retried on the new pages. Write-protect covers pages the
 * file does not hold yet too (shmem and hugetlbfs keep a marker in the
 * page table), so a first write into a hole waits like any other.
 *
 * Only host kernels with userfaultfd write-protect for shmem and hugetlbfs
 * have this (arm64 from Linux 6.10); the engine probes for it with
 * UFFDIO_API and otherwise pauses the guest for a move (move.c).
 */
#include "cma/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00) /* /dev/userfaultfd, Linux 6.1 */
#endif

#define UFFD_NEEDS UFFD_FEATURE_WP_HUGETLBFS_SHMEM

/*
 * The syscall when this process may (root, or vm.unprivileged_userfaultfd),
 * else /dev/userfaultfd. Never UFFD_USER_MODE_ONLY: KVM's faults come
 * from the kernel, and such a descriptor would answer them with SIGBUS.
 */
static int uffd_new(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), dev;

	if (fd >= 0 || errno != EPERM)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -1;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd;
}

int uffd_open(char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_NEEDS };
	int fd = uffd_new();

	if (fd < 0) {
		snprintf(why, len, "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api) || !(api.features & UFFD_NEEDS)) {
		snprintf(why, len,
			 "this host kernel has no userfaultfd write-protect for shmem and "
			 "hugetlbfs (arm64 has it from Linux 6.10)");
		close(fd);
		return -1;
	}
	return fd;
}

static struct uffdio_range range_of(const uint8_t *host, uint64_t len)
{
	return (struct uffdio_range){ .start = (uintptr_t)host, .len = len };
}

int uffd_register(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	struct uffdio_register reg = { .range = range_of(host, len),
				       .mode = UFFDIO_REGISTER_MODE_WP };

	return ioctl(e->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

void uffd_unregister(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	struct uffdio_range r = range_of(host, len);

	ioctl(e->uffd, UFFDIO_UNREGISTER, &r);
}

/* Write-protect a registered range: from now on its writers wait. */
int uffd_wp(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = range_of(host, len),
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	if (ioctl(e->uffd, UFFDIO_WRITEPROTECT, &wp))
		return -errno;
	e->protected_since = e->last_look = now_ns();
	e->nr_waiting = 0;
	return 0;
}

int uffd_protect(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	int err = uffd_register(e, host, len);

	if (!err) {
		err = uffd_wp(e, host, len);
		if (err)
			uffd_unregister(e, host, len);
	}
	return err;
}

/*
 * Writers that have begun to wait since the last look: each waits since
 * that look at most. Looking often (between chunks of a copy) makes the
 * measured stalls closer to the real ones; they are never smaller.
 */
void uffd_note_writers(struct cma_engine *e)
{
	struct uffd_msg msg;
	uint64_t now = now_ns();

	while (read(e->uffd, &msg, sizeof(msg)) == (ssize_t)sizeof(msg)) {
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		if (e->nr_waiting < UFFD_WAITING_MAX)
			e->waiting_since[e->nr_waiting] = e->last_look;
		e->nr_waiting++;
	}
	e->last_look = now;
}

/* Each writer's stall: from when it was seen (or the protect) to the wake. */
static void count_stalls(struct cma_engine *e, uint64_t woken)
{
	struct cma_stats *s = &e->stats;

	engine_lock(e); /* called without it, during a move */
	for (size_t i = 0; i < e->nr_waiting; i++) {
		uint64_t since = i < UFFD_WAITING_MAX ? e->waiting_since[i] : e->last_look;
		uint64_t ns = woken - (since > e->protected_since ? since : e->protected_since);

		hist_add(s->stall_hist, ns);
		s->stalls++;
		s->stall_ns_total += ns;
		s->stall_ns_last = ns;
		if (ns > s->stall_ns_max)
			s->stall_ns_max = ns;
		note_move_stall(e, ns);
	}
	engine_unlock(e);
	e->nr_waiting = 0;
}

/*
 * After the new backing is mapped: the old range's registration went with
 * its mapping; wake whoever waits, to fault the new pages in.
 */
void uffd_wake(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	struct uffdio_range r = range_of(host, len);
	uint64_t woken;

	uffd_note_writers(e);
	ioctl(e->uffd, UFFDIO_WAKE, &r);
	woken = now_ns();
	uffd_note_writers(e); /* who came in the instant before the wake, woken too */
	count_stalls(e, woken);
}

/* A move that failed before its remap: writers go on, on the old backing. */
void uffd_unprotect(struct cma_engine *e, uint8_t *host, uint64_t len)
{
	struct uffdio_writeprotect wp = { .range = range_of(host, len), .mode = 0 };
	struct uffdio_range r = range_of(host, len);

	uint64_t woken;

	uffd_note_writers(e);
	ioctl(e->uffd, UFFDIO_WRITEPROTECT, &wp); /* wakes the writers too */
	ioctl(e->uffd, UFFDIO_UNREGISTER, &r);
	ioctl(e->uffd, UFFDIO_WAKE, &r);
	woken = now_ns();
	uffd_note_writers(e);
	count_stalls(e, woken);
}
