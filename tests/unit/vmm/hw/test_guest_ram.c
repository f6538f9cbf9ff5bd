// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM (vmm/hw/guest_ram.h) on a real memfd: how it is mapped, the
 * bounds guest_ram_ptr() draws (every guest-physical range a device
 * touches goes through it), and what guest_ram_discard() accepts and
 * leaves behind.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/hw/guest_ram.h"

#define RAM_GPA	 0x40000000ULL
#define RAM_SIZE (4ULL << 20)
#define RAM_END	 (RAM_GPA + RAM_SIZE)
#define PAGE	 4096ULL

static struct guest_ram ram;

static int setup(void **state)
{
	(void)state;
	return guest_ram_create(&ram, RAM_GPA, RAM_SIZE);
}

static int teardown(void **state)
{
	(void)state;
	guest_ram_destroy(&ram);
	return 0;
}

static bool all_bytes(const void *p, int c, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)c)
			return false;
	return true;
}

static uint8_t *page(unsigned int n)
{
	return ram.host + n * PAGE;
}

/* Pages 0..n-1 filled with 0x10 + their number */
static void fill_pages(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		memset(page(i), 0x10 + i, PAGE);
}

static void test_create(void **state)
{
	struct stat st;
	uint8_t back[16];

	(void)state;
	assert_true(ram.memfd >= 0);
	assert_int_equal(ram.gpa, RAM_GPA);
	assert_int_equal(ram.size, RAM_SIZE);
	assert_int_equal(fstat(ram.memfd, &st), 0);
	assert_int_equal(st.st_size, RAM_SIZE);
	/* 1 GiB aligned, with address space up to the next 1 GiB reserved. */
	assert_int_equal((uintptr_t)ram.host % RAM_HOST_ALIGN, 0);
	assert_ptr_equal(guest_ram_map_end(&ram), ram.host + RAM_HOST_ALIGN);
	assert_true((uint8_t *)ram.reservation <= ram.host);
	assert_true(guest_ram_map_end(&ram) <= (uint8_t *)ram.reservation + ram.reservation_size);
	/* The mapping is the memfd: what the guest writes is in the file. */
	memset(ram.host + RAM_SIZE - 16, 0x5a, 16);
	assert_int_equal(pread(ram.memfd, back, sizeof(back), RAM_SIZE - 16), sizeof(back));
	assert_true(all_bytes(back, 0x5a, sizeof(back)));
	/* Destroying twice is harmless. */
	guest_ram_destroy(&ram);
	assert_int_equal(ram.memfd, -1);
	guest_ram_destroy(&ram);
}

static void test_ptr_bounds(void **state)
{
	(void)state;
	/* The first and the last byte, all of RAM, a range ending exactly at the end */
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_GPA, 1), ram.host);
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_END - 1, 1), ram.host + RAM_SIZE - 1);
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_GPA, RAM_SIZE), ram.host);
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_END - PAGE, PAGE), ram.host + RAM_SIZE - PAGE);
	/* One byte past the end, and ranges that start there or beyond */
	assert_null(guest_ram_ptr(&ram, RAM_END - PAGE, PAGE + 1));
	assert_null(guest_ram_ptr(&ram, RAM_GPA, RAM_SIZE + 1));
	assert_null(guest_ram_ptr(&ram, RAM_END, 1));
	assert_null(guest_ram_ptr(&ram, RAM_END + PAGE, 1));
	/* Below the base, and a range that straddles it */
	assert_null(guest_ram_ptr(&ram, RAM_GPA - 1, 1));
	assert_null(guest_ram_ptr(&ram, RAM_GPA - 1, 2));
	assert_null(guest_ram_ptr(&ram, 0, 1));
	/* len 0: an empty range has no byte outside RAM as long as it starts in it or at its end */
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_GPA, 0), ram.host);
	assert_ptr_equal(guest_ram_ptr(&ram, RAM_END, 0), ram.host + RAM_SIZE);
	assert_null(guest_ram_ptr(&ram, RAM_END + 1, 0));
	assert_null(guest_ram_ptr(&ram, RAM_GPA - 1, 0));
	/* gpa + len past 2^64 wraps to an address inside RAM: still refused */
	assert_null(guest_ram_ptr(&ram, RAM_GPA + PAGE, UINT64_MAX));
	assert_null(guest_ram_ptr(&ram, RAM_GPA + PAGE, UINT64_MAX - PAGE));
	assert_null(
		guest_ram_ptr(&ram, RAM_GPA + PAGE, UINT64_MAX - PAGE + 17)); /* to RAM_GPA + 16 */
	assert_null(guest_ram_ptr(&ram, UINT64_MAX, 2));
	assert_null(guest_ram_ptr(&ram, UINT64_MAX, 0));
}

