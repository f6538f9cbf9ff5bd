// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio devices (rng, blk, balloon) driven end to end through their
 * virtio-mmio register window, as a Linux guest's driver would: the
 * handshake, rings in fake guest RAM, QueueNotify, the interrupt eventfd
 * and InterruptStatus. No KVM: with vm_fd = -1 a QueueNotify write signals
 * the queue's eventfd itself, and the event loop runs the devices.
 */
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

#include "vmm/virtio/devices.h"
#include "vmm/hw/event_loop.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtio.h"

#define RAM_GPA	    0x80000000ULL
#define RAM_SIZE    (16ULL << 20)
#define RAM_END	    (RAM_GPA + RAM_SIZE)
#define RAM_ALIGN   (2ULL << 20)
#define REGION_SIZE (1ULL << 20) /* fake RAM per test device: rings, then buffers */
#define RINGS_SIZE  0x20000	 /* VIRTIO_MAX_QUEUES rings of 0x4000 */
#define BALLOON_OFF (12ULL << 20)
#define MMIO_BASE   0x0a000000ULL

#define MAX_TDEVS  6
#define QSIZE	   16
#define TIMEOUT_MS 2000
#define PAGE	   4096

/* The virtio-mmio registers (virtio 1.2, 4.2.2), as the driver knows them */
#define R_MAGIC		      0x000
#define R_VERSION	      0x004
#define R_DEVICE_ID	      0x008
#define R_VENDOR_ID	      0x00c
#define R_DEVICE_FEATURES     0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES     0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL	      0x030
#define R_QUEUE_NUM_MAX	      0x034
#define R_QUEUE_NUM	      0x038
#define R_QUEUE_READY	      0x044
#define R_QUEUE_NOTIFY	      0x050
#define R_INTERRUPT_STATUS    0x060
#define R_INTERRUPT_ACK	      0x064
#define R_STATUS	      0x070
#define R_QUEUE_DESC_LOW      0x080
#define R_QUEUE_DESC_HIGH     0x084
#define R_QUEUE_DRIVER_LOW    0x090
#define R_QUEUE_DRIVER_HIGH   0x094
#define R_QUEUE_DEVICE_LOW    0x0a0
#define R_QUEUE_DEVICE_HIGH   0x0a4
#define R_CONFIG_GENERATION   0x0fc
#define R_CONFIG	      0x100

#define D_NEXT	   1
#define D_WRITE	   2
#define D_INDIRECT 4

/* virtio-blk (5.2) */
#define BLK_F_RO	   5
#define BLK_F_BLK_SIZE	   6
#define BLK_F_FLUSH	   9
#define BLK_F_DISCARD	   13
#define BLK_F_WRITE_ZEROES 14
#define BLK_T_IN	   0
#define BLK_T_OUT	   1
#define BLK_T_FLUSH	   4
#define BLK_T_GET_ID	   8
#define BLK_T_DISCARD	   11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK	   0
#define BLK_S_IOERR	   1
#define BLK_S_UNSUPP	   2
#define SECTOR		   512
#define IMAGE_SIZE	   (1u << 20)

/* virtio-balloon (5.5) */
#define BALLOON_F_STATS_VQ	 1
#define BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_F_REPORTING	 5
#define BQ_INFLATE		 0
#define BQ_DEFLATE		 1
#define BQ_STATS		 2
#define BQ_REPORTING		 3
#define STAT_MEMFREE		 4
#define STAT_MEMTOT		 5

struct tqueue {
	uint64_t desc, avail, used;
	uint16_t avail_idx; /* the driver's next avail->idx */
	uint16_t used_seen; /* used entries consumed */
	uint16_t next_desc; /* descriptors are handed out round robin */
};

struct tdev {
	struct virtio_device dev;
	struct virtio_mmio m;
	uint64_t region; /* gpa of this device's part of fake RAM */
	uint64_t buf_next;
	struct tqueue q[VIRTIO_MAX_QUEUES];
	int start_ret;
};

static struct guest_ram ram;
static void *ram_mapping;
static struct ev_loop loop;
static struct tdev tdevs[MAX_TDEVS];
static unsigned int nr_tdevs;
static char images[2][64];

/* ---- fake guest RAM ---- */

static void *hp(uint64_t gpa)
{
	assert_true(gpa >= RAM_GPA && gpa < RAM_END);
	return ram.host + (gpa - RAM_GPA);
}

static void put16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(hp(gpa), &v, 2);
}

static void put32(uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	memcpy(hp(gpa), &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(hp(gpa), &v, 8);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, hp(gpa), 4);
	return le32toh(v);
}

/* A buffer of @len bytes in @t's region, zeroed */
static uint64_t galloc(struct tdev *t, uint32_t len)
{
	uint64_t gpa = t->buf_next;

	t->buf_next = (t->buf_next + len + 63) & ~63ULL;
	assert_true(t->buf_next <= t->region + REGION_SIZE);
	memset(hp(gpa), 0, len);
	return gpa;
}

static bool all_bytes(const void *p, int c, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)c)
			return false;
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void nothing(void *arg)
{
	(void)arg;
}

/* Return once the loop thread has finished whatever callback it was running. */
static void loop_sync(void)
{
	assert_int_equal(ev_loop_call(&loop, nothing, NULL), 0);
}

/* ---- registers ---- */

static uint32_t rd(struct tdev *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(&t->m, off, (uint8_t *)&v, 4, false);
	return le32toh(v);
}

static void wr(struct tdev *t, uint64_t off, uint32_t v)
{
	v = htole32(v);
	virtio_mmio_access(&t->m, off, (uint8_t *)&v, 4, true);
}

static void cfg_read(struct tdev *t, uint32_t off, void *data, uint32_t len)
{
	virtio_mmio_access(&t->m, R_CONFIG + off, data, len, false);
}

static uint32_t cfg_read32(struct tdev *t, uint32_t off)
{
	uint32_t v;

	cfg_read(t, off, &v, 4);
	return le32toh(v);
}

static void cfg_write32(struct tdev *t, uint32_t off, uint32_t v)
{
	v = htole32(v);
	virtio_mmio_access(&t->m, R_CONFIG + off, (uint8_t *)&v, 4, true);
}

