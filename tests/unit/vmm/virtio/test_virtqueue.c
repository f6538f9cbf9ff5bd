// SPDX-License-Identifier: GPL-2.0-only
/*
 * The split virtqueue core (vmm/virtio/virtqueue.h), driven as a driver
 * would: rings built by hand in fake guest RAM, then well-formed chains,
 * index wrap-around, notification suppression, and every malformed input
 * a hostile guest could write.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/hw/guest_ram.h"
#include "vmm/virtio/virtqueue.h"

#define RAM_GPA	 0x80000000ULL
#define RAM_SIZE (32ULL << 20) /* room for 256 buffers of 16 MiB: a 4 GiB chain */
#define RAM_END	 (RAM_GPA + RAM_SIZE)

/* Where the test driver puts things, as offsets into RAM. */
#define DESC_OFF     0x0000 /* up to 1024 descriptors */
#define AVAIL_OFF    0x4000
#define USED_OFF     0x5000 /* up to 0x7006 for 1024 entries */
#define INDIRECT_OFF 0x8000 /* indirect tables, 0x1000 apart */
#define DATA_OFF     0x20000
#define SCRATCH_SIZE 0x40000 /* zeroed before every test */

#define F_NEXT	   1
#define F_WRITE	   2
#define F_INDIRECT 4

static struct guest_ram ram;
static struct virtqueue vq;
static struct vq_chain chain;
static uint16_t drv_avail_idx; /* the test driver's copy of avail->idx */

static void *host(uint64_t gpa)
{
	return ram.host + (gpa - RAM_GPA);
}

static uint64_t gpa_of(uint64_t off)
{
	return RAM_GPA + off;
}

static uint16_t *avail_field(unsigned int i) /* 0 flags, 1 idx, 2 + n ring[n] */
{
	return (uint16_t *)host(gpa_of(AVAIL_OFF)) + i;
}

static uint16_t *used_field(unsigned int byte_off)
{
	return (uint16_t *)((uint8_t *)host(gpa_of(USED_OFF)) + byte_off);
}

static uint16_t used_flags(void)
{
	return le16toh(*used_field(0));
}

static uint16_t used_idx(void)
{
	return le16toh(*used_field(2));
}

static uint32_t used_elem(unsigned int slot, unsigned int word)
{
	return le32toh(*(uint32_t *)used_field(4 + 8 * slot + 4 * word));
}

static uint16_t avail_event(void)
{
	return le16toh(*used_field(4 + 8 * vq.size));
}

static void set_used_event(uint16_t v)
{
	*avail_field(2 + vq.size) = htole16(v);
}

static void set_avail_flags(uint16_t v)
{
	*avail_field(0) = htole16(v);
}

static void set_avail_idx(uint16_t v)
{
	drv_avail_idx = v;
	*avail_field(1) = htole16(v);
}

static void write_desc(uint64_t table_gpa, unsigned int i, uint64_t addr, uint32_t len,
		       uint16_t flags, uint16_t next)
{
	uint8_t *d = (uint8_t *)host(table_gpa) + 16 * i;
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	write_desc(gpa_of(DESC_OFF), i, addr, len, flags, next);
}

static uint64_t indirect_table(unsigned int n)
{
	return gpa_of(INDIRECT_OFF + 0x1000 * n);
}

static uint64_t data(unsigned int n)
{
	return gpa_of(DATA_OFF + 0x1000 * n);
}

/* Make chain @head available and publish avail->idx. */
static void offer(uint16_t head)
{
	*avail_field(2 + drv_avail_idx % vq.size) = htole16(head);
	set_avail_idx(drv_avail_idx + 1);
}

static void setup_queue(uint16_t size, bool event_idx)
{
	memset(&vq, 0, sizeof(vq));
	vq.ram = &ram;
	vq.name = "test queue 0";
	vq.size = size;
	vq.desc_gpa = gpa_of(DESC_OFF);
	vq.avail_gpa = gpa_of(AVAIL_OFF);
	vq.used_gpa = gpa_of(USED_OFF);
	vq.event_idx = event_idx;
	vq.indirect = true; /* as if VIRTIO_F_INDIRECT_DESC was negotiated */
	drv_avail_idx = 0;
}

static void start_queue(uint16_t size, bool event_idx)
{
	setup_queue(size, event_idx);
	assert_int_equal(vq_enable(&vq), 0);
	assert_true(vq.enabled);
}

static int group_setup(void **state)
{
	ram.host = aligned_alloc(1 << 21, RAM_SIZE);
	if (!ram.host)
		return -1;
	memset(ram.host, 0, RAM_SIZE); /* guest RAM starts out defined, as a memfd's does */
	ram.gpa = RAM_GPA;
	ram.size = RAM_SIZE;
	ram.memfd = -1;
	return 0;
}

