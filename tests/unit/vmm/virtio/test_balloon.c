// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon (vmm/virtio/balloon.c): inflate and deflate against fake
 * guest RAM, the statistics queue and its interval, free page reporting,
 * and the config space the host and the driver share.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "tests/unit/vmm/virtio/harness.h"

#define BALLOON_OFF (12ULL << 20) /* the pages the balloon tests give back */

/* The balloon's queues with every feature taken */
#define BQ_INFLATE   0
#define BQ_DEFLATE   1
#define BQ_STATS     2
#define BQ_REPORTING 3

static uint64_t balloon_page(unsigned int n)
{
	return RAM_GPA + BALLOON_OFF + (uint64_t)n * PAGE;
}

static void fill_pages(unsigned int first, unsigned int n)
{
	for (unsigned int i = first; i < first + n; i++)
		memset(hp(balloon_page(i)), 0x30 + i, PAGE);
}

/* A device-readable buffer of le32 PFNs on @q */
static void send_pfns(struct tdev *t, unsigned int q, const uint64_t *gpas, unsigned int n)
{
	uint64_t buf = galloc(t, 4 * n);
	struct tbuf b = { buf, 4 * n, false };

	for (unsigned int i = 0; i < n; i++)
		put32(buf + 4 * i, (uint32_t)(gpas[i] >> 12));
	assert_int_equal(request(t, q, &b, 1), 0);
}

static void assert_needs_reset(struct tdev *t)
{
	assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
}

static const uint64_t balloon_features = BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ) |
					 BIT_ULL(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
					 BIT_ULL(VIRTIO_BALLOON_F_REPORTING);

static void test_balloon_inflate_deflate(void **state)
{
	struct tdev *t = add_balloon(0);
	uint64_t pages[3] = { balloon_page(1), balloon_page(2), balloon_page(4) };
	/* below RAM; RAM's last page and the first one past it; far out */
	uint64_t bad[4] = { 0x1000, RAM_END - PAGE, RAM_END, 0xfffff000ULL << 12 };

	(void)state;
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	assert_int_equal(device_features(t) & balloon_features, balloon_features);
	handshake(t, balloon_features);
	fill_pages(0, 6);
	send_pfns(t, BQ_INFLATE, pages, 3);
	for (unsigned int i = 0; i < 6; i++)
		assert_true(all_bytes(hp(balloon_page(i)),
				      (i == 1 || i == 2 || i == 4) ? 0 : 0x30 + i, PAGE));
	assert_int_equal(counter(t, "inflated_pages"), 3);
	assert_int_equal(counter(t, "bad_pages"), 0);

	/*
	 * PFNs outside RAM are counted, not followed; RAM's last page, in a
	 * run with the first page past the end, is still given back.
	 */
	memset(hp(RAM_END - PAGE), 0x66, PAGE);
	memset(hp(RAM_END - 2 * PAGE), 0x67, PAGE);
	send_pfns(t, BQ_INFLATE, bad, 4);
	assert_int_equal(counter(t, "bad_pages"), 3);
	assert_int_equal(counter(t, "discard_failures"), 0);
	assert_true(all_bytes(hp(RAM_END - PAGE), 0, PAGE));
	assert_true(all_bytes(hp(RAM_END - 2 * PAGE), 0x67, PAGE));
	assert_int_equal(counter(t, "inflated_pages"), 7);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Deflate only counts: the pages come back when touched. */
	send_pfns(t, BQ_DEFLATE, pages, 2);
	assert_int_equal(counter(t, "deflated_pages"), 2);
	memset(hp(balloon_page(1)), 1, PAGE);
	assert_true(all_bytes(hp(balloon_page(1)), 1, PAGE));
	/*
	 * A partial page number (not a multiple of 4 bytes) is no array of
	 * 32-bit numbers (5.5.6): the queue breaks, and not even the whole
	 * number before it is given back.
	 */
	{
		uint64_t buf = galloc(t, 6);
		struct tbuf b = { buf, 6, false };

		put32(buf, (uint32_t)(balloon_page(5) >> 12));
		submit(t, BQ_INFLATE, &b, 1);
	}
	assert_needs_reset(t);
	assert_int_equal(used_idx(t, BQ_INFLATE), 2);
	assert_int_equal(counter(t, "inflated_pages"), 7);
	assert_true(all_bytes(hp(balloon_page(5)), 0x35, PAGE));
}

/* What the hooks were handed: runs of [gpa, gpa + len). */
static struct {
	uint64_t gpa[16], len[16];
	unsigned int n;
} runs;

static int64_t record_discard(void *opaque, uint64_t gpa, uint64_t len, bool reported)
{
	(void)opaque;
	(void)reported;
	if (runs.n < 16) {
		runs.gpa[runs.n] = gpa;
		runs.len[runs.n] = len;
	}
	runs.n++;
	return 0;
}

static void record_deflate(void *opaque, uint64_t gpa, uint64_t len)
{
	record_discard(opaque, gpa, len, false);
}

static void assert_runs(const uint64_t *gpa, const uint64_t *len, unsigned int n)
{
	assert_int_equal(runs.n, n);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(runs.gpa[i], gpa[i]);
		assert_int_equal(runs.len[i], len[i]);
	}
	memset(&runs, 0, sizeof(runs));
}

