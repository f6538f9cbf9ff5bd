// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake VM behind struct ctl_ops and the calls into the API that the
 * API's tests share (fake_vm.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_vm.h"

static int fake_status(void *opaque, struct ctl_vm_status *out)
{
	struct fake_vm *fvm = opaque;

	out->name = fvm->name;
	out->state = fvm->state;
	out->vcpus = 2;
	out->memory_bytes = 512ULL << 20;
	out->memory_resident_bytes = 70ULL << 20;
	out->cmdline = "console=ttyS0 quiet";
	clock_gettime(CLOCK_MONOTONIC, &out->started);
	out->started.tv_sec -= 65;
	out->nr_pools = 2;
	out->pools[0] = (struct ctl_pool){ "linux,cma", POOL_CMA,    true,
					   0x9c000000,	64ULL << 20, "highest free range" };
	out->pools[1] = (struct ctl_pool){ "fw",       POOL_COHERENT, false,
					   0x9ac00000, 4ULL << 20,    "next one down" };
	return 0;
}

static int change(struct fake_vm *fvm, enum ctl_vm_state from, enum ctl_vm_state to,
		  enum ctl_vm_state *state)
{
	if (fvm->state != from) {
		*state = fvm->state;
		return -EBUSY;
	}
	fvm->state = to;
	*state = to;
	return 0;
}

static int fake_pause(void *opaque, enum ctl_vm_state *state)
{
	return change(opaque, CTL_VM_RUNNING, CTL_VM_PAUSED, state);
}

static int fake_resume(void *opaque, enum ctl_vm_state *state)
{
	return change(opaque, CTL_VM_PAUSED, CTL_VM_RUNNING, state);
}

static int fake_shutdown(void *opaque, enum ctl_vm_state *state)
{
	struct fake_vm *fvm = opaque;

	/* from running or paused alike */
	return change(fvm, fvm->state == CTL_VM_PAUSED ? CTL_VM_PAUSED : CTL_VM_RUNNING,
		      CTL_VM_STOPPING, state);
}

static int fake_balloon_get(void *opaque, struct ctl_balloon *out)
{
	struct fake_vm *fvm = opaque;

	if (!fvm->has_balloon)
		return -ENODEV;
	*out = fvm->balloon;
	return 0;
}

static int fake_balloon_set(void *opaque, const struct ctl_balloon_update *update)
{
	struct fake_vm *fvm = opaque;

	if (!fvm->has_balloon)
		return -ENODEV;
	if (update->set_target && update->target_bytes > 512ULL << 20)
		return -ERANGE;
	if (update->set_target)
		fvm->balloon.target_bytes = update->target_bytes;
	if (update->set_stats_interval)
		fvm->balloon.stats_interval_s = update->stats_interval_s;
	fvm->balloon_sets++;
	return 0;
}

static int fake_balloon_stats(void *opaque, struct ctl_balloon_stats *out)
{
	struct fake_vm *fvm = opaque;

	if (!fvm->has_balloon)
		return -ENODEV;
	if (!fvm->stats_reported)
		return -ENODATA;
	out->value[CTL_BALLOON_S_MEMFREE] = 300ULL << 20;
	out->value[CTL_BALLOON_S_MEMTOT] = 480ULL << 20;
	out->value[CTL_BALLOON_S_MAJFLT] = 12;
	out->reported = 1u << CTL_BALLOON_S_MEMFREE | 1u << CTL_BALLOON_S_MEMTOT |
			1u << CTL_BALLOON_S_MAJFLT;
	clock_gettime(CLOCK_MONOTONIC, &out->updated);
	out->updated.tv_sec -= 3;
	return 0;
}

static int fake_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	assert_true(max >= 2);
	devs[0] = (struct ctl_device){
		.name = "virtio-blk0",
		.type = "blk",
		.mmio_base = 0x0a000000,
		.irq = 16,
		.features_offered = 0x130000246ULL,
		.features_acked = 0x130000046ULL,
		.status = 0xf,
		.nr_counters = 2,
		.counters = { { "reads", 120 }, { "bytes_read", 491520 } },
		.nr_queues = 1,
		.queues = { { .size = 256,
			      .enabled = true,
			      .desc = 0x9c100000,
			      .driver = 0x9c101000,
			      .device = 0x9c102000 } },
	};
	devs[1] = (struct ctl_device){ .name = "virtio-rng0",
				       .type = "rng",
				       .mmio_base = 0x0a000200,
				       .irq = 17,
				       .status = 0 };
	return 2;
}