static void test_discard(void **state)
{
	uint8_t back[PAGE];

	(void)state;
	fill_pages(4);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA + PAGE, 2 * PAGE), 0);
	/* The pages read zeroes, mapped and in the file; their neighbours keep theirs. */
	assert_true(all_bytes(page(0), 0x10, PAGE));
	assert_true(all_bytes(page(1), 0, 2 * PAGE));
	assert_true(all_bytes(page(3), 0x13, PAGE));
	assert_int_equal(pread(ram.memfd, back, PAGE, PAGE), PAGE);
	assert_true(all_bytes(back, 0, PAGE));
	/* and the guest can use the page again */
	memset(page(1), 0x77, PAGE);
	assert_true(all_bytes(page(1), 0x77, PAGE));

	/* The last page of RAM, then all of it */
	memset(page(RAM_SIZE / PAGE - 1), 0x66, PAGE);
	assert_int_equal(guest_ram_discard(&ram, RAM_END - PAGE, PAGE), 0);
	assert_true(all_bytes(page(RAM_SIZE / PAGE - 1), 0, PAGE));
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA, RAM_SIZE), 0);
	assert_true(all_bytes(page(0), 0, 4 * PAGE));
}

static void test_discard_refused(void **state)
{
	(void)state;
	fill_pages(4);
	memset(page(RAM_SIZE / PAGE - 1), 0x66, PAGE);
	/* Not page-aligned: start, length, both */
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA + 1, PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA + 512, PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA, PAGE + 512), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA, 100), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA + 100, 100), -1);
	/* Empty */
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA, 0), -1);
	/* Outside RAM, or partly: past the end, below the base, wrapping */
	assert_int_equal(guest_ram_discard(&ram, RAM_END - PAGE, 2 * PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_END, PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA - PAGE, PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA - PAGE, 2 * PAGE), -1);
	assert_int_equal(guest_ram_discard(&ram, RAM_GPA + PAGE, -PAGE), -1);
	/* and nothing was dropped */
	for (unsigned int i = 0; i < 4; i++)
		assert_true(all_bytes(page(i), 0x10 + i, PAGE));
	assert_true(all_bytes(page(RAM_SIZE / PAGE - 1), 0x66, PAGE));
}

/* RAM that is not a memfd (the virtio unit tests' fake RAM) drops its pages all the same. */
static void test_discard_anonymous(void **state)
{
	struct guest_ram anon = { .memfd = -1, .gpa = RAM_GPA, .size = 4 * PAGE };
	void *map =
		mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(map != MAP_FAILED);
	anon.host = map;
	memset(anon.host, 0x42, 4 * PAGE);
	assert_int_equal(guest_ram_discard(&anon, RAM_GPA + 2 * PAGE, PAGE), 0);
	assert_true(all_bytes(anon.host, 0x42, 2 * PAGE));
	assert_true(all_bytes(anon.host + 2 * PAGE, 0, PAGE));
	assert_true(all_bytes(anon.host + 3 * PAGE, 0x42, PAGE));
	assert_int_equal(guest_ram_discard(&anon, RAM_GPA + 3 * PAGE, 2 * PAGE), -1);
	assert_int_equal(guest_ram_discard(&anon, RAM_GPA + 1, PAGE), -1);
	munmap(map, 4 * PAGE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),		 T(test_ptr_bounds),	    T(test_discard),
		T(test_discard_refused), T(test_discard_anonymous),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
