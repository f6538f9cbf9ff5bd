// SPDX-License-Identifier: GPL-2.0-only
/* The test driver for virtio devices behind virtio-mmio: see harness.h. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "tests/unit/vmm/virtio/harness.h"

#define RAM_ALIGN (2ULL << 20)

struct guest_ram ram;
struct ev_loop loop;
char images[2][64];
static void *ram_mapping;
static struct tdev tdevs[MAX_TDEVS];
static unsigned int nr_tdevs;

/* ---- fake guest RAM ---- */

void *hp(uint64_t gpa)
{
	assert_true(gpa >= RAM_GPA && gpa < RAM_END);
	return ram.host + (gpa - RAM_GPA);
}

void put16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(hp(gpa), &v, 2);
}

void put32(uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	memcpy(hp(gpa), &v, 4);
}

void put64(uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(hp(gpa), &v, 8);
}

uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, hp(gpa), 4);
	return le32toh(v);
}

/* A buffer of @len bytes in @t's region, zeroed */
uint64_t galloc(struct tdev *t, uint32_t len)
{
	uint64_t gpa = t->buf_next;

	t->buf_next = (t->buf_next + len + 63) & ~63ULL;
	assert_true(t->buf_next <= t->region + REGION_SIZE);
	memset(hp(gpa), 0, len);
	return gpa;
}

bool all_bytes(const void *p, int c, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)c)
			return false;
	return true;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void nothing(void *arg)
{
	(void)arg;
}

/* Return once the loop thread has finished whatever callback it was running. */
void loop_sync(void)
{
	assert_int_equal(ev_loop_call(&loop, nothing, NULL), 0);
}

/* ---- registers ---- */

uint32_t rd(struct tdev *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(&t->m, off, (uint8_t *)&v, 4, false);
	return le32toh(v);
}

void wr(struct tdev *t, uint64_t off, uint32_t v)
{
	v = htole32(v);
	virtio_mmio_access(&t->m, off, (uint8_t *)&v, 4, true);
}

void cfg_read(struct tdev *t, uint32_t off, void *data, uint32_t len)
{
	virtio_mmio_access(&t->m, VIRTIO_MMIO_CONFIG + off, data, len, false);
}

uint32_t cfg_read32(struct tdev *t, uint32_t off)
{
	uint32_t v;

	cfg_read(t, off, &v, 4);
	return le32toh(v);
}

void cfg_write32(struct tdev *t, uint32_t off, uint32_t v)
{
	v = htole32(v);
	virtio_mmio_access(&t->m, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, 4, true);
}

uint64_t device_features(struct tdev *t)
{
	uint64_t f;

	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	return f;
}

void driver_features(struct tdev *t, uint64_t f)
{
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Pending interrupt edges on the irq eventfd (nonblocking): 0 if none. */
uint64_t irq_edges(struct tdev *t)
{
	uint64_t n;

	if (read(t->m.irq_fd, &n, sizeof(n)) != sizeof(n)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

bool wait_irq(struct tdev *t)
{
	struct pollfd p = { .fd = t->m.irq_fd, .events = POLLIN };

	return poll(&p, 1, TIMEOUT_MS) == 1;
}

/* Read InterruptStatus, acknowledge what it says, and drain the eventfd. */
uint32_t take_interrupt(struct tdev *t)
{
	uint32_t isr = rd(t, VIRTIO_MMIO_INTERRUPT_STATUS);

	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & isr, 0);
	irq_edges(t);
	return isr;
}

/* ---- the handshake (3.1.1), as Linux does it ---- */

void reset(struct tdev *t)
{
	wr(t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
}

/* Up to FEATURES_OK; true if the device accepted the features. */
bool negotiate(struct tdev *t, uint64_t features)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	reset(t);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, s);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), s);
	driver_features(t, features);
	wr(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

void setup_queue(struct tdev *t, unsigned int q)
{
	struct tqueue *tq = &t->q[q];

	tq->desc = t->region + 0x4000ULL * q;
	tq->avail = tq->desc + 0x1000;
	tq->used = tq->desc + 0x2000;
	tq->avail_idx = tq->used_seen = tq->next_desc = 0;
	memset(hp(tq->desc), 0, 0x4000);

	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX) >= QSIZE);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)tq->desc);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(tq->desc >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)tq->avail);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(tq->avail >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)tq->used);
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(tq->used >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* The whole handshake with VERSION_1 | @want (those the device offers); all queues live. */
void handshake(struct tdev *t, uint64_t want)
{
	uint64_t offered = device_features(t);
	unsigned int nq = t->dev.ops->nr_queues;

	assert_true(offered & BIT_ULL(VIRTIO_F_VERSION_1));
	assert_int_equal(want & ~offered, 0);
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | want));
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(t, q);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, nq);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* no such queue */
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	take_interrupt(t);
	t->buf_next = t->region + RINGS_SIZE;
}