/* The engine: linux,cma (64 MiB, 32 pageblocks) and fw (4 MiB, 2). */

#define FAKE_PAGEBLOCK (2ULL << 20)
#define CMA_BASE       0x9c000000ULL
#define FW_BASE	       0x9ac00000ULL

static const struct ctl_cma_pool fake_pools[] = {
	{ "linux,cma",
	  POOL_CMA,
	  true,
	  CMA_BASE,
	  64ULL << 20,
	  { 40ULL << 20, 8ULL << 20, 4ULL << 20, 4ULL << 20, 8ULL << 20 } },
	{ "fw", POOL_COHERENT, false, FW_BASE, 4ULL << 20, { 0, 4ULL << 20, 0, 0, 0 } },
};

#define NR_FAKE_POOLS 2

static const char *const fake_blocks[NR_FAKE_POOLS] = {
	"WWWWBBBBRRLLUUUUUUUUUUUUUUUUUUUU",
	"BB",
};

static int fake_cma_pools(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	assert_true(max >= NR_FAKE_POOLS);
	memcpy(out, fake_pools, sizeof(fake_pools));
	return NR_FAKE_POOLS;
}

static int fake_cma_map(void *opaque, struct ctl_cma_map *out, unsigned int max,
			uint64_t *pageblock_size)
{
	unsigned int i;

	assert_true(max >= NR_FAKE_POOLS);
	for (i = 0; i < NR_FAKE_POOLS; i++)
		out[i] = (struct ctl_cma_map){ fake_pools[i].name, fake_pools[i].base,
					       fake_blocks[i] };
	*pageblock_size = FAKE_PAGEBLOCK;
	return NR_FAKE_POOLS;
}

static const struct ctl_cma_pool *fake_pool(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_FAKE_POOLS; i++)
		if (!strcmp(fake_pools[i].name, name))
			return &fake_pools[i];
	return NULL;
}

/* What window @w's moves cost, told apart by its id: each window's figures are its own. */
static void fake_window_moves(struct ctl_cma_window *w)
{
	w->commit_ns = 81234567;
	w->commit_pause_ns = 400000 + w->id;
	w->pauses = w->id;
	w->pause_ns_max = 412345;
	w->stalls = 10 * w->id;
	w->stall_ns_max = 900000 + w->id;
	w->migrations = w->id - 1;
}

/* A commit that pends shows as a window being committed. */
static void committing_window(struct fake_vm *fvm, struct ctl_cma_window *w)
{
	const struct ctl_cma_commit *req = fvm->pended.commit;
	const struct ctl_cma_pool *p = fake_pool(req->pool);

	/* the request's own strings: they must live until the commit is done */
	*w = (struct ctl_cma_window){
		.id = fvm->next_window_id,
		.pool = req->pool,
		.offset = req->offset,
		.length = req->length ? req->length : p->size - req->offset,
		.gpa = p->base + req->offset,
		.level = req->level,
		.state = "committing",
		.done_bytes = fvm->pend_done_bytes,
	};
}

static int fake_cma_windows(void *opaque, struct ctl_cma_window *out, unsigned int max)
{
	struct fake_vm *fvm = opaque;
	unsigned int n = fvm->nr_windows;

	memcpy(out, fvm->windows, n * sizeof(*out));
	if (fvm->pended.commit)
		committing_window(fvm, &out[n++]);
	return n;
}

/* The errno the test asked for, with a sentence. */
static int fake_cma_fail(struct fake_vm *fvm, char *err, size_t errlen)
{
	int ret = fvm->cma_fail;

	if (ret == -EIO)
		snprintf(err, errlen,
			 "the host has no free 2 MiB huge pages; reserve some with 'echo 64 > "
			 "/proc/sys/vm/nr_hugepages'");
	else if (ret == -EBUSY)
		snprintf(err, errlen, "the engine is busy; retry");
	else
		snprintf(err, errlen, "the engine broke");
	return ret;
}