static uint64_t device_features(struct tdev *t)
{
	uint64_t f;

	wr(t, R_DEVICE_FEATURES_SEL, 0);
	f = rd(t, R_DEVICE_FEATURES);
	wr(t, R_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)rd(t, R_DEVICE_FEATURES) << 32;
	return f;
}

static void driver_features(struct tdev *t, uint64_t f)
{
	wr(t, R_DRIVER_FEATURES_SEL, 0);
	wr(t, R_DRIVER_FEATURES, (uint32_t)f);
	wr(t, R_DRIVER_FEATURES_SEL, 1);
	wr(t, R_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Pending interrupt edges on the irq eventfd (nonblocking): 0 if none. */
static uint64_t irq_edges(struct tdev *t)
{
	uint64_t n;

	if (read(t->m.irq_fd, &n, sizeof(n)) != sizeof(n)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static bool wait_irq(struct tdev *t)
{
	struct pollfd p = { .fd = t->m.irq_fd, .events = POLLIN };

	return poll(&p, 1, TIMEOUT_MS) == 1;
}

/* Read InterruptStatus, acknowledge what it says, and drain the eventfd. */
static uint32_t take_interrupt(struct tdev *t)
{
	uint32_t isr = rd(t, R_INTERRUPT_STATUS);

	wr(t, R_INTERRUPT_ACK, isr);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS) & isr, 0);
	irq_edges(t);
	return isr;
}

/* ---- the handshake (3.1.1), as Linux does it ---- */

static void reset(struct tdev *t)
{
	wr(t, R_STATUS, 0);
	assert_int_equal(rd(t, R_STATUS), 0);
}

/* Up to FEATURES_OK; true if the device accepted the features. */
static bool negotiate(struct tdev *t, uint64_t features)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	reset(t);
	wr(t, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, R_STATUS, s);
	assert_int_equal(rd(t, R_STATUS), s);
	driver_features(t, features);
	wr(t, R_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct tdev *t, unsigned int q)
{
	struct tqueue *tq = &t->q[q];

	tq->desc = t->region + 0x4000ULL * q;
	tq->avail = tq->desc + 0x1000;
	tq->used = tq->desc + 0x2000;
	tq->avail_idx = tq->used_seen = tq->next_desc = 0;
	memset(hp(tq->desc), 0, 0x4000);

	wr(t, R_QUEUE_SEL, q);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	assert_true(rd(t, R_QUEUE_NUM_MAX) >= QSIZE);
	wr(t, R_QUEUE_NUM, QSIZE);
	wr(t, R_QUEUE_DESC_LOW, (uint32_t)tq->desc);
	wr(t, R_QUEUE_DESC_HIGH, (uint32_t)(tq->desc >> 32));
	wr(t, R_QUEUE_DRIVER_LOW, (uint32_t)tq->avail);
	wr(t, R_QUEUE_DRIVER_HIGH, (uint32_t)(tq->avail >> 32));
	wr(t, R_QUEUE_DEVICE_LOW, (uint32_t)tq->used);
	wr(t, R_QUEUE_DEVICE_HIGH, (uint32_t)(tq->used >> 32));
	wr(t, R_QUEUE_READY, 1);
	assert_int_equal(rd(t, R_QUEUE_READY), 1);
}

/* The whole handshake with VERSION_1 | @want (those the device offers); all queues live. */
static void handshake(struct tdev *t, uint64_t want)
{
	uint64_t offered = device_features(t);
	unsigned int nq = t->dev.ops->nr_queues;

	assert_true(offered & BIT_ULL(VIRTIO_F_VERSION_1));
	assert_int_equal(want & ~offered, 0);
	assert_true(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | want));
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(t, q);
	wr(t, R_QUEUE_SEL, nq);
	assert_int_equal(rd(t, R_QUEUE_NUM_MAX), 0); /* no such queue */
	wr(t, R_STATUS, rd(t, R_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(t, R_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						  VIRTIO_STATUS_FEATURES_OK |
						  VIRTIO_STATUS_DRIVER_OK);
	take_interrupt(t);
	t->buf_next = t->region + RINGS_SIZE;
}

/* ---- requests ---- */

struct tbuf {
	uint64_t gpa;
	uint32_t len;
	bool dev_writes;
};

static void write_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		       uint16_t next)
{
	uint64_t d = table + 16ULL * i;

	put64(d, addr);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* Put chain @head on the available ring and notify. */
static void offer(struct tdev *t, unsigned int q, uint16_t head, bool notify)
{
	struct tqueue *tq = &t->q[q];

	put16(tq->avail + 4 + 2ULL * (tq->avail_idx % QSIZE), head);
	tq->avail_idx++;
	/* Release: the descriptors and ring entry before avail->idx (2.7.13). */
	__atomic_store_n((uint16_t *)hp(tq->avail + 2), htole16(tq->avail_idx), __ATOMIC_RELEASE);
	if (notify)
		wr(t, R_QUEUE_NOTIFY, q);
}

/* Describe @bufs in consecutive descriptors; returns the head. */
static uint16_t build_chain(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	struct tqueue *tq = &t->q[q];
	uint16_t head = tq->next_desc;

	assert_true(n > 0 && n <= QSIZE);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (head + i) % QSIZE;
		uint16_t flags = (bufs[i].dev_writes ? D_WRITE : 0) | (i + 1 < n ? D_NEXT : 0);

		write_desc(tq->desc, idx, bufs[i].gpa, bufs[i].len, flags, (idx + 1) % QSIZE);
	}
	tq->next_desc = (head + n) % QSIZE;
	return head;
}

static uint16_t submit(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	uint16_t head = build_chain(t, q, bufs, n);

	offer(t, q, head, true);
	return head;
}

static uint16_t used_idx(struct tdev *t, unsigned int q)
{
	return le16toh(__atomic_load_n((uint16_t *)hp(t->q[q].used + 2), __ATOMIC_ACQUIRE));
}

static bool wait_used(struct tdev *t, unsigned int q, uint16_t idx, unsigned int timeout_ms)
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
static uint32_t next_used(struct tdev *t, unsigned int q, uint16_t head)
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
static uint32_t request(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n)
{
	uint32_t len = next_used(t, q, submit(t, q, bufs, n));

	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_INT_USED);
	return len;
}

static uint64_t counter(struct tdev *t, const char *name)
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
static bool wait_status(struct tdev *t, uint32_t bits)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	while ((rd(t, R_STATUS) & bits) != bits) {
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

static struct virtio_env env(void)
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

static struct tdev *add_rng(void)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_rng_create(&t->dev, &e), 0);
	return wire(t);
}