static int group_teardown(void **state)
{
	free(ram.host);
	return 0;
}

static int setup(void **state)
{
	memset(ram.host, 0, SCRATCH_SIZE);
	memset(&chain, 0xa5, sizeof(chain));
	start_queue(16, false);
	return 0;
}

/* The guest's mistake is refused, named, and sticks. */
static void assert_broken(const char *what)
{
	assert_int_equal(vq_pop(&vq, &chain), -1);
	assert_true(vq.broken);
	if (!strstr(vq.broken_reason, "test queue 0: ") || !strstr(vq.broken_reason, what))
		fail_msg("broken_reason \"%s\" does not name the queue and \"%s\"",
			 vq.broken_reason, what);
	assert_int_equal(vq_pop(&vq, &chain), -1);
}

static void assert_enable_refused(const char *what)
{
	assert_int_equal(vq_enable(&vq), -1);
	assert_true(vq.broken);
	assert_false(vq.enabled);
	if (!strstr(vq.broken_reason, "test queue 0: ") || !strstr(vq.broken_reason, what))
		fail_msg("broken_reason \"%s\" does not name the queue and \"%s\"",
			 vq.broken_reason, what);
	assert_int_equal(vq_pop(&vq, &chain), -1);
}

static void assert_buf(unsigned int i, uint64_t gpa, uint32_t len, bool writes)
{
	assert_int_equal(chain.buf[i].gpa, gpa);
	assert_int_equal(chain.buf[i].len, len);
	assert_int_equal(chain.buf[i].device_writes, writes);
	assert_ptr_equal(chain.buf[i].host, host(gpa));
}

/* ---- well-formed chains ---- */

static void test_empty_and_disabled(void **state)
{
	assert_int_equal(vq_pop(&vq, &chain), 0);
	vq_reset(&vq);
	desc(0, data(0), 8, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 0); /* not enabled: nothing taken */
	assert_false(vq.broken);
}

static void test_single_descriptor(void **state)
{
	desc(0, data(0), 64, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.head, 0);
	assert_int_equal(chain.nr, 1);
	assert_int_equal(chain.nr_out, 1);
	assert_int_equal(chain.out_len, 64);
	assert_int_equal(chain.in_len, 0);
	assert_buf(0, data(0), 64, false);
	assert_int_equal(vq.last_avail, 1);
	assert_int_equal(vq_pop(&vq, &chain), 0);
}

static void test_out_in_chain(void **state)
{
	/* Out of table order on purpose: 4 -> 9 -> 2. */
	desc(4, data(0), 16, F_NEXT, 9);
	desc(9, data(1), 100, F_NEXT, 2);
	desc(2, data(2), 1, F_WRITE, 0);
	offer(4);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.nr, 3);
	assert_int_equal(chain.nr_out, 2);
	assert_int_equal(chain.out_len, 116);
	assert_int_equal(chain.in_len, 1);
	assert_buf(0, data(0), 16, false);
	assert_buf(1, data(1), 100, false);
	assert_buf(2, data(2), 1, true);
}

static void test_indirect_chain(void **state)
{
	uint64_t t = indirect_table(0);

	write_desc(t, 0, data(0), 16, F_NEXT, 2);
	write_desc(t, 2, data(1), 512, F_NEXT | F_WRITE, 1);
	write_desc(t, 1, data(2), 1, F_WRITE, 0);
	/* 2.7.5.3.2: the WRITE flag on the table's own descriptor is ignored. */
	desc(7, t, 3 * 16, F_INDIRECT | F_WRITE, 0);
	offer(7);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.head, 7);
	assert_int_equal(chain.nr, 3);
	assert_int_equal(chain.nr_out, 1);
	assert_int_equal(chain.out_len, 16);
	assert_int_equal(chain.in_len, 513);
	assert_buf(0, data(0), 16, false);
	assert_buf(1, data(1), 512, true);
	assert_buf(2, data(2), 1, true);
}

static void test_direct_then_indirect(void **state)
{
	uint64_t t = indirect_table(1);

	write_desc(t, 0, data(1), 32, F_WRITE, 0);
	desc(0, data(0), 8, F_NEXT, 1);
	desc(1, t, 16, F_INDIRECT, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nr, 2);
	assert_int_equal(chain.nr_out, 1);
	assert_buf(0, data(0), 8, false);
	assert_buf(1, data(1), 32, true);
}

