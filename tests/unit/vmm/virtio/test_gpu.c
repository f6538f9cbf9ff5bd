// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-gpu, 2D (vmm/virtio/gpu.c, gpu_cmd.c, gpu_resource.c), driven as
 * Linux's virtio-gpu driver drives it: features and config space, every 2D
 * command with good and bad arguments, the guest's scattered backing and
 * TRANSFER_TO_HOST_2D checked byte for byte against the resource's storage
 * in its memory region (an ordinary memfd placed as if its pages were
 * 2 MiB), fences, malformed chains, the cursor queue, reset, counters,
 * and the bound on the host heap the guest's backing lists take.
 */
#include <endian.h>
#include <errno.h>
#include <malloc.h>
#include <linux/virtio_gpu.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cma/region.h"
#include "tests/unit/vmm/virtio/harness.h"
#include "vmm/virtio/gpu.h" /* the device's own state, for what it holds on the heap */

#define GPU_W 1024
#define GPU_H 768

#define REGION_BYTES (8ULL << 20)
#define REGION_PAGE  (2ULL << 20)

/* Guest pages behind resources: RAM's upper half, clear of the devices' parts. */
#define BACKING (RAM_GPA + (8ULL << 20))

#define Q_CTRL	 0
#define Q_CURSOR 1

#define REQ_ROOM  8192 /* scratch for one request, or BATCH small ones */
#define RESP_ROOM 2048 /* scratch for one answer */
#define BATCH	  8    /* chains in flight at once: two descriptors each */

#define HDR_LEN	    sizeof(struct virtio_gpu_ctrl_hdr)
#define DISPLAY_LEN sizeof(struct virtio_gpu_resp_display_info)
#define EDID_LEN    sizeof(struct virtio_gpu_resp_edid)

#define OK	   VIRTIO_GPU_RESP_OK_NODATA
#define E_UNSPEC   VIRTIO_GPU_RESP_ERR_UNSPEC
#define E_OOM	   VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
#define E_SCANOUT  VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
#define E_RESOURCE VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define E_PARAM	   VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER

#define XRGB VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM

static struct cma_region *region;
static uint64_t req_gpa, resp_gpa;

/* ---- fixtures: a fresh 8 MiB region for each test ---- */

static int gpu_setup(void **state)
{
	int fd = memfd_create("test-gpu", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	char err[256];

	if (fd < 0)
		return -1;
	if (ftruncate(fd, REGION_BYTES)) {
		close(fd);
		return -1;
	}
	region = cma_region_create_on("test-gpu", fd, REGION_PAGE, err, sizeof(err));
	if (!region) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return setup(state);
}

/* The device first: destroying it frees its resources in the region. */
static int gpu_teardown(void **state)
{
	int ret = teardown(state);

	cma_region_destroy(region);
	region = NULL;
	return ret;
}

#define G(f) cmocka_unit_test_setup_teardown(f, gpu_setup, gpu_teardown)

/* ---- the device ---- */

static struct tdev *new_gpu(bool access_platform)
{
	struct gpu_options o = { .width = GPU_W, .height = GPU_H, .region = region };

	return add_gpu(&o, access_platform);
}

/* The handshake as Linux does it (EDID taken), and the scratch buffers after the rings. */
static void gpu_handshake(struct tdev *t)
{
	handshake(t, BIT_ULL(VIRTIO_GPU_F_EDID));
	req_gpa = galloc(t, REQ_ROOM);
	resp_gpa = galloc(t, RESP_ROOM);
}

static struct tdev *start_gpu(void)
{
	struct tdev *t = new_gpu(false);

	gpu_handshake(t);
	return t;
}

static void assert_running(struct tdev *t)
{
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void assert_needs_reset(struct tdev *t)
{
	assert_true(wait_status(t, VIRTIO_CONFIG_S_NEEDS_RESET));
	assert_true(wait_irq(t));
	assert_true(take_interrupt(t) & VIRTIO_MMIO_INT_CONFIG);
}

/* ---- the control API's side, under the device lock ---- */

static unsigned int resource_list(struct tdev *t, struct gpu_resource_info *out, unsigned int max)
{
	unsigned int total;

	pthread_mutex_lock(&t->dev.lock);
	gpu_resources(&t->dev, out, max, &total);
	pthread_mutex_unlock(&t->dev.lock);
	return total;
}

static unsigned int nr_resources(struct tdev *t)
{
	struct gpu_resource_info one;

	return resource_list(t, &one, 1);
}

/* Resource @id as the API sees it; fails the test if there is none. */
static struct gpu_resource_info resource(struct tdev *t, uint32_t id)
{
	static struct gpu_resource_info all[1100];
	unsigned int n = resource_list(t, all, 1100);

	for (unsigned int i = 0; i < n; i++)
		if (all[i].id == id)
			return all[i];
	fail_msg("no resource %u", id);
	return all[0];
}

static struct gpu_scanout_info scanout(struct tdev *t, unsigned int i)
{
	struct gpu_scanout_info s;

	pthread_mutex_lock(&t->dev.lock);
	gpu_scanout_info(&t->dev, i, &s);
	pthread_mutex_unlock(&t->dev.lock);
	return s;
}

static int picture(struct tdev *t, unsigned int i, struct gpu_picture *p)
{
	int ret;

	pthread_mutex_lock(&t->dev.lock);
	ret = gpu_scanout_picture(&t->dev, i, p);
	pthread_mutex_unlock(&t->dev.lock);
	return ret;
}

static struct gpu_cursor cursor(struct tdev *t)
{
	struct gpu_cursor c;

	pthread_mutex_lock(&t->dev.lock);
	c = gpu_cursor_info(&t->dev);
	pthread_mutex_unlock(&t->dev.lock);
	return c;
}

static int set_display(struct tdev *t, unsigned int i, uint32_t w, uint32_t h)
{
	int ret;

	pthread_mutex_lock(&t->dev.lock);
	ret = gpu_set_display(&t->dev, i, w, h);
	pthread_mutex_unlock(&t->dev.lock);
	return ret;
}

/* The storage of resource @id in the region */
static const uint8_t *storage(struct tdev *t, uint32_t id)
{
	return cma_region_base(region) + resource(t, id).offset;
}

/* ---- requests ---- */

/*
 * @bufs with a request at req_gpa (@len bytes, or none) and @room bytes
 * for the answer at resp_gpa (or none), on queue @q; returns the used len.
 */
static uint32_t exchange(struct tdev *t, unsigned int q, const void *req, uint32_t len,
			 uint32_t room)
{
	struct tbuf b[2];
	unsigned int n = 0;

	assert_true(len <= REQ_ROOM && room <= RESP_ROOM);
	memcpy(hp(req_gpa), req, len);
	memset(hp(resp_gpa), 0xee, RESP_ROOM);
	if (len)
		b[n++] = (struct tbuf){ req_gpa, len, false };
	if (room)
		b[n++] = (struct tbuf){ resp_gpa, room, true };
	return request(t, q, b, n);
}

static uint32_t resp_type(void)
{
	return get32(resp_gpa);
}

/* A control command answered with a header alone: the answer's type. */
static uint32_t cmd(struct tdev *t, const void *req, uint32_t len)
{
	assert_int_equal(exchange(t, Q_CTRL, req, len, RESP_ROOM), HDR_LEN);
	/* nothing past the header */
	assert_true(all_bytes((uint8_t *)hp(resp_gpa) + HDR_LEN, 0xee, RESP_ROOM - HDR_LEN));
	return resp_type();
}

static struct virtio_gpu_ctrl_hdr hdr(uint32_t type)
{
	return (struct virtio_gpu_ctrl_hdr){ .type = htole32(type) };
}

static struct virtio_gpu_rect vrect(uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	return (struct virtio_gpu_rect){ htole32(x), htole32(y), htole32(w), htole32(h) };
}

static struct virtio_gpu_resource_create_2d create_req(uint32_t id, uint32_t format, uint32_t w,
						       uint32_t h)
{
	return (struct virtio_gpu_resource_create_2d){
		.hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
		.resource_id = htole32(id),
		.format = htole32(format),
		.width = htole32(w),
		.height = htole32(h),
	};
}

static uint32_t res_create(struct tdev *t, uint32_t id, uint32_t format, uint32_t w, uint32_t h)
{
	struct virtio_gpu_resource_create_2d c = create_req(id, format, w, h);

	return cmd(t, &c, sizeof(c));
}

static uint32_t res_unref(struct tdev *t, uint32_t id)
{
	struct virtio_gpu_resource_unref u = { .hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_UNREF),
					       .resource_id = htole32(id) };

	return cmd(t, &u, sizeof(u));
}

static struct virtio_gpu_mem_entry entry(uint64_t gpa, uint32_t len)
{
	return (struct virtio_gpu_mem_entry){ .addr = htole64(gpa), .length = htole32(len) };
}

/*
 * ATTACH_BACKING of resource @id saying @nr_entries, carrying @carried
 * entries in a buffer of their own after the request's, as Linux sends it.
 */
static uint32_t attach_n(struct tdev *t, uint32_t id, uint32_t nr_entries,
			 const struct virtio_gpu_mem_entry *e, uint32_t carried)
{
	struct virtio_gpu_resource_attach_backing a = {
		.hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING),
		.resource_id = htole32(id),
		.nr_entries = htole32(nr_entries),
	};
	uint64_t ents = req_gpa + sizeof(a);
	struct tbuf b[3] = { { req_gpa, sizeof(a), false },
			     { ents, carried * sizeof(*e), false },
			     { resp_gpa, HDR_LEN, true } };

	assert_true(sizeof(a) + carried * sizeof(*e) <= REQ_ROOM);
	memcpy(hp(req_gpa), &a, sizeof(a));
	if (carried)
		memcpy(hp(ents), e, carried * sizeof(*e));
	memset(hp(resp_gpa), 0xee, HDR_LEN);
	if (carried) {
		assert_int_equal(request(t, Q_CTRL, b, 3), HDR_LEN);
	} else {
		b[1] = b[2];
		assert_int_equal(request(t, Q_CTRL, b, 2), HDR_LEN);
	}
	return resp_type();
}

static uint32_t res_attach(struct tdev *t, uint32_t id, const struct virtio_gpu_mem_entry *e,
			   uint32_t nr)
{
	return attach_n(t, id, nr, e, nr);
}