static struct tdev *add_blk(const char *path, bool readonly)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();
	struct blk_options o = { .path = path, .readonly = readonly, .index = 0 };

	assert_int_equal(virtio_blk_create(&t->dev, &e, &o), 0);
	return wire(t);
}

static struct tdev *add_balloon(unsigned int stats_interval_s)
{
	struct tdev *t = new_tdev();
	struct virtio_env e = env();

	assert_int_equal(virtio_balloon_create(&t->dev, &e, stats_interval_s), 0);
	return wire(t);
}

/* ---- disk images ---- */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 9) * 7 + 1);
}

/* A new 1 MiB image in @dir with the known pattern; returns its path. */
static const char *make_image_in(unsigned int slot, const char *dir)
{
	static uint8_t buf[IMAGE_SIZE];
	int fd;

	snprintf(images[slot], sizeof(images[slot]), "%s/test_virtio_devices.XXXXXX", dir);
	fd = mkstemp(images[slot]);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < IMAGE_SIZE; i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(fd, buf, IMAGE_SIZE, 0), IMAGE_SIZE);
	close(fd);
	return images[slot];
}

static const char *make_image(unsigned int slot)
{
	return make_image_in(slot, "/tmp");
}

static void read_image(const char *path, uint8_t *buf)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, IMAGE_SIZE, 0), IMAGE_SIZE);
	close(fd);
}

/* ---- virtio-blk requests ---- */

static uint64_t blk_header(struct tdev *t, uint32_t type, uint64_t sector)
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
static uint8_t blk_req(struct tdev *t, uint32_t type, uint64_t sector, void *data, uint32_t len,
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
static uint8_t blk_segment(struct tdev *t, uint32_t type, uint64_t sector, uint32_t sectors,
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

static int group_setup(void **state)
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

static int group_teardown(void **state)
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

static int setup(void **state)
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

static int teardown(void **state)
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

/* ---- transport and handshake ---- */

static void test_identity_and_handshake(void **state)
{
	struct tdev *t = add_rng();
	uint64_t f = device_features(t);
	uint8_t odd[4] = { 1, 2, 3, 4 };

	(void)state;
	assert_int_equal(rd(t, R_MAGIC), 0x74726976);
	assert_int_equal(rd(t, R_VERSION), 2);
	assert_int_equal(rd(t, R_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(rd(t, R_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_true(f & BIT_ULL(VIRTIO_F_VERSION_1));
	assert_true(f & BIT_ULL(VIRTIO_F_INDIRECT_DESC));
	assert_true(f & BIT_ULL(VIRTIO_F_EVENT_IDX));
	assert_false(f & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	/* 4.2.2: control registers are 32-bit; anything else reads as 0. */
	virtio_mmio_access(&t->m, R_MAGIC, odd, 2, false);
	assert_true(all_bytes(odd, 0, 2));
	virtio_mmio_access(&t->m, R_MAGIC + 2, odd, 4, false);
	assert_true(all_bytes(odd, 0, 4));

	/* A legacy driver (no VERSION_1) is refused FEATURES_OK. */
	assert_false(negotiate(t, 0));
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_EVENT_IDX)));
	/* So is one that accepts what was not offered (rng offers no bit 0, no bit 40). */
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(0)));
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(40)));
	/* Once refused, setting it again is still refused. */
	wr(t, R_STATUS, rd(t, R_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	assert_false(rd(t, R_STATUS) & VIRTIO_STATUS_FEATURES_OK);

	/* After a proper handshake, features written after FEATURES_OK are ignored. */
	handshake(t, 0);
	driver_features(t, 0);
	pthread_mutex_lock(&t->dev.lock);
	assert_true(virtio_has_feature(&t->dev, VIRTIO_F_VERSION_1));
	pthread_mutex_unlock(&t->dev.lock);
	/* A reset takes everything back. */
	reset(t);
	wr(t, R_QUEUE_SEL, 0);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), 0);
}

/* ---- virtio-rng ---- */

static void test_rng(void **state)
{
	struct tdev *t = add_rng();
	uint64_t a, b;
	struct tbuf buf;

	(void)state;
	handshake(t, 0);
	a = galloc(t, 64);
	b = galloc(t, 64);
	buf = (struct tbuf){ a, 64, true };
	assert_int_equal(request(t, 0, &buf, 1), 64);
	assert_false(all_bytes(hp(a), 0, 64));
	buf.gpa = b;
	assert_int_equal(request(t, 0, &buf, 1), 64);
	assert_false(all_bytes(hp(b), 0, 64));
	assert_memory_not_equal(hp(a), hp(b), 64);
	assert_int_equal(counter(t, "requests"), 2);
	assert_int_equal(counter(t, "bytes"), 128);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), 0);

	/* Two writable buffers in one chain, behind a readable one it ignores. */
	{
		uint64_t in = galloc(t, 8), c = galloc(t, 16), d = galloc(t, 32);
		struct tbuf chain[3] = { { in, 8, false }, { c, 16, true }, { d, 32, true } };

		memset(hp(in), 0x5a, 8);
		assert_int_equal(request(t, 0, chain, 3), 48);
		assert_true(all_bytes(hp(in), 0x5a, 8));
		assert_false(all_bytes(hp(d), 0, 32));
	}
	assert_int_equal(counter(t, "requests"), 3);
	assert_int_equal(counter(t, "bytes"), 176);
}

