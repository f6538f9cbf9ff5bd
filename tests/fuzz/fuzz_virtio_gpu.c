// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: virtio-gpu (vmm/virtio/gpu.c, gpu_cmd.c, gpu_resource.c)
 * behind its virtio-mmio registers, on 1 MiB of fake guest RAM, its
 * resources in an 8 MiB region over a memfd placed as if its pages were
 * 2 MiB (cma/region.h): two resources of 1024 x 1024 fill it, so that
 * OUT_OF_MEMORY comes as easily as success.
 *
 * Unlike the inputs of virtio_driver.h, these are read as GPU commands:
 * a structured decoder builds requests that are well formed most of the
 * time (resource ids from a small set, sizes that sometimes overflow,
 * rectangles mostly inside the resource, backing that mostly covers it,
 * whole or scattered, and sometimes points anywhere at all), so that the
 * fuzzer spends its time past the argument checks. An input is a byte of
 * features for the handshake (as OP_RESET's), then operations, an opcode
 * byte each (modulo NR_OPS) and its operands, little-endian:
 *
 *   OP_CONTROL (x2) u8 how, operands     one control-queue command: how & 15
 *                                         its kind (kinds[]), bits 4-5 its fence
 *                                         flags, bits 6-7 the chain's shape
 *   OP_CURSOR  u8 how, operands          one cursor-queue command (op_cursor())
 *   OP_FILL    u16 page, u8 pages, u8 seed  guest RAM content behind resources
 *   OP_HOST    u8 which, operands        the control API's side, by which % 4: a
 *                                         new mode (two sizes; scanout which >> 7),
 *                                         a scanout's picture, the resources, the
 *                                         counters
 *   OP_CONFIG  u8 off, u8 len, u8 write, u32 value   config space
 *   OP_RESET   u8 features               reset, then the handshake again, with
 *                                         EDID, ACCESS_PLATFORM, EVENT_IDX by bits 0-2
 *   OP_RAW     u8 n, n bytes, u16 room   any request bytes on the control queue
 *
 * Operands: a resource id is u8 (0xff: u32 follows; 0xf0-0xfe: id 0;
 * else 1 + its value % 4); a size u8 (below 0x80: 1 + it, else one of
 * dims[], 0 and 2^32 - 1 among them); a rectangle u8 (0: the whole
 * resource, 1: four u8 inside it, 2: four u16, 3: four u32), and so on
 * (take_*() below).
 *
 * Beyond the sanitizers, what the device promises: every control chain
 * with room for a header is answered, with a known type, a length that
 * fits it (a header alone for every error) and the request's fence
 * echoed, and the queue goes on; a chain without that room breaks the
 * queue; a cursor chain is used, with a header only if it has room for
 * one, and shows a cursor of a listed resource or none; the resources the
 * API lists lie inside the region and apart, and their bytes are what
 * the region counts as used; a scanout showing something shows a listed
 * resource, inside it; a reset and the device's end leave the region
 * empty. With FUZZ_LOG=1 it prints each command and its answer.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_gpu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma/region.h"
#include "tests/fuzz/fake_ram.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/inline_loop.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"

#define RAM_GPA	 0x40000000ULL
#define RAM_SIZE (1ULL << 20)

#define REGION_SIZE (8ULL << 20)
#define REGION_PAGE (2ULL << 20)

#define QSIZE	     16
#define Q_CTRL	     0
#define Q_CURSOR     1
#define RING(q)	     (RAM_GPA + 0x4000ULL * (q)) /* descriptors; avail +0x1000, used +0x2000 */
#define REQ	     (RAM_GPA + 0x8000)		 /* the request, 16 KiB */
#define RESP	     (RAM_GPA + 0xc000)		 /* the answer, 4 KiB */
#define BACKING	     (RAM_GPA + 0x10000)	 /* the rest: pixels behind resources */
#define BACKING_SIZE (RAM_SIZE - 0x10000)

#define REQ_MAX	    2048
#define ANSWER_ROOM sizeof(struct virtio_gpu_resp_edid)
#define HDR_LEN	    sizeof(struct virtio_gpu_ctrl_hdr)
#define NR_IDS	    4 /* the ids requests mostly name: 1..NR_IDS */
#define MAX_RES	    1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum op {
	OP_CONTROL,
	OP_CONTROL2,
	OP_CURSOR,
	OP_FILL,
	OP_HOST,
	OP_CONFIG,
	OP_RESET,
	OP_RAW,
	NR_OPS
};