/*
 * A guest with 16 KiB pages names each as four neighbouring 4 KiB frames:
 * inflate and deflate hand the engine whole runs, not frame by frame; and
 * deflate takes at most as many page numbers a buffer as inflate.
 */
static void test_balloon_runs_of_guest_pages(void **state)
{
	struct memory_hooks hooks = { .discard = record_discard, .deflated = record_deflate };
	struct tdev *t = add_balloon_hooked(&hooks);
	uint64_t frames[12], many[4100];
	const uint64_t want_gpa[2] = { balloon_page(0), balloon_page(16) };
	const uint64_t want_len[2] = { 8 * PAGE, 4 * PAGE };

	(void)state;
	handshake(t, balloon_features);
	for (unsigned int i = 0; i < 8; i++) /* two 16 KiB pages, side by side */
		frames[i] = balloon_page(i);
	for (unsigned int i = 0; i < 4; i++) /* and one further on */
		frames[8 + i] = balloon_page(16 + i);
	memset(&runs, 0, sizeof(runs));
	send_pfns(t, BQ_INFLATE, frames, 12);
	assert_runs(want_gpa, want_len, 2);
	assert_int_equal(counter(t, "inflated_pages"), 12);
	send_pfns(t, BQ_DEFLATE, frames, 12);
	assert_runs(want_gpa, want_len, 2);
	assert_int_equal(counter(t, "deflated_pages"), 12);

	for (unsigned int i = 0; i < 4100; i++)
		many[i] = balloon_page(i % 64);
	send_pfns(t, BQ_DEFLATE, many, 4100);
	assert_int_equal(counter(t, "deflated_pages"), 12 + 4096);
	assert_int_equal(counter(t, "bad_pages"), 4);
}

/*
 * 5.5.6: page numbers and statistics are device-readable; reported free
 * pages device-writable (discarding them writes them). A chain on the
 * wrong side breaks its queue before a page is given back.
 */
static void test_balloon_wrong_sides(void **state)
{
	struct tdev *t = add_balloon(0);
	uint64_t pfns;

	(void)state;
	for (unsigned int q = BQ_INFLATE; q <= BQ_REPORTING; q++) {
		handshake(t, balloon_features);
		fill_pages(0, 2);
		pfns = galloc(t, 4);
		put32(pfns, (uint32_t)(balloon_page(0) >> 12));
		{
			struct tbuf inflate = { pfns, 4, true },
				    report = { balloon_page(1), PAGE, false };
			struct tbuf stats[2] = { { galloc(t, 10), 10, false },
						 { galloc(t, 10), 10, true } };

			if (q == BQ_REPORTING)
				submit(t, q, &report, 1);
			else if (q == BQ_STATS)
				submit(t, q, stats, 2);
			else
				submit(t, q, &inflate, 1);
		}
		assert_needs_reset(t);
		assert_int_equal(used_idx(t, q), 0);
		assert_true(all_bytes(hp(balloon_page(0)), 0x30, PAGE));
		assert_true(all_bytes(hp(balloon_page(1)), 0x31, PAGE));
	}
	assert_int_equal(counter(t, "inflated_pages") + counter(t, "deflated_pages"), 0);
	assert_int_equal(counter(t, "reported_ranges") + counter(t, "stats_updates"), 0);
}