/* With EVENT_IDX the device interrupts only when used->idx passes used_event. */
static void test_rng_event_idx(void **state)
{
	struct tdev *t = add_rng();
	uint64_t used_event;
	struct tbuf buf;

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_F_EVENT_IDX));
	used_event = t->q[0].avail + 4 + 2 * QSIZE;
	buf = (struct tbuf){ galloc(t, 16), 16, true };
	put16(used_event, 0);
	assert_int_equal(request(t, 0, &buf, 1), 16); /* 0 -> 1 crosses 0 */
	put16(used_event, 5);
	assert_int_equal(next_used(t, 0, submit(t, 0, &buf, 1)), 16); /* 1 -> 2: no */
	loop_sync();
	assert_int_equal(irq_edges(t), 0);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), 0);
	/* The device asked to be notified for the next entry (avail_event). */
	assert_int_equal(le16toh(__atomic_load_n((uint16_t *)hp(t->q[0].used + 4 + 8 * QSIZE),
						 __ATOMIC_RELAXED)),
			 t->q[0].avail_idx);
	for (unsigned int i = 0; i < 3; i++) /* 2 -> 5: not yet past 5 */
		next_used(t, 0, submit(t, 0, &buf, 1));
	loop_sync();
	assert_int_equal(irq_edges(t), 0);
	next_used(t, 0, submit(t, 0, &buf, 1)); /* 5 -> 6 */
	assert_true(wait_irq(t));
	assert_int_equal(take_interrupt(t), VIRTIO_INT_USED);
}

/* ---- virtio-blk ---- */

