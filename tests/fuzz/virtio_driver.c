// SPDX-License-Identifier: GPL-2.0-only
/* The fuzzer's virtio driver: see virtio_driver.h. */
#include "tests/fuzz/virtio_driver.h"

#include <endian.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fake_ram.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/inline_loop.h"

/* The driver's view of one queue, as VDRV_QUEUE set it up. */
struct vdrv_queue {
	uint64_t desc, avail;
	uint16_t size;
	uint16_t avail_idx;
};

struct vdrv {
	struct virtio_device *dev;
	struct virtio_mmio m;
	const struct vdrv_target *target;
	struct vdrv_queue q[VIRTIO_MAX_QUEUES];
};

static struct guest_ram ram;
static struct ev_loop loop;

struct virtio_env vdrv_env(void)
{
	static bool ready;

	if (!ready) {
		fake_ram_init(&ram, VDRV_RAM_GPA, VDRV_RAM_SIZE);
		inline_loop_init(&loop);
		ready = true;
	}
	return (struct virtio_env){ .ram = &ram, .loop = &loop, .access_platform = true };
}

/* ---- registers and guest memory ---- */

static void reg_write(struct vdrv *v, uint64_t reg, uint64_t val, uint32_t len)
{
	uint64_t le = htole64(val);

	virtio_mmio_access(&v->m, reg, (uint8_t *)&le, len, true);
}

static uint64_t reg_read(struct vdrv *v, uint64_t reg, uint32_t len)
{
	uint64_t le = 0;

	virtio_mmio_access(&v->m, reg, (uint8_t *)&le, len, false);
	return le64toh(le);
}

static void put_le(uint64_t gpa, uint64_t val, unsigned int bytes)
{
	uint8_t *p = guest_ram_ptr(&ram, gpa, bytes);

	for (unsigned int i = 0; p && i < bytes; i++, val >>= 8)
		p[i] = (uint8_t)val;
}

/* A register offset inside the window, config space included. */
static uint64_t take_reg(struct fuzz_input *in)
{
	return fin_u16(in) % VIRTIO_MMIO_SIZE;
}

static uint32_t take_len(struct fuzz_input *in)
{
	return 1u << (fin_u8(in) & 3);
}

static struct vdrv_queue *take_queue(struct vdrv *v, struct fuzz_input *in)
{
	return &v->q[fin_u8(in) % VIRTIO_MAX_QUEUES];
}

/* ---- operations ---- */

static void op_mem(struct fuzz_input *in)
{
	uint64_t gpa = VDRV_RAM_GPA + fin_u16(in);
	uint8_t n = fin_u8(in), buf[256];
	size_t got = fin_bytes(in, buf, n);
	uint64_t room = VDRV_RAM_GPA + VDRV_RAM_SIZE - gpa;

	memcpy(guest_ram_ptr(&ram, gpa, 0), buf, got < room ? got : room);
}

/* 3.1.1 up to FEATURES_OK, with the features the input accepts. */
static void op_handshake(struct vdrv *v, struct fuzz_input *in)
{
	uint64_t features = fin_u64(in);
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	reg_write(v, VIRTIO_MMIO_STATUS, 0, 4);
	memset(v->q, 0, sizeof(v->q));
	reg_write(v, VIRTIO_MMIO_STATUS, s, 4);
	s |= VIRTIO_CONFIG_S_DRIVER;
	reg_write(v, VIRTIO_MMIO_STATUS, s, 4);
	for (unsigned int word = 0; word < 2; word++) {
		reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word, 4);
		reg_write(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * word)), 4);
	}
	reg_write(v, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK, 4);
}

static void write_addr(struct vdrv *v, uint64_t low_reg, uint64_t gpa)
{
	reg_write(v, low_reg, (uint32_t)gpa, 4);
	reg_write(v, low_reg + 4, (uint32_t)(gpa >> 32), 4);
}

static void op_queue(struct vdrv *v, struct fuzz_input *in)
{
	uint8_t q = fin_u8(in);
	struct vdrv_queue *vq = &v->q[q % VIRTIO_MAX_QUEUES];

	vq->size = fin_u16(in);
	vq->desc = VDRV_RAM_GPA + fin_u16(in);
	vq->avail = VDRV_RAM_GPA + fin_u16(in);
	vq->avail_idx = 0;
	reg_write(v, VIRTIO_MMIO_QUEUE_SEL, q, 4);
	reg_write(v, VIRTIO_MMIO_QUEUE_NUM, vq->size, 4);
	write_addr(v, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc);
	write_addr(v, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vq->avail);
	write_addr(v, VIRTIO_MMIO_QUEUE_USED_LOW, VDRV_RAM_GPA + fin_u16(in));
	reg_write(v, VIRTIO_MMIO_QUEUE_READY, 1, 4);
}

static void op_desc(struct vdrv *v, struct fuzz_input *in)
{
	struct vdrv_queue *vq = take_queue(v, in);
	uint64_t d = vq->desc + 16ULL * fin_u16(in);

	put_le(d, VDRV_RAM_GPA + fin_u16(in), 8);
	put_le(d + 8, fin_u32(in), 4);
	put_le(d + 12, fin_u16(in), 2);
	put_le(d + 14, fin_u16(in), 2);
}

