// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MMIO bus (vmm/hw/mmio_bus.h): which device answers an access, at
 * the edges of its region, what an access nobody claims does, and how
 * many regions the bus holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/lib/capture.h"
#include "vmm/hw/mmio_bus.h"

/* What a test device saw last */
struct tdev {
	const char *name;
	unsigned int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t written[8];
	uint8_t answer; /* reads fill the buffer with it */
};

static struct mmio_bus bus;
static struct tdev devs[MMIO_BUS_MAX + 1];

static void tdev_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct tdev *d = opaque;

	d->calls++;
	d->offset = offset;
	d->len = len;
	d->is_write = is_write;
	if (is_write)
		memcpy(d->written, data, len < sizeof(d->written) ? len : sizeof(d->written));
	else
		memset(data, d->answer, len);
}

static int add(unsigned int i, const char *name, uint64_t base, uint64_t size)
{
	struct mmio_device dev = {
		.name = name, .base = base, .size = size, .access = tdev_access, .opaque = &devs[i]
	};

	devs[i].name = name;
	devs[i].answer = (uint8_t)(0xa0 + i);
	return mmio_bus_add(&bus, &dev);
}

static int setup(void **state)
{
	(void)state;
	memset(&bus, 0, sizeof(bus));
	memset(devs, 0, sizeof(devs));
	return 0;
}

static unsigned int total_calls(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i <= MMIO_BUS_MAX; i++)
		n += devs[i].calls;
	return n;
}

static uint32_t read32(uint64_t addr)
{
	uint32_t v = 0xeeeeeeee;

	mmio_bus_access(&bus, addr, (uint8_t *)&v, 4, false);
	return v;
}

/* A one-byte read at @addr must reach device @i at @offset. */
static void assert_reaches(uint64_t addr, unsigned int i, uint64_t offset)
{
	unsigned int before = devs[i].calls;
	uint8_t v = 0;

	mmio_bus_access(&bus, addr, &v, 1, false);
	assert_int_equal(devs[i].calls, before + 1);
	assert_int_equal(devs[i].offset, offset);
	assert_int_equal(devs[i].len, 1);
	assert_false(devs[i].is_write);
	assert_int_equal(v, devs[i].answer);
}

static void test_lookup(void **state)
{
	uint32_t w = 0x12345678;

	(void)state;
	assert_int_equal(add(0, "uart", 0x09000000, 0x1000), 0);
	assert_int_equal(add(1, "virtio0", 0x0a000000, 0x200), 0);
	assert_int_equal(add(2, "virtio1", 0x0a000200, 0x200), 0); /* right after virtio0 */
	assert_int_equal(bus.nr, 3);
	assert_string_equal(bus.dev[1].name, "virtio0");

	/* Each region's first and last byte */
	assert_reaches(0x09000000, 0, 0);
	assert_reaches(0x09000fff, 0, 0xfff);
	assert_reaches(0x0a000000, 1, 0);
	assert_reaches(0x0a0001ff, 1, 0x1ff);
	assert_reaches(0x0a000200, 2, 0);
	assert_reaches(0x0a0003ff, 2, 0x1ff);
	assert_int_equal(total_calls(), 6);

	/* A write reaches its device with its bytes. */
	mmio_bus_access(&bus, 0x0a000270, (uint8_t *)&w, 4, true);
	assert_int_equal(devs[2].calls, 3);
	assert_int_equal(devs[2].offset, 0x70);
	assert_int_equal(devs[2].len, 4);
	assert_true(devs[2].is_write);
	assert_memory_equal(devs[2].written, &w, 4);

	/* Just outside each region nobody answers. */
	assert_int_equal(read32(0x08ffffff), 0);
	assert_int_equal(read32(0x09001000), 0);
	assert_int_equal(read32(0x09ffffff), 0);
	assert_int_equal(read32(0x0a000400), 0);
	assert_int_equal(total_calls(), 7);
}