/* 2.7.5.3.1: without VIRTIO_F_INDIRECT_DESC negotiated, INDIRECT is the driver's error. */
static void test_indirect_not_negotiated(void **state)
{
	uint64_t t = indirect_table(0);

	vq.indirect = false;
	desc(0, data(0), 8, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1); /* direct chains still go */
	write_desc(t, 0, data(1), 32, F_WRITE, 0);
	desc(1, data(0), 8, F_NEXT, 2);
	desc(2, t, 16, F_INDIRECT, 0);
	offer(1);
	assert_broken("descriptor 2 is INDIRECT, but VIRTIO_F_INDIRECT_DESC was not negotiated");
	assert_int_equal(vq.last_avail, 1);
}

/*
 * Without EVENT_IDX the event fields are not the device's (2.7.7.2,
 * 2.7.10): it neither writes avail_event, whatever it does with
 * notifications, nor reads used_event, which would have held back the
 * interrupt here.
 */
static void test_no_event_fields_without_event_idx(void **state)
{
	*used_field(4 + 8 * 16) = htole16(0xbeef); /* where avail_event would be */
	set_used_event(5);
	for (unsigned int i = 0; i < 3; i++) {
		desc(i, data(i), 8, F_WRITE, 0);
		offer(i);
		vq_notifications(&vq, false);
		assert_int_equal(vq_pop(&vq, &chain), 1);
		vq_notifications(&vq, true);
		assert_int_equal(vq_pop(&vq, &chain), 0);
		vq_push(&vq, chain.head, 8);
		assert_true(vq_should_notify(&vq));
	}
	assert_int_equal(le16toh(*used_field(4 + 8 * 16)), 0xbeef);
	assert_int_equal(used_flags(), 0);
}

/* A device that cannot answer a chain breaks the queue itself: first reason kept. */
static void test_vq_fail(void **state)
{
	desc(0, data(0), 8, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_fail(&vq, "chain from head %u: no status byte", chain.head), -1);
	assert_int_equal(vq_fail(&vq, "a second reason"), -1);
	assert_string_equal(vq.broken_reason, "test queue 0: chain from head 0: no status byte");
	desc(1, data(1), 8, 0, 0);
	offer(1);
	assert_broken("no status byte");
	vq_push(&vq, 0, 0);
	assert_int_equal(used_idx(), 0);
}

static void test_index_wrap(void **state)
{
	unsigned int i;

	vq.last_avail = 65534;
	vq.used_idx = 65534;
	*used_field(2) = htole16(65534);
	set_avail_idx(65534);
	for (i = 0; i < 4; i++) {
		desc(i, data(i), 10 + i, 0, 0);
		offer(i); /* ring slots 14, 15, 0, 1 */
	}
	assert_int_equal(drv_avail_idx, 2);
	for (i = 0; i < 4; i++) {
		assert_int_equal(vq_pop(&vq, &chain), 1);
		assert_int_equal(chain.head, i);
		assert_int_equal(chain.out_len, 10 + i);
		vq_push(&vq, chain.head, 100 + i);
	}
	assert_int_equal(vq_pop(&vq, &chain), 0);
	assert_int_equal(vq.last_avail, 2);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_elem(14, 0), 0);
	assert_int_equal(used_elem(15, 0), 1);
	assert_int_equal(used_elem(0, 0), 2);
	assert_int_equal(used_elem(1, 0), 3);
	assert_int_equal(used_elem(1, 1), 103);
}

static void test_used_ring_after_push(void **state)
{
	vq_push(&vq, 7, 123);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_elem(0, 0), 7);
	assert_int_equal(used_elem(0, 1), 123);
	vq_push(&vq, 3, 0);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_elem(1, 0), 3);
	assert_int_equal(used_elem(1, 1), 0);
	assert_int_equal(used_flags(), 0);
}

/* Several chains given back at once: one used->idx step over all of them. */
static void test_push_n_publishes_once(void **state)
{
	const struct vq_used used[3] = { { 4, 1500 }, { 9, 1500 }, { 2, 60 } };

	vq_push_n(&vq, used, 3);
	assert_int_equal(used_idx(), 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(used_elem(i, 0), used[i].head);
		assert_int_equal(used_elem(i, 1), used[i].len);
	}
	vq_push_n(&vq, used, 0);
	assert_int_equal(used_idx(), 3);
}

/* Chains taken and put back come out again, the same, in the same order. */
static void test_unpop_gives_the_same_chains_again(void **state)
{
	desc(0, data(0), 64, F_WRITE, 0);
	desc(1, data(1), 32, F_WRITE, 0);
	offer(0);
	offer(1);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	vq_unpop(&vq, 2);
	assert_int_equal(vq.last_avail, 0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.head, 0);
	assert_buf(0, data(0), 64, true);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(chain.head, 1);
	assert_int_equal(vq_pop(&vq, &chain), 0);
}