/* @n entries of one byte each, at @first and @step bytes apart, in a new buffer: its gpa */
static uint64_t byte_entries(struct tdev *t, uint64_t first, uint64_t step, uint32_t n)
{
	uint64_t ents = galloc(t, n * sizeof(struct virtio_gpu_mem_entry));

	for (uint32_t i = 0; i < n; i++) {
		struct virtio_gpu_mem_entry e = entry(first + i * step, 1);

		memcpy((uint8_t *)hp(ents) + i * sizeof(e), &e, sizeof(e));
	}
	return ents;
}

/* ATTACH_BACKING of resource @id with the @n entries of buffer @ents */
static uint32_t attach_list(struct tdev *t, uint32_t id, uint64_t ents, uint32_t n)
{
	struct virtio_gpu_resource_attach_backing a = {
		.hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING),
		.resource_id = htole32(id),
		.nr_entries = htole32(n),
	};
	struct tbuf b[3] = { { req_gpa, sizeof(a), false },
			     { ents, n * sizeof(struct virtio_gpu_mem_entry), false },
			     { resp_gpa, HDR_LEN, true } };

	memcpy(hp(req_gpa), &a, sizeof(a));
	assert_int_equal(request(t, Q_CTRL, b, 3), HDR_LEN);
	return resp_type();
}

static uint32_t res_detach(struct tdev *t, uint32_t id)
{
	struct virtio_gpu_resource_detach_backing d = {
		.hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING),
		.resource_id = htole32(id),
	};

	return cmd(t, &d, sizeof(d));
}

static uint32_t set_scanout(struct tdev *t, uint32_t scanout_id, uint32_t id,
			    struct virtio_gpu_rect r)
{
	struct virtio_gpu_set_scanout s = { .hdr = hdr(VIRTIO_GPU_CMD_SET_SCANOUT),
					    .r = r,
					    .scanout_id = htole32(scanout_id),
					    .resource_id = htole32(id) };

	return cmd(t, &s, sizeof(s));
}

static uint32_t res_flush(struct tdev *t, uint32_t id, struct virtio_gpu_rect r)
{
	struct virtio_gpu_resource_flush f = { .hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_FLUSH),
					       .r = r,
					       .resource_id = htole32(id) };

	return cmd(t, &f, sizeof(f));
}

static uint32_t res_transfer(struct tdev *t, uint32_t id, struct virtio_gpu_rect r, uint64_t offset)
{
	struct virtio_gpu_transfer_to_host_2d x = { .hdr = hdr(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D),
						    .r = r,
						    .offset = htole64(offset),
						    .resource_id = htole32(id) };

	return cmd(t, &x, sizeof(x));
}

/* A resource @w x @h with one entry of @len bytes at BACKING behind it. */
static void backed_resource(struct tdev *t, uint32_t id, uint32_t w, uint32_t h, uint32_t len)
{
	struct virtio_gpu_mem_entry e = entry(BACKING, len);

	assert_int_equal(res_create(t, id, XRGB, w, h), OK);
	assert_int_equal(res_attach(t, id, &e, 1), OK);
}

/* Byte @k of a guest's picture */
static uint8_t pat(uint64_t k)
{
	return (uint8_t)(k * 37 + (k >> 8) * 11 + 5);
}

/* [gpa, gpa + len) holds bytes @first.. of the picture */
static void fill(uint64_t gpa, uint32_t len, uint64_t first)
{
	uint8_t *p = hp(gpa);

	for (uint32_t i = 0; i < len; i++)
		p[i] = pat(first + i);
}

/* ---- features and config space ---- */

static void test_gpu_features(void **state)
{
	struct tdev *t = new_gpu(false), *ap = new_gpu(true);
	uint64_t f = device_features(t);

	(void)state;
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_GPU);
	assert_true(f & BIT_ULL(VIRTIO_GPU_F_EDID));
	assert_true(f & BIT_ULL(VIRTIO_F_VERSION_1));
	assert_false(f & BIT_ULL(VIRTIO_GPU_F_VIRGL));
	assert_false(f & BIT_ULL(VIRTIO_GPU_F_RESOURCE_BLOB));
	assert_false(f & BIT_ULL(VIRTIO_GPU_F_CONTEXT_INIT));
	assert_false(f & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	assert_true(device_features(ap) & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));

	/* 3D was not offered: a driver that asks for it is refused at FEATURES_OK. */
	assert_false(negotiate(t, BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_GPU_F_VIRGL)));
	handshake(ap, BIT_ULL(VIRTIO_GPU_F_EDID) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	handshake(t, BIT_ULL(VIRTIO_GPU_F_EDID));
	assert_true(t->dev.features_acked & BIT_ULL(VIRTIO_GPU_F_EDID));
	assert_true(ap->dev.features_acked & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	/* Two queues, control and cursor; no third. */
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void test_gpu_config(void **state)
{
	struct tdev *t = start_gpu();
	uint32_t gen;

	(void)state;
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, num_scanouts)), 1);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, num_capsets)), 0);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)), 0);
	assert_int_equal(gpu_nr_scanouts(&t->dev), 1);

	gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(set_display(t, 0, 1280, 720), 0);
	assert_true(wait_irq(t));
	assert_int_equal(take_interrupt(t), VIRTIO_MMIO_INT_CONFIG);
	assert_int_not_equal(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)),
			 VIRTIO_GPU_EVENT_DISPLAY);
	assert_int_equal(scanout(t, 0).width, 1280);
	assert_int_equal(scanout(t, 0).height, 720);

	/* events_read is the device's: a write there changes nothing. */
	cfg_write32(t, offsetof(struct virtio_gpu_config, events_read), 0);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)),
			 VIRTIO_GPU_EVENT_DISPLAY);
	/* events_clear clears what it names, and reads back as 0. */
	cfg_write32(t, offsetof(struct virtio_gpu_config, events_clear), VIRTIO_GPU_EVENT_DISPLAY);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)), 0);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_clear)), 0);

	/* No such scanout, sizes out of range: refused, no event, no interrupt. */
	assert_int_equal(set_display(t, 1, 800, 600), -ENOENT);
	assert_int_equal(set_display(t, 0, GPU_MIN_DIM - 1, 600), -EINVAL);
	assert_int_equal(set_display(t, 0, 800, GPU_MAX_DIM + 1), -EINVAL);
	assert_int_equal(set_display(t, 0, 0, 0), -EINVAL);
	loop_sync();
	assert_int_equal(irq_edges(t), 0);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)), 0);
	assert_int_equal(scanout(t, 0).width, 1280);
	/* The limits themselves are modes. */
	assert_int_equal(set_display(t, 0, GPU_MAX_DIM, GPU_MIN_DIM), 0);
	assert_true(wait_irq(t));
	assert_int_equal(take_interrupt(t), VIRTIO_MMIO_INT_CONFIG);
}

/* ---- GET_DISPLAY_INFO, GET_EDID ---- */