static int do_commit(struct fake_vm *fvm, const struct ctl_cma_commit *req,
		     struct ctl_cma_window *out, char *err, size_t errlen)
{
	static const char *const levels[] = { "resident", "huge", "contiguous" };
	const struct ctl_cma_pool *p = fake_pool(req->pool);
	uint64_t length = req->length;
	unsigned int i;

	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	if (!p) {
		snprintf(err, errlen, "no CMA pool '%s'; GET /v1/cma/pools lists them", req->pool);
		return -ENOENT;
	}
	if (!length && req->offset < p->size)
		length = p->size - req->offset;
	if (req->offset % FAKE_PAGEBLOCK || length % FAKE_PAGEBLOCK) {
		snprintf(err, errlen, "offset and length must be multiples of the 2 MiB pageblock");
		return -EINVAL;
	}
	if (req->offset >= p->size || length > p->size - req->offset) {
		snprintf(err, errlen, "the window is past the end of %s", p->name);
		return -EINVAL;
	}
	for (i = 0; i < fvm->nr_windows; i++)
		if (!strcmp(fvm->windows[i].pool, p->name) &&
		    req->offset < fvm->windows[i].offset + fvm->windows[i].length &&
		    fvm->windows[i].offset < req->offset + length) {
			snprintf(err, errlen, "the range overlaps window %u; release it first",
				 fvm->windows[i].id);
			return -EBUSY;
		}
	for (i = 0; strcmp(levels[i], req->level); i++)
		;
	*out = (struct ctl_cma_window){
		.id = fvm->next_window_id++,
		.pool = p->name,
		.offset = req->offset,
		.length = length,
		.gpa = p->base + req->offset,
		.level = levels[i],
		.largest_run = i ? FAKE_PAGEBLOCK : 0,
		.contiguous_2m = i ? length / FAKE_PAGEBLOCK : 0,
		.state = "committed",
	};
	fake_window_moves(out);
	fvm->windows[fvm->nr_windows++] = *out;
	return 0;
}

static int do_release(struct fake_vm *fvm, unsigned int id, char *err, size_t errlen)
{
	unsigned int i;

	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	for (i = 0; i < fvm->nr_windows; i++) {
		if (fvm->windows[i].id != id)
			continue;
		fvm->windows[i] = fvm->windows[--fvm->nr_windows];
		return 0;
	}
	snprintf(err, errlen, "no window %u; GET /v1/cma/windows lists them", id);
	return -ENOENT;
}

static int do_migrate(struct fake_vm *fvm, const struct ctl_cma_migrate *req, uint64_t *gpa,
		      uint64_t *pause_ns, char *err, size_t errlen)
{
	const struct ctl_cma_pool *p = req->by_gpa ? &fake_pools[0] : fake_pool(req->pool);

	fvm->last_migrate = *req;
	fvm->last_migrate.pool = NULL; /* the request's string goes with the request */
	if (fvm->cma_fail)
		return fake_cma_fail(fvm, err, errlen);
	if (req->by_gpa && (req->gpa < CMA_BASE || req->gpa - CMA_BASE >= p->size)) {
		snprintf(err, errlen, "0x%llx is in no CMA pool", (unsigned long long)req->gpa);
		return -ENOENT;
	}
	if (!p || (!req->by_gpa && req->block >= p->size / FAKE_PAGEBLOCK)) {
		snprintf(err, errlen, "no such pageblock");
		return -ENOENT;
	}
	*gpa = req->by_gpa ? req->gpa & ~(FAKE_PAGEBLOCK - 1)
			   : p->base + req->block * FAKE_PAGEBLOCK;
	*pause_ns = 85300;
	return 0;
}

/* The command @pd, done now: what its callback would have returned. */
static int do_pended(struct fake_vm *fvm, const struct fake_pended *pd)
{
	if (pd->commit)
		return do_commit(fvm, pd->commit, pd->window, pd->err, pd->errlen);
	if (pd->migrate)
		return do_migrate(fvm, pd->migrate, pd->gpa, pd->pause_ns, pd->err, pd->errlen);
	return do_release(fvm, pd->id, pd->err, pd->errlen);
}

void finish_pending(void *unused)
{
	struct fake_pended pd = vm.pended;
	int ret;

	assert_non_null(pd.pending);
	vm.pended = (struct fake_pended){ 0 };
	ret = do_pended(&vm, &pd);
	pd.pending->done(pd.pending, ret);
}