/* ---- used buffer notifications (2.7.7) ---- */

static void test_notify_flags(void **state)
{
	vq_push(&vq, 0, 1);
	assert_true(vq_should_notify(&vq));
	assert_false(vq_should_notify(&vq)); /* nothing new */
	set_avail_flags(1);		     /* VRING_AVAIL_F_NO_INTERRUPT */
	vq_push(&vq, 1, 1);
	assert_false(vq_should_notify(&vq));
	set_avail_flags(0);
	vq_push(&vq, 2, 1);
	assert_true(vq_should_notify(&vq));
	set_used_event(100); /* ignored without EVENT_IDX */
	vq_push(&vq, 3, 1);
	assert_true(vq_should_notify(&vq));
}

static void test_notify_event_idx(void **state)
{
	start_queue(16, true);
	set_avail_flags(1); /* 2.7.7.2: ignored with EVENT_IDX */
	vq_push(&vq, 0, 1);
	assert_true(vq_should_notify(&vq)); /* first: nothing to compare with */
	set_used_event(2);
	vq_push(&vq, 1, 1); /* used->idx 1 -> 2: entry 1 written */
	assert_false(vq_should_notify(&vq));
	vq_push(&vq, 2, 1); /* entry 2 written: the one asked for */
	assert_true(vq_should_notify(&vq));
	set_used_event(4);
	vq_push(&vq, 3, 1);
	vq_push(&vq, 4, 1);
	vq_push(&vq, 5, 1); /* 3 -> 6 covers entry 4 */
	assert_true(vq_should_notify(&vq));
	set_used_event(10);
	vq_push(&vq, 6, 1);
	assert_false(vq_should_notify(&vq));
	assert_false(vq_should_notify(&vq));
}

static void test_notify_event_idx_wrap(void **state)
{
	start_queue(16, true);
	vq.used_idx = vq.signalled_used = 65534;
	vq.signalled_used_valid = true;

	set_used_event(65535);
	vq_push(&vq, 0, 1);
	vq_push(&vq, 1, 1); /* 65534 -> 0 covers entry 65535 */
	assert_int_equal(vq.used_idx, 0);
	assert_true(vq_should_notify(&vq));

	set_used_event(1);
	vq_push(&vq, 2, 1); /* 0 -> 1: entry 0 only */
	assert_false(vq_should_notify(&vq));
	vq_push(&vq, 3, 1); /* 1 -> 2: entry 1 */
	assert_true(vq_should_notify(&vq));

	vq.used_idx = vq.signalled_used = 65535;
	set_used_event(0);
	vq_push(&vq, 4, 1); /* 65535 -> 0: entry 65535, not 0 */
	assert_false(vq_should_notify(&vq));
	vq_push(&vq, 5, 1); /* 0 -> 1: entry 0 */
	assert_true(vq_should_notify(&vq));
}

/* ---- available buffer notifications (2.7.10) ---- */

static void test_notifications_flags(void **state)
{
	vq_notifications(&vq, false);
	assert_int_equal(used_flags(), 1); /* VRING_USED_F_NO_NOTIFY */
	vq_notifications(&vq, true);
	assert_int_equal(used_flags(), 0);
	desc(0, data(0), 8, 0, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
}

static void test_notifications_event_idx(void **state)
{
	unsigned int i;

	start_queue(16, true);
	for (i = 0; i < 3; i++) {
		desc(i, data(i), 8, 0, 0);
		offer(i);
	}
	vq_notifications(&vq, false);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 0);
	assert_int_equal(avail_event(), 65535); /* off: behind what was taken */
	assert_int_equal(used_flags(), 0);	/* 2.7.10: stays 0 with EVENT_IDX */
	vq_notifications(&vq, true);
	assert_int_equal(avail_event(), 3); /* notify when entry 3 is added */
	assert_int_equal(used_flags(), 0);
}

static void test_empty_pop_rearms_avail_event(void **state)
{
	start_queue(16, true);
	desc(0, data(0), 8, 0, 0);
	offer(0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 1);
	assert_int_equal(vq_pop(&vq, &chain), 0);
	assert_int_equal(avail_event(), 2);
}

/* ---- copying ---- */

