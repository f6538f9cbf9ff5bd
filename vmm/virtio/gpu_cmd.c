// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-gpu commands (virtio 1.2, 5.7.6): each chain of the control queue
 * is one request (device-readable) and room for its answer
 * (device-writable); the cursor queue's chains are requests only.
 *
 * A request the device understands but cannot carry out is answered with
 * an error type and the VM goes on: a short request, an unknown type, a
 * bad id or rectangle. Only a chain with no room for even a response
 * header breaks the queue, since nothing could tell the guest. Fenced
 * requests are done by the time they are answered, so each answer echoes
 * its fence (the 6.1 driver waits for some without a timeout).
 */
#include "vmm/virtio/gpu.h"
#include "vmm/virtio/gpu_edid.h"

#include <endian.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Every request that fits a fixed struct, read whole before it is decoded. */
union gpu_req {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resource_create_2d create;
	struct virtio_gpu_resource_unref unref;
	struct virtio_gpu_set_scanout scanout;
	struct virtio_gpu_resource_flush flush;
	struct virtio_gpu_transfer_to_host_2d transfer;
	struct virtio_gpu_resource_attach_backing attach;
	struct virtio_gpu_resource_detach_backing detach;
	struct virtio_gpu_cmd_get_edid get_edid;
	struct virtio_gpu_update_cursor cursor;
};

union gpu_resp {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resp_display_info display;
	struct virtio_gpu_resp_edid edid;
};

/* One command being answered. */
struct gpu_call {
	struct gpu *g;
	struct vq_chain *chain;
	const union gpu_req *req;
	union gpu_resp *resp;
	size_t resp_len; /* of a OK_DISPLAY_INFO or OK_EDID answer */
};

static struct gpu_rect rect_of(const struct virtio_gpu_rect *r)
{
	return (struct gpu_rect){ le32toh(r->x), le32toh(r->y), le32toh(r->width),
				  le32toh(r->height) };
}

static uint32_t get_display_info(struct gpu_call *c)
{
	struct virtio_gpu_resp_display_info *d = &c->resp->display;

	for (unsigned int i = 0; i < c->g->nr_scanouts; i++) {
		const struct gpu_scanout *s = &c->g->scanout[i];

		d->pmodes[i].r.width = htole32(s->width);
		d->pmodes[i].r.height = htole32(s->height);
		d->pmodes[i].enabled = htole32(s->enabled);
	}
	c->resp_len = sizeof(*d);
	return VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
}

/*
 * The monitor offers the mode the guest shows as well: a guest that cannot
 * change its framebuffer's size (Linux's fbdev console) keeps it shown.
 */
static uint32_t get_edid(struct gpu_call *c)
{
	uint32_t i = le32toh(c->req->get_edid.scanout);
	struct virtio_gpu_resp_edid *e = &c->resp->edid;
	const struct gpu_scanout *s;
	struct gpu_edid_monitor m;
	size_t n;

	if (i >= c->g->nr_scanouts)
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	s = &c->g->scanout[i];
	m = (struct gpu_edid_monitor){ .width = s->width, .height = s->height, .name = "cmavm" };
	if (s->resource_id) {
		m.shown_width = s->rect.width;
		m.shown_height = s->rect.height;
	}
	n = gpu_edid_build(e->edid, &m);
	if (!n)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	e->size = htole32((uint32_t)n);
	c->resp_len = sizeof(*e);
	return VIRTIO_GPU_RESP_OK_EDID;
}

static uint32_t create_2d(struct gpu_call *c)
{
	const struct virtio_gpu_resource_create_2d *r = &c->req->create;

	return gpu_create(c->g, le32toh(r->resource_id), le32toh(r->format), le32toh(r->width),
			  le32toh(r->height));
}

/* The resource a request names, or NULL with the error to answer in *@err. */
static struct gpu_resource *named(struct gpu_call *c, __le32 id, uint32_t *err)
{
	struct gpu_resource *res = gpu_find(c->g, le32toh(id));

	*err = res ? VIRTIO_GPU_RESP_OK_NODATA : VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	return res;
}