/* The control commands the decoder builds, by how & 15 */
static const uint32_t kinds[16] = {
	VIRTIO_GPU_CMD_GET_DISPLAY_INFO,
	VIRTIO_GPU_CMD_GET_EDID,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
	VIRTIO_GPU_CMD_RESOURCE_UNREF,
	VIRTIO_GPU_CMD_SET_SCANOUT,
	VIRTIO_GPU_CMD_RESOURCE_FLUSH,
	VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
	VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
	VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
	VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
	VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
	VIRTIO_GPU_CMD_CTX_CREATE,
	VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
	VIRTIO_GPU_CMD_UPDATE_CURSOR,
	0, /* a u32 type follows */
};

static const uint32_t dims[] = {
	16,   17,   64,	   100,	  256, 640,	   1024,       2048,
	4096, 8192, 16384, 16385, 0,   0x40000000, 0x80000001, 0xffffffff
};

static const uint32_t formats[8] = {
	VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
	VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM,
	VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM,
	VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM,
};

/* Every request the decoder builds, read as the device reads it */
union request {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_cmd_get_edid edid;
	struct virtio_gpu_resource_create_2d create;
	struct virtio_gpu_resource_unref unref;
	struct virtio_gpu_set_scanout scanout;
	struct virtio_gpu_resource_flush flush;
	struct virtio_gpu_transfer_to_host_2d transfer;
	struct virtio_gpu_resource_attach_backing attach;
	struct virtio_gpu_resource_detach_backing detach;
	struct virtio_gpu_update_cursor cursor;
	uint8_t bytes[REQ_MAX];
};

struct fuzz {
	struct virtio_device dev;
	struct virtio_mmio m;
	struct fuzz_input in;
	uint16_t avail_idx[2];
	uint32_t width[NR_IDS + 1], height[NR_IDS + 1]; /* of ids 1..NR_IDS, as created */
	uint64_t fence;
	union request req;
	uint32_t req_len;
};

static struct guest_ram ram;
static struct ev_loop loop;
static struct cma_region *region;
static struct gpu_resource_info infos[MAX_RES + 1];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_virtio_gpu: %s\n", what);
		abort();
	}
}

/* With FUZZ_LOG=1, as for cmavm's own lines: each command and its answer. */
static void trace(const char *queue, uint32_t type, uint32_t len, uint32_t room, uint32_t answer)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_LOG") && !strcmp(getenv("FUZZ_LOG"), "1");
	if (on)
		fprintf(stderr, "%s 0x%04x: %u bytes, room %u: answer 0x%04x\n", queue, type, len,
			room, answer);
}

static void setup_once(void)
{
	char err[256];
	int fd;

	if (region)
		return;
	fake_ram_init(&ram, RAM_GPA, RAM_SIZE);
	inline_loop_init(&loop);
	fd = memfd_create("fuzz-virtio-gpu", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, REGION_SIZE)) {
		perror("fuzz_virtio_gpu: region memfd");
		abort();
	}
	region = cma_region_create_on("fuzz-virtio-gpu", fd, REGION_PAGE, err, sizeof(err));
	if (!region) {
		fprintf(stderr, "fuzz_virtio_gpu: %s\n", err);
		abort();
	}
}

/* ---- registers and guest memory ---- */

static void reg(struct fuzz *f, uint64_t off, uint32_t val)
{
	uint32_t le = htole32(val);

	virtio_mmio_access(&f->m, off, (uint8_t *)&le, 4, true);
}

static uint32_t reg_get(struct fuzz *f, uint64_t off)
{
	uint32_t le = 0;

	virtio_mmio_access(&f->m, off, (uint8_t *)&le, 4, false);
	return le32toh(le);
}

static void put(uint64_t gpa, uint64_t val, unsigned int bytes)
{
	uint8_t *p = guest_ram_ptr(&ram, gpa, bytes);

	for (unsigned int i = 0; i < bytes; i++, val >>= 8)
		p[i] = (uint8_t)val;
}