static void test_blk_config(void **state)
{
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t f = device_features(t), cap;
	uint32_t lo, hi;

	(void)state;
	assert_int_equal(rd(t, R_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_true(f & BIT_ULL(BLK_F_BLK_SIZE));
	assert_true(f & BIT_ULL(BLK_F_FLUSH));
	assert_true(f & BIT_ULL(BLK_F_DISCARD));
	assert_true(f & BIT_ULL(BLK_F_WRITE_ZEROES));
	assert_false(f & BIT_ULL(BLK_F_RO));
	cfg_read(t, 0, &cap, 8);
	assert_int_equal(le64toh(cap), IMAGE_SIZE / SECTOR);
	lo = cfg_read32(t, 0);
	hi = cfg_read32(t, 4);
	assert_int_equal(((uint64_t)hi << 32) | lo, IMAGE_SIZE / SECTOR);
	assert_int_equal(cfg_read32(t, 20), SECTOR);
	assert_int_equal(cfg_read32(t, 40), 1); /* max_discard_seg */
	assert_int_equal(cfg_read32(t, 44), PAGE / SECTOR);
	/* Past the end of config space: zeroes, no crash. */
	lo = 0xffffffff;
	cfg_read(t, 58, &lo, 4);
	assert_int_equal(lo, 0);
	assert_int_equal(cfg_read32(t, 0x100 - 4), 0);

	/* The image is locked: a second writer is refused. */
	{
		struct virtio_device other;
		struct virtio_env e = env();
		struct blk_options o = { .path = images[0], .index = 1 };

		memset(&other, 0, sizeof(other));
		assert_int_equal(virtio_blk_create(&other, &e, &o), -1);
		o.readonly = true;
		assert_int_equal(virtio_blk_create(&other, &e, &o), -1);
	}
}

static void test_blk_read_write(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[2 * SECTOR];
	uint32_t used;

	(void)state;
	handshake(t, BIT_ULL(BLK_F_FLUSH) | BIT_ULL(BLK_F_BLK_SIZE));
	read_image(images[0], before);

	/* Read sector 2 */
	memset(data, 0, sizeof(data));
	assert_int_equal(blk_req(t, BLK_T_IN, 2, data, SECTOR, true, &used), BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	assert_memory_equal(data, before + 2 * SECTOR, SECTOR);

	/* Write sector 3: exactly those 512 bytes change. */
	for (unsigned int i = 0; i < SECTOR; i++)
		data[i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(blk_req(t, BLK_T_OUT, 3, data, SECTOR, false, &used), BLK_S_OK);
	assert_int_equal(used, 1);
	memcpy(before + 3 * SECTOR, data, SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	/* and reads back */
	memset(data, 0, sizeof(data));
	assert_int_equal(blk_req(t, BLK_T_IN, 3, data, SECTOR, true, NULL), BLK_S_OK);
	assert_memory_equal(data, before + 3 * SECTOR, SECTOR);

	/* The last sector is readable; sector == capacity is not. */
	assert_int_equal(blk_req(t, BLK_T_IN, IMAGE_SIZE / SECTOR - 1, data, SECTOR, true, NULL),
			 BLK_S_OK);
	assert_memory_equal(data, before + IMAGE_SIZE - SECTOR, SECTOR);
	assert_int_equal(blk_req(t, BLK_T_IN, IMAGE_SIZE / SECTOR, data, SECTOR, true, &used),
			 BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* A write straddling the end, one far past it, one whose sector overflows */
	memset(data, 0x77, sizeof(data));
	assert_int_equal(
		blk_req(t, BLK_T_OUT, IMAGE_SIZE / SECTOR - 1, data, 2 * SECTOR, false, NULL),
		BLK_S_IOERR);
	assert_int_equal(blk_req(t, BLK_T_OUT, 1ULL << 40, data, SECTOR, false, NULL), BLK_S_IOERR);
	assert_int_equal(blk_req(t, BLK_T_OUT, UINT64_MAX, data, SECTOR, false, NULL), BLK_S_IOERR);
	assert_int_equal(blk_req(t, BLK_T_IN, UINT64_MAX / SECTOR + 1, data, SECTOR, true, NULL),
			 BLK_S_IOERR);
	/* Not a whole number of sectors */
	assert_int_equal(blk_req(t, BLK_T_OUT, 5, data, 100, false, NULL), BLK_S_IOERR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* GET_ID, FLUSH, and a type nobody knows */
	{
		char id[20];

		memset(id, 'x', sizeof(id));
		assert_int_equal(blk_req(t, BLK_T_GET_ID, 0, id, sizeof(id), true, &used),
				 BLK_S_OK);
		assert_int_equal(used, 21);
		assert_string_equal(id, "cmavm-blk0");
		assert_true(all_bytes(id + 10, 0, 10));
	}
	assert_int_equal(blk_req(t, BLK_T_FLUSH, 0, NULL, 0, false, &used), BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(blk_req(t, 99, 0, NULL, 0, false, NULL), BLK_S_UNSUPP);
	assert_int_equal(blk_req(t, 99, 0, data, SECTOR, true, NULL), BLK_S_UNSUPP);

	assert_int_equal(counter(t, "reads"), 3);
	assert_int_equal(counter(t, "writes"), 1);
	assert_int_equal(counter(t, "flushes"), 1);
	assert_int_equal(counter(t, "get_ids"), 1);
	assert_int_equal(counter(t, "bytes_read"), 3 * SECTOR);
	assert_int_equal(counter(t, "bytes_written"), SECTOR);
	assert_int_equal(counter(t, "errors"), 6);
	assert_int_equal(counter(t, "unsupported"), 2);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
}

static void test_blk_discard_write_zeroes(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[8 * SECTOR];

	(void)state;
	handshake(t, BIT_ULL(BLK_F_DISCARD) | BIT_ULL(BLK_F_WRITE_ZEROES));
	read_image(images[0], before);

	assert_int_equal(blk_segment(t, BLK_T_DISCARD, 8, 8, 0), BLK_S_OK);
	assert_int_equal(blk_segment(t, BLK_T_WRITE_ZEROES, 16, 8, 0), BLK_S_OK);
	assert_int_equal(blk_segment(t, BLK_T_WRITE_ZEROES, 24, 8, 1), BLK_S_OK); /* unmap */
	memset(before + 8 * SECTOR, 0, 24 * SECTOR);
	for (unsigned int s = 8; s < 32; s += 8) {
		memset(data, 0xee, sizeof(data));
		assert_int_equal(blk_req(t, BLK_T_IN, s, data, sizeof(data), true, NULL), BLK_S_OK);
		assert_true(all_bytes(data, 0, sizeof(data)));
	}
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* 5.2.6.2: discard takes no flags; out of range, empty or malformed segments fail. */
	assert_int_equal(blk_segment(t, BLK_T_DISCARD, 40, 8, 1), BLK_S_UNSUPP);
	assert_int_equal(blk_segment(t, BLK_T_DISCARD, IMAGE_SIZE / SECTOR - 8, 16, 0),
			 BLK_S_IOERR);
	assert_int_equal(blk_segment(t, BLK_T_WRITE_ZEROES, UINT64_MAX - 3, 8, 0), BLK_S_IOERR);
	assert_int_equal(blk_segment(t, BLK_T_DISCARD, 40, 0, 0), BLK_S_IOERR);
	assert_int_equal(blk_req(t, BLK_T_DISCARD, 0, data, 8, false, NULL), BLK_S_UNSUPP);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "discards"), 1);
	assert_int_equal(counter(t, "write_zeroes"), 2);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: write zeroes must still work there. */
static void test_blk_write_zeroes_on_tmpfs(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t;

	(void)state;
	if (access("/dev/shm", W_OK))
		skip();
	t = add_blk(make_image_in(0, "/dev/shm"), false);
	handshake(t, BIT_ULL(BLK_F_WRITE_ZEROES));
	read_image(images[0], before);
	/* 160 KiB: more than one 64 KiB buffer of zeroes. */
	assert_int_equal(blk_segment(t, BLK_T_WRITE_ZEROES, 64, 320, 0), BLK_S_OK);
	memset(before + 64 * SECTOR, 0, 320 * SECTOR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "errors"), 0);
}

static void test_blk_readonly(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), true);
	uint64_t f = device_features(t);
	uint8_t data[SECTOR];

	(void)state;
	assert_true(f & BIT_ULL(BLK_F_RO));
	assert_false(f & BIT_ULL(BLK_F_DISCARD));
	assert_false(f & BIT_ULL(BLK_F_WRITE_ZEROES));
	/* Accepting DISCARD, which a read-only device does not offer, is refused. */
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(BLK_F_DISCARD)));
	handshake(t, BIT_ULL(BLK_F_RO));
	read_image(images[0], before);

	memset(data, 0x42, sizeof(data));
	assert_int_equal(blk_req(t, BLK_T_OUT, 3, data, SECTOR, false, NULL), BLK_S_IOERR);
	/* A driver that ignores RO gets nowhere with discard or write zeroes either. */
	assert_int_equal(blk_segment(t, BLK_T_DISCARD, 8, 8, 0), BLK_S_IOERR);
	assert_int_equal(blk_segment(t, BLK_T_WRITE_ZEROES, 8, 8, 1), BLK_S_IOERR);
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(blk_req(t, BLK_T_IN, 3, data, SECTOR, true, NULL), BLK_S_OK);
	assert_memory_equal(data, before + 3 * SECTOR, SECTOR);
	assert_int_equal(counter(t, "readonly"), 1);
	assert_int_equal(counter(t, "writes"), 0);

	/* Read-only images can be shared. */
	{
		struct tdev *t2 = add_blk(images[0], true);

		handshake(t2, 0);
		assert_int_equal(blk_req(t2, BLK_T_IN, 7, data, SECTOR, true, NULL), BLK_S_OK);
		assert_memory_equal(data, before + 7 * SECTOR, SECTOR);
	}
}

/* Requests without a header or a status byte come back unanswered, length 0. */
static void test_blk_malformed(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t hdr, data, status;
	uint8_t buf[SECTOR];

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);

	/*
	 * An 8-byte header (a read of sector 3, cut short). The header is the
	 * first 16 readable bytes whatever the descriptors (2.6.4), so short
	 * means fewer than 16 readable bytes in all.
	 */
	hdr = blk_header(t, BLK_T_IN, 3);
	data = galloc(t, SECTOR);
	status = galloc(t, 1);
	memset(hp(data), 0x99, SECTOR);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { data, SECTOR, true },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 3), 0);
	}
	assert_int_equal(*(uint8_t *)hp(status), 0xff);
	assert_true(all_bytes(hp(data), 0x99, SECTOR));
	/* The header split 8 + 4 is still short. */
	{
		struct tbuf b[3] = { { hdr, 8, false },
				     { hdr + 8, 4, false },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 3), 0);
	}
	/* No status byte: nothing device-writable at all */
	{
		struct tbuf b[2] = { { blk_header(t, BLK_T_OUT, 3), 16, false },
				     { data, SECTOR, false } };

		assert_int_equal(request(t, 0, b, 2), 0);
	}
	/* A read without a status byte does not read. */
	{
		uint64_t h = blk_header(t, BLK_T_IN, 3);
		struct tbuf b[2] = { { h, 16, false }, { data, SECTOR, false } };

		assert_int_equal(request(t, 0, b, 2), 0);
		assert_true(all_bytes(hp(data), 0x99, SECTOR));
	}
	/* Only device-writable buffers: no header to read */
	{
		struct tbuf b[2] = { { data, SECTOR, true }, { status, 1, true } };

		assert_int_equal(request(t, 0, b, 2), 0);
		assert_true(all_bytes(hp(data), 0x99, SECTOR));
		assert_int_equal(*(uint8_t *)hp(status), 0xff);
	}
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);
	assert_int_equal(counter(t, "writes"), 0);
	assert_int_equal(counter(t, "reads"), 0);
	assert_int_equal(counter(t, "errors"), 5);
	/* The queue is not broken: a good request works. */
	assert_false(rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(blk_req(t, BLK_T_IN, 3, buf, SECTOR, true, NULL), BLK_S_OK);
	assert_memory_equal(buf, before + 3 * SECTOR, SECTOR);
}