/* ---- requests ---- */

void write_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		uint16_t next)
{
	uint64_t d = table + 16ULL * i;

	put64(d, addr);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* Put chain @head on the available ring and notify. */
void offer(struct tdev *t, unsigned int q, uint16_t head, bool notify)
{
	struct tqueue *tq = &t->q[q];

	put16(tq->avail + 4 + 2ULL * (tq->avail_idx % QSIZE), head);
	tq->avail_idx++;
	/* Release: the descriptors and ring entry before avail->idx (2.7.13). */
	__atomic_store_n((uint16_t *)hp(tq->avail + 2), htole16(tq->avail_idx), __ATOMIC_RELEASE);
	if (notify)
		wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Describe @bufs in consecutive descriptors; returns the head. */
uint16_t build_chain(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	struct tqueue *tq = &t->q[q];
	uint16_t head = tq->next_desc;

	assert_true(n > 0 && n <= QSIZE);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (head + i) % QSIZE;
		uint16_t flags = (bufs[i].dev_writes ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		write_desc(tq->desc, idx, bufs[i].gpa, bufs[i].len, flags, (idx + 1) % QSIZE);
	}
	tq->next_desc = (head + n) % QSIZE;
	return head;
}

uint16_t submit(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	uint16_t head = build_chain(t, q, bufs, n);

	offer(t, q, head, true);
	return head;
}

uint16_t used_idx(struct tdev *t, unsigned int q)
{
	return le16toh(__atomic_load_n((uint16_t *)hp(t->q[q].used + 2), __ATOMIC_ACQUIRE));
}

bool wait_used(struct tdev *t, unsigned int q, uint16_t idx, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while ((int16_t)(used_idx(t, q) - idx) < 0) {
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* Wait for the next used element; returns its len and checks its id. */
uint32_t next_used(struct tdev *t, unsigned int q, uint16_t head)
{
	struct tqueue *tq = &t->q[q];
	uint64_t elem = tq->used + 4 + 8ULL * (tq->used_seen % QSIZE);

	if (!wait_used(t, q, tq->used_seen + 1, TIMEOUT_MS))
		fail_msg("%s queue %u: no used buffer within %d ms", t->dev.name, q, TIMEOUT_MS);
	tq->used_seen++;
	assert_int_equal(get32(elem), head);
	return get32(elem + 4);
}

/* One request start to finish, and its interrupt: returns the used len. */
uint32_t request(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	uint32_t len = next_used(t, q, submit(t, q, bufs, n));

	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_VRING);
	return len;
}

uint64_t counter(struct tdev *t, const char *name)
{
	struct virtio_counter c[VIRTIO_COUNTERS_MAX];
	unsigned int n;

	pthread_mutex_lock(&t->dev.lock);
	n = t->dev.ops->counters(&t->dev, c);
	pthread_mutex_unlock(&t->dev.lock);
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return c[i].value;
	fail_msg("%s has no counter \"%s\"", t->dev.name, name);
	return 0;
}

/* Wait until the device status has @bits. */
bool wait_status(struct tdev *t, uint32_t bits)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while ((rd(t, VIRTIO_MMIO_STATUS) & bits) != bits) {
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* ---- devices ---- */

static void start_notifications(void *arg)
{
	struct tdev *t = arg;

	t->start_ret = virtio_mmio_start(&t->m);
}

struct virtio_env env(void)
{
	return (struct virtio_env){ .ram = &ram, .loop = &loop };
}

static struct tdev *new_tdev(void)
{
	struct tdev *t;

	assert_true(nr_tdevs < MAX_TDEVS);
	t = &tdevs[nr_tdevs];
	memset(t, 0, sizeof(*t));
	t->m.irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->m.notify[q].fd = -1;
	t->region = RAM_GPA + REGION_SIZE * nr_tdevs;
	t->buf_next = t->region + RINGS_SIZE;
	memset(hp(t->region), 0, REGION_SIZE);
	return t;
}

/* After the device's create: the transport, and its notifications on the loop. */
static struct tdev *wire(struct tdev *t)
{
	unsigned int i = nr_tdevs++;

	assert_int_equal(virtio_mmio_init(&t->m, &t->dev, MMIO_BASE + 0x200ULL * i, 40 + i, -1), 0);
	t->start_ret = -1;
	assert_int_equal(ev_loop_call(&loop, start_notifications, t), 0);
	assert_int_equal(t->start_ret, 0);
	return t;
}

struct tdev *add_rng(void)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_rng_create(&t->dev, &e), 0);
	return wire(t);
}

struct tdev *add_blk(const char *path, bool readonly)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();
	struct blk_options o = { .path = path, .readonly = readonly, .index = 0 };

	assert_int_equal(virtio_blk_create(&t->dev, &e, &o), 0);
	return wire(t);
}

struct tdev *add_balloon(unsigned int stats_interval_s)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_balloon_create(&t->dev, &e, stats_interval_s), 0);
	return wire(t);
}