static void test_gpu_display_info(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_ctrl_hdr h = hdr(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
	struct virtio_gpu_resp_display_info d;

	(void)state;
	assert_int_equal(exchange(t, Q_CTRL, &h, sizeof(h), RESP_ROOM), DISPLAY_LEN);
	memcpy(&d, hp(resp_gpa), sizeof(d));
	assert_int_equal(le32toh(d.hdr.type), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(le32toh(d.pmodes[0].r.x), 0);
	assert_int_equal(le32toh(d.pmodes[0].r.y), 0);
	assert_int_equal(le32toh(d.pmodes[0].r.width), GPU_W);
	assert_int_equal(le32toh(d.pmodes[0].r.height), GPU_H);
	assert_int_equal(le32toh(d.pmodes[0].enabled), 1);
	for (unsigned int i = 1; i < VIRTIO_GPU_MAX_SCANOUTS; i++)
		assert_true(all_bytes(&d.pmodes[i], 0, sizeof(d.pmodes[i])));
	assert_true(
		all_bytes((uint8_t *)hp(resp_gpa) + DISPLAY_LEN, 0xee, RESP_ROOM - DISPLAY_LEN));

	/* The new mode after a display event; the answer split over two buffers. */
	assert_int_equal(set_display(t, 0, 640, 480), 0);
	take_interrupt(t);
	{
		struct tbuf b[3] = { { req_gpa, sizeof(h), false },
				     { resp_gpa, 100, true },
				     { resp_gpa + 1024, DISPLAY_LEN - 100, true } };
		uint8_t whole[DISPLAY_LEN];

		assert_int_equal(request(t, Q_CTRL, b, 3), DISPLAY_LEN);
		memcpy(whole, hp(resp_gpa), 100);
		memcpy(whole + 100, hp(resp_gpa + 1024), DISPLAY_LEN - 100);
		memcpy(&d, whole, sizeof(d));
	}
	assert_int_equal(le32toh(d.hdr.type), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(le32toh(d.pmodes[0].r.width), 640);
	assert_int_equal(le32toh(d.pmodes[0].r.height), 480);
	assert_int_equal(le32toh(d.pmodes[0].enabled), 1);
}

static void get_edid(struct tdev *t, uint32_t scanout_id, uint32_t *used)
{
	struct virtio_gpu_cmd_get_edid g = { .hdr = hdr(VIRTIO_GPU_CMD_GET_EDID),
					     .scanout = htole32(scanout_id) };

	*used = exchange(t, Q_CTRL, &g, sizeof(g), RESP_ROOM);
}

/* The preferred mode the EDID's first detailed timing gives */
static void edid_mode(const uint8_t *e, uint32_t *w, uint32_t *h)
{
	const uint8_t *d = e + 54;

	*w = d[2] | (d[4] >> 4) << 8;
	*h = d[5] | (d[7] >> 4) << 8;
}

static void test_gpu_edid(void **state)
{
	static const uint8_t magic[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	struct tdev *t = start_gpu();
	struct virtio_gpu_resp_edid r;
	uint32_t used, w, h;
	uint8_t sum = 0;

	(void)state;
	get_edid(t, 0, &used);
	assert_int_equal(used, EDID_LEN);
	memcpy(&r, hp(resp_gpa), sizeof(r));
	assert_int_equal(le32toh(r.hdr.type), VIRTIO_GPU_RESP_OK_EDID);
	assert_int_equal(le32toh(r.size), 128);
	assert_memory_equal(r.edid, magic, sizeof(magic));
	for (unsigned int i = 0; i < 128; i++)
		sum += r.edid[i];
	assert_int_equal(sum, 0);
	assert_true(all_bytes(r.edid + 128, 0, sizeof(r.edid) - 128));
	edid_mode(r.edid, &w, &h);
	assert_int_equal(w, GPU_W);
	assert_int_equal(h, GPU_H);

	/* It follows the display's mode. */
	assert_int_equal(set_display(t, 0, 1280, 720), 0);
	take_interrupt(t);
	get_edid(t, 0, &used);
	memcpy(&r, hp(resp_gpa), sizeof(r));
	edid_mode(r.edid, &w, &h);
	assert_int_equal(w, 1280);
	assert_int_equal(h, 720);

	/* No scanout 1: an error header and nothing else. */
	get_edid(t, 1, &used);
	assert_int_equal(used, HDR_LEN);
	assert_int_equal(resp_type(), E_SCANOUT);
	get_edid(t, 0xffffffff, &used);
	assert_int_equal(used, HDR_LEN);
	assert_int_equal(resp_type(), E_SCANOUT);
	assert_int_equal(counter(t, "errors"), 2);
}

/* The size a detailed timing at @off of @e gives; 0 x 0 for a display descriptor. */
static void edid_timing_at(const uint8_t *e, unsigned int off, uint32_t *w, uint32_t *h)
{
	*w = *h = 0;
	if (e[off] || e[off + 1])
		edid_mode(e + off - 54, w, h);
}

static struct virtio_gpu_resp_edid edid_now(struct tdev *t)
{
	struct virtio_gpu_resp_edid r;
	uint32_t used;

	get_edid(t, 0, &used);
	assert_int_equal(used, EDID_LEN);
	memcpy(&r, hp(resp_gpa), sizeof(r));
	assert_int_equal(le32toh(r.hdr.type), VIRTIO_GPU_RESP_OK_EDID);
	return r;
}

/*
 * After the display grows, the EDID still offers smaller modes, and the
 * size the guest shows (a framebuffer Linux's fbdev console cannot grow)
 * as a timing of its own; with the scanout off, it does not.
 */
static void test_gpu_edid_keeps_the_shown_mode(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_resp_edid r;
	uint32_t w, h;

	(void)state;
	assert_int_equal(res_create(t, 1, XRGB, 1000, 700), OK);
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 1000, 700)), OK);
	r = edid_now(t);
	edid_timing_at(r.edid, 108, &w, &h); /* 1000x700 fits 1024x768: offered */
	assert_int_equal(w, 1000);
	assert_int_equal(h, 700);

	assert_int_equal(set_display(t, 0, 1280, 800), 0);
	take_interrupt(t);
	r = edid_now(t);
	edid_timing_at(r.edid, 54, &w, &h);
	assert_int_equal(w, 1280);
	assert_int_equal(h, 800);
	edid_timing_at(r.edid, 108, &w, &h);
	assert_int_equal(w, 1000);
	assert_int_equal(h, 700);
	assert_int_equal(r.edid[35], 0x21); /* 640x480, 800x600 */
	assert_int_equal(r.edid[36], 0x08); /* 1024x768 */
	assert_int_equal(r.edid[38], 1280 / 8 - 31);
	assert_int_equal(r.edid[39], 3 << 6); /* 16:9, 60 Hz: 1280x720 */
	assert_int_equal(r.edid[40], 0x01);

	/* A part of the resource: the part's size. */
	assert_int_equal(set_scanout(t, 0, 1, vrect(10, 10, 900, 600)), OK);
	edid_timing_at(edid_now(t).edid, 108, &w, &h);
	assert_int_equal(w, 900);
	assert_int_equal(h, 600);
	/* 800x600, a usual size: its own timing instead of the established one. */
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 800, 600)), OK);
	r = edid_now(t);
	edid_timing_at(r.edid, 108, &w, &h);
	assert_int_equal(w, 800);
	assert_int_equal(h, 600);
	assert_int_equal(r.edid[35], 0x20); /* 640x480 */
	/* The scanout off: nothing shown to keep. */
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 1000, 700)), OK);
	assert_int_equal(set_scanout(t, 0, 0, vrect(0, 0, 0, 0)), OK);
	r = edid_now(t);
	edid_timing_at(r.edid, 108, &w, &h);
	assert_int_equal(w, 0);
	assert_int_equal(r.edid[111], 0x10);
}

/*
 * A mode a detailed timing cannot hold (a side above 4095): the display
 * takes it, GET_EDID answers ERR_UNSPEC with a header alone, and
 * GET_DISPLAY_INFO still gives the mode (the guest goes by it).
 */