/* Any framing (2.6.4): header, data and status split across descriptors, or indirect. */
static void test_blk_split(void **state)
{
	static uint8_t before[IMAGE_SIZE], after[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t hdr, d1, d2, status;
	uint8_t data[2 * SECTOR];

	(void)state;
	handshake(t, BIT_ULL(VIRTIO_F_INDIRECT_DESC));
	read_image(images[0], before);

	/* Read sectors 4-5 into 300 + 724 bytes */
	hdr = blk_header(t, BLK_T_IN, 4);
	d1 = galloc(t, 300);
	d2 = galloc(t, 724);
	status = galloc(t, 1);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[4] = { { hdr, 16, false },
				     { d1, 300, true },
				     { d2, 724, true },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 4), 2 * SECTOR + 1);
	}
	assert_int_equal(*(uint8_t *)hp(status), BLK_S_OK);
	assert_memory_equal(hp(d1), before + 4 * SECTOR, 300);
	assert_memory_equal(hp(d2), before + 4 * SECTOR + 300, 724);

	/* Write sectors 6-7 from 1000 + 24 bytes, the header itself split 10 + 6 */
	hdr = blk_header(t, BLK_T_OUT, 6);
	d1 = galloc(t, 1000);
	d2 = galloc(t, 24);
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + 11);
	memcpy(hp(d1), data, 1000);
	memcpy(hp(d2), data + 1000, 24);
	*(uint8_t *)hp(status) = 0xff;
	{
		struct tbuf b[5] = { { hdr, 10, false },
				     { hdr + 10, 6, false },
				     { d1, 1000, false },
				     { d2, 24, false },
				     { status, 1, true } };

		assert_int_equal(request(t, 0, b, 5), 1);
	}
	assert_int_equal(*(uint8_t *)hp(status), BLK_S_OK);
	memcpy(before + 6 * SECTOR, data, sizeof(data));
	read_image(images[0], after);
	assert_memory_equal(after, before, IMAGE_SIZE);

	/* Data and status in one 513-byte buffer */
	hdr = blk_header(t, BLK_T_IN, 9);
	d1 = galloc(t, SECTOR + 1);
	memset(hp(d1), 0xee, SECTOR + 1);
	{
		struct tbuf b[2] = { { hdr, 16, false }, { d1, SECTOR + 1, true } };

		assert_int_equal(request(t, 0, b, 2), SECTOR + 1);
	}
	assert_memory_equal(hp(d1), before + 9 * SECTOR, SECTOR);
	assert_int_equal(*((uint8_t *)hp(d1) + SECTOR), BLK_S_OK);

	/* The same read of sector 4-5 through an indirect table */
	{
		uint64_t table = galloc(t, 3 * 16);
		struct tbuf ind = { table, 3 * 16, false };
		struct tqueue *tq = &t->q[0];
		uint16_t head;

		hdr = blk_header(t, BLK_T_IN, 4);
		d1 = galloc(t, 2 * SECTOR);
		*(uint8_t *)hp(status) = 0xff;
		write_desc(table, 0, hdr, 16, D_NEXT, 1);
		write_desc(table, 1, d1, 2 * SECTOR, D_NEXT | D_WRITE, 2);
		write_desc(table, 2, status, 1, D_WRITE, 0);
		head = build_chain(t, 0, &ind, 1);
		put16(tq->desc + 16ULL * head + 12, D_INDIRECT);
		offer(t, 0, head, true);
		assert_int_equal(next_used(t, 0, head), 2 * SECTOR + 1);
		assert_true(wait_irq(t));
		take_interrupt(t);
	}
	assert_int_equal(*(uint8_t *)hp(status), BLK_S_OK);
	assert_memory_equal(hp(d1), before + 4 * SECTOR, 2 * SECTOR);
}

/* Several requests in one notification, completed in any order */
static void test_blk_batch(void **state)
{
	static uint8_t before[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint64_t data[4], status[4];
	uint16_t heads[4];
	bool seen[4] = { false };

	(void)state;
	handshake(t, 0);
	read_image(images[0], before);
	for (unsigned int i = 0; i < 4; i++) {
		struct tbuf b[3];

		data[i] = galloc(t, 4 * SECTOR);
		status[i] = galloc(t, 1);
		*(uint8_t *)hp(status[i]) = 0xff;
		b[0] = (struct tbuf){ blk_header(t, BLK_T_IN, 100 + 16 * i), 16, false };
		b[1] = (struct tbuf){ data[i], 4 * SECTOR, true };
		b[2] = (struct tbuf){ status[i], 1, true };
		heads[i] = build_chain(t, 0, b, 3);
		offer(t, 0, heads[i], i == 3);
	}
	assert_true(wait_used(t, 0, 4, TIMEOUT_MS));
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t elem = t->q[0].used + 4 + 8ULL * i;

		for (unsigned int j = 0; j < 4; j++)
			if (get32(elem) == heads[j]) {
				assert_false(seen[j]);
				seen[j] = true;
			}
		assert_int_equal(get32(elem + 4), 4 * SECTOR + 1);
	}
	for (unsigned int i = 0; i < 4; i++) {
		assert_true(seen[i]);
		assert_int_equal(*(uint8_t *)hp(status[i]), BLK_S_OK);
		assert_memory_equal(hp(data[i]), before + (100 + 16 * i) * SECTOR, 4 * SECTOR);
	}
	assert_true(wait_irq(t));
}