struct tdev *add_balloon_hooked(const struct memory_hooks *hooks)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	e.memory = *hooks;
	assert_int_equal(virtio_balloon_create(&t->dev, &e, 0), 0);
	return wire(t);
}

struct tdev *add_gpu(const struct gpu_options *opts, bool access_platform)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	e.access_platform = access_platform;
	assert_int_equal(virtio_gpu_create(&t->dev, &e, opts), 0);
	return wire(t);
}

struct tdev *add_console(const struct console_options *opts)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_console_create(&t->dev, &e, opts), 0);
	return wire(t);
}

struct tdev *add_net(const struct net_options *opts)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_net_create(&t->dev, &e, opts), 0);
	return wire(t);
}

/* ---- disk images ---- */

uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 9) * 7 + 1);
}

/* A new 1 MiB image in @dir with the known pattern; returns its path. */
const char *make_image_in(unsigned int slot, const char *dir)
{
	static uint8_t buf[IMAGE_SIZE];
	int fd;

	snprintf(images[slot], sizeof(images[slot]), "%s/test_virtio_blk.XXXXXX", dir);
	fd = mkstemp(images[slot]);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < IMAGE_SIZE; i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(fd, buf, IMAGE_SIZE, 0), IMAGE_SIZE);
	close(fd);
	return images[slot];
}

const char *make_image(unsigned int slot)
{
	return make_image_in(slot, "/tmp");
}

void read_image(const char *path, uint8_t *buf)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, IMAGE_SIZE, 0), IMAGE_SIZE);
	close(fd);
}

/* ---- virtio-blk requests ---- */

uint64_t blk_header(struct tdev *t, uint32_t type, uint64_t sector)
{
	uint64_t hdr = galloc(t, 16);

	put32(hdr, type);
	put32(hdr + 4, 0);
	put64(hdr + 8, sector);
	return hdr;
}

/*
 * header, [data], status: the data goes to the device (@data_in false) or
 * comes from it; returns the status byte, and the used len in @used.
 */
