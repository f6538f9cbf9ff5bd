// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the virtqueue core (vmm/virtio/virtqueue.h) on its own,
 * rings and buffers in 64 KiB of fake guest RAM whose base, content and
 * ring layout the input chooses.
 *
 * Input: a header (u8 layout: bits 0-1 the RAM base, bit 2 EVENT_IDX,
 * bit 3 INDIRECT_DESC;
 * u16 queue size; u32 offsets of the descriptor table, available and used
 * rings from the RAM base, wrapping), then operations, an opcode byte
 * each (modulo NR_OPS) and its operands, little-endian:
 *
 *   OP_MEM     u16 off, u8 n, n bytes    RAM content
 *   OP_DESC    u16 i, u32 addr, u32 len, u16 flags, u16 next
 *                                        descriptor i, buffer at base + addr
 *   OP_AVAIL   u16 head                  head on the available ring, idx bumped
 *   OP_POP                               vq_pop()
 *   OP_PUSH    u8 which, u32 written     vq_push() of an outstanding chain
 *   OP_NOTIFY                            vq_should_notify()
 *   OP_SUPPRESS u8 on                    vq_notifications()
 *   OP_READ    u32 offset, u32 len       vq_chain_read() of the last chain
 *   OP_WRITE   u32 offset, u32 len       vq_chain_write() into the last chain
 *   OP_RESET                             vq_reset(), vq_enable()
 *   OP_DRAIN                             pop and push back everything, as a device does
 *
 * Beyond the sanitizers, every chain popped is checked against what the
 * header promises (buffers translated, in RAM, readable first, lengths
 * summed) and every copy against the bytes it should have moved.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fake_ram.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/virtio/virtqueue.h"

#define RAM_SIZE    0x10000ULL
#define OUTSTANDING 16
#define COPY_MAX    (RAM_SIZE * 2)

enum op {
	OP_MEM,
	OP_DESC,
	OP_AVAIL,
	OP_POP,
	OP_PUSH,
	OP_NOTIFY,
	OP_SUPPRESS,
	OP_READ,
	OP_WRITE,
	OP_RESET,
	OP_DRAIN,
	NR_OPS,
};

static const uint64_t ram_bases[4] = { 0, 0x80000000ULL, 0x10000ULL, 0 - RAM_SIZE };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct guest_ram ram;
	struct virtqueue vq;
	struct vq_chain chain; /* the last chain popped */
	bool have_chain;
	uint16_t heads[OUTSTANDING];
	unsigned int nr_heads;
	uint16_t avail_idx; /* the driver's */
	uint8_t copy[COPY_MAX];
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_virtqueue: %s\n", what);
		abort();
	}
}

static void put_le(struct state *s, uint64_t gpa, uint64_t val, unsigned int bytes)
{
	uint8_t *p = guest_ram_ptr(&s->ram, gpa, bytes);

	for (unsigned int i = 0; p && i < bytes; i++, val >>= 8)
		p[i] = (uint8_t)val;
}

/* What vq_pop() promises of a chain it returns. */
static void check_chain(struct state *s, const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;

	check(c->nr >= 1 && c->nr <= VQ_CHAIN_MAX && c->nr_out <= c->nr, "chain counts");
	check(c->head < s->vq.size, "head beyond the queue");
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct vq_buf *b = &c->buf[i];

		check(b->len > 0, "empty buffer");
		check(b->host && b->host == guest_ram_ptr(&s->ram, b->gpa, b->len),
		      "buffer not translated to its place in RAM");
		check(b->device_writes == (i >= c->nr_out), "readable buffer after a writable one");
		*(b->device_writes ? &in : &out) += b->len;
	}
	check(out == c->out_len && in == c->in_len, "chain lengths do not add up");
	check(out + in <= UINT32_MAX, "chain longer than 4 GiB");
}

static void op_pop(struct state *s)
{
	int ret = vq_pop(&s->vq, &s->chain);

	if (ret < 0) {
		check(s->vq.broken && s->vq.broken_reason[0], "refused without a reason");
		s->have_chain = false;
		return;
	}
	check(ret == 0 || ret == 1, "vq_pop() result");
	s->have_chain = ret == 1;
	if (!s->have_chain)
		return;
	check_chain(s, &s->chain);
	/* Every byte of every buffer is the device's to touch. */
	vq_chain_write(&s->chain, 0, s->copy, vq_chain_read(&s->chain, 0, s->copy, COPY_MAX));
	if (s->nr_heads < OUTSTANDING)
		s->heads[s->nr_heads++] = s->chain.head;
}