static void test_gpu_edid_large_mode(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_ctrl_hdr h = hdr(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
	struct virtio_gpu_resp_display_info d;
	uint32_t used;

	(void)state;
	assert_int_equal(set_display(t, 0, 4096, 2160), 0);
	take_interrupt(t);
	get_edid(t, 0, &used);
	assert_int_equal(used, HDR_LEN);
	assert_int_equal(resp_type(), E_UNSPEC);
	assert_int_equal(exchange(t, Q_CTRL, &h, sizeof(h), RESP_ROOM), DISPLAY_LEN);
	memcpy(&d, hp(resp_gpa), sizeof(d));
	assert_int_equal(le32toh(d.pmodes[0].r.width), 4096);
	assert_int_equal(le32toh(d.pmodes[0].r.height), 2160);
	/* 3840 x 2160 has its EDID. */
	assert_int_equal(set_display(t, 0, 3840, 2160), 0);
	take_interrupt(t);
	get_edid(t, 0, &used);
	assert_int_equal(used, EDID_LEN);
	assert_int_equal(resp_type(), VIRTIO_GPU_RESP_OK_EDID);
}

/* ---- RESOURCE_CREATE_2D, UNREF and the region ---- */

static void test_gpu_create(void **state)
{
	static const uint32_t formats[] = {
		VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
		VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM,
		VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM,
		VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM,
	};
	struct tdev *t = start_gpu();
	struct gpu_resource_info r;

	(void)state;
	assert_int_equal(cma_region_used(region), 0);
	assert_int_equal(res_create(t, 7, XRGB, 100, 50), OK);
	r = resource(t, 7);
	assert_int_equal(r.format, XRGB);
	assert_int_equal(r.width, 100);
	assert_int_equal(r.height, 50);
	assert_int_equal(r.stride, 400);
	assert_int_equal(r.bytes, 20000);
	assert_false(r.backed);
	assert_int_equal(r.nr_entries, 0);
	assert_int_equal(r.scanouts, 0);
	assert_int_equal(cma_region_used(region), 20480); /* rounded up to 4 KiB */
	assert_true(r.offset + r.bytes <= REGION_BYTES);

	/* Id 0 is no resource; an id in use is refused; neither touches the region. */
	assert_int_equal(res_create(t, 0, XRGB, 64, 64), E_RESOURCE);
	assert_int_equal(res_create(t, 7, XRGB, 64, 64), E_RESOURCE);
	assert_int_equal(resource(t, 7).width, 100);
	assert_int_equal(cma_region_used(region), 20480);

	/* Formats: the eight 2D ones, nothing else. */
	for (unsigned int i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		assert_int_equal(res_create(t, 100 + i, formats[i], 16, 16), OK);
	assert_int_equal(res_create(t, 200, 0, 16, 16), E_PARAM);
	assert_int_equal(res_create(t, 200, 5, 16, 16), E_PARAM);
	assert_int_equal(res_create(t, 200, 66, 16, 16), E_PARAM);
	assert_int_equal(res_create(t, 200, 0xffffffff, 16, 16), E_PARAM);

	/* Sizes: 1 to 16384 a side. */
	assert_int_equal(res_create(t, 200, XRGB, 0, 16), E_PARAM);
	assert_int_equal(res_create(t, 200, XRGB, 16, 0), E_PARAM);
	assert_int_equal(res_create(t, 200, XRGB, 16385, 1), E_PARAM);
	assert_int_equal(res_create(t, 200, XRGB, 1, 16385), E_PARAM);
	/* width * 4 * height past 32 and 64 bits */
	assert_int_equal(res_create(t, 200, XRGB, 0x40000000, 4), E_PARAM);
	assert_int_equal(res_create(t, 200, XRGB, 0x80000001, 0x80000001), E_PARAM);
	assert_int_equal(res_create(t, 200, XRGB, 0xffffffff, 0xffffffff), E_PARAM);
	assert_int_equal(nr_resources(t), 9);
	assert_int_equal(counter(t, "resources_created"), 9);
	assert_int_equal(cma_region_used(region), 20480 + 8 * 4096);
	assert_int_equal(res_create(t, 200, XRGB, 16384, 1), OK);
	assert_int_equal(res_create(t, 201, XRGB, 1, 16384), OK);
	assert_int_equal(cma_region_used(region), 20480 + 8 * 4096 + 2 * 65536);

	/* Unref gives the storage back. */
	assert_int_equal(res_unref(t, 200), OK);
	assert_int_equal(res_unref(t, 7), OK);
	assert_int_equal(cma_region_used(region), 8 * 4096 + 65536);
	assert_int_equal(res_unref(t, 7), E_RESOURCE);
	assert_int_equal(res_unref(t, 0), E_RESOURCE);
	assert_int_equal(res_unref(t, 12345), E_RESOURCE);
	assert_int_equal(counter(t, "resources_freed"), 2);
	assert_int_equal(nr_resources(t), 9);
	/* Its id is free again. */
	assert_int_equal(res_create(t, 7, XRGB, 16, 16), OK);
	assert_running(t);
}

/* The API lists resources in id order, whatever order they were made in. */
static void test_gpu_resource_list(void **state)
{
	struct tdev *t = start_gpu();
	struct gpu_resource_info all[4];
	static const uint32_t ids[] = { 9, 2, 5000, 5 };

	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(res_create(t, ids[i], XRGB, 16 + i, 16), OK);
	assert_int_equal(res_unref(t, 2), OK); /* a hole in the device's table */
	assert_int_equal(resource_list(t, all, 4), 3);
	assert_int_equal(all[0].id, 5);
	assert_int_equal(all[1].id, 9);
	assert_int_equal(all[2].id, 5000);
	assert_int_equal(all[0].width, 19);
	/* Fewer asked than there are: the first ones, and the total. */
	memset(all, 0, sizeof(all));
	assert_int_equal(resource_list(t, all, 1), 3);
	assert_int_equal(all[0].id, 5);
	assert_int_equal(all[1].id, 0);
}

/* Resources @first.. of 16x16 (4 KiB each in the region), BATCH chains at a time, each @want. */
static void create_many(struct tdev *t, uint32_t first, unsigned int n, uint32_t want)
{
	for (unsigned int done = 0; done < n;) {
		unsigned int k = n - done < BATCH ? n - done : BATCH;
		uint16_t heads[BATCH];

		for (unsigned int i = 0; i < k; i++) {
			struct virtio_gpu_resource_create_2d c =
				create_req(first + done + i, XRGB, 16, 16);
			struct tbuf b[2] = { { req_gpa + 64 * i, sizeof(c), false },
					     { resp_gpa + 64 * i, HDR_LEN, true } };

			memcpy(hp(b[0].gpa), &c, sizeof(c));
			heads[i] = build_chain(t, Q_CTRL, b, 2);
			offer(t, Q_CTRL, heads[i], i + 1 == k);
		}
		for (unsigned int i = 0; i < k; i++) {
			assert_int_equal(next_used(t, Q_CTRL, heads[i]), HDR_LEN);
			assert_int_equal(get32(resp_gpa + 64 * i), want);
		}
		done += k;
	}
	assert_true(wait_irq(t));
	take_interrupt(t);
}

/* 1024 resources at most: the next one is out of memory, and the device goes on. */
static void test_gpu_too_many_resources(void **state)
{
	struct tdev *t = start_gpu();

	(void)state;
	create_many(t, 1, 1024, OK);
	assert_int_equal(nr_resources(t), 1024);
	assert_int_equal(cma_region_used(region), 1024 * 4096);
	assert_int_equal(res_create(t, 1025, XRGB, 16, 16), E_OOM);
	assert_int_equal(res_create(t, 1026, XRGB, 16, 16), E_OOM);
	assert_int_equal(counter(t, "oom"), 2);
	assert_int_equal(nr_resources(t), 1024);
	assert_int_equal(cma_region_used(region), 1024 * 4096);
	assert_running(t);
	/* One freed: one more fits. */
	assert_int_equal(res_unref(t, 512), OK);
	assert_int_equal(res_create(t, 1025, XRGB, 16, 16), OK);
	assert_int_equal(resource(t, 1025).width, 16);
	assert_int_equal(res_create(t, 1026, XRGB, 16, 16), E_OOM);
	assert_int_equal(counter(t, "resources_created"), 1025);
	assert_int_equal(counter(t, "errors"), 3);
}

/* A region too small for a resource: OUT_OF_MEMORY, the device goes on. */
static void test_gpu_region_full(void **state)
{
	struct tdev *t = start_gpu();

	(void)state;
	assert_int_equal(res_create(t, 1, XRGB, 16384, 16384), E_OOM); /* 1 GiB */
	assert_int_equal(res_create(t, 1, XRGB, 1024, 1024), OK);      /* 4 MiB */
	assert_int_equal(res_create(t, 2, XRGB, 1024, 1024), OK);
	assert_int_equal(cma_region_used(region), REGION_BYTES);
	/* Each of 4 MiB starts at a 2 MiB page. */
	assert_int_equal(resource(t, 1).offset % REGION_PAGE, 0);
	assert_int_equal(resource(t, 2).offset % REGION_PAGE, 0);
	assert_int_equal(res_create(t, 3, XRGB, 16, 16), E_OOM);
	assert_int_equal(counter(t, "oom"), 2);
	assert_int_equal(nr_resources(t), 2);
	assert_running(t);
	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(cma_region_used(region), REGION_BYTES / 2);
	assert_int_equal(res_create(t, 3, XRGB, 16, 16), OK);
	assert_int_equal(res_create(t, 4, XRGB, 1024, 1024), E_OOM); /* 4 KiB in the way */
	assert_int_equal(res_create(t, 4, XRGB, 1024, 512), OK);     /* 2 MiB: the next page */
	assert_int_equal(cma_region_used(region), REGION_BYTES - REGION_PAGE + 4096);
}

/* ---- ATTACH_BACKING, DETACH_BACKING ---- */

static void test_gpu_attach_backing(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_mem_entry e[3];

	(void)state;
	assert_int_equal(res_create(t, 1, XRGB, 64, 64), OK);
	e[0] = entry(BACKING, 8192);
	e[1] = entry(BACKING + 0x10000, 8192);
	assert_int_equal(res_attach(t, 2, e, 2), E_RESOURCE);
	assert_int_equal(res_attach(t, 0, e, 2), E_RESOURCE);
	assert_int_equal(res_attach(t, 1, e, 2), OK);
	assert_true(resource(t, 1).backed);
	assert_int_equal(resource(t, 1).nr_entries, 2);
	/* Twice: detach first. */
	assert_int_equal(res_attach(t, 1, e, 1), E_UNSPEC);
	assert_int_equal(resource(t, 1).nr_entries, 2);
	assert_int_equal(res_detach(t, 1), OK);
	assert_false(resource(t, 1).backed);
	assert_int_equal(resource(t, 1).nr_entries, 0);
	assert_int_equal(res_detach(t, 1), E_UNSPEC);
	assert_int_equal(res_detach(t, 2), E_RESOURCE);

	/* Entries outside RAM: below it, across its end, wrapping around 2^64. */
	e[0] = entry(BACKING, 4096);
	e[1] = entry(RAM_GPA - 4096, 4096);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	e[1] = entry(RAM_END - 4096, 4097);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	e[1] = entry(0xfffffffffffff000ULL, 0x2000);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	e[1] = entry(RAM_END, 1);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	/* RAM's last byte is RAM. */
	e[1] = entry(RAM_END - 1, 1);
	assert_int_equal(res_attach(t, 1, e, 2), OK);
	assert_int_equal(res_detach(t, 1), OK);

	/* Overlapping entries, in either order, or the same twice; touching ones are fine. */
	e[0] = entry(BACKING, 4096);
	e[1] = entry(BACKING + 4095, 4096);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	e[2] = e[0];
	assert_int_equal(res_attach(t, 1, e + 1, 2), E_PARAM);
	e[1] = entry(BACKING + 0x8000, 16);
	e[2] = entry(BACKING + 100, 1); /* inside e[0], after e[1] */
	assert_int_equal(res_attach(t, 1, e, 3), E_PARAM);
	e[1] = e[0];
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	assert_false(resource(t, 1).backed);
	e[1] = entry(BACKING + 4096, 4096);
	e[2] = entry(BACKING - 4096, 4096);
	assert_int_equal(res_attach(t, 1, e, 3), OK);
	assert_int_equal(res_detach(t, 1), OK);

	/* A zero-length entry */
	e[1] = entry(BACKING + 0x8000, 0);
	assert_int_equal(res_attach(t, 1, e, 2), E_PARAM);
	/* nr_entries 0, too many, or more than the request carries */
	assert_int_equal(attach_n(t, 1, 0, e, 0), E_PARAM);
	assert_int_equal(attach_n(t, 1, 0, e, 1), E_PARAM);
	assert_int_equal(attach_n(t, 1, 16385, e, 1), E_PARAM);
	assert_int_equal(attach_n(t, 1, 0x10000000, e, 1), E_PARAM);
	assert_int_equal(attach_n(t, 1, 0xffffffff, e, 1), E_PARAM);
	e[1] = entry(BACKING + 0x8000, 64);
	assert_int_equal(attach_n(t, 1, 3, e, 2), E_PARAM);
	assert_int_equal(attach_n(t, 1, 2, e, 0), E_PARAM);
	assert_false(resource(t, 1).backed);
	/* More carried than said: the rest is ignored. */
	e[2] = entry(RAM_GPA - 4096, 4096);
	assert_int_equal(attach_n(t, 1, 2, e, 3), OK);
	assert_int_equal(resource(t, 1).nr_entries, 2);
	assert_running(t);
}

/* ---- TRANSFER_TO_HOST_2D ---- */

/* Bytes @k of the storage of a @stride-wide resource equal the guest's? */
static void assert_storage_is_picture(const uint8_t *px, uint64_t bytes)
{
	for (uint64_t k = 0; k < bytes; k++)
		if (px[k] != pat(k))
			fail_msg("storage byte %llu: %u, the guest's %u", (unsigned long long)k,
				 px[k], pat(k));
}

/* ATTACH_BACKING of resource 3 with two entries of 4 KiB, the request and entries as one */
struct attach_two {
	struct virtio_gpu_resource_attach_backing a;
	struct virtio_gpu_mem_entry e[2];
};

static struct attach_two attach_two_req(uint64_t first, uint64_t second)
{
	return (struct attach_two){
		.a = { .hdr = hdr(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING),
		       .resource_id = htole32(3),
		       .nr_entries = htole32(2) },
		.e = { entry(first, 4096), entry(second, 4096) },
	};
}

/* Resource 3 (32 x 64) has the entries at @first and @second behind it, in that order. */
static void assert_backed_by(struct tdev *t, uint64_t first, uint64_t second)
{
	assert_int_equal(resource(t, 3).nr_entries, 2);
	fill(first, 4096, 0);
	fill(second, 4096, 4096);
	assert_int_equal(res_transfer(t, 3, vrect(0, 0, 32, 64), 0), OK);
	assert_storage_is_picture(storage(t, 3), 8192);
}

/*
 * The request and its entries in one buffer, as some drivers send them,
 * or cut anywhere: in the header, in each entry.
 */
static void test_gpu_attach_buffers(void **state)
{
	struct tdev *t = start_gpu();
	struct attach_two req = attach_two_req(BACKING, BACKING + 8192);
	const uint32_t cut[4] = { 0, 10, 41, 52 };
	struct tbuf b[5];

	(void)state;
	assert_int_equal(res_create(t, 3, XRGB, 32, 64), OK);
	assert_int_equal(cmd(t, &req, sizeof(req)), OK);
	assert_backed_by(t, BACKING, BACKING + 8192);

	assert_int_equal(res_detach(t, 3), OK);
	req = attach_two_req(BACKING + 0x10000, BACKING + 0x4000);
	for (unsigned int i = 0; i < 4; i++) {
		uint32_t len = (i < 3 ? cut[i + 1] : sizeof(req)) - cut[i];

		b[i] = (struct tbuf){ galloc(t, len), len, false };
		memcpy(hp(b[i].gpa), (const uint8_t *)&req + cut[i], len);
	}
	b[4] = (struct tbuf){ resp_gpa, HDR_LEN, true };
	assert_int_equal(request(t, Q_CTRL, b, 5), HDR_LEN);
	assert_int_equal(resp_type(), OK);
	assert_backed_by(t, BACKING + 0x10000, BACKING + 0x4000);
}

/* A full frame from a backing scattered over non-adjacent entries of odd sizes, out of order */
static void test_gpu_transfer_full_frame(void **state)
{
	struct tdev *t = start_gpu();
	const uint32_t w = 100, h = 37, bytes = w * 4 * h;
	const uint64_t gpa[4] = { BACKING + 0x30000, BACKING + 0x10005, BACKING + 0x50003,
				  BACKING + 0x20000 };
	const uint32_t len[4] = { 1001, 3333, 77, bytes - 1001 - 3333 - 77 };
	struct virtio_gpu_mem_entry e[4];
	uint64_t start = 0;

	(void)state;
	memset(hp(BACKING), 0xcc, 0x60000);
	for (unsigned int i = 0; i < 4; i++) {
		e[i] = entry(gpa[i], len[i]);
		fill(gpa[i], len[i], start);
		start += len[i];
	}
	assert_int_equal(res_create(t, 1, XRGB, w, h), OK);
	assert_int_equal(res_attach(t, 1, e, 4), OK);
	assert_true(all_bytes(storage(t, 1), 0, bytes));
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, w, h), 0), OK);
	assert_storage_is_picture(storage(t, 1), bytes);
	assert_int_equal(counter(t, "transfers"), 1);
	assert_int_equal(counter(t, "transfer_bytes"), bytes);

	/* The same, a row at a time (as a sub-rectangle of full width each). */
	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(res_create(t, 1, XRGB, w, h), OK);
	assert_int_equal(res_attach(t, 1, e, 4), OK);
	for (uint32_t y = 0; y < h; y++)
		assert_int_equal(res_transfer(t, 1, vrect(0, y, w, 1), (uint64_t)y * w * 4), OK);
	assert_storage_is_picture(storage(t, 1), bytes);
	/* and a column at a time: every row crosses entries somewhere */
	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(res_create(t, 1, XRGB, w, h), OK);
	assert_int_equal(res_attach(t, 1, e, 4), OK);
	for (uint32_t x = 0; x < w; x += 3) {
		uint32_t cw = w - x < 3 ? w - x : 3;

		assert_int_equal(res_transfer(t, 1, vrect(x, 0, cw, h), (uint64_t)x * 4), OK);
	}
	assert_storage_is_picture(storage(t, 1), bytes);
}