static uint32_t unref(struct gpu_call *c)
{
	uint32_t err;
	struct gpu_resource *res = named(c, c->req->unref.resource_id, &err);

	if (res)
		gpu_unref(c->g, res);
	return err;
}

static uint32_t set_scanout(struct gpu_call *c)
{
	const struct virtio_gpu_set_scanout *r = &c->req->scanout;
	uint32_t i = le32toh(r->scanout_id), err;
	struct gpu_rect rect = rect_of(&r->r);
	struct gpu_resource *res;

	if (i >= c->g->nr_scanouts)
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	if (!r->resource_id) { /* the scanout goes dark */
		c->g->scanout[i].resource_id = 0;
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	res = named(c, r->resource_id, &err);
	if (!res)
		return err;
	if (!gpu_rect_inside(res, &rect) || !rect.width || !rect.height)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	c->g->scanout[i].resource_id = res->id;
	c->g->scanout[i].rect = rect;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t flush(struct gpu_call *c)
{
	uint32_t err;
	struct gpu_resource *res = named(c, c->req->flush.resource_id, &err);
	struct gpu_rect rect = rect_of(&c->req->flush.r);

	if (!res)
		return err;
	if (!gpu_rect_inside(res, &rect))
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	for (unsigned int i = 0; i < c->g->nr_scanouts; i++)
		if (c->g->scanout[i].resource_id == res->id)
			c->g->scanout[i].flushes++;
	c->g->n.flushes++;
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t transfer(struct gpu_call *c)
{
	const struct virtio_gpu_transfer_to_host_2d *t = &c->req->transfer;
	uint32_t err;
	struct gpu_resource *res = named(c, t->resource_id, &err);
	struct gpu_rect rect = rect_of(&t->r);

	return res ? gpu_transfer(c->g, res, &rect, le64toh(t->offset)) : err;
}

/* The entries follow the request in the device-readable part. */
static uint32_t attach(struct gpu_call *c)
{
	uint32_t nr = le32toh(c->req->attach.nr_entries), err;
	struct gpu_resource *res = named(c, c->req->attach.resource_id, &err);
	uint64_t len = (uint64_t)nr * sizeof(struct virtio_gpu_mem_entry);
	struct virtio_gpu_mem_entry *entries;

	if (!res)
		return err;
	if (!nr || nr > GPU_MAX_ENTRIES || c->chain->out_len - sizeof(c->req->attach) < len)
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	entries = malloc(len);
	if (!entries)
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	vq_chain_read(c->chain, sizeof(c->req->attach), entries, len);
	err = gpu_attach(c->g, res, entries, nr);
	free(entries);
	return err;
}

static uint32_t detach(struct gpu_call *c)
{
	uint32_t err;
	struct gpu_resource *res = named(c, c->req->detach.resource_id, &err);

	if (!res)
		return err;
	if (!res->entries)
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	gpu_detach(c->g, res);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static const struct gpu_command {
	uint32_t type;
	size_t size; /* of the request */
	uint32_t (*run)(struct gpu_call *c);
} commands[] = {
	{ VIRTIO_GPU_CMD_GET_DISPLAY_INFO, sizeof(struct virtio_gpu_ctrl_hdr), get_display_info },
	{ VIRTIO_GPU_CMD_GET_EDID, sizeof(struct virtio_gpu_cmd_get_edid), get_edid },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(struct virtio_gpu_resource_create_2d),
	  create_2d },
	{ VIRTIO_GPU_CMD_RESOURCE_UNREF, sizeof(struct virtio_gpu_resource_unref), unref },
	{ VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(struct virtio_gpu_set_scanout), set_scanout },
	{ VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(struct virtio_gpu_resource_flush), flush },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(struct virtio_gpu_transfer_to_host_2d),
	  transfer },
	{ VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, sizeof(struct virtio_gpu_resource_attach_backing),
	  attach },
	{ VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, sizeof(struct virtio_gpu_resource_detach_backing),
	  detach },
};

/* Unknown types, 3D and blob commands (not offered), short requests: errors. */
static uint32_t run_command(struct gpu_call *c)
{
	uint32_t type = le32toh(c->req->hdr.type);

	if (c->chain->out_len < sizeof(struct virtio_gpu_ctrl_hdr))
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].type != type)
			continue;
		if (c->chain->out_len < commands[i].size)
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		return commands[i].run(c);
	}
	return VIRTIO_GPU_RESP_ERR_UNSPEC;
}