static void op_push(struct state *s, struct fuzz_input *in)
{
	uint8_t which = fin_u8(in);
	uint32_t written = fin_u32(in);

	if (!s->nr_heads)
		return;
	which %= s->nr_heads;
	vq_push(&s->vq, s->heads[which], written);
	s->heads[which] = s->heads[--s->nr_heads];
}

static void op_copy(struct state *s, struct fuzz_input *in, bool write)
{
	uint64_t offset = fin_u32(in), len = fin_u32(in) % (COPY_MAX + 1);
	uint64_t part = write ? s->chain.in_len : s->chain.out_len;
	uint64_t want = offset >= part ? 0 : part - offset < len ? part - offset : len;
	uint64_t got;

	if (!s->have_chain)
		return;
	if (write)
		got = vq_chain_write(&s->chain, offset, s->copy, len);
	else
		got = vq_chain_read(&s->chain, offset, s->copy, len);
	check(got == want, "copied a different number of bytes");
}

/* What virtio_process_queue() does, at most a queue's worth. */
static void op_drain(struct state *s)
{
	vq_notifications(&s->vq, false);
	for (unsigned int i = 0; i <= VQ_MAX_SIZE && vq_pop(&s->vq, &s->chain) == 1; i++) {
		check_chain(s, &s->chain);
		vq_push(&s->vq, s->chain.head, (uint32_t)s->chain.in_len);
	}
	vq_notifications(&s->vq, true);
	vq_should_notify(&s->vq);
	s->have_chain = false;
}

static void op_desc(struct state *s, struct fuzz_input *in)
{
	uint64_t d = s->vq.desc_gpa + 16ULL * fin_u16(in);

	put_le(s, d, s->ram.gpa + fin_u32(in), 8);
	put_le(s, d + 8, fin_u32(in), 4);
	put_le(s, d + 12, fin_u16(in), 2);
	put_le(s, d + 14, fin_u16(in), 2);
}

static void op_avail(struct state *s, struct fuzz_input *in)
{
	uint16_t head = fin_u16(in);

	if (!s->vq.size)
		return;
	put_le(s, s->vq.avail_gpa + 4 + 2ULL * (s->avail_idx % s->vq.size), head, 2);
	s->avail_idx++;
	put_le(s, s->vq.avail_gpa + 2, s->avail_idx, 2);
}

static void op_mem(struct state *s, struct fuzz_input *in)
{
	uint16_t off = fin_u16(in);
	uint8_t n = fin_u8(in), buf[256];
	size_t got = fin_bytes(in, buf, n);

	memcpy(s->ram.host + off, buf, got < RAM_SIZE - off ? got : RAM_SIZE - off);
}

static void step(struct state *s, struct fuzz_input *in)
{
	enum op op = (enum op)(fin_u8(in) % NR_OPS);

	switch (op) {
	case OP_MEM:
		op_mem(s, in);
		break;
	case OP_DESC:
		op_desc(s, in);
		break;
	case OP_AVAIL:
		op_avail(s, in);
		break;
	case OP_POP:
		op_pop(s);
		break;
	case OP_PUSH:
		op_push(s, in);
		break;
	case OP_NOTIFY:
		vq_should_notify(&s->vq);
		break;
	case OP_SUPPRESS:
		vq_notifications(&s->vq, fin_u8(in) & 1);
		break;
	case OP_READ:
	case OP_WRITE:
		op_copy(s, in, op == OP_WRITE);
		break;
	case OP_RESET:
		vq_reset(&s->vq);
		vq_enable(&s->vq);
		s->have_chain = false;
		s->nr_heads = 0;
		s->avail_idx = 0;
		break;
	case OP_DRAIN:
		op_drain(s);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	struct fuzz_input in = fin_make(data, size);
	uint8_t layout = fin_u8(&in);

	if (!s.ram.host)
		fake_ram_init(&s.ram, 0, RAM_SIZE);
	fake_ram_reset(&s.ram, ram_bases[layout & 3]);
	s.have_chain = false;
	s.nr_heads = 0;
	s.avail_idx = 0;
	memset(&s.vq, 0, sizeof(s.vq));
	s.vq.ram = &s.ram;
	s.vq.name = "fuzz queue";
	s.vq.event_idx = layout & 4;
	s.vq.indirect = layout & 8;
	s.vq.size = fin_u16(&in);
	s.vq.desc_gpa = s.ram.gpa + fin_u32(&in);
	s.vq.avail_gpa = s.ram.gpa + fin_u32(&in);
	s.vq.used_gpa = s.ram.gpa + fin_u32(&in);
	if (vq_enable(&s.vq))
		check(s.vq.broken && s.vq.broken_reason[0], "refused without a reason");
	while (!fin_done(&in))
		step(&s, &in);
	return 0;
}