/* Out of the page cache: reads of it then really go to the disk, and take a while. */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* 3.3.1: a reset with I/O in flight completes only once no request can touch guest memory. */
static void test_blk_reset_inflight(void **state)
{
	static uint8_t before[IMAGE_SIZE];
	struct tdev *t = add_blk(make_image(0), false);
	uint8_t data[SECTOR];

	(void)state;
	read_image(images[0], before);
	for (unsigned int round = 0; round < 24; round++) {
		uint64_t bufs[4]; /* 4 reads of 3 descriptors and a flush of 2: 14 of 16 */
		uint16_t used_after;

		handshake(t, 0);
		drop_cache(images[0]);
		for (unsigned int i = 0; i < 4; i++) {
			struct tbuf b[3];

			bufs[i] = galloc(t, 64 * SECTOR);
			b[0] = (struct tbuf){ blk_header(t, BLK_T_IN, 256 * i + round), 16, false };
			b[1] = (struct tbuf){ bufs[i], 64 * SECTOR, true };
			b[2] = (struct tbuf){ galloc(t, 1), 1, true };
			offer(t, 0, build_chain(t, 0, b, 3), round % 3 != 0);
		}
		{
			struct tbuf b[2] = { { blk_header(t, BLK_T_FLUSH, 0), 16, false },
					     { galloc(t, 1), 1, true } };

			offer(t, 0, build_chain(t, 0, b, 2), true);
		}
		/* Reset at once, once the loop has taken the requests, or after the first is done.
		 */
		if (round % 3 == 1)
			loop_sync();
		else if (round % 3 == 2)
			wait_used(t, 0, 1, TIMEOUT_MS);
		reset(t);
		/* From here on, nothing may write the rings or the buffers. */
		used_after = used_idx(t, 0);
		for (unsigned int i = 0; i < 4; i++)
			memset(hp(bufs[i]), 0xcd, 64 * SECTOR);
		loop_sync();
		sleep_ms(5);
		loop_sync();
		assert_int_equal(used_idx(t, 0), used_after);
		for (unsigned int i = 0; i < 4; i++)
			assert_true(all_bytes(hp(bufs[i]), 0xcd, 64 * SECTOR));
		irq_edges(t);
	}
	/* and the device works after it */
	handshake(t, 0);
	assert_int_equal(blk_req(t, BLK_T_IN, 1, data, SECTOR, true, NULL), BLK_S_OK);
	assert_memory_equal(data, before + SECTOR, SECTOR);
	assert_int_equal(counter(t, "errors"), 0);
}

/* ---- virtio-balloon ---- */

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

static const uint64_t balloon_features = BIT_ULL(BALLOON_F_STATS_VQ) |
					 BIT_ULL(BALLOON_F_DEFLATE_ON_OOM) |
					 BIT_ULL(BALLOON_F_REPORTING);

static void test_balloon_inflate_deflate(void **state)
{
	struct tdev *t = add_balloon(0);
	uint64_t pages[3] = { balloon_page(1), balloon_page(2), balloon_page(4) };
	/* below RAM; RAM's last page and the first one past it; far out */
	uint64_t bad[4] = { 0x1000, RAM_END - PAGE, RAM_END, 0xfffff000ULL << 12 };

	(void)state;
	assert_int_equal(rd(t, R_DEVICE_ID), VIRTIO_ID_BALLOON);
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
	assert_false(rd(t, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* Deflate only counts: the pages come back when touched. */
	send_pfns(t, BQ_DEFLATE, pages, 2);
	assert_int_equal(counter(t, "deflated_pages"), 2);
	memset(hp(balloon_page(1)), 1, PAGE);
	assert_true(all_bytes(hp(balloon_page(1)), 1, PAGE));
	/* A partial PFN (not a multiple of 4 bytes) is ignored. */
	{
		uint64_t buf = galloc(t, 6);
		struct tbuf b = { buf, 6, false };

		put32(buf, (uint32_t)(balloon_page(5) >> 12));
		assert_int_equal(request(t, BQ_INFLATE, &b, 1), 0);
	}
	assert_int_equal(counter(t, "inflated_pages"), 8);
	assert_true(all_bytes(hp(balloon_page(5)), 0, PAGE));
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
	} e[3] = { { STAT_MEMFREE, memfree }, { STAT_MEMTOT, memtot }, { 0x30, 5 } };

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
	assert_int_equal(s.value[STAT_MEMFREE], 123456789);
	assert_int_equal(s.value[STAT_MEMTOT], 987654321);
	assert_int_equal(s.reported, (1u << STAT_MEMFREE) | (1u << STAT_MEMTOT));
	/* The buffer is held until the interval is up... */
	assert_int_equal(used_idx(t, BQ_STATS), 0);
	/* ...and then given back, empty. */
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
	assert_true(now_ms() - start >= 900);
	assert_true(now_ms() - start <= 1000 + TIMEOUT_MS);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_INT_USED);

	/* The driver answers with fresh numbers. */
	head = send_stats(t, 1000, 2000);
	end = now_ms() + TIMEOUT_MS;
	while (counter(t, "stats_updates") < 2) {
		assert_true(now_ms() < end);
		sleep_ms(1);
	}
	assert_true(get_stats(t, &s));
	assert_int_equal(s.value[STAT_MEMFREE], 1000);
	assert_int_equal(s.value[STAT_MEMTOT], 2000);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);

	/* A reset drops a held buffer; after it the device takes a new one. */
	head = send_stats(t, 1, 2);
	end = now_ms() + TIMEOUT_MS;
	while (counter(t, "stats_updates") < 3) {
		assert_true(now_ms() < end);
		sleep_ms(1);
	}
	handshake(t, balloon_features);
	head = send_stats(t, 3, 4);
	assert_int_equal(next_used(t, BQ_STATS, head), 0);
	assert_true(get_stats(t, &s));
	assert_int_equal(s.value[STAT_MEMFREE], 3);
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
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), 0);
	assert_int_equal(cfg_read32(t, 0), 1024);

	handshake(t, balloon_features);
	gen = rd(t, R_CONFIG_GENERATION);
	pthread_mutex_lock(&t->dev.lock);
	balloon_set_target(&t->dev, 8ULL << 20);
	pthread_mutex_unlock(&t->dev.lock);
	assert_true(irq_edges(t) > 0);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	wr(t, R_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	assert_int_equal(rd(t, R_INTERRUPT_STATUS), 0);
	assert_int_not_equal(rd(t, R_CONFIG_GENERATION), gen);
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

/* ---- a hostile driver ---- */

static void assert_needs_reset(struct tdev *t)
{
	if (!wait_status(t, VIRTIO_STATUS_NEEDS_RESET))
		fail_msg("%s: no DEVICE_NEEDS_RESET", t->dev.name);
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_INT_CONFIG);
}