static bool get_stats(struct tdev *t, struct balloon_stats *s)
{
	bool ok;

	pthread_mutex_lock(&t->dev.lock);
	ok = balloon_stats(&t->dev, s);
	pthread_mutex_unlock(&t->dev.lock);
	return ok;
}

static uint16_t send_stats(struct tdev *t, uint64_t memfree, uint64_t memtot)
{
	uint64_t buf = galloc(t, 30);
	struct tbuf b = { buf, 30, false };
	uint8_t *p = hp(buf);
	const struct {
		uint16_t tag;
		uint64_t val;
	} e[3] = { { VIRTIO_BALLOON_S_MEMFREE, memfree },
		   { VIRTIO_BALLOON_S_MEMTOT, memtot },
		   { 0x30, 5 } };

	for (unsigned int i = 0; i < 3; i++) {
		uint16_t tag = htole16(e[i].tag);
		uint64_t val = htole64(e[i].val);

		memcpy(p + 10 * i, &tag, 2);
		memcpy(p + 10 * i + 2, &val, 8);
	}
	return submit(t, BQ_STATS, &b, 1);
}

static void test_balloon_stats(void **state)
{
	struct tdev *t = add_balloon(1);
	struct balloon_stats s;
	uint64_t start, end;
	uint16_t head;

	(void)state;
	handshake(t, balloon_features);
	assert_false(get_stats(t, &s));
	start = now_ms();
	head = send_stats(t, 123456789, 987654321);
	end = now_ms() + TIMEOUT_MS;
	while (!get_stats(t, &s)) {
		assert_true(now_ms() < end);
		sleep_ms(1);
	}
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMFREE], 123456789);
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMTOT], 987654321);
	assert_int_equal(s.reported,
			 (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_MEMTOT));
	/* The buffer is held until the interval is up... */
	assert_int_equal(used_idx(t, BQ_STATS), 0);
	/* ...and then given back, empty. */
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
	assert_true(now_ms() - start >= 900);
	assert_true(now_ms() - start <= 1000 + TIMEOUT_MS);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_VRING);

	/* The driver answers with fresh numbers. */
	head = send_stats(t, 1000, 2000);
	end = now_ms() + TIMEOUT_MS;
	while (counter(t, "stats_updates") < 2) {
		assert_true(now_ms() < end);
		sleep_ms(1);
	}
	assert_true(get_stats(t, &s));
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMFREE], 1000);
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMTOT], 2000);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);

	/* A reset drops a held buffer; after it the device takes a new one. */
	head = send_stats(t, 1, 2);
	end = now_ms() + TIMEOUT_MS;
	while (counter(t, "stats_updates") < 3) {
		assert_true(now_ms() < end);
		sleep_ms(1);
	}
	/* 5.5.6.3.1: one buffer at a time; a second while the first is held needs a reset. */
	send_stats(t, 5, 6);
	assert_needs_reset(t);
	assert_int_equal(counter(t, "stats_updates"), 3);
	assert_true(get_stats(t, &s));
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMFREE], 1);
	handshake(t, balloon_features);
	head = send_stats(t, 3, 4);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
	assert_true(get_stats(t, &s));
	assert_int_equal(s.value[VIRTIO_BALLOON_S_MEMFREE], 3);
}

struct interval_call {
	struct tdev *t;
	unsigned int seconds;
};

static void set_interval(void *arg)
{
	struct interval_call *c = arg;

	pthread_mutex_lock(&c->t->dev.lock);
	balloon_set_stats_interval(&c->t->dev, c->seconds);
	pthread_mutex_unlock(&c->t->dev.lock);
}

/* Interval 0 holds the buffer for good; setting one (on the loop, as the API does) frees it. */
static void test_balloon_stats_interval(void **state)
{
	struct tdev *t = add_balloon(0);
	struct interval_call c = { t, 1 };
	struct balloon_info info;
	uint64_t start;
	uint16_t head;

	(void)state;
	handshake(t, balloon_features);
	head = send_stats(t, 10, 20);
	assert_false(wait_used(t, BQ_STATS, 1, 300));
	assert_int_equal(counter(t, "stats_updates"), 1);
	start = now_ms();
	assert_int_equal(ev_loop_call(&loop, set_interval, &c), 0);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
	assert_true(now_ms() - start >= 900);
	pthread_mutex_lock(&t->dev.lock);
	balloon_get_info(&t->dev, &info);
	pthread_mutex_unlock(&t->dev.lock);
	assert_int_equal(info.stats_interval_s, 1);
}