static void op_avail(struct vdrv *v, struct fuzz_input *in)
{
	struct vdrv_queue *vq = take_queue(v, in);
	uint16_t head = fin_u16(in);

	if (!vq->size)
		return;
	put_le(vq->avail + 4 + 2ULL * (vq->avail_idx % vq->size), head, 2);
	vq->avail_idx++;
	put_le(vq->avail + 2, vq->avail_idx, 2);
}

/* What the event loop does between two register accesses: kicks, interrupts. */
static void deliver(struct vdrv *v)
{
	uint64_t n;

	for (unsigned int q = 0; q < v->dev->ops->nr_queues; q++)
		if (read(v->m.notify[q].fd, &n, sizeof(n)) == sizeof(n))
			virtio_notify_queue(v->dev, q);
	while (read(v->m.irq_fd, &n, sizeof(n)) == sizeof(n))
		;
}

static void op_register(struct vdrv *v, enum vdrv_op op, struct fuzz_input *in)
{
	uint64_t reg = take_reg(in);
	uint32_t len;

	if (op == VDRV_WRITE) {
		reg_write(v, reg, fin_u32(in), 4);
	} else if (op == VDRV_READ) {
		reg_read(v, reg, take_len(in));
	} else {
		len = take_len(in);
		reg_write(v, reg, fin_u64(in), len);
	}
}

/* Let the I/O in flight complete, each completion waited for up to io_ms. */
static void run_io(const struct vdrv *v)
{
	inline_loop_run_ready(&loop);
	while (v->target->io_ms && loop.inflight > INLINE_LOOP_IDLE &&
	       inline_loop_run_wait(&loop, v->target->io_ms))
		;
}

/* What the CMA engine's mover and the control API do, on the loop thread. */
static void op_locked(struct vdrv *v, enum vdrv_op op, struct fuzz_input *in)
{
	struct virtio_device *dev = v->dev;
	struct virtio_counter counters[VIRTIO_COUNTERS_MAX];
	uint16_t off = op == VDRV_FENCE ? fin_u16(in) : 0;
	uint16_t len = op == VDRV_FENCE ? fin_u16(in) : 0;
	uint32_t arg = op == VDRV_HOST ? fin_u32(in) : 0;

	pthread_mutex_lock(&dev->lock);
	if (op == VDRV_FENCE && dev->ops->fence)
		dev->ops->fence(dev, ram.host + off, len);
	else if (op == VDRV_UNFENCE && dev->ops->unfence)
		dev->ops->unfence(dev);
	else if (op == VDRV_HOST && v->target->host)
		v->target->host(dev, arg);
	if (op == VDRV_PEEK && dev->ops->counters)
		dev->ops->counters(dev, counters);
	if (op == VDRV_PEEK && dev->ops->inflight_into)
		dev->ops->inflight_into(dev, ram.host, ram.size);
	pthread_mutex_unlock(&dev->lock);
}

static void op_ack(struct vdrv *v)
{
	reg_write(v, VIRTIO_MMIO_INTERRUPT_ACK, reg_read(v, VIRTIO_MMIO_INTERRUPT_STATUS, 4), 4);
}

static void step(struct vdrv *v, struct fuzz_input *in)
{
	enum vdrv_op op = (enum vdrv_op)(fin_u8(in) % VDRV_NR_OPS);

	switch (op) {
	case VDRV_MEM:
		op_mem(in);
		return;
	case VDRV_HANDSHAKE:
		op_handshake(v, in);
		break;
	case VDRV_QUEUE:
		op_queue(v, in);
		break;
	case VDRV_DRIVER_OK:
		reg_write(v, VIRTIO_MMIO_STATUS,
			  reg_read(v, VIRTIO_MMIO_STATUS, 4) | VIRTIO_CONFIG_S_DRIVER_OK, 4);
		break;
	case VDRV_DESC:
		op_desc(v, in);
		return;
	case VDRV_AVAIL:
		op_avail(v, in);
		return;
	case VDRV_NOTIFY:
		reg_write(v, VIRTIO_MMIO_QUEUE_NOTIFY, fin_u8(in), 4);
		break;
	case VDRV_RUN:
		run_io(v);
		break;
	case VDRV_ACK:
		op_ack(v);
		break;
	case VDRV_FENCE:
	case VDRV_UNFENCE:
	case VDRV_PEEK:
	case VDRV_HOST:
		op_locked(v, op, in);
		break;
	default:
		op_register(v, op, in);
		break;
	}
	deliver(v);
}

void vdrv_run(struct virtio_device *dev, const struct vdrv_target *target, const uint8_t *data,
	      size_t size)
{
	static struct vdrv v;
	struct fuzz_input in = fin_make(data, size);

	memset(&v, 0, sizeof(v));
	v.dev = dev;
	v.target = target;
	fake_ram_reset(&ram, VDRV_RAM_GPA);
	if (virtio_mmio_init(&v.m, dev, 0x0a000000, 16, -1))
		abort();
	while (!fin_done(&in))
		step(&v, &in);
	/* A reset drops what is under way; what is still in flight completes stale. */
	reg_write(&v, VIRTIO_MMIO_STATUS, 0, 4);
	inline_loop_settle(&loop, INLINE_LOOP_IDLE);
	virtio_mmio_destroy(&v.m);
	virtio_destroy(dev);
}