static void test_chain_read_write(void **state)
{
	char buf[32];
	uint8_t *w0 = host(data(2)), *w1 = host(data(3));

	memcpy(host(data(0)), "abc", 3);
	memcpy(host(data(1)), "defgh", 5);
	desc(0, data(0), 3, F_NEXT, 1);
	desc(1, data(1), 5, F_NEXT, 2);
	desc(2, data(2), 4, F_NEXT | F_WRITE, 3);
	desc(3, data(3), 4, F_WRITE, 0);
	offer(0);
	assert_int_equal(vq_pop(&vq, &chain), 1);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(vq_chain_read(&chain, 2, buf, 4), 4);
	assert_memory_equal(buf, "cdef", 4);
	assert_int_equal(vq_chain_read(&chain, 0, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	assert_int_equal(vq_chain_read(&chain, 7, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'h');
	assert_int_equal(vq_chain_read(&chain, 8, buf, sizeof(buf)), 0);
	assert_int_equal(vq_chain_read(&chain, UINT64_MAX, buf, sizeof(buf)), 0);

	assert_int_equal(vq_chain_write(&chain, 3, "WXYZ", 4), 4);
	assert_memory_equal(w0, "\0\0\0W", 4);
	assert_memory_equal(w1, "XYZ\0", 4);
	assert_int_equal(vq_chain_write(&chain, 6, "123456", 6), 2);
	assert_memory_equal(w1, "XY12", 4);
	assert_int_equal(vq_chain_write(&chain, 8, "x", 1), 0);
	/* Nothing written past the writable part, nothing into the readable one. */
	assert_int_equal(w1[4], 0);
	assert_memory_equal(host(data(1)), "defgh", 5);
}

/* ---- a hostile driver: vq_pop ---- */

static void test_avail_idx_too_far_ahead(void **state)
{
	desc(0, data(0), 8, 0, 0);
	set_avail_idx(17);
	assert_broken("17 entries past the 0 taken, more than the queue size 16");
}

static void test_head_out_of_range(void **state)
{
	offer(16);
	assert_broken("head 16 is not below the queue size 16");
}

static void test_next_out_of_range(void **state)
{
	desc(0, data(0), 8, F_NEXT, 16);
	offer(0);
	assert_broken("next 16 is not below the queue size 16");
}

static void test_direct_loop(void **state)
{
	desc(0, data(0), 8, F_NEXT, 1);
	desc(1, data(1), 8, F_NEXT, 0);
	offer(0);
	assert_broken("chain from head 0 loops");
}

static void test_chain_too_long(void **state)
{
	unsigned int i;

	start_queue(512, false);
	for (i = 0; i <= VQ_CHAIN_MAX; i++)
		desc(i, data(0), 8, F_NEXT, i + 1);
	desc(VQ_CHAIN_MAX, data(0), 8, 0, 0); /* 257 descriptors, no loop */
	offer(0);
	assert_broken("more than 256 buffers");
}

static void test_chain_too_long_with_indirect(void **state)
{
	uint64_t t = indirect_table(0);
	unsigned int i;

	for (i = 0; i < VQ_CHAIN_MAX; i++)
		write_desc(t, i, data(0), 8, i + 1 < VQ_CHAIN_MAX ? F_NEXT : 0, i + 1);
	desc(0, data(0), 8, F_NEXT, 1);
	desc(1, t, VQ_CHAIN_MAX * 16, F_INDIRECT, 0);
	offer(0);
	assert_broken("more than 256 buffers");
}

static void test_buffer_outside_ram(void **state)
{
	desc(0, RAM_END - 8, 16, 0, 0);
	offer(0);
	assert_broken("buffer 0x81fffff8+0x10 is not inside guest RAM");
}

static void test_buffer_below_ram(void **state)
{
	desc(0, RAM_GPA - 4, 8, 0, 0);
	offer(0);
	assert_broken("is not inside guest RAM");
}

static void test_buffer_wraps(void **state)
{
	desc(0, UINT64_MAX - 15, 0x20, 0, 0);
	offer(0);
	assert_broken("wraps around the address space");
}

static void test_zero_length_buffer(void **state)
{
	desc(0, data(0), 8, F_NEXT, 1);
	desc(1, data(1), 0, F_WRITE, 0);
	offer(0);
	assert_broken("zero-length buffer");
}

static void test_total_length_overflow(void **state)
{
	uint64_t t = indirect_table(0);
	unsigned int i;

	/* 256 readable buffers of 16 MiB, all the same RAM: 2^32 bytes in total. */
	for (i = 0; i < VQ_CHAIN_MAX; i++)
		write_desc(t, i, RAM_GPA + (16 << 20), 16 << 20, i + 1 < VQ_CHAIN_MAX ? F_NEXT : 0,
			   i + 1);
	desc(0, t, VQ_CHAIN_MAX * 16, F_INDIRECT, 0);
	offer(0);
	assert_broken("longer than 4 GiB");
}

static void test_readable_after_writable(void **state)
{
	desc(0, data(0), 8, F_NEXT | F_WRITE, 1);
	desc(1, data(1), 8, 0, 0);
	offer(0);
	assert_broken("device-readable buffer 0x80021000 after a device-writable one");
}

static void test_indirect_with_next(void **state)
{
	write_desc(indirect_table(0), 0, data(0), 8, 0, 0);
	desc(0, indirect_table(0), 16, F_INDIRECT | F_NEXT, 1);
	desc(1, data(1), 8, 0, 0);
	offer(0);
	assert_broken("descriptor 0 has both INDIRECT and NEXT");
}

static void test_indirect_len_zero(void **state)
{
	desc(0, indirect_table(0), 0, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table length 0 is not a positive multiple of 16");
}

static void test_indirect_len_not_multiple(void **state)
{
	desc(0, indirect_table(0), 24, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table length 24 is not a positive multiple of 16");
}

static void test_indirect_too_many_entries(void **state)
{
	desc(0, indirect_table(0), (VQ_CHAIN_MAX + 1) * 16, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table length 4112 is more than 256 entries");
}

static void test_indirect_outside_ram(void **state)
{
	desc(0, RAM_END - 16, 32, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table 0x81fffff0+0x20 is not inside guest RAM");
}

static void test_indirect_wraps(void **state)
{
	desc(0, UINT64_MAX - 15, 32, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table 0xfffffffffffffff0+0x20 wraps around");
}

static void test_nested_indirect(void **state)
{
	write_desc(indirect_table(0), 0, data(0), 8, F_NEXT, 1);
	write_desc(indirect_table(0), 1, indirect_table(1), 16, F_INDIRECT, 0);
	write_desc(indirect_table(1), 0, data(1), 8, 0, 0);
	desc(0, indirect_table(0), 32, F_INDIRECT, 0);
	offer(0);
	assert_broken("nested indirect table");
}

static void test_indirect_loop(void **state)
{
	uint64_t t = indirect_table(0);

	write_desc(t, 0, data(0), 8, F_NEXT, 1);
	write_desc(t, 1, data(1), 8, F_NEXT, 0);
	desc(0, t, 4 * 16, F_INDIRECT, 0);
	offer(0);
	assert_broken("indirect table loops");
}

static void test_indirect_next_out_of_table(void **state)
{
	uint64_t t = indirect_table(0);

	write_desc(t, 0, data(0), 8, F_NEXT, 2); /* a real descriptor lies there, beyond len */
	write_desc(t, 2, data(1), 8, 0, 0);
	desc(0, t, 2 * 16, F_INDIRECT, 0);
	offer(0);
	assert_broken("next 2 is outside the table of 2");
}

static void test_broken_stays_broken(void **state)
{
	offer(16);
	assert_broken("head 16");
	vq_push(&vq, 0, 1); /* no-op */
	assert_int_equal(used_idx(), 0);
	assert_int_equal(vq.used_idx, 0);
	assert_false(vq_should_notify(&vq));
	desc(0, data(0), 8, 0, 0);
	*avail_field(2) = htole16(0); /* repaired: still broken */
	assert_broken("head 16");
	assert_int_equal(vq_enable(&vq), -1);
	vq_reset(&vq);
	assert_false(vq.broken);
	assert_string_equal(vq.broken_reason, "");
	assert_int_equal(vq_enable(&vq), 0);
	assert_int_equal(vq_pop(&vq, &chain), 1);
}

/* ---- a hostile driver: vq_enable ---- */

static void test_enable_size_zero(void **state)
{
	setup_queue(0, false);
	assert_enable_refused("queue size 0");
}

static void test_enable_size_not_power_of_2(void **state)
{
	setup_queue(24, false);
	assert_enable_refused("queue size 24 is not a power of 2");
}

static void test_enable_size_too_large(void **state)
{
	setup_queue(2 * VQ_MAX_SIZE, false);
	assert_enable_refused("queue size 2048 is larger");
}

static void test_enable_desc_misaligned(void **state)
{
	setup_queue(16, false);
	vq.desc_gpa += 8;
	assert_enable_refused("descriptor table at 0x80000008 is not 16-byte aligned");
}

static void test_enable_avail_misaligned(void **state)
{
	setup_queue(16, false);
	vq.avail_gpa += 1;
	assert_enable_refused("available ring at 0x80004001 is not 2-byte aligned");
}

static void test_enable_used_misaligned(void **state)
{
	setup_queue(16, false);
	vq.used_gpa += 2;
	assert_enable_refused("used ring at 0x80005002 is not 4-byte aligned");
}

static void test_enable_ring_outside_ram(void **state)
{
	setup_queue(16, false);
	vq.used_gpa = RAM_END - 128; /* the used ring needs 132 bytes */
	assert_enable_refused("used ring at 0x81ffff80 (132 bytes) is not inside guest RAM");
}

static void test_enable_ring_below_ram(void **state)
{
	setup_queue(16, false);
	vq.avail_gpa = 0x1000;
	assert_enable_refused("available ring at 0x1000 (36 bytes) is not inside guest RAM");
}

/*
 * used_event and avail_event exist only with EVENT_IDX (2.7.6, 2.7.8):
 * without it, rings that end exactly at the end of RAM are whole; with
 * it, the same rings lack their last two bytes.
 */
static void test_enable_rings_at_ram_end(void **state)
{
	setup_queue(16, false);
	vq.avail_gpa = RAM_END - 36;
	vq.used_gpa = RAM_END - 4096;
	assert_int_equal(vq_enable(&vq), 0);
	vq_reset(&vq);
	vq.used_gpa = RAM_END - 132;
	vq.avail_gpa = gpa_of(AVAIL_OFF);
	assert_int_equal(vq_enable(&vq), 0);

	setup_queue(16, true);
	vq.used_gpa = RAM_END - 132;
	assert_enable_refused("used ring at 0x81ffff7c (134 bytes) is not inside guest RAM");
	setup_queue(16, true);
	vq.avail_gpa = RAM_END - 36;
	assert_enable_refused("available ring at 0x81ffffdc (38 bytes) is not inside guest RAM");
}

static void test_enable_ring_wraps(void **state)
{
	setup_queue(16, false);
	vq.desc_gpa = 0xffffffffffffff80ULL; /* + 256 bytes wraps past 2^64 */
	assert_enable_refused("descriptor table at 0xffffffffffffff80 (256 bytes) wraps around");
}

/* ---- a random driver ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint64_t gpa, uint64_t len)
{
	uint8_t *p = host(gpa);
	uint64_t i, r = 0;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			r = rnd();
		p[i] = r >> (8 * (i % 8));
	}
}

/* Addresses that hit the interesting places: the rings, RAM's edges, anywhere. */
static uint64_t fuzz_addr(void)
{
	switch (rnd() % 5) {
	case 0:
		return rnd();
	case 1:
		return RAM_GPA + rnd() % RAM_SIZE;
	case 2:
		return RAM_END - rnd() % 64;
	case 3:
		return RAM_GPA - rnd() % 64;
	default:
		return gpa_of(INDIRECT_OFF + rnd() % 0x2000);
	}
}

static uint32_t fuzz_len(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 64;
	default:
		return 16 * (rnd() % 300) + (rnd() % 8 == 0);
	}
}

/* A descriptor a driver might well have written: in RAM, small, chained on. */
static void plausible_desc(uint64_t table_gpa, unsigned int i, unsigned int next_range)
{
	uint16_t flags = (rnd() % 4 ? F_NEXT : 0) | (rnd() % 4 ? 0 : F_WRITE);

	if (rnd() % 16 == 0)
		write_desc(table_gpa, i, gpa_of(INDIRECT_OFF + 16 * (rnd() % 256)),
			   16 * (1 + rnd() % 32), F_INDIRECT, 0);
	else
		write_desc(table_gpa, i, gpa_of(DATA_OFF + rnd() % 0x10000), 1 + rnd() % 512, flags,
			   rnd() % (next_range + 1));
}

/* Random descriptors: some pure noise, some wild, most plausible. */
static void fuzz_table(uint64_t table_gpa, unsigned int n, unsigned int next_range)
{
	unsigned int i;

	fill_random(table_gpa, 16 * (uint64_t)n);
	for (i = 0; i < n; i++) {
		switch (rnd() % 8) {
		case 0:
			break; /* noise */
		case 1:
			write_desc(table_gpa, i, fuzz_addr(), fuzz_len(), rnd() & 7,
				   rnd() % (next_range + 2));
			break;
		default:
			plausible_desc(table_gpa, i, next_range);
			break;
		}
	}
}

/* Random avail ring, its heads mostly in range so that chains get followed. */
static void fuzz_avail_ring(uint16_t size)
{
	unsigned int i;

	fill_random(gpa_of(AVAIL_OFF), 6 + 2 * (uint64_t)size);
	for (i = 0; i < size; i++)
		if (rnd() % 16)
			*avail_field(2 + i) = htole16(rnd() % (size + 1));
}

static void fuzz_ring_addresses(void)
{
	if (rnd() % 8)
		return;
	switch (rnd() % 3) {
	case 0:
		vq.desc_gpa = fuzz_addr();
		break;
	case 1:
		vq.avail_gpa = fuzz_addr();
		break;
	default:
		vq.used_gpa = fuzz_addr();
		break;
	}
}

static void check_fuzzed_chain(void)
{
	uint64_t out = 0, in = 0;
	unsigned int i;

	assert_true(chain.nr >= 1 && chain.nr <= VQ_CHAIN_MAX);
	assert_true(chain.nr_out <= chain.nr);
	assert_true(chain.head < vq.size);
	for (i = 0; i < chain.nr; i++) {
		const struct vq_buf *b = &chain.buf[i];

		assert_true(b->len > 0);
		assert_true(b->gpa >= RAM_GPA && b->gpa < RAM_END);
		assert_true(b->len <= RAM_END - b->gpa);
		assert_ptr_equal(b->host, host(b->gpa));
		assert_int_equal(b->device_writes, i >= chain.nr_out);
		if (b->device_writes)
			in += b->len;
		else
			out += b->len;
	}
	assert_int_equal(out, chain.out_len);
	assert_int_equal(in, chain.in_len);
	assert_true(out + in <= UINT32_MAX);
}

static void fuzz_one(void)
{
	uint16_t size = 1 << (rnd() % 11);
	unsigned int i, popped = 0;
	int r;

	vq_reset(&vq);
	setup_queue(size, rnd() & 1);
	fuzz_ring_addresses();
	fuzz_table(gpa_of(DESC_OFF), size, size);
	fuzz_table(gpa_of(INDIRECT_OFF), 0x2000 / 16, 256);
	fuzz_avail_ring(size);
	fill_random(gpa_of(USED_OFF), 6 + 8 * (uint64_t)size);
	if (vq_enable(&vq)) {
		assert_true(vq.broken);
		assert_int_equal(vq_pop(&vq, &chain), -1);
		return;
	}
	vq.last_avail = rnd();
	if (rnd() % 8) /* mostly sane distances, sometimes anything */
		set_avail_idx(vq.last_avail + rnd() % (size + 1));
	if (vq.event_idx && rnd() % 2)
		vq_notifications(&vq, false);
	for (i = 0; i < 2u * size + 2; i++) {
		r = vq_pop(&vq, &chain);
		if (r != 1)
			break;
		check_fuzzed_chain();
		popped++;
		vq_chain_write(&chain, rnd() % 64, "fuzz", 4);
		vq_push(&vq, chain.head, rnd());
		vq_should_notify(&vq);
	}
	if (r == -1)
		assert_true(vq.broken && strstr(vq.broken_reason, "test queue 0: "));
	vq_notifications(&vq, true);
	vq_pop(&vq, &chain);
}

static void test_fuzz(void **state)
{
	unsigned int i;

	for (i = 0; i < 20000; i++)
		fuzz_one();
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_and_disabled),
		T(test_single_descriptor),
		T(test_out_in_chain),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_indirect_not_negotiated),
		T(test_vq_fail),
		T(test_no_event_fields_without_event_idx),
		T(test_index_wrap),
		T(test_used_ring_after_push),
		T(test_push_n_publishes_once),
		T(test_unpop_gives_the_same_chains_again),
		T(test_notify_flags),
		T(test_notify_event_idx),
		T(test_notify_event_idx_wrap),
		T(test_notifications_flags),
		T(test_notifications_event_idx),
		T(test_empty_pop_rearms_avail_event),
		T(test_chain_read_write),
		T(test_avail_idx_too_far_ahead),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_direct_loop),
		T(test_chain_too_long),
		T(test_chain_too_long_with_indirect),
		T(test_buffer_outside_ram),
		T(test_buffer_below_ram),
		T(test_buffer_wraps),
		T(test_zero_length_buffer),
		T(test_total_length_overflow),
		T(test_readable_after_writable),
		T(test_indirect_with_next),
		T(test_indirect_len_zero),
		T(test_indirect_len_not_multiple),
		T(test_indirect_too_many_entries),
		T(test_indirect_outside_ram),
		T(test_indirect_wraps),
		T(test_nested_indirect),
		T(test_indirect_loop),
		T(test_indirect_next_out_of_table),
		T(test_broken_stays_broken),
		T(test_enable_size_zero),
		T(test_enable_size_not_power_of_2),
		T(test_enable_size_too_large),
		T(test_enable_desc_misaligned),
		T(test_enable_avail_misaligned),
		T(test_enable_used_misaligned),
		T(test_enable_ring_outside_ram),
		T(test_enable_ring_below_ram),
		T(test_enable_rings_at_ram_end),
		T(test_enable_ring_wraps),
		T(test_fuzz),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