/* The most entries a resource takes, one byte each, every other byte of RAM */
static void test_gpu_transfer_max_entries(void **state)
{
	struct tdev *t = start_gpu();
	const uint32_t n = 16384;
	uint64_t ents;

	(void)state;
	ents = byte_entries(t, BACKING, 2, n);
	memset(hp(BACKING), 0xcc, 2 * n);
	for (uint32_t i = 0; i < n; i++)
		*(uint8_t *)hp(BACKING + 2 * i) = pat(i);
	assert_int_equal(res_create(t, 1, XRGB, 64, 64), OK); /* 16384 bytes */
	assert_int_equal(attach_list(t, 1, ents, n), OK);
	assert_int_equal(resource(t, 1).nr_entries, n);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 64, 64), 0), OK);
	assert_storage_is_picture(storage(t, 1), n);
	/* a rectangle inside: rows of 8 pixels, each across 32 entries */
	assert_int_equal(res_transfer(t, 1, vrect(5, 9, 8, 3), 9 * 256 + 20), OK);
	assert_storage_is_picture(storage(t, 1), n);
}

/*
 * Entries back to back in guest order are one run to the device, which
 * the API does not show (it counts the guest's entries); back to back in
 * memory but not in order, or with a gap, they stay apart. The picture is
 * the same either way.
 */
static void test_gpu_transfer_adjacent_entries(void **state)
{
	struct tdev *t = start_gpu();
	/*
	 * 16 x 16: 1024 bytes. [0, 700) in three entries back to back: one run;
	 * then 100 bytes just after the last 224, which come from just before them.
	 */
	const uint64_t gpa[5] = { BACKING, BACKING + 100, BACKING + 300, BACKING + 0x10e0,
				  BACKING + 0x1000 };
	const uint32_t len[5] = { 100, 200, 400, 100, 224 };
	struct virtio_gpu_mem_entry e[5];
	uint64_t start = 0;

	(void)state;
	memset(hp(BACKING), 0xcc, 0x3000);
	for (unsigned int i = 0; i < 5; i++) {
		e[i] = entry(gpa[i], len[i]);
		fill(gpa[i], len[i], start);
		start += len[i];
	}
	assert_int_equal(res_create(t, 1, XRGB, 16, 16), OK);
	assert_int_equal(res_attach(t, 1, e, 5), OK);
	assert_int_equal(resource(t, 1).nr_entries, 5);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 16, 16), 0), OK);
	assert_storage_is_picture(storage(t, 1), 1024);
	/* Row by row, each across the runs' seams, and the last byte alone */
	assert_int_equal(res_detach(t, 1), OK);
	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(res_create(t, 1, XRGB, 16, 16), OK);
	assert_int_equal(res_attach(t, 1, e, 5), OK);
	for (uint32_t y = 0; y < 16; y++)
		assert_int_equal(res_transfer(t, 1, vrect(1, y, 15, 1), y * 64 + 4), OK);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 16), 0), OK);
	assert_storage_is_picture(storage(t, 1), 1024);
	/* One byte past what the runs hold */
	assert_int_equal(res_transfer(t, 1, vrect(15, 15, 1, 1), 1021), E_PARAM);

	/* 4096 entries of one byte, back to back: one run of 4 KiB. */
	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(res_create(t, 1, XRGB, 32, 32), OK);
	fill(BACKING + 0x4000, 4096, 0);
	assert_int_equal(attach_list(t, 1, byte_entries(t, BACKING + 0x4000, 1, 4096), 4096), OK);
	assert_int_equal(resource(t, 1).nr_entries, 4096);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 32, 32), 0), OK);
	assert_storage_is_picture(storage(t, 1), 4096);
	assert_int_equal(res_transfer(t, 1, vrect(31, 31, 1, 1), 4093), E_PARAM);
}

/*
 * What Linux sends: the rectangle's first pixel's offset in a backing laid
 * out like the resource, rows a stride apart. Only the rectangle changes.
 */
static void test_gpu_transfer_sub_rect(void **state)
{
	struct tdev *t = start_gpu();
	const uint32_t w = 64, h = 32, stride = w * 4;
	const uint8_t *px;

	(void)state;
	fill(BACKING, stride * h, 0);
	backed_resource(t, 1, w, h, stride * h);
	px = storage(t, 1);
	assert_int_equal(res_transfer(t, 1, vrect(3, 5, 10, 7), 5 * stride + 3 * 4), OK);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t c = 0; c < stride; c++) {
			bool in = y >= 5 && y < 12 && c >= 12 && c < 52;
			uint8_t want = in ? pat(y * stride + c) : 0;

			if (px[y * stride + c] != want)
				fail_msg("row %u byte %u: %u, want %u", y, c, px[y * stride + c],
					 want);
		}
	}
	assert_int_equal(counter(t, "transfer_bytes"), 10 * 4 * 7);

	/*
	 * Any other offset: the rectangle's rows come from there, a stride
	 * apart. Here offset 8 for the rectangle at (20, 0) of 4 x 3.
	 */
	assert_int_equal(res_transfer(t, 1, vrect(20, 0, 4, 3), 8), OK);
	for (uint32_t y = 0; y < 3; y++)
		for (uint32_t c = 0; c < 16; c++)
			assert_int_equal(px[y * stride + 80 + c], pat(8 + y * stride + c));
	assert_int_equal(px[3 * stride + 80], 0);
	assert_int_equal(px[76], 0);
	assert_int_equal(px[96], 0);

	/* Full-width rows from row 20 on, from the start of the backing */
	assert_int_equal(res_transfer(t, 1, vrect(0, 20, w, 4), 0), OK);
	for (uint32_t k = 0; k < 4 * stride; k++)
		assert_int_equal(px[20 * stride + k], pat(k));
	assert_true(all_bytes(px + 24 * stride, 0, 8 * stride));
	assert_true(all_bytes(px + 12 * stride, 0, 8 * stride));
	assert_int_equal(counter(t, "transfers"), 3);

	/* An empty rectangle copies nothing, and is no error. */
	assert_int_equal(res_transfer(t, 1, vrect(2, 2, 0, 5), 0), OK);
	assert_int_equal(res_transfer(t, 1, vrect(2, 2, 5, 0), 0), OK);
	assert_int_equal(px[2 * stride + 8], 0);
}