/* Pend the command in @pd, or do it at once; what the callback returns. */
static int pend_or_do(struct fake_vm *fvm, struct fake_pended pd)
{
	fvm->cma_calls++;
	assert_non_null(pd.pending);
	if (fvm->pend == FAKE_NOW)
		return do_pended(fvm, &pd);
	assert_null(fvm->pended.pending); /* the tests pend one at a time */
	fvm->pended = pd;
	if (fvm->pend == FAKE_DONE_EARLY)
		finish_pending(NULL);
	return CTL_PENDING;
}

static int fake_cma_commit(void *opaque, const struct ctl_cma_commit *req,
			   struct ctl_cma_window *out, char *err, size_t errlen,
			   struct ctl_pending *pending)
{
	return pend_or_do(opaque, (struct fake_pended){ .pending = pending,
							.commit = req,
							.window = out,
							.err = err,
							.errlen = errlen });
}

static int fake_cma_release(void *opaque, unsigned int id, char *err, size_t errlen,
			    struct ctl_pending *pending)
{
	return pend_or_do(
		opaque,
		(struct fake_pended){ .pending = pending, .id = id, .err = err, .errlen = errlen });
}

static int fake_cma_migrate(void *opaque, const struct ctl_cma_migrate *req, uint64_t *gpa,
			    uint64_t *pause_ns, char *err, size_t errlen,
			    struct ctl_pending *pending)
{
	return pend_or_do(opaque, (struct fake_pended){ .pending = pending,
							.migrate = req,
							.gpa = gpa,
							.pause_ns = pause_ns,
							.err = err,
							.errlen = errlen });
}

static int fake_cma_stats(void *opaque, struct ctl_cma_stats *out)
{
	*out = (struct ctl_cma_stats){
		.pageblock_size = FAKE_PAGEBLOCK,
		.commits = 3,
		.releases = 1,
		.migrations = 5,
		.rollbacks = 2,
		.boot_commits = 1,
		.refused_discards = 7,
		.refused_discard_bytes = 28672,
		.pauses = 8,
		.pause_ns_total = 1234567,
		.pause_ns_max = 412345,
		.pause_ns_last = 85300,
		.stalls = 11,
		.stall_ns_total = 2200000,
		.stall_ns_max = 900000,
		.stall_ns_last = 150000,
		.resident_bytes = 70ULL << 20,
		.live = true,
		.live_why = "",
	};
	for (int i = 0; i < CTL_HIST_BUCKETS - 1; i++)
		out->hist_bound_ns[i] = 10000ULL << i;
	out->stall_hist[3] = 10;
	out->stall_hist[CTL_HIST_BUCKETS - 1] = 1;
	out->pause_hist[0] = 8;
	return 0;
}

/* ---- the GPU ---- */

#define FAKE_GPU_PAGE (2ULL << 20)

static const struct ctl_gpu_resource fake_framebuffer = {
	.id = 1,
	.width = 1024,
	.height = 768,
	.format = "B8G8R8X8",
	.stride = 4096,
	.bytes = 3ULL << 20,
	.offset = 0,
	.backed = true,
	.backing_entries = 1,
	.largest_run = 4ULL << 20,
	.contiguous = true,
	.runs = 1,
	.host_phys = FAKE_GPU_PHYS,
	.scanouts = 1u << 0,
};

static const struct ctl_gpu_resource fake_cursor = {
	.id = 2,
	.width = 64,
	.height = 64,
	.format = "B8G8R8A8",
	.stride = 256,
	.bytes = 16384,
	.offset = 4ULL << 20,
	.backed = true,
	.backing_entries = 3,
};

static void fake_gpu_reset(struct ctl_gpu *g)
{
	*g = (struct ctl_gpu){
		.name = "virtio-gpu0",
		.backing = "huge",
		.region_bytes = 64ULL << 20,
		.used_bytes = 6ULL << 20,
		.page_size = FAKE_GPU_PAGE,
		.nr_scanouts = 2,
		.nr_resources = 2,
		.nr_resources_total = 2,
		.export_why = "",
	};
	g->scanouts[0] = (struct ctl_gpu_scanout){ 0, true, 1024, 768, 1, { 0, 0, 1024, 768 }, 42 };
	g->scanouts[1] = (struct ctl_gpu_scanout){ .id = 1, .width = 800, .height = 600 };
	g->resources[0] = fake_framebuffer;
	g->resources[1] = fake_cursor;
	g->cursor.resource_id = 2;
	g->cursor.x = 100;
	g->cursor.y = 200;
	g->cursor.hot_x = 1;
	g->cursor.hot_y = 2;
}