uint8_t blk_req(struct tdev *t, uint32_t type, uint64_t sector, void *data, uint32_t len,
		bool data_in, uint32_t *used)
{
	struct tbuf b[3];
	unsigned int n = 0;
	uint64_t status = galloc(t, 1);
	uint32_t u;

	*(uint8_t *)hp(status) = 0xff;
	b[n++] = (struct tbuf){ blk_header(t, type, sector), 16, false };
	if (len) {
		b[n] = (struct tbuf){ galloc(t, len), len, data_in };
		if (!data_in)
			memcpy(hp(b[n].gpa), data, len);
		n++;
	}
	b[n++] = (struct tbuf){ status, 1, true };
	u = request(t, 0, b, n);
	if (used)
		*used = u;
	if (len && data_in)
		memcpy(data, hp(b[1].gpa), len);
	return *(uint8_t *)hp(status);
}

/* Discard or write zeroes of one segment */
uint8_t blk_segment(struct tdev *t, uint32_t type, uint64_t sector, uint32_t sectors,
		    uint32_t flags)
{
	uint8_t seg[16];
	uint64_t s = htole64(sector);
	uint32_t n = htole32(sectors), f = htole32(flags);

	memcpy(seg, &s, 8);
	memcpy(seg + 8, &n, 4);
	memcpy(seg + 12, &f, 4);
	return blk_req(t, type, 0, seg, sizeof(seg), false, NULL);
}

/* ---- fixtures ---- */

int group_setup(void **state)
{
	(void)state;
	ram_mapping = mmap(NULL, RAM_SIZE + RAM_ALIGN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram_mapping == MAP_FAILED)
		return -1;
	ram.memfd = -1;
	ram.gpa = RAM_GPA;
	ram.size = RAM_SIZE;
	ram.host = (uint8_t *)(((uintptr_t)ram_mapping + RAM_ALIGN - 1) & ~(RAM_ALIGN - 1));
	ram.reservation = ram_mapping;
	ram.reservation_size = RAM_SIZE + RAM_ALIGN;
	return 0;
}

int group_teardown(void **state)
{
	(void)state;
	munmap(ram_mapping, RAM_SIZE + RAM_ALIGN);
	return 0;
}

/*
 * Valgrind before 3.21 does not know that io_uring_enter blocks, and keeps
 * its big lock while the loop thread waits in it: no other thread runs
 * until a completion arrives, and not even then. Under valgrind, a timeout
 * every millisecond wakes the loop thread, which yields the lock.
 */
static struct ev_op tick_op;
static struct __kernel_timespec tick_ts = { .tv_nsec = 1000000 };

static void tick(struct ev_op *op, int res, unsigned int flags)
{
	struct io_uring_sqe *sqe = ev_sqe(&loop, op);

	(void)res;
	(void)flags;
	if (sqe)
		io_uring_prep_timeout(sqe, &tick_ts, 0, 0);
	sched_yield();
}

int setup(void **state)
{
	(void)state;
	nr_tdevs = 0;
	memset(images, 0, sizeof(images));
	if (ev_loop_init(&loop, 64))
		return -1;
	if (RUNNING_ON_VALGRIND) {
		tick_op.done = tick;
		tick(&tick_op, 0, 0); /* the loop thread is not running yet */
	}
	return ev_loop_start(&loop);
}

int teardown(void **state)
{
	(void)state;
	/* The loop first: nothing may run on a device being destroyed. */
	ev_loop_destroy(&loop);
	for (unsigned int i = 0; i < nr_tdevs; i++) {
		virtio_mmio_destroy(&tdevs[i].m);
		virtio_destroy(&tdevs[i].dev);
	}
	nr_tdevs = 0;
	for (unsigned int i = 0; i < 2; i++)
		if (images[i][0])
			unlink(images[i]);
	return 0;
}

void fence(struct tdev *t, uint64_t gpa, uint64_t len)
{
	assert_non_null(t->dev.ops->fence);
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->fence(&t->dev, hp(gpa), len);
	pthread_mutex_unlock(&t->dev.lock);
}

void unfence_off_loop(struct tdev *t)
{
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->unfence(&t->dev);
	pthread_mutex_unlock(&t->dev.lock);
}