static void test_gpu_transfer_errors(void **state)
{
	struct tdev *t = start_gpu();
	const uint32_t w = 64, h = 32, stride = w * 4;
	uint64_t errors;

	(void)state;
	fill(BACKING, 4096, 0);
	backed_resource(t, 1, w, h, 4096); /* half the resource's bytes */
	assert_int_equal(res_create(t, 2, XRGB, w, h), OK);

	/* No such resource, no backing */
	assert_int_equal(res_transfer(t, 3, vrect(0, 0, 1, 1), 0), E_RESOURCE);
	assert_int_equal(res_transfer(t, 0, vrect(0, 0, 1, 1), 0), E_RESOURCE);
	assert_int_equal(res_transfer(t, 2, vrect(0, 0, 1, 1), 0), E_UNSPEC);

	/* Rectangles leaving the resource, with and without wrapping around */
	assert_int_equal(res_transfer(t, 1, vrect(60, 0, 5, 1), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 31, 1, 2), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(64, 0, 0, 1), 0), OK); /* empty, at the edge */
	assert_int_equal(res_transfer(t, 1, vrect(65, 0, 0, 1), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0xfffffffc, 0, 8, 1), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0xffffffff, 1, 2), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 0xffffffff, 0xffffffff), 0), E_PARAM);

	/* Offset + rows beyond the backing */
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, w, h), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, w, 17), 0), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, w, 16), 4), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), 4093), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), 4096), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), 4097), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), UINT64_MAX), E_PARAM);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), UINT64_MAX - 3), E_PARAM);
	/* the last row's stride is not needed: 15 rows apart, then 4 bytes */
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 16), 4096 - 15 * stride - 4), OK);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 16), 4096 - 15 * stride - 3), E_PARAM);
	assert_true(all_bytes(storage(t, 1) + stride * 16, 0, stride * 16));
	errors = counter(t, "errors");
	assert_int_equal(counter(t, "transfers"), 1);
	/* Exactly the backing */
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, w, 16), 0), OK);
	assert_int_equal(res_transfer(t, 1, vrect(63, 15, 1, 1), 4092), OK);
	assert_storage_is_picture(storage(t, 1), 4096);
	assert_true(all_bytes(storage(t, 1) + 4096, 0, 4096));
	assert_int_equal(counter(t, "errors"), errors);
	/* After a detach, no backing again */
	assert_int_equal(res_detach(t, 1), OK);
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 1, 1), 0), E_UNSPEC);
	assert_running(t);
}

/* ---- what the host holds for the guest's backing lists ---- */

#define LIST_MAX  16384		  /* GPU_MAX_ENTRIES */
#define LISTS_MAX (16 * LIST_MAX) /* GPU_MAX_ENTRIES_TOTAL: 16 full lists */

/*
 * Every resource's backing list together: 16 of the longest, then
 * OUT_OF_MEMORY, and the device goes on; a detach or an unref makes room.
 */
static void test_gpu_backing_lists_bounded(void **state)
{
	struct tdev *t = start_gpu();
	uint64_t ents;

	(void)state;
	ents = byte_entries(t, BACKING, 2, LIST_MAX); /* apart: LIST_MAX runs each */
	for (uint32_t id = 1; id <= 18; id++)
		assert_int_equal(res_create(t, id, XRGB, 64, 64), OK);
	for (uint32_t id = 1; id <= 16; id++)
		assert_int_equal(attach_list(t, id, ents, LIST_MAX), OK);
	assert_int_equal(attach_list(t, 17, ents, LIST_MAX), E_OOM);
	assert_int_equal(attach_list(t, 17, ents, 1), E_OOM);
	assert_false(resource(t, 17).backed);
	assert_running(t);
	assert_int_equal(res_detach(t, 3), OK);
	assert_int_equal(attach_list(t, 17, ents, LIST_MAX), OK);
	assert_int_equal(attach_list(t, 18, ents, 1), E_OOM);
	assert_int_equal(res_unref(t, 5), OK);
	assert_int_equal(attach_list(t, 18, ents, LIST_MAX), OK);
	/* A reset forgets them all. */
	reset(t);
	gpu_handshake(t);
	ents = byte_entries(t, BACKING, 2, LIST_MAX);
	assert_int_equal(res_create(t, 1, XRGB, 64, 64), OK);
	assert_int_equal(attach_list(t, 1, ents, LIST_MAX), OK);
}

/* Bytes of host heap that the backing lists of every resource take */
static size_t lists_heap(struct tdev *t)
{
	const struct gpu *g = t->dev.priv;
	size_t bytes = 0;

	pthread_mutex_lock(&t->dev.lock);
	for (unsigned int i = 0; i < g->nr_res; i++)
		bytes += malloc_usable_size(g->res[i]->entries);
	pthread_mutex_unlock(&t->dev.lock);
	return bytes;
}

/*
 * The bound on backing lists holds for the host's heap: a guest that
 * sends 16384 entries back to back per resource (one run once merged)
 * must not hold 16384 entries of heap per resource while the bound counts
 * one (found by this test: 1024 resources held 384 MiB). The device counts
 * the guest's entries against the bound and keeps only the runs; what the
 * lists take stays within the bound's worth of entries.
 */
static void test_gpu_backing_lists_heap_bounded(void **state)
{
	struct tdev *t = start_gpu();
	const uint32_t nr = 32;
	uint64_t ents;
	unsigned int refused = 0;

	(void)state;
	ents = byte_entries(t, BACKING, 1, LIST_MAX); /* back to back: one run each */
	for (uint32_t id = 1; id <= nr; id++) {
		assert_int_equal(res_create(t, id, XRGB, 64, 64), OK);
		refused += attach_list(t, id, ents, LIST_MAX) == E_OOM;
	}
	assert_running(t);
	/* a page of slack for each list: what the allocator rounds up to */
	assert_in_range(lists_heap(t), 0, LISTS_MAX * sizeof(struct gpu_entry) + (size_t)nr * 8192);
	/* Whichever way: the ones held still copy right. */
	fill(BACKING, LIST_MAX, 0);
	assert_int_equal(res_transfer(t, nr - refused, vrect(0, 0, 64, 64), 0), OK);
	assert_storage_is_picture(storage(t, nr - refused), LIST_MAX);
}

/* ---- SET_SCANOUT, RESOURCE_FLUSH, UNREF ---- */

static void test_gpu_set_scanout(void **state)
{
	struct tdev *t = start_gpu();
	struct gpu_picture p;
	struct gpu_scanout_info s;

	(void)state;
	assert_int_equal(picture(t, 0, &p), -ENODATA);
	assert_int_equal(picture(t, 1, &p), -ENOENT);
	assert_int_equal(res_create(t, 4, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, 1024, 768), OK);

	assert_int_equal(set_scanout(t, 1, 4, vrect(0, 0, 1024, 768)), E_SCANOUT);
	assert_int_equal(set_scanout(t, 0xffffffff, 4, vrect(0, 0, 1024, 768)), E_SCANOUT);
	assert_int_equal(set_scanout(t, 0, 5, vrect(0, 0, 1024, 768)), E_RESOURCE);
	assert_int_equal(set_scanout(t, 0, 4, vrect(0, 0, 1025, 768)), E_PARAM);
	assert_int_equal(set_scanout(t, 0, 4, vrect(1, 0, 1024, 768)), E_PARAM);
	assert_int_equal(set_scanout(t, 0, 4, vrect(0, 0xffffffff, 16, 2)), E_PARAM);
	assert_int_equal(set_scanout(t, 0, 4, vrect(0, 0, 0, 768)), E_PARAM);
	assert_int_equal(set_scanout(t, 0, 4, vrect(0, 0, 1024, 0)), E_PARAM);
	assert_int_equal(picture(t, 0, &p), -ENODATA);
	assert_int_equal(scanout(t, 0).resource_id, 0);

	assert_int_equal(set_scanout(t, 0, 4, vrect(16, 8, 800, 600)), OK);
	s = scanout(t, 0);
	assert_true(s.enabled);
	assert_int_equal(s.resource_id, 4);
	assert_int_equal(s.rect.x, 16);
	assert_int_equal(s.rect.y, 8);
	assert_int_equal(s.rect.width, 800);
	assert_int_equal(s.rect.height, 600);
	assert_int_equal(resource(t, 4).scanouts, 1);
	assert_int_equal(picture(t, 0, &p), 0);
	assert_int_equal(p.resource_id, 4);
	assert_int_equal(p.format, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM);
	assert_int_equal(p.stride, 4096);
	assert_int_equal(p.rect.width, 800);
	assert_int_equal(p.offset, resource(t, 4).offset);
	assert_int_equal(p.bytes, 1024 * 768 * 4);
	assert_ptr_equal(p.pixels, cma_region_base(region) + p.offset);

	/* Resource 0 on scanout 0: dark, whatever the rectangle. */
	assert_int_equal(set_scanout(t, 0, 0, vrect(1, 2, 3, 4)), OK);
	assert_int_equal(scanout(t, 0).resource_id, 0);
	assert_int_equal(picture(t, 0, &p), -ENODATA);
	assert_int_equal(resource(t, 4).scanouts, 0);
	assert_int_equal(set_scanout(t, 1, 0, vrect(0, 0, 0, 0)), E_SCANOUT);
	assert_int_equal(counter(t, "errors"), 9);
}