/* A PNG signature and an IHDR of 1024x768: enough for a client to read the size. */
const unsigned char fake_png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
	0,    4,   0,	0,   0,	   3,	 0,    8,    2, 0, 0, 0,  0,   0,   0,	 0,
};
const size_t fake_png_len = sizeof(fake_png);

/* The GPU's scanout @id, or NULL with -ENOENT's sentence in @err. */
static struct ctl_gpu_scanout *fake_scanout(struct fake_vm *fvm, unsigned int id, char *err,
					    size_t errlen)
{
	fvm->gpu_calls++;
	fvm->gpu_scanout = id;
	if (id < fvm->gpu.nr_scanouts)
		return &fvm->gpu.scanouts[id];
	snprintf(err, errlen, "the GPU has no scanout %u; it has 2 (0 and 1)", id);
	return NULL;
}

/* The scanout @id showing something, in *@s: 0, or the errno with its sentence in @err. */
static int fake_shown(struct fake_vm *fvm, unsigned int id, struct ctl_gpu_scanout **s, char *err,
		      size_t errlen)
{
	if (!fvm->has_gpu)
		return -ENODEV;
	*s = fake_scanout(fvm, id, err, errlen);
	if (!*s)
		return -ENOENT;
	if ((*s)->resource_id)
		return 0;
	snprintf(err, errlen, "scanout %u shows nothing yet; wait until the guest draws on it", id);
	return -ENODATA;
}

static int fake_gpu_get(void *opaque, struct ctl_gpu *out)
{
	struct fake_vm *fvm = opaque;

	if (!fvm->has_gpu)
		return -ENODEV;
	*out = fvm->gpu;
	return 0;
}

static int fake_gpu_set_display(void *opaque, unsigned int scanout, uint32_t width, uint32_t height,
				char *err, size_t errlen)
{
	struct fake_vm *fvm = opaque;
	struct ctl_gpu_scanout *s;

	if (!fvm->has_gpu)
		return -ENODEV;
	s = fake_scanout(fvm, scanout, err, errlen);
	if (!s)
		return -ENOENT;
	/* what the API lets through, the device checks again */
	assert_in_range(width, CTL_GPU_SIDE_MIN, CTL_GPU_SIDE_MAX);
	assert_in_range(height, CTL_GPU_SIDE_MIN, CTL_GPU_SIDE_MAX);
	s->width = width;
	s->height = height;
	s->enabled = true;
	return 0;
}

static int fake_gpu_screenshot(void *opaque, unsigned int scanout, uint8_t **png, size_t *len,
			       char *err, size_t errlen)
{
	struct ctl_gpu_scanout *s;
	int ret = fake_shown(opaque, scanout, &s, err, errlen);

	if (ret)
		return ret;
	*png = malloc(fake_png_len);
	assert_non_null(*png);
	memcpy(*png, fake_png, fake_png_len);
	*len = fake_png_len;
	return 0;
}