/* The answer's header: its type, and the request's fence echoed (5.7.6.7). */
static void answer_header(struct virtio_gpu_ctrl_hdr *out, const struct virtio_gpu_ctrl_hdr *in,
			  uint32_t type)
{
	uint32_t flags =
		le32toh(in->flags) & (VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);

	*out = (struct virtio_gpu_ctrl_hdr){
		.type = htole32(type),
		.flags = htole32(flags),
		.fence_id = flags & VIRTIO_GPU_FLAG_FENCE ? in->fence_id : 0,
		.ctx_id = in->ctx_id,
		.ring_idx = flags & VIRTIO_GPU_FLAG_INFO_RING_IDX ? in->ring_idx : 0,
	};
}

int64_t gpu_control_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct gpu *g = to_gpu(dev);
	union gpu_req req = { 0 };
	union gpu_resp resp;
	struct gpu_call c = { g, chain, &req, &resp, sizeof(resp.hdr) };
	uint32_t type;

	if (chain->in_len < sizeof(resp.hdr))
		return vq_fail(vq,
			       "chain from head %u: %llu device-writable bytes, too few for "
			       "a response header (%zu, 5.7.6.7)",
			       chain->head, (unsigned long long)chain->in_len, sizeof(resp.hdr));
	memset(&resp, 0, sizeof(resp));
	vq_chain_read(chain, 0, &req, sizeof(req));
	type = run_command(&c);
	if (c.resp_len > chain->in_len || type >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
		c.resp_len = sizeof(resp.hdr);
		if (type < VIRTIO_GPU_RESP_ERR_UNSPEC)
			type = VIRTIO_GPU_RESP_ERR_UNSPEC;
		g->n.errors++;
	}
	answer_header(&resp.hdr, &req.hdr, type);
	g->n.commands++;
	return (int64_t)vq_chain_write(chain, 0, &resp, c.resp_len);
}

static void update_cursor(struct gpu *g, const struct virtio_gpu_update_cursor *u, bool move)
{
	uint32_t scanout = le32toh(u->pos.scanout_id), id = le32toh(u->resource_id);

	if (scanout >= g->nr_scanouts || (!move && id && !gpu_find(g, id))) {
		g->n.errors++;
		return;
	}
	g->cursor.scanout = scanout;
	g->cursor.x = le32toh(u->pos.x);
	g->cursor.y = le32toh(u->pos.y);
	if (move)
		return;
	g->cursor.resource_id = id;
	g->cursor.hot_x = le32toh(u->hot_x);
	g->cursor.hot_y = le32toh(u->hot_y);
}

/* The driver sends cursor commands with no room for an answer; one that gives room gets OK. */
int64_t gpu_cursor_request(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct gpu *g = to_gpu(dev);
	struct virtio_gpu_update_cursor u = { 0 };
	struct virtio_gpu_ctrl_hdr hdr;
	uint32_t type;

	(void)vq;
	vq_chain_read(chain, 0, &u, sizeof(u));
	type = le32toh(u.hdr.type);
	g->n.cursor_commands++;
	if (chain->out_len < sizeof(u) ||
	    (type != VIRTIO_GPU_CMD_UPDATE_CURSOR && type != VIRTIO_GPU_CMD_MOVE_CURSOR))
		g->n.errors++;
	else
		update_cursor(g, &u, type == VIRTIO_GPU_CMD_MOVE_CURSOR);
	if (chain->in_len < sizeof(hdr))
		return 0;
	answer_header(&hdr, &u.hdr, VIRTIO_GPU_RESP_OK_NODATA);
	return (int64_t)vq_chain_write(chain, 0, &hdr, sizeof(hdr));
}