static void test_gpu_flush(void **state)
{
	struct tdev *t = start_gpu();

	(void)state;
	assert_int_equal(res_create(t, 1, XRGB, 64, 64), OK);
	assert_int_equal(res_create(t, 2, XRGB, 64, 64), OK);
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(res_flush(t, 1, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(res_flush(t, 1, vrect(10, 10, 5, 5)), OK);
	assert_int_equal(scanout(t, 0).flushes, 2);
	/* Not shown: flushed, but no scanout counts it. */
	assert_int_equal(res_flush(t, 2, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(scanout(t, 0).flushes, 2);
	assert_int_equal(counter(t, "flushes"), 3);
	/* Errors count nowhere but in errors. */
	assert_int_equal(res_flush(t, 3, vrect(0, 0, 1, 1)), E_RESOURCE);
	assert_int_equal(res_flush(t, 1, vrect(0, 0, 65, 1)), E_PARAM);
	assert_int_equal(res_flush(t, 1, vrect(0xffffffff, 0, 2, 1)), E_PARAM);
	assert_int_equal(scanout(t, 0).flushes, 2);
	assert_int_equal(counter(t, "flushes"), 3);
	assert_int_equal(counter(t, "errors"), 3);
	/* The other resource shown: its flushes count now. */
	assert_int_equal(set_scanout(t, 0, 2, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(res_flush(t, 2, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(res_flush(t, 1, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(scanout(t, 0).flushes, 3);
}

/* Unref frees the storage, darkens the scanout showing it, and forgets it as the cursor. */
static void test_gpu_unref(void **state)
{
	struct tdev *t = start_gpu();
	struct gpu_picture p;
	struct virtio_gpu_update_cursor u = { .hdr = hdr(VIRTIO_GPU_CMD_UPDATE_CURSOR),
					      .resource_id = htole32(2) };

	(void)state;
	backed_resource(t, 1, 256, 256, 256 * 1024);
	assert_int_equal(res_create(t, 2, XRGB, 64, 64), OK);
	assert_int_equal(cma_region_used(region), 256 * 1024 + 16384);
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 256, 256)), OK);
	assert_int_equal(exchange(t, Q_CURSOR, &u, sizeof(u), 0), 0);
	assert_int_equal(cursor(t).resource_id, 2);

	assert_int_equal(res_unref(t, 1), OK);
	assert_int_equal(cma_region_used(region), 16384);
	assert_int_equal(scanout(t, 0).resource_id, 0);
	assert_int_equal(picture(t, 0, &p), -ENODATA);
	assert_int_equal(cursor(t).resource_id, 2);
	assert_int_equal(res_unref(t, 2), OK);
	assert_int_equal(cursor(t).resource_id, 0);
	assert_int_equal(cma_region_used(region), 0);
	assert_int_equal(nr_resources(t), 0);
	assert_int_equal(res_unref(t, 1), E_RESOURCE);
	assert_int_equal(res_unref(t, 3), E_RESOURCE);
	assert_int_equal(counter(t, "resources_freed"), 2);
	/* A new resource under the old id starts out black. */
	assert_int_equal(res_create(t, 1, XRGB, 256, 256), OK);
	assert_true(all_bytes(storage(t, 1), 0, 256 * 1024));
	assert_false(resource(t, 1).backed);
}

/* ---- fences, malformed and unknown commands ---- */

static void test_gpu_fences(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_ctrl_hdr in = {
		.type = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO),
		.flags = htole32(VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX | 0x80),
		.fence_id = htole64(0x1122334455667788ULL),
		.ctx_id = htole32(7),
		.ring_idx = 3,
		.padding = { 1, 2, 3 },
	};
	struct virtio_gpu_ctrl_hdr out;
	struct virtio_gpu_resource_create_2d c = create_req(9, XRGB, 16, 16);

	(void)state;
	assert_int_equal(exchange(t, Q_CTRL, &in, sizeof(in), RESP_ROOM), DISPLAY_LEN);
	memcpy(&out, hp(resp_gpa), sizeof(out));
	assert_int_equal(le32toh(out.type), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(le32toh(out.flags), VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);
	assert_int_equal(le64toh(out.fence_id), 0x1122334455667788ULL);
	assert_int_equal(le32toh(out.ctx_id), 7);
	assert_int_equal(out.ring_idx, 3);
	assert_true(all_bytes(out.padding, 0, 3));

	/* Without INFO_RING_IDX, no ring index; on an error answer too. */
	c.hdr = in;
	c.hdr.type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D);
	c.hdr.flags = htole32(VIRTIO_GPU_FLAG_FENCE);
	c.resource_id = 0;
	assert_int_equal(cmd(t, &c, sizeof(c)), E_RESOURCE);
	memcpy(&out, hp(resp_gpa), sizeof(out));
	assert_int_equal(le32toh(out.flags), VIRTIO_GPU_FLAG_FENCE);
	assert_int_equal(le64toh(out.fence_id), 0x1122334455667788ULL);
	assert_int_equal(le32toh(out.ctx_id), 7);
	assert_int_equal(out.ring_idx, 0);

	/* Not fenced: no fence id, whatever the request had there. */
	c.hdr.flags = htole32(VIRTIO_GPU_FLAG_INFO_RING_IDX);
	c.resource_id = htole32(9);
	assert_int_equal(cmd(t, &c, sizeof(c)), OK);
	memcpy(&out, hp(resp_gpa), sizeof(out));
	assert_int_equal(le32toh(out.flags), VIRTIO_GPU_FLAG_INFO_RING_IDX);
	assert_int_equal(out.fence_id, 0);
	assert_int_equal(out.ring_idx, 3);
	c.hdr.flags = 0;
	c.resource_id = htole32(10);
	assert_int_equal(cmd(t, &c, sizeof(c)), OK);
	memcpy(&out, hp(resp_gpa), sizeof(out));
	assert_int_equal(out.flags, 0);
	assert_int_equal(out.fence_id, 0);
	assert_int_equal(out.ring_idx, 0);
	assert_int_equal(le32toh(out.ctx_id), 7);

	/* An unknown command still answers its fence. */
	in.type = htole32(0x0999);
	assert_int_equal(cmd(t, &in, sizeof(in)), E_UNSPEC);
	memcpy(&out, hp(resp_gpa), sizeof(out));
	assert_int_equal(le64toh(out.fence_id), 0x1122334455667788ULL);
}

/*
 * A request that would succeed whole, for each command with a body: on
 * resource 1 (16x16, backed), scanout 0, or the new resource 2. Returns
 * its size. Its last byte is 0, so only the device's size check can
 * refuse it one byte short.
 */
static uint32_t good_request(uint32_t type, uint8_t *out)
{
	struct virtio_gpu_rect r = vrect(0, 0, 16, 16);
	__le32 one = htole32(1), three = htole32(3);
	uint32_t size;

	memset(out, 0, 64);
	switch (type) {
	case VIRTIO_GPU_CMD_GET_EDID:
		size = sizeof(struct virtio_gpu_cmd_get_edid);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D: {
		struct virtio_gpu_resource_create_2d c = create_req(2, XRGB, 16, 16);

		memcpy(out, &c, sizeof(c));
		return sizeof(c);
	}
	case VIRTIO_GPU_CMD_SET_SCANOUT: /* r, scanout_id 0, resource_id */
		memcpy(out + HDR_LEN, &r, sizeof(r));
		memcpy(out + HDR_LEN + sizeof(r) + 4, &one, 4);
		size = sizeof(struct virtio_gpu_set_scanout);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH:	 /* r, resource_id, padding */
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D: /* r, offset 0, resource_id, padding */
		memcpy(out + HDR_LEN, &r, sizeof(r));
		size = type == VIRTIO_GPU_CMD_RESOURCE_FLUSH
			       ? sizeof(struct virtio_gpu_resource_flush)
			       : sizeof(struct virtio_gpu_transfer_to_host_2d);
		memcpy(out + size - 8, &one, 4);
		break;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING: /* resource 3, nr_entries 0: its last byte */
		memcpy(out + HDR_LEN, &three, 4);
		size = sizeof(struct virtio_gpu_resource_attach_backing);
		break;
	default: /* unref, detach: resource_id, padding */
		memcpy(out + HDR_LEN, &one, 4);
		size = sizeof(struct virtio_gpu_resource_unref);
		break;
	}
	{
		struct virtio_gpu_ctrl_hdr h = hdr(type);

		memcpy(out, &h, sizeof(h));
	}
	return size;
}

/* Each command one byte short of its struct: INVALID_PARAMETER, nothing done. */
static void test_gpu_short_commands(void **state)
{
	static const uint32_t types[] = {
		VIRTIO_GPU_CMD_GET_EDID,
		VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
		VIRTIO_GPU_CMD_SET_SCANOUT,
		VIRTIO_GPU_CMD_RESOURCE_FLUSH,
		VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
		VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
		VIRTIO_GPU_CMD_RESOURCE_UNREF,
		VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
	};
	struct tdev *t = start_gpu();
	uint8_t req[64];
	uint32_t size;

	(void)state;
	backed_resource(t, 1, 16, 16, 1024);
	assert_int_equal(res_create(t, 3, XRGB, 16, 16), OK);
	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size = good_request(types[i], req);
		assert_int_equal(req[size - 1], 0);
		assert_int_equal(cmd(t, req, size - 1), E_PARAM);
	}
	assert_int_equal(nr_resources(t), 2);
	assert_true(resource(t, 1).backed);
	assert_int_equal(scanout(t, 0).resource_id, 0);
	assert_int_equal(counter(t, "transfers") + counter(t, "flushes"), 0);
	assert_int_equal(counter(t, "errors"), 8);
	/* Whole, they do what they say (the attach aside: nr_entries 0). */
	for (unsigned int i = 0; i < 7; i++) {
		size = good_request(types[i], req);
		assert_int_equal(exchange(t, Q_CTRL, req, size, RESP_ROOM), i ? HDR_LEN : EDID_LEN);
		assert_int_equal(resp_type(), i ? OK : VIRTIO_GPU_RESP_OK_EDID);
	}
	assert_int_equal(counter(t, "transfers"), 1);
	assert_int_equal(counter(t, "flushes"), 1);
	assert_int_equal(counter(t, "errors"), 8);
	assert_int_equal(nr_resources(t), 2);
	assert_int_equal(resource(t, 2).width, 16);

	/* Shorter than a header: no type to go by. */
	{
		struct virtio_gpu_ctrl_hdr h = hdr(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);

		assert_int_equal(cmd(t, &h, sizeof(h) - 1), E_UNSPEC);
		assert_int_equal(cmd(t, &h, 4), E_UNSPEC);
		/* No device-readable buffer at all */
		assert_int_equal(cmd(t, &h, 0), E_UNSPEC);
	}
	assert_int_equal(counter(t, "errors"), 11);
	assert_running(t);
}

/* Unknown types, 3D and blob commands (not offered), cursor commands on the control queue */
static void test_gpu_unknown_commands(void **state)
{
	static const uint32_t types[] = {
		0,
		VIRTIO_GPU_CMD_GET_CAPSET_INFO,
		VIRTIO_GPU_CMD_GET_CAPSET,
		VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID,
		VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
		VIRTIO_GPU_CMD_SET_SCANOUT_BLOB,
		VIRTIO_GPU_CMD_CTX_CREATE,
		VIRTIO_GPU_CMD_CTX_DESTROY,
		VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE,
		VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE,
		VIRTIO_GPU_CMD_RESOURCE_CREATE_3D,
		VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D,
		VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D,
		VIRTIO_GPU_CMD_SUBMIT_3D,
		VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB,
		VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB,
		VIRTIO_GPU_CMD_UPDATE_CURSOR,
		VIRTIO_GPU_CMD_MOVE_CURSOR,
		VIRTIO_GPU_RESP_OK_NODATA,
		VIRTIO_GPU_RESP_ERR_UNSPEC,
		0xffffffff,
	};
	struct tdev *t = start_gpu();
	uint8_t req[256] = { 0 };
	unsigned int n = sizeof(types) / sizeof(types[0]);

	(void)state;
	for (unsigned int i = 0; i < n; i++) {
		struct virtio_gpu_ctrl_hdr h = hdr(types[i]);

		memcpy(req, &h, sizeof(h));
		assert_int_equal(cmd(t, req, sizeof(req)), E_UNSPEC);
	}
	assert_int_equal(counter(t, "commands"), n);
	assert_int_equal(counter(t, "errors"), n);
	assert_int_equal(counter(t, "cursor_commands"), 0);
	assert_int_equal(cursor(t).x, 0);
	assert_running(t);
}

/*
 * No room for a response header: nothing can tell the guest, the queue
 * breaks. Room for a header but not for a DISPLAY_INFO or EDID answer: a
 * header saying ERR_UNSPEC.
 */
static void test_gpu_answer_room(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_ctrl_hdr h = hdr(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
	struct virtio_gpu_cmd_get_edid g = { .hdr = hdr(VIRTIO_GPU_CMD_GET_EDID) };
	uint32_t room[] = { HDR_LEN, HDR_LEN + 1, DISPLAY_LEN - 1 };

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(exchange(t, Q_CTRL, &h, sizeof(h), room[i]), HDR_LEN);
		assert_int_equal(resp_type(), E_UNSPEC);
		assert_true(
			all_bytes((uint8_t *)hp(resp_gpa) + HDR_LEN, 0xee, RESP_ROOM - HDR_LEN));
	}
	assert_int_equal(exchange(t, Q_CTRL, &g, sizeof(g), EDID_LEN - 1), HDR_LEN);
	assert_int_equal(resp_type(), E_UNSPEC);
	assert_int_equal(exchange(t, Q_CTRL, &g, sizeof(g), EDID_LEN), EDID_LEN);
	assert_int_equal(resp_type(), VIRTIO_GPU_RESP_OK_EDID);
	assert_int_equal(counter(t, "errors"), 4);
	assert_running(t);

	/* One byte short of a header: the queue breaks, nothing is written or done. */
	{
		struct virtio_gpu_resource_create_2d c = create_req(1, XRGB, 16, 16);
		struct tbuf b[2] = { { req_gpa, sizeof(c), false },
				     { resp_gpa, HDR_LEN - 1, true } };

		memcpy(hp(req_gpa), &c, sizeof(c));
		memset(hp(resp_gpa), 0xee, HDR_LEN);
		submit(t, Q_CTRL, b, 2);
		assert_needs_reset(t);
		assert_int_equal(used_idx(t, Q_CTRL), 5);
		assert_true(all_bytes(hp(resp_gpa), 0xee, HDR_LEN));
		assert_int_equal(nr_resources(t), 0);
	}
	/* After a reset, the device answers again; a chain with nothing writable breaks it too. */
	gpu_handshake(t);
	assert_int_equal(res_create(t, 1, XRGB, 16, 16), OK);
	{
		struct tbuf b = { req_gpa, sizeof(h), false };

		memcpy(hp(req_gpa), &h, sizeof(h));
		submit(t, Q_CTRL, &b, 1);
		assert_needs_reset(t);
		assert_int_equal(used_idx(t, Q_CTRL), 1);
	}
}

/* ---- the cursor queue ---- */

static uint32_t cursor_cmd(struct tdev *t, uint32_t type, uint32_t scanout_id, uint32_t id,
			   uint32_t x, uint32_t y, uint32_t room)
{
	struct virtio_gpu_update_cursor u = {
		.hdr = hdr(type),
		.pos = { .scanout_id = htole32(scanout_id), .x = htole32(x), .y = htole32(y) },
		.resource_id = htole32(id),
		.hot_x = htole32(3),
		.hot_y = htole32(4),
	};

	return exchange(t, Q_CURSOR, &u, sizeof(u), room);
}

static void test_gpu_cursor(void **state)
{
	struct tdev *t = start_gpu();
	struct gpu_cursor c;

	(void)state;
	assert_int_equal(res_create(t, 5, VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, 64, 64), OK);
	/* As Linux sends them: no room for an answer, none given. */
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, 5, 10, 20, 0), 0);
	c = cursor(t);
	assert_int_equal(c.resource_id, 5);
	assert_int_equal(c.scanout, 0);
	assert_int_equal(c.x, 10);
	assert_int_equal(c.y, 20);
	assert_int_equal(c.hot_x, 3);
	assert_int_equal(c.hot_y, 4);
	/* MOVE changes the position only. */
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_MOVE_CURSOR, 0, 0, 30, 40, 0), 0);
	c = cursor(t);
	assert_int_equal(c.resource_id, 5);
	assert_int_equal(c.x, 30);
	assert_int_equal(c.y, 40);
	assert_int_equal(counter(t, "cursor_commands"), 2);
	assert_int_equal(counter(t, "errors"), 0);

	/* Errors: counted, the cursor unchanged. */
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_MOVE_CURSOR, 1, 0, 1, 1, 0), 0);
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0xffffffff, 5, 1, 1, 0), 0);
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, 6, 1, 1, 0), 0);
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0, 5, 1, 1, 0), 0);
	{
		struct virtio_gpu_update_cursor u = { .hdr = hdr(VIRTIO_GPU_CMD_MOVE_CURSOR) };

		assert_int_equal(exchange(t, Q_CURSOR, &u, sizeof(u) - 1, 0), 0);
	}
	c = cursor(t);
	assert_int_equal(c.resource_id, 5);
	assert_int_equal(c.x, 30);
	assert_int_equal(c.y, 40);
	assert_int_equal(counter(t, "cursor_commands"), 7);
	assert_int_equal(counter(t, "errors"), 5);
	assert_int_equal(counter(t, "commands"), 1); /* the create */

	/* Room for an answer: an OK header, the fence echoed. */
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_MOVE_CURSOR, 0, 0, 50, 60, RESP_ROOM),
			 HDR_LEN);
	assert_int_equal(resp_type(), OK);
	assert_int_equal(cursor(t).x, 50);
	/* Resource 0 hides it. */
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, 0, 0, 0, 0), 0);
	assert_int_equal(cursor(t).resource_id, 0);
	assert_running(t);
}