/* A memfd of @size bytes stands for the dma-buf. */
static int fake_dmabuf(uint64_t size)
{
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static int fake_gpu_export(void *opaque, unsigned int scanout, struct ctl_gpu_export *out,
			   char *err, size_t errlen)
{
	struct fake_vm *fvm = opaque;
	struct ctl_gpu_scanout *s;
	int ret = fake_shown(fvm, scanout, &s, err, errlen);

	if (!ret && fvm->export_fail == -EOPNOTSUPP)
		snprintf(err, errlen,
			 "this host has no /dev/udmabuf; load it with 'modprobe udmabuf'");
	if (ret || fvm->export_fail)
		return ret ? ret : fvm->export_fail;
	*out = (struct ctl_gpu_export){
		.fd = fake_dmabuf(fake_framebuffer.bytes),
		.resource_id = s->resource_id,
		.width = 1024,
		.height = 768,
		.stride = 4096,
		.format = "B8G8R8X8",
		.fourcc = "XR24",
		.size = fake_framebuffer.bytes,
		.host_phys = FAKE_GPU_PHYS,
		.contiguous = true,
	};
	return 0;
}

struct fake_vm vm;

static int fake_guest_cma(void *opaque, struct ctl_guest_cma *out)
{
	*out = ((struct fake_vm *)opaque)->guest;
	return 0;
}

const struct ctl_ops ops = {
	.opaque = &vm,
	.status = fake_status,
	.pause = fake_pause,
	.resume = fake_resume,
	.shutdown = fake_shutdown,
	.balloon_get = fake_balloon_get,
	.balloon_set = fake_balloon_set,
	.balloon_stats = fake_balloon_stats,
	.devices = fake_devices,
	.cma_pools = fake_cma_pools,
	.cma_map = fake_cma_map,
	.cma_windows = fake_cma_windows,
	.cma_commit = fake_cma_commit,
	.cma_release = fake_cma_release,
	.cma_migrate = fake_cma_migrate,
	.cma_stats = fake_cma_stats,
	.gpu_get = fake_gpu_get,
	.gpu_set_display = fake_gpu_set_display,
	.gpu_screenshot = fake_gpu_screenshot,
	.gpu_export = fake_gpu_export,
	.guest_cma = fake_guest_cma,
};

int reset_vm(void **state)
{
	vm = (struct fake_vm){
		.state = CTL_VM_RUNNING,
		.has_balloon = true,
		.balloon = { .target_bytes = 0,
			     .actual_bytes = 0,
			     .deflate_on_oom = true,
			     .stats_interval_s = 5 },
		.next_window_id = 1,
		.has_gpu = true,
		.guest = { .agent_state = "waiting",
			   .interval_s = 5,
			   .reported_free_bytes = 4 << 20 },
	};
	fake_gpu_reset(&vm.gpu);
	return 0;
}

/* ---- calling the API ---- */

struct answer call_ops(const struct ctl_ops *with, const char *method, const char *path,
		       const char *content_type, const char *body)
{
	const char *mark = strchr(path, '?');
	char *path_only = strndup(path, mark ? (size_t)(mark - path) : strlen(path));
	struct http_request req = {
		.method = method,
		.path = path_only,
		.query = mark ? mark + 1 : "",
		.content_type = content_type ? content_type : "",
		.body = body ? body : "",
		.body_len = body ? strlen(body) : 0,
	};
	struct http_response resp = { .status = 200 };
	struct answer a = { .fd = -1 };
	char *text;

	assert_non_null(path_only);
	ctl_api_handle((void *)with, &req, &resp);
	free(path_only);
	a.status = resp.status;
	strcpy(a.allow, resp.allow);
	a.json = resp.body;
	strcpy(a.content_type, resp.content_type);
	a.data = resp.data;
	a.data_len = resp.data_len;
	if (resp.has_fd)
		a.fd = resp.fd;
	text = a.json ? json_dumps(a.json, 0) : NULL;
	snprintf(a.text, sizeof(a.text), "%s", text ? text : "");
	free(text);
	return a;
}

struct answer call(const char *method, const char *path, const char *content_type, const char *body)
{
	return call_ops(&ops, method, path, content_type, body);
}

struct answer get(const char *path)
{
	return call("GET", path, NULL, NULL);
}

struct answer put(const char *path, const char *json)
{
	return call("PUT", path, json ? "application/json" : NULL, json);
}

void done(struct answer *a)
{
	json_decref(a->json);
	free(a->data);
	if (a->fd >= 0)
		close(a->fd);
}

json_int_t int_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

const char *str_at(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	assert_non_null(s);
	return s;
}

/* The answer is an error with @status whose sentence has @needle. */
void expect_error(struct answer a, int status, const char *needle)
{
	const char *msg;

	if (a.status != status)
		fail_msg("status %d, not %d: %s", a.status, status, a.text);
	msg = str_at(a.json, "error");
	if (!strstr(msg, needle))
		fail_msg("error '%s' lacks '%s'", msg, needle);
	done(&a);
}

void expect_state(struct answer a, const char *state)
{
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	assert_string_equal(str_at(a.json, "state"), state);
	done(&a);
}

/* The status of @a, which is freed. */
int status_of(struct answer a)
{
	int status = a.status;

	done(&a);
	return status;
}

void expect_405(struct answer a, const char *allow)
{
	if (a.status != 405)
		fail_msg("status %d, not 405: %s", a.status, a.text);
	assert_string_equal(a.allow, allow);
	done(&a);
}