static uint64_t get(uint64_t gpa, unsigned int bytes)
{
	const uint8_t *p = guest_ram_ptr(&ram, gpa, bytes);
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static bool needs_reset(struct fuzz *f)
{
	return reg_get(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* ---- the device's state, as the control API reads it ---- */

static unsigned int list_resources(struct fuzz *f)
{
	unsigned int total, n;

	pthread_mutex_lock(&f->dev.lock);
	n = gpu_resources(&f->dev, infos, MAX_RES + 1, &total);
	pthread_mutex_unlock(&f->dev.lock);
	check(n == total && total <= MAX_RES, "more resources than a GPU takes");
	return n;
}

static const struct gpu_resource_info *listed(unsigned int n, uint32_t id)
{
	for (unsigned int i = 0; i < n; i++)
		if (infos[i].id == id)
			return &infos[i];
	return NULL;
}

static int by_offset(const void *a, const void *b)
{
	const struct gpu_resource_info *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Each resource inside the region, apart from the others, counted as used. */
static void check_resources(struct fuzz *f)
{
	unsigned int n = list_resources(f);
	uint64_t used = 0;

	for (unsigned int i = 0; i < n; i++) {
		const struct gpu_resource_info *r = &infos[i];

		check(r->id && (i == 0 || r->id > infos[i - 1].id), "resources not in id order");
		check(r->width && r->height && r->width <= 16384 && r->height <= 16384,
		      "a resource of a refused size");
		check(r->stride == r->width * 4 && r->bytes == (uint64_t)r->stride * r->height,
		      "a resource's bytes are not its stride times its height");
		check(r->offset < REGION_SIZE && r->bytes <= REGION_SIZE - r->offset,
		      "a resource outside the region");
		used += (r->bytes + 4095) & ~4095ULL;
	}
	check(used == cma_region_used(region), "the region's use is not its resources'");
	qsort(infos, n, sizeof(infos[0]), by_offset);
	for (unsigned int i = 1; i < n; i++)
		check(infos[i - 1].offset + infos[i - 1].bytes <= infos[i].offset,
		      "two resources share region bytes");
}

static void check_picture(struct fuzz *f, unsigned int i)
{
	struct gpu_picture p;
	const struct gpu_resource_info *r;
	unsigned int n = list_resources(f);
	int ret;

	pthread_mutex_lock(&f->dev.lock);
	ret = gpu_scanout_picture(&f->dev, i, &p);
	pthread_mutex_unlock(&f->dev.lock);
	check(ret == 0 || ret == -ENODATA || (ret == -ENOENT && i > 0), "scanout picture result");
	if (ret)
		return;
	r = listed(n, p.resource_id);
	check(r != NULL, "a scanout shows a resource that does not exist");
	check(p.offset == r->offset && p.bytes == r->bytes && p.stride == r->stride &&
		      p.pixels == cma_region_base(region) + r->offset,
	      "a scanout's picture is not its resource's storage");
	check((uint64_t)p.rect.x + p.rect.width <= r->width &&
		      (uint64_t)p.rect.y + p.rect.height <= r->height,
	      "a scanout shows more than its resource");
}

/* ---- the handshake ---- */

static void setup_queue(struct fuzz *f, unsigned int q)
{
	uint64_t desc = RING(q);

	memset(guest_ram_ptr(&ram, desc, 0x3000), 0, 0x3000);
	f->avail_idx[q] = 0;
	reg(f, VIRTIO_MMIO_QUEUE_SEL, q);
	reg(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	reg(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	reg(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	reg(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(desc + 0x1000));
	reg(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)((desc + 0x1000) >> 32));
	reg(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(desc + 0x2000));
	reg(f, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)((desc + 0x2000) >> 32));
	reg(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/*
 * Reset (the region must be empty then) and the whole handshake, taking
 * EDID, ACCESS_PLATFORM and EVENT_IDX as @features bits 0, 1 and 2 say.
 */
static void restart(struct fuzz *f, uint8_t features)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1;
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	reg(f, VIRTIO_MMIO_STATUS, 0);
	check(cma_region_used(region) == 0, "a reset left resources in the region");
	memset(f->width, 0, sizeof(f->width));
	memset(f->height, 0, sizeof(f->height));
	want |= features & 1 ? 1ULL << VIRTIO_GPU_F_EDID : 0;
	want |= features & 2 ? 1ULL << VIRTIO_F_ACCESS_PLATFORM : 0;
	want |= features & 4 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0;
	reg(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg(f, VIRTIO_MMIO_STATUS, s);
	for (unsigned int word = 0; word < 2; word++) {
		reg(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word);
		reg(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> (32 * word)));
	}
	reg(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(f, Q_CTRL);
	setup_queue(f, Q_CURSOR);
	reg(f, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	check(reg_get(f, VIRTIO_MMIO_STATUS) ==
		      (s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK),
	      "the handshake failed");
}

/* ---- chains ---- */

struct piece {
	uint64_t gpa;
	uint32_t len;
	bool writes;
};

/* What the event loop does for a kick; then the interrupt is taken. */
static void deliver(struct fuzz *f)
{
	uint64_t n;

	for (unsigned int q = 0; q < 2; q++)
		if (read(f->m.notify[q].fd, &n, sizeof(n)) == sizeof(n))
			virtio_notify_queue(&f->dev, q);
	while (read(f->m.irq_fd, &n, sizeof(n)) == sizeof(n))
		;
	reg(f, VIRTIO_MMIO_INTERRUPT_ACK, reg_get(f, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* Chain @p (empty pieces left out) from descriptor 0 on @q; true if the device used it. */
static bool run_chain(struct fuzz *f, unsigned int q, const struct piece *p, unsigned int n,
		      uint32_t *used_len)
{
	uint64_t desc = RING(q), avail = desc + 0x1000, used = desc + 0x2000, elem;
	struct piece b[4];
	unsigned int k = 0;
	uint16_t idx = f->avail_idx[q];

	for (unsigned int i = 0; i < n && k < 4; i++)
		if (p[i].len)
			b[k++] = p[i];
	for (unsigned int i = 0; i < k; i++) {
		put(desc + 16 * i, b[i].gpa, 8);
		put(desc + 16 * i + 8, b[i].len, 4);
		put(desc + 16 * i + 12,
		    (b[i].writes ? VRING_DESC_F_WRITE : 0) | (i + 1 < k ? VRING_DESC_F_NEXT : 0),
		    2);
		put(desc + 16 * i + 14, i + 1, 2);
	}
	put(avail + 4 + 2 * (idx % QSIZE), 0, 2);
	f->avail_idx[q] = ++idx;
	put(avail + 2, idx, 2);
	reg(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	deliver(f);
	if (get(used + 2, 2) != idx)
		return false;
	elem = used + 4 + 8 * ((uint16_t)(idx - 1) % QSIZE);
	check(get(elem, 4) == 0, "used element of another head");
	*used_len = (uint32_t)get(elem + 4, 4);
	return true;
}

/* ---- operands ---- */

static uint32_t take_id(struct fuzz *f)
{
	uint8_t v = fin_u8(&f->in);

	if (v == 0xff)
		return fin_u32(&f->in);
	return v >= 0xf0 ? 0 : 1 + v % NR_IDS;
}

static uint32_t take_scanout(struct fuzz *f)
{
	uint8_t v = fin_u8(&f->in);

	if (v == 0xff)
		return fin_u32(&f->in);
	return v >= 0xf0;
}

static uint32_t take_dim(struct fuzz *f)
{
	uint8_t v = fin_u8(&f->in);

	return v < 0x80 ? v + 1u : dims[v % (sizeof(dims) / sizeof(dims[0]))];
}

/* The size of resource @id as created, or 16 x 16 if not one of ours */
static void size_of(const struct fuzz *f, uint32_t id, uint32_t *w, uint32_t *h)
{
	bool known = id && id <= NR_IDS && f->width[id];

	*w = known ? f->width[id] : 16;
	*h = known ? f->height[id] : 16;
}

static struct virtio_gpu_rect take_rect(struct fuzz *f, uint32_t id)
{
	uint8_t mode = fin_u8(&f->in) % 4;
	uint32_t w, h, v[4];

	size_of(f, id, &w, &h);
	for (unsigned int i = 0; i < 4; i++)
		v[i] = mode == 1   ? fin_u8(&f->in)
		       : mode == 2 ? fin_u16(&f->in)
		       : mode == 3 ? fin_u32(&f->in)
				   : 0;
	if (mode == 0) {
		v[2] = w;
		v[3] = h;
	} else if (mode == 1) {
		v[0] %= w;
		v[1] %= h;
		v[2] = 1 + v[2] % (w - v[0]);
		v[3] = 1 + v[3] % (h - v[1]);
	}
	return (struct virtio_gpu_rect){ htole32(v[0]), htole32(v[1]), htole32(v[2]),
					 htole32(v[3]) };
}

/* Linux's offset (the rectangle's first pixel in a backing laid out like the resource), or any */
static uint64_t take_offset(struct fuzz *f, uint32_t id, const struct virtio_gpu_rect *r)
{
	uint8_t mode = fin_u8(&f->in) % 4;
	uint32_t w, h;

	size_of(f, id, &w, &h);
	if (mode == 0)
		return (uint64_t)le32toh(r->y) * w * 4 + (uint64_t)le32toh(r->x) * 4;
	return mode == 1 ? 0 : mode == 2 ? fin_u32(&f->in) : fin_u64(&f->in);
}

static uint64_t take_gpa(struct fuzz *f)
{
	uint8_t mode = fin_u8(&f->in) % 4;

	if (mode == 3)
		return fin_u64(&f->in);
	return (mode == 2 ? RAM_GPA : BACKING) + (uint64_t)fin_u16(&f->in) * 16;
}

static uint32_t take_len(struct fuzz *f)
{
	uint8_t mode = fin_u8(&f->in) % 4;

	return mode == 0 ? 4096 : mode == 3 ? fin_u32(&f->in) : fin_u16(&f->in) + (mode == 2);
}

/* ---- control commands ---- */

static void put_entry(struct fuzz *f, unsigned int i, uint64_t gpa, uint32_t len)
{
	struct virtio_gpu_mem_entry e = { .addr = htole64(gpa), .length = htole32(len) };

	memcpy(f->req.bytes + sizeof(f->req.attach) + i * sizeof(e), &e, sizeof(e));
}

/*
 * The backing of a resource, by how % 4: one entry covering it, the same
 * scattered over up to 16 entries with gaps between, entries from
 * anywhere, or any nr_entries with what follows. Returns the entries carried.
 */
static unsigned int take_entries(struct fuzz *f, uint32_t id, uint32_t *nr)
{
	uint8_t how = fin_u8(&f->in);
	unsigned int n = 1 + (how >> 2) % 16;
	uint32_t w, h;
	uint64_t bytes, at, piece;

	size_of(f, id, &w, &h);
	bytes = (uint64_t)w * 4 * h;
	if (how % 4 >= 2) {
		n = (how >> 2) % 8;
		for (unsigned int i = 0; i < n; i++)
			put_entry(f, i, take_gpa(f), take_len(f));
		*nr = how % 4 == 3 ? fin_u32(&f->in) : n;
		return n;
	}
	n = how % 4 ? n : 1;
	at = BACKING + (uint64_t)fin_u16(&f->in) * 8;
	piece = bytes / n ? bytes / n : 1;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t len = i + 1 == n && bytes > piece * n ? bytes - piece * (n - 1) : piece;

		put_entry(f, i, at, (uint32_t)len);
		at += len + fin_u8(&f->in) * 4;
	}
	*nr = n;
	return n;
}

/* The body of a request of @type after its header; sets req_len. */
static void take_body(struct fuzz *f, uint32_t type)
{
	union request *r = &f->req;
	uint32_t id, nr;

	switch (type) {
	case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
		f->req_len = HDR_LEN;
		break;
	case VIRTIO_GPU_CMD_GET_EDID:
		r->edid.scanout = htole32(take_scanout(f));
		f->req_len = sizeof(r->edid);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D: {
		uint8_t v = fin_u8(&f->in);

		r->create.resource_id = htole32(take_id(f));
		r->create.format = htole32(v < 0xf8 ? formats[v % 8] : fin_u32(&f->in));
		r->create.width = htole32(take_dim(f));
		r->create.height = htole32(take_dim(f));
		f->req_len = sizeof(r->create);
		break;
	}
	case VIRTIO_GPU_CMD_SET_SCANOUT:
		r->scanout.scanout_id = htole32(take_scanout(f));
		id = take_id(f);
		r->scanout.resource_id = htole32(id);
		r->scanout.r = take_rect(f, id);
		f->req_len = sizeof(r->scanout);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
		id = take_id(f);
		r->flush.resource_id = htole32(id);
		r->flush.r = take_rect(f, id);
		f->req_len = sizeof(r->flush);
		break;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		id = take_id(f);
		r->transfer.resource_id = htole32(id);
		r->transfer.r = take_rect(f, id);
		r->transfer.offset = htole64(take_offset(f, id, &r->transfer.r));
		f->req_len = sizeof(r->transfer);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		id = take_id(f);
		r->attach.resource_id = htole32(id);
		f->req_len = sizeof(r->attach) +
			     take_entries(f, id, &nr) * sizeof(struct virtio_gpu_mem_entry);
		r->attach.nr_entries = htole32(nr);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
		r->unref.resource_id = htole32(take_id(f));
		f->req_len = sizeof(r->unref);
		break;
	default: /* unknown, 3D, blob, cursor: a few bytes of anything */
		f->req_len = HDR_LEN + fin_bytes(&f->in, r->bytes + HDR_LEN, fin_u8(&f->in) % 64);
		break;
	}
}

/* What an answer of type @t must be: its length, or 0 if no answer is of that type. */
static uint32_t answer_len(uint32_t t)
{
	if (t == VIRTIO_GPU_RESP_OK_DISPLAY_INFO)
		return sizeof(struct virtio_gpu_resp_display_info);
	if (t == VIRTIO_GPU_RESP_OK_EDID)
		return sizeof(struct virtio_gpu_resp_edid);
	if (t == VIRTIO_GPU_RESP_OK_NODATA ||
	    (t >= VIRTIO_GPU_RESP_ERR_UNSPEC && t <= VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER))
		return HDR_LEN;
	return 0;
}

/* The answer to a request of @len bytes (the device read zeroes past them) */
static uint32_t check_answer(struct fuzz *f, uint32_t len, uint32_t used_len)
{
	struct virtio_gpu_ctrl_hdr in = { 0 }, out;
	uint32_t flags;

	memcpy(&in, &f->req, len < HDR_LEN ? len : HDR_LEN);
	memcpy(&out, guest_ram_ptr(&ram, RESP, HDR_LEN), HDR_LEN);
	flags = le32toh(in.flags) & (VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);
	check(answer_len(le32toh(out.type)) == used_len, "an answer of unknown type or length");
	check(le32toh(out.flags) == flags && out.ctx_id == in.ctx_id,
	      "an answer that does not echo its request's flags");
	check(out.fence_id == (flags & VIRTIO_GPU_FLAG_FENCE ? in.fence_id : 0),
	      "an answer that does not echo its fence");
	check(out.ring_idx == (flags & VIRTIO_GPU_FLAG_INFO_RING_IDX ? in.ring_idx : 0),
	      "an answer that does not echo its ring index");
	return le32toh(out.type);
}

/* Keep the sizes of ids 1..NR_IDS as the device has them. */
static void track(struct fuzz *f, uint32_t type, uint32_t answer)
{
	uint32_t id = le32toh(f->req.unref.resource_id);

	if (answer != VIRTIO_GPU_RESP_OK_NODATA || !id || id > NR_IDS)
		return;
	if (type == VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) {
		f->width[id] = le32toh(f->req.create.width);
		f->height[id] = le32toh(f->req.create.height);
	} else if (type == VIRTIO_GPU_CMD_RESOURCE_UNREF) {
		f->width[id] = f->height[id] = 0;
	}
}

#define NOTHING_SENT UINT32_MAX

/*
 * Send f->req (@len of its bytes; if @split, in two buffers split there,
 * and the answer's room in two halves) with @room for the answer; returns
 * the answer's type, 0 if the queue broke, as it must without room for a
 * header, or NOTHING_SENT for a chain with no buffer at all.
 */
static uint32_t send_control(struct fuzz *f, uint32_t len, uint32_t split, uint32_t room)
{
	uint32_t a = split && split < len ? split : len, half = split ? room / 2 : 0;
	struct piece p[4] = { { REQ, a, false },
			      { REQ + 0x2000, len - a, false },
			      { RESP, room - half, true },
			      { RESP + 0x800, half, true } };
	uint32_t used_len = 0, answer;

	if (!len && !room)
		return NOTHING_SENT;
	memcpy(guest_ram_ptr(&ram, REQ, a), f->req.bytes, a);
	memcpy(guest_ram_ptr(&ram, REQ + 0x2000, len - a), f->req.bytes + a, len - a);
	memset(guest_ram_ptr(&ram, RESP, 0x1000), 0xee, 0x1000);
	if (!run_chain(f, Q_CTRL, p, 4, &used_len)) {
		trace("control (queue broken)", le32toh(f->req.hdr.type), len, room, 0);
		check(room < HDR_LEN && needs_reset(f), "a control chain left unanswered");
		return 0;
	}
	check(room >= HDR_LEN && !needs_reset(f),
	      "a chain with room for an answer broke the queue");
	answer = check_answer(f, len, used_len);
	trace("control", le32toh(f->req.hdr.type), len, room, answer);
	check(answer < VIRTIO_GPU_RESP_ERR_UNSPEC || used_len == HDR_LEN,
	      "an error answer with a body");
	return answer;
}

/* After a broken queue, what a driver does: reset, and start again. */
static void after(struct fuzz *f, uint32_t answer)
{
	if (!answer) {
		restart(f, 1);
		return;
	}
	if (answer != NOTHING_SENT) {
		check_resources(f);
		check_picture(f, 0);
	}
}

static void op_control(struct fuzz *f)
{
	uint8_t how = fin_u8(&f->in), shape = how >> 6;
	uint32_t type = kinds[how & 15], len, split = 0, room = ANSWER_ROOM, answer;

	memset(&f->req, 0, sizeof(f->req));
	if (!type && (how & 15) == 15)
		type = fin_u32(&f->in);
	f->req.hdr.type = htole32(type);
	if (how & 0x30) {
		f->req.hdr.flags = htole32((how >> 4) & 3);
		f->req.hdr.fence_id = htole64(++f->fence);
		f->req.hdr.ctx_id = htole32(how);
		f->req.hdr.ring_idx = how & 0x0f;
	}
	take_body(f, type);
	len = f->req_len;
	if (shape == 2)
		split = 1 + fin_u8(&f->in) % len;
	if (shape == 3) {
		len -= fin_u8(&f->in) % (len + 1);
		room = fin_u16(&f->in) % (ANSWER_ROOM + 16);
	}
	answer = send_control(f, len, split, room);
	track(f, type, answer);
	after(f, answer);
}

static void op_raw(struct fuzz *f)
{
	uint8_t n = fin_u8(&f->in);
	uint32_t room, answer;

	memset(&f->req, 0, sizeof(f->req));
	f->req_len = (uint32_t)fin_bytes(&f->in, f->req.bytes, n);
	room = fin_u16(&f->in) % (ANSWER_ROOM + 16);
	answer = send_control(f, f->req_len, 0, room);
	after(f, answer);
}

/* ---- the cursor queue ---- */

static void op_cursor(struct fuzz *f)
{
	uint8_t how = fin_u8(&f->in);
	struct virtio_gpu_update_cursor *c = &f->req.cursor;
	uint32_t len = sizeof(*c), room = 0, used_len = 0;
	struct piece p[2];

	memset(&f->req, 0, sizeof(f->req));
	c->hdr.type = htole32(how & 2	? fin_u32(&f->in)
			      : how & 1 ? VIRTIO_GPU_CMD_MOVE_CURSOR
					: VIRTIO_GPU_CMD_UPDATE_CURSOR);
	c->pos.scanout_id = htole32(take_scanout(f));
	c->resource_id = htole32(take_id(f));
	c->pos.x = htole32(fin_u16(&f->in));
	c->pos.y = htole32(fin_u16(&f->in));
	c->hot_x = htole32(fin_u8(&f->in));
	c->hot_y = htole32(fin_u8(&f->in));
	if (how & 4)
		len = fin_u8(&f->in) % (len + 1);
	if (how & 8)
		room = fin_u8(&f->in);
	p[0] = (struct piece){ REQ, len, false };
	p[1] = (struct piece){ RESP, room, true };
	memcpy(guest_ram_ptr(&ram, REQ, len), c, len);
	if (!len && !room)
		return;
	check(run_chain(f, Q_CURSOR, p, 2, &used_len), "a cursor chain left unused");
	trace("cursor", le32toh(c->hdr.type), len, room, used_len ? get(RESP, 4) : 0);
	check(used_len == (room >= HDR_LEN ? HDR_LEN : 0), "a cursor answer of the wrong length");
	check(!needs_reset(f), "a cursor command broke the queue");
	{
		struct gpu_cursor cur;
		unsigned int n = list_resources(f);

		pthread_mutex_lock(&f->dev.lock);
		cur = gpu_cursor_info(&f->dev);
		pthread_mutex_unlock(&f->dev.lock);
		check(!cur.resource_id || listed(n, cur.resource_id), "a cursor of no resource");
		check(cur.scanout < gpu_nr_scanouts(&f->dev), "a cursor on no scanout");
	}
}

/* ---- guest RAM, the control API, config space ---- */

static void op_fill(struct fuzz *f)
{
	uint32_t page = fin_u16(&f->in) % (BACKING_SIZE / 4096), pages = 1 + fin_u8(&f->in) % 16;
	uint8_t seed = fin_u8(&f->in);
	uint8_t *p = guest_ram_ptr(&ram, BACKING, BACKING_SIZE) + (uint64_t)page * 4096;

	if (page + pages > BACKING_SIZE / 4096)
		pages = BACKING_SIZE / 4096 - page;
	for (uint32_t i = 0; i < pages * 4096; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 12));
}

static void op_host(struct fuzz *f)
{
	uint8_t which = fin_u8(&f->in);
	uint32_t i = which >> 7, w, h;
	struct virtio_counter c[VIRTIO_COUNTERS_MAX];
	int ret;

	switch (which % 4) {
	case 0:
		w = take_dim(f);
		h = take_dim(f);
		pthread_mutex_lock(&f->dev.lock);
		ret = gpu_set_display(&f->dev, i, w, h);
		pthread_mutex_unlock(&f->dev.lock);
		check(ret == (i ? -ENOENT
			      : w < GPU_MIN_DIM || h < GPU_MIN_DIM || w > GPU_MAX_DIM ||
					      h > GPU_MAX_DIM
				      ? -EINVAL
				      : 0),
		      "set_display result");
		deliver(f);
		break;
	case 1:
		check_picture(f, i);
		break;
	case 2:
		check_resources(f);
		break;
	default:
		pthread_mutex_lock(&f->dev.lock);
		f->dev.ops->counters(&f->dev, c);
		pthread_mutex_unlock(&f->dev.lock);
		break;
	}
}

static void op_config(struct fuzz *f)
{
	uint32_t off = fin_u8(&f->in) % 0x20, len = 1u << (fin_u8(&f->in) & 3);
	bool write = fin_u8(&f->in) & 1;
	uint64_t v = htole64(fin_u32(&f->in));

	virtio_mmio_access(&f->m, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, len, write);
}

static void step(struct fuzz *f)
{
	switch ((enum op)(fin_u8(&f->in) % NR_OPS)) {
	case OP_CONTROL:
	case OP_CONTROL2:
		op_control(f);
		break;
	case OP_CURSOR:
		op_cursor(f);
		break;
	case OP_FILL:
		op_fill(f);
		break;
	case OP_HOST:
		op_host(f);
		break;
	case OP_CONFIG:
		op_config(f);
		break;
	case OP_RESET:
		restart(f, fin_u8(&f->in));
		break;
	default:
		op_raw(f);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	struct virtio_env env;
	struct gpu_options opts = { .width = 1024, .height = 768 };

	setup_once();
	memset(&f, 0, sizeof(f));
	fake_ram_reset(&ram, RAM_GPA);
	f.in = fin_make(data, size);
	env = (struct virtio_env){ .ram = &ram, .loop = &loop, .access_platform = true };
	opts.region = region;
	if (virtio_gpu_create(&f.dev, &env, &opts) ||
	    virtio_mmio_init(&f.m, &f.dev, 0x0a000000, 16, -1))
		abort();
	restart(&f, fin_u8(&f.in));
	while (!fin_done(&f.in))
		step(&f);
	check_resources(&f);
	reg(&f, VIRTIO_MMIO_STATUS, 0);
	check(cma_region_used(region) == 0, "a reset left resources in the region");
	inline_loop_settle(&loop, INLINE_LOOP_IDLE);
	virtio_mmio_destroy(&f.m);
	virtio_destroy(&f.dev);
	check(cma_region_used(region) == 0, "the device's end left resources in the region");
	return 0;
}