/* ---- reset, counters ---- */

static void test_gpu_reset(void **state)
{
	struct tdev *t = start_gpu();
	struct gpu_picture p;

	(void)state;
	backed_resource(t, 1, 512, 512, 4096);
	assert_int_equal(res_create(t, 2, XRGB, 1024, 1024), OK);
	assert_int_equal(res_create(t, 3, XRGB, 64, 64), OK);
	assert_int_equal(set_scanout(t, 0, 2, vrect(0, 0, 1024, 768)), OK);
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, 3, 5, 5, 0), 0);
	assert_int_equal(set_display(t, 0, 800, 600), 0);
	take_interrupt(t);
	assert_int_equal(cma_region_used(region), (1ULL << 20) + (4ULL << 20) + 16384);

	reset(t);
	assert_int_equal(cma_region_used(region), 0);
	assert_int_equal(nr_resources(t), 0);
	assert_int_equal(scanout(t, 0).resource_id, 0);
	assert_int_equal(picture(t, 0, &p), -ENODATA);
	assert_int_equal(cursor(t).resource_id, 0);
	assert_int_equal(cfg_read32(t, offsetof(struct virtio_gpu_config, events_read)), 0);
	assert_int_equal(counter(t, "resources_freed"), 3);
	/* The display keeps its mode; the ids are free again. */
	gpu_handshake(t);
	assert_int_equal(scanout(t, 0).width, 800);
	assert_int_equal(res_create(t, 1, XRGB, 16, 16), OK);
	assert_false(resource(t, 1).backed);
	assert_int_equal(cma_region_used(region), 4096);
}

static void test_gpu_counters(void **state)
{
	struct tdev *t = start_gpu();
	struct virtio_gpu_ctrl_hdr h = hdr(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);

	(void)state;
	fill(BACKING, 64 * 64 * 4, 0);
	backed_resource(t, 1, 64, 64, 64 * 64 * 4);			  /* 2 commands */
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 64, 64), 0), OK); /* 16384 bytes */
	assert_int_equal(res_transfer(t, 1, vrect(1, 1, 2, 3), 260), OK); /* 24 bytes */
	assert_int_equal(res_transfer(t, 1, vrect(0, 0, 65, 1), 0), E_PARAM);
	assert_int_equal(set_scanout(t, 0, 1, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(res_flush(t, 1, vrect(0, 0, 64, 64)), OK);
	assert_int_equal(exchange(t, Q_CTRL, &h, sizeof(h), RESP_ROOM), DISPLAY_LEN);
	assert_int_equal(res_create(t, 2, XRGB, 4096, 4096), E_OOM);
	assert_int_equal(cursor_cmd(t, VIRTIO_GPU_CMD_MOVE_CURSOR, 0, 0, 1, 1, 0), 0);
	assert_int_equal(res_unref(t, 1), OK);

	assert_int_equal(counter(t, "commands"), 10);
	assert_int_equal(counter(t, "cursor_commands"), 1);
	assert_int_equal(counter(t, "errors"), 2);
	assert_int_equal(counter(t, "transfers"), 2);
	assert_int_equal(counter(t, "transfer_bytes"), 16384 + 24);
	assert_int_equal(counter(t, "flushes"), 1);
	assert_int_equal(counter(t, "resources_created"), 1);
	assert_int_equal(counter(t, "resources_freed"), 1);
	assert_int_equal(counter(t, "oom"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		G(test_gpu_features),
		G(test_gpu_config),
		G(test_gpu_display_info),
		G(test_gpu_edid),
		G(test_gpu_edid_large_mode),
		G(test_gpu_edid_keeps_the_shown_mode),
		G(test_gpu_create),
		G(test_gpu_resource_list),
		G(test_gpu_too_many_resources),
		G(test_gpu_region_full),
		G(test_gpu_attach_backing),
		G(test_gpu_attach_buffers),
		G(test_gpu_transfer_full_frame),
		G(test_gpu_transfer_max_entries),
		G(test_gpu_transfer_adjacent_entries),
		G(test_gpu_transfer_sub_rect),
		G(test_gpu_transfer_errors),
		G(test_gpu_backing_lists_bounded),
		G(test_gpu_backing_lists_heap_bounded),
		G(test_gpu_set_scanout),
		G(test_gpu_flush),
		G(test_gpu_unref),
		G(test_gpu_fences),
		G(test_gpu_short_commands),
		G(test_gpu_unknown_commands),
		G(test_gpu_answer_room),
		G(test_gpu_cursor),
		G(test_gpu_reset),
		G(test_gpu_counters),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