/* An access that starts in a region but runs past its end reaches nobody. */
static void test_straddling_access_unclaimed(void **state)
{
	uint32_t w = 0x12345678;

	(void)state;
	assert_int_equal(add(0, "a", 0x1000, 0x1000), 0);
	assert_int_equal(add(1, "b", 0x2000, 0x1000), 0);
	assert_int_equal(read32(0x1ffe), 0); /* two bytes of a, two of b */
	mmio_bus_access(&bus, 0x2ffd, (uint8_t *)&w, 4, true);
	assert_int_equal(total_calls(), 0);
	mmio_bus_access(&bus, 0x1ffc, (uint8_t *)&w, 4, true); /* a's last four bytes */
	assert_int_equal(devs[0].calls, 1);
	assert_int_equal(devs[0].offset, 0xffc);
	/* Regions that are empty or wrap around the address space are refused. */
	assert_int_equal(add(2, "empty", 0x5000, 0), -1);
	assert_int_equal(add(2, "wraps", UINT64_MAX - 0xfff, 0x2000), -1);
	assert_int_equal(add(2, "top", UINT64_MAX - 0xfff, 0x1000), 0);
	assert_int_equal(add(3, "under top", UINT64_MAX - 0x1fff, 0x2000), -1);
	assert_int_equal(read32(UINT64_MAX - 3), devs[2].answer * 0x01010101u);
}

static void test_overlap_refused(void **state)
{
	(void)state;
	assert_int_equal(add(0, "a", 0x1000, 0x1000), 0);
	assert_int_equal(add(1, "b", 0x1800, 0x1000), -1); /* its start inside a */
	assert_int_equal(add(1, "b", 0x0800, 0x1000), -1); /* its end inside a */
	assert_int_equal(add(1, "b", 0x0000, 0x4000), -1); /* around a */
	assert_int_equal(add(1, "b", 0x1ff0, 0x10), -1);   /* a's last bytes */
	assert_int_equal(bus.nr, 1);
	assert_int_equal(add(1, "b", 0x2000, 0x1000), 0); /* adjacent is fine */
	assert_int_equal(add(2, "c", 0x0000, 0x1000), 0);
	assert_int_equal(bus.nr, 3);
}

/* Run the bus with stderr captured; returns how many times @needle was printed. */
static unsigned int count_messages(const char *needle, void (*run)(void))
{
	struct capture cap;
	unsigned int n = 0;
	char *text;

	capture_start(&cap, stderr);
	run();
	text = captured(&cap, stderr);
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

static uint8_t unclaimed_read[8];

static void unclaimed_accesses(void)
{
	uint32_t w = 0xdeadbeef;

	memset(unclaimed_read, 0xaa, sizeof(unclaimed_read));
	mmio_bus_access(&bus, 0x5000, unclaimed_read, sizeof(unclaimed_read), false);
	mmio_bus_access(&bus, 0x6000, (uint8_t *)&w, 4, true);
	mmio_bus_access(&bus, 0x0, (uint8_t *)&w, 4, true);
	assert_int_equal(read32(UINT64_MAX - 3), 0);
}

static void test_unclaimed(void **state)
{
	(void)state;
	assert_int_equal(add(0, "a", 0x1000, 0x1000), 0);
	assert_false(bus.warned_unclaimed);
	/* Reads return zeroes, writes go nowhere, and the guest hears of it once. */
	assert_int_equal(count_messages("where no device is", unclaimed_accesses), 1);
	assert_true(bus.warned_unclaimed);
	for (unsigned int i = 0; i < sizeof(unclaimed_read); i++)
		assert_int_equal(unclaimed_read[i], 0);
	assert_int_equal(total_calls(), 0);
	/* and not again */
	assert_int_equal(count_messages("where no device is", unclaimed_accesses), 0);
	/* The device still answers in its region. */
	assert_reaches(0x1000, 0, 0);
}

static void test_full(void **state)
{
	char names[MMIO_BUS_MAX + 1][16];

	(void)state;
	for (unsigned int i = 0; i <= MMIO_BUS_MAX; i++)
		snprintf(names[i], sizeof(names[i]), "dev%u", i);
	for (unsigned int i = 0; i < MMIO_BUS_MAX; i++)
		assert_int_equal(add(i, names[i], 0x100000 + 0x1000ULL * i, 0x1000), 0);
	assert_int_equal(bus.nr, MMIO_BUS_MAX);
	/* One more is refused, however it fits. */
	assert_int_equal(add(MMIO_BUS_MAX, names[MMIO_BUS_MAX], 0x80000000, 0x1000), -1);
	assert_int_equal(bus.nr, MMIO_BUS_MAX);
	assert_int_equal(read32(0x80000000), 0);
	assert_int_equal(devs[MMIO_BUS_MAX].calls, 0);
	/* Every region that made it answers, the last one too. */
	for (unsigned int i = 0; i < MMIO_BUS_MAX; i++)
		assert_reaches(0x100000 + 0x1000ULL * i + 0xfff, i, 0xfff);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lookup),
		T(test_straddling_access_unclaimed),
		T(test_overlap_refused),
		T(test_unclaimed),
		T(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