/*
 * QueueReady = 0 on the statistics queue (the driver deleting its queues)
 * takes the held buffer back with it, unanswered: set up again, the queue
 * takes a new buffer as the first (5.5.6.3.1 is kept), and only that one
 * ever comes back.
 */
static void test_balloon_stats_queue_stopped(void **state)
{
	struct tdev *t = add_balloon(0);
	struct interval_call c = { t, 1 };
	uint16_t head;

	(void)state;
	handshake(t, balloon_features);
	send_stats(t, 10, 20);
	assert_false(wait_used(t, BQ_STATS, 1, 100));
	assert_int_equal(counter(t, "stats_updates"), 1);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, BQ_STATS);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(t, BQ_STATS);
	head = send_stats(t, 30, 40);
	loop_sync();
	assert_int_equal(counter(t, "stats_updates"), 2);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(ev_loop_call(&loop, set_interval, &c), 0);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
}

static void test_balloon_reporting(void **state)
{
	struct tdev *t = add_balloon(0);
	struct tbuf b = { balloon_page(8), 2 * PAGE, true };

	(void)state;
	handshake(t, balloon_features);
	fill_pages(7, 4);
	assert_int_equal(request(t, BQ_REPORTING, &b, 1), 0);
	assert_true(all_bytes(hp(balloon_page(7)), 0x37, PAGE));
	assert_true(all_bytes(hp(balloon_page(8)), 0, 2 * PAGE));
	assert_true(all_bytes(hp(balloon_page(10)), 0x3a, PAGE));
	assert_int_equal(counter(t, "reported_bytes"), 2 * PAGE);
	assert_int_equal(counter(t, "reported_ranges"), 1);
	assert_int_equal(counter(t, "bad_pages"), 0);
}

static void test_balloon_config(void **state)
{
	struct tdev *t = add_balloon(0);
	struct balloon_info info;
	uint32_t gen;

	(void)state;
	/* Before DRIVER_OK a new target raises no interrupt. */
	pthread_mutex_lock(&t->dev.lock);
	balloon_set_target(&t->dev, 4ULL << 20);
	pthread_mutex_unlock(&t->dev.lock);
	assert_int_equal(irq_edges(t), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(cfg_read32(t, 0), 1024);
	/* 3.1.1: until FEATURES_OK the driver may read the config, not write it. */
	reset(t);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	cfg_write32(t, 4, 77);
	assert_int_equal(cfg_read32(t, 4), 0);

	handshake(t, balloon_features);
	gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	pthread_mutex_lock(&t->dev.lock);
	balloon_set_target(&t->dev, 8ULL << 20);
	pthread_mutex_unlock(&t->dev.lock);
	assert_true(irq_edges(t) > 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_not_equal(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(cfg_read32(t, 0), 2048);
	assert_int_equal(cfg_read32(t, 4), 0);

	/* The driver reports what it holds; num_pages is not its to write. */
	cfg_write32(t, 4, 1500);
	cfg_write32(t, 0, 7);
	assert_int_equal(cfg_read32(t, 0), 2048);
	assert_int_equal(cfg_read32(t, 4), 1500);
	pthread_mutex_lock(&t->dev.lock);
	balloon_get_info(&t->dev, &info);
	pthread_mutex_unlock(&t->dev.lock);
	assert_int_equal(info.target_bytes, 8ULL << 20);
	assert_int_equal(info.actual_bytes, 1500ULL * PAGE);
	assert_true(info.deflate_on_oom);
	assert_true(info.free_page_reporting);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_balloon_inflate_deflate), T(test_balloon_runs_of_guest_pages),
		T(test_balloon_wrong_sides),	 T(test_balloon_stats),
		T(test_balloon_stats_interval),	 T(test_balloon_stats_queue_stopped),
		T(test_balloon_reporting),	 T(test_balloon_config),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