static void assert_rng_works(struct tdev *t)
{
	struct tbuf b = { galloc(t, 32), 32, true };

	assert_int_equal(request(t, 0, &b, 1), 32);
	assert_false(all_bytes(hp(b.gpa), 0, 32));
}

static void assert_blk_works(struct tdev *t)
{
	uint8_t data[SECTOR];

	assert_int_equal(blk_req(t, BLK_T_IN, 0, data, SECTOR, true, NULL), BLK_S_OK);
	assert_int_equal(data[1], pattern(1));
	assert_int_equal(data[SECTOR - 1], pattern(SECTOR - 1));
}

static void test_hostile_loop(void **state)
{
	struct tdev *rng = add_rng(), *blk = add_blk(make_image(0), false);
	uint64_t buf;
	uint16_t used;

	(void)state;
	handshake(rng, 0);
	handshake(blk, 0);
	assert_rng_works(rng);

	/* desc 0 -> 1 -> 0 */
	buf = galloc(rng, 64);
	write_desc(rng->q[0].desc, 0, buf, 32, D_WRITE | D_NEXT, 1);
	write_desc(rng->q[0].desc, 1, buf + 32, 32, D_WRITE | D_NEXT, 0);
	used = used_idx(rng, 0);
	offer(rng, 0, 0, true);
	assert_needs_reset(rng);
	assert_int_equal(rd(rng, R_STATUS), VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_DRIVER_OK |
						    VIRTIO_STATUS_FEATURES_OK |
						    VIRTIO_STATUS_DRIVER |
						    VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(used_idx(rng, 0), used);

	/* The other device goes on. */
	assert_blk_works(blk);
	assert_blk_works(blk);

	/* The broken one takes nothing more, even a good request... */
	write_desc(rng->q[0].desc, 2, buf, 16, D_WRITE, 0);
	offer(rng, 0, 2, true);
	sleep_ms(20);
	loop_sync();
	assert_int_equal(used_idx(rng, 0), used);
	/* ...the driver cannot clear NEEDS_RESET by writing status... */
	wr(rng, R_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(rng, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* ...but a reset and a new handshake bring it back. */
	handshake(rng, 0);
	assert_rng_works(rng);
	assert_rng_works(rng);
	assert_blk_works(blk);
}

static void test_hostile_outside_ram(void **state)
{
	struct tdev *rng = add_rng(), *blk = add_blk(make_image(0), false);
	uint64_t hdr, status;

	(void)state;
	handshake(rng, 0);
	handshake(blk, 0);

	/* A read whose data buffer runs past the end of RAM */
	hdr = blk_header(blk, BLK_T_IN, 0);
	status = galloc(blk, 1);
	{
		struct tbuf b[3] = { { hdr, 16, false },
				     { RAM_END - SECTOR / 2, SECTOR, true },
				     { status, 1, true } };

		submit(blk, 0, b, 3);
	}
	assert_needs_reset(blk);
	assert_int_equal(used_idx(blk, 0), 0);
	assert_rng_works(rng);

	/* One below RAM, on the rng */
	{
		struct tbuf b = { 0x1000, 64, true };

		submit(rng, 0, &b, 1);
	}
	assert_needs_reset(rng);

	/* Both come back after a reset. */
	handshake(blk, 0);
	assert_blk_works(blk);
	handshake(rng, 0);
	assert_rng_works(rng);

	/* Rings outside RAM break the queue at QueueReady, before DRIVER_OK. */
	assert_true(negotiate(rng, BIT_ULL(VIRTIO_F_VERSION_1)));
	wr(rng, R_QUEUE_SEL, 0);
	wr(rng, R_QUEUE_NUM, QSIZE);
	wr(rng, R_QUEUE_DESC_LOW, 0);
	wr(rng, R_QUEUE_DESC_HIGH, 1);
	wr(rng, R_QUEUE_READY, 1);
	assert_int_equal(rd(rng, R_QUEUE_READY), 0);
	assert_true(rd(rng, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(irq_edges(rng), 0);
	handshake(rng, 0);
	assert_rng_works(rng);
	assert_blk_works(blk);
}

/* avail->idx racing ahead and an out-of-range head break the queue too. */
static void test_hostile_avail(void **state)
{
	struct tdev *rng = add_rng();
	struct tqueue *tq;

	(void)state;
	handshake(rng, 0);
	tq = &rng->q[0];
	tq->avail_idx = QSIZE; /* 17 entries "available" in a ring of 16 */
	offer(rng, 0, 0, true);
	assert_needs_reset(rng);
	handshake(rng, 0);
	assert_rng_works(rng);
	offer(rng, 0, QSIZE, true); /* head 16 in a queue of 16 */
	assert_needs_reset(rng);
	handshake(rng, 0);
	assert_rng_works(rng);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity_and_handshake),
		T(test_rng),
		T(test_rng_event_idx),
		T(test_blk_config),
		T(test_blk_read_write),
		T(test_blk_discard_write_zeroes),
		T(test_blk_write_zeroes_on_tmpfs),
		T(test_blk_readonly),
		T(test_blk_malformed),
		T(test_blk_split),
		T(test_blk_batch),
		T(test_blk_reset_inflight),
		T(test_balloon_inflate_deflate),
		T(test_balloon_stats),
		T(test_balloon_stats_interval),
		T(test_balloon_reporting),
		T(test_balloon_config),
		T(test_hostile_loop),
		T(test_hostile_outside_ram),
		T(test_hostile_avail),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
