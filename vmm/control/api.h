/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API: what `cmavm ctl` and curl can ask a running VM.
 *
 * Owns: the table of endpoints (method, path, handler), the JSON each one
 * takes and returns, the checking of what clients send, and the HTTP
 * status for each answer of the VM. The VM is reached only through struct
 * ctl_ops, whose callbacks fill plain C structs: the VM side needs neither
 * JSON nor HTTP, and every name a client sees is spelled here.
 */
#ifndef VMM_CONTROL_API_H
#define VMM_CONTROL_API_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/control/http_server.h"
#include "cma/pool.h"

enum ctl_vm_state {
	CTL_VM_RUNNING,
	CTL_VM_PAUSED,
	CTL_VM_STOPPING, /* a stop was requested; the VM is going away */
};

/* One pool as placed in guest RAM. */
struct ctl_pool {
	const char *name;
	enum pool_kind kind; /* "cma" or "coherent" */
	bool is_default;     /* linux,cma-default */
	uint64_t base, size;
	const char *why; /* the planner's reason for its place */
};

struct ctl_vm_status {
	const char *name; /* `cmavm run --name`'s; NULL: the VM has none */
	enum ctl_vm_state state;
	unsigned int vcpus;
	uint64_t memory_bytes;
	uint64_t memory_resident_bytes; /* backed by the host now, measured */
	uint64_t guest_page_size;	/* the guest kernel's, from its Image header */
	uint64_t pageblock_size;	/* the guest's: the unit of pools and windows */
	const char *cmdline;		/* the command line the guest got */
	struct timespec started;	/* CLOCK_MONOTONIC when the guest started */
	unsigned int nr_pools;
	struct ctl_pool pools[POOL_MAX];
};

struct ctl_balloon {
	uint64_t target_bytes; /* what the guest is asked to give back */
	uint64_t actual_bytes; /* what it has given back */
	bool deflate_on_oom;
	bool free_page_reporting;
	unsigned int stats_interval_s; /* 0: the guest reports no statistics */
};

/* PUT /v1/balloon: only the fields whose set_ flag is true change. */
struct ctl_balloon_update {
	bool set_target;
	uint64_t target_bytes; /* a multiple of 4 KiB, checked here */
	bool set_stats_interval;
	unsigned int stats_interval_s;
};

/* The guest's memory statistics, indexed by their virtio tag (5.5.6.3). */
enum ctl_balloon_stat {
	CTL_BALLOON_S_SWAP_IN,	    /* bytes swapped in */
	CTL_BALLOON_S_SWAP_OUT,	    /* bytes swapped out */
	CTL_BALLOON_S_MAJFLT,	    /* major page faults */
	CTL_BALLOON_S_MINFLT,	    /* minor page faults */
	CTL_BALLOON_S_MEMFREE,	    /* bytes of free memory */
	CTL_BALLOON_S_MEMTOT,	    /* bytes of memory in total */
	CTL_BALLOON_S_AVAIL,	    /* bytes available without swapping */
	CTL_BALLOON_S_CACHES,	    /* bytes of disk caches */
	CTL_BALLOON_S_HTLB_PGALLOC, /* hugetlb page allocations */
	CTL_BALLOON_S_HTLB_PGFAIL,  /* hugetlb page allocation failures */
	CTL_BALLOON_S_NR,
};

struct ctl_balloon_stats {
	uint64_t value[CTL_BALLOON_S_NR];
	uint32_t reported;	 /* bit N set: the guest reported tag N */
	struct timespec updated; /* CLOCK_MONOTONIC of the guest's last report */
};

#define CTL_DEVICES_MAX	 32
#define CTL_COUNTERS_MAX 16

struct ctl_counter {
	const char *name; /* "reads", "bytes_written", ...: snake_case */
	uint64_t value;
};

#define CTL_QUEUES_MAX 8

/* A virtqueue as the driver set it up: where its three areas are. */
struct ctl_queue {
	unsigned int size;
	bool enabled;
	bool broken;
	uint64_t desc, driver, device; /* guest-physical addresses */
};

struct ctl_device {
	const char *name; /* "virtio-blk0" */
	const char *type; /* "blk", "rng", "balloon", ... */
	uint64_t mmio_base;
	unsigned int irq; /* the SPI number, as in the device tree */
	uint64_t features_offered, features_acked;
	uint32_t status; /* the virtio device status register */
	unsigned int nr_counters;
	struct ctl_counter counters[CTL_COUNTERS_MAX];
	unsigned int nr_queues;
	struct ctl_queue queues[CTL_QUEUES_MAX];
};

/* ---- the host CMA engine (cma/engine.h) ---- */

#define CTL_CMA_STATES 5 /* unbacked, backed, reported, ballooned, window */

/* One pool as the engine sees it: bytes per pageblock state. */
struct ctl_cma_pool {
	const char *name;
	enum pool_kind kind;
	bool is_default;
	uint64_t base, size;
	uint64_t bytes[CTL_CMA_STATES]; /* indexed like the engine's states */
};

/* The pageblock map of one pool: one letter per pageblock (U B R L W). */
struct ctl_cma_map {
	const char *name;
	uint64_t base;
	const char *blocks; /* NUL-terminated, one letter per pageblock */
};

struct ctl_cma_window {
	unsigned int id;
	const char *pool;
	uint64_t offset, length; /* within the pool */
	uint64_t gpa;		 /* guest-physical start */
	const char *level;	 /* "resident", "huge", "contiguous" */
	uint64_t largest_run;	 /* host-physically contiguous bytes; 0: unknown (not root) */
	uint64_t contiguous_2m;	 /* 2 MiB pieces each host-physically contiguous */
	/* what its moves cost the guest, over its life (cma/engine.h struct cma_window_moves) */
	uint64_t commit_ns;	  /* its commit, or its last level change, all of it */
	uint64_t commit_pause_ns; /* the guest paused in that commit, all told (live: 0) */
	uint64_t pauses;	  /* whole-guest pauses taken for it */
	uint64_t pause_ns_max;	  /* the longest of them */
	uint64_t stalls;	  /* guest writers that waited on a range of its moves */
	uint64_t stall_ns_max;	  /* the longest of them */
	uint64_t migrations;	  /* of its pageblocks */
	const char *state;	  /* "committed", "committing", "releasing" */
	uint64_t done_bytes;	  /* of a commit or release under way: bytes moved so far */
};

/* PUT /v1/cma/windows: length 0 means to the pool's end. */
struct ctl_cma_commit {
	const char *pool;
	uint64_t offset, length;
	const char *level;
};

/* PUT /v1/cma/migrate: a guest-physical address, or a pool and block index. */
struct ctl_cma_migrate {
	bool by_gpa;
	uint64_t gpa;
	const char *pool;
	uint64_t block;
};

#define CTL_HIST_BUCKETS 14 /* as the engine's (cma/engine.h CMA_HIST_BUCKETS) */

struct ctl_cma_stats {
	uint64_t pageblock_size;
	uint64_t commits, releases, migrations, rollbacks;
	uint64_t boot_commits; /* of @commits, those before the guest ran: no pause */
	uint64_t refused_discards, refused_discard_bytes;
	/* whole-guest pauses; a guest writer waiting for a moving range */
	uint64_t pauses, pause_ns_total, pause_ns_max, pause_ns_last;
	uint64_t stalls, stall_ns_total, stall_ns_max, stall_ns_last;
	/* bucket i: at most hist_bound_ns[i]; the last: longer */
	uint64_t hist_bound_ns[CTL_HIST_BUCKETS - 1];
	uint64_t pause_hist[CTL_HIST_BUCKETS], stall_hist[CTL_HIST_BUCKETS];
	uint64_t resident_bytes;
	bool live;	      /* moves write-protect instead of pausing */
	const char *live_why; /* why not, when not live ("" when live) */
};

#define CTL_CMA_WINDOWS_MAX 16

/* ---- the GPU (virtio-gpu, vmm/virtio/gpu.h) ---- */

#define CTL_GPU_SCANOUTS_MAX  16
#define CTL_GPU_RESOURCES_MAX 64 /* listed; more are counted in nr_resources_total */
/* A display's width and height, each (PUT /v1/gpu/display; the device checks again). */
#define CTL_GPU_SIDE_MIN 16
#define CTL_GPU_SIDE_MAX 8192

struct ctl_gpu_rect {
	uint32_t x, y, width, height;
};

struct ctl_gpu_scanout {
	unsigned int id;
	bool enabled;		  /* the display is connected (the guest sees it) */
	uint32_t width, height;	  /* its mode, as GET_DISPLAY_INFO tells the guest */
	uint32_t resource_id;	  /* shown by SET_SCANOUT; 0: nothing shown */
	struct ctl_gpu_rect rect; /* the part of the resource shown */
	uint64_t flushes;	  /* RESOURCE_FLUSH calls that reached it */
};

/* A 2D resource and where its pixels live on the host. */
struct ctl_gpu_resource {
	uint32_t id;
	uint32_t width, height;
	const char *format; /* "B8G8R8X8", ...: the virtio format's name */
	uint32_t stride;    /* bytes between rows on the host */
	uint64_t bytes;	    /* host storage */
	uint64_t offset;    /* of that storage in the GPU memory region */
	bool backed;	    /* the guest attached backing */
	unsigned int backing_entries;
	uint64_t largest_run; /* host-physically contiguous bytes; 0: unknown (not root) */
	bool contiguous;      /* largest_run covers all of it */
	unsigned int runs;    /* host-physically contiguous runs it spans; 0: unknown */
	uint64_t host_phys;   /* host-physical address of its first byte; 0: unknown */
	uint32_t scanouts;    /* bit N: shown on scanout N */
};

struct ctl_gpu {
	const char *name;    /* "virtio-gpu0" */
	const char *backing; /* "huge", "contiguous", "memfd" */
	uint64_t region_bytes, used_bytes, page_size;
	unsigned int nr_scanouts;
	struct ctl_gpu_scanout scanouts[CTL_GPU_SCANOUTS_MAX];
	unsigned int nr_resources; /* listed in @resources */
	unsigned int nr_resources_total;
	struct ctl_gpu_resource resources[CTL_GPU_RESOURCES_MAX];
	struct {
		uint32_t resource_id; /* 0: no cursor */
		uint32_t scanout, x, y, hot_x, hot_y;
	} cursor;
	const char *export_why; /* why dma-buf export cannot work here; "" when it can */
};

/* A scanout handed out as a dma-buf: the fd and how to read it. */
struct ctl_gpu_export {
	int fd; /* the dma-buf; the caller owns it */
	uint32_t resource_id;
	uint32_t width, height, stride;
	const char *format; /* the virtio format's name */
	const char *fourcc; /* the same as a DRM fourcc code: "XR24", ... */
	uint64_t offset;    /* of the first pixel within the dma-buf */
	uint64_t size;	    /* of the dma-buf */
	uint64_t host_phys; /* 0: unknown (not root) */
	bool contiguous;    /* one host-physical run */
};

/* ---- the guest's own CMA figures (its agent), and what the host sees without one ---- */

/*
 * The guest's CMA as the guest itself counts it, read through the QEMU
 * guest agent in the guest (/proc/meminfo, /proc/vmstat) every
 * interval_s seconds; and what free page reporting tells the host with
 * no agent at all.
 */
struct ctl_guest_cma {
	bool agent;		 /* an agent has answered, and its figures below are real */
	const char *agent_state; /* "answering", "no port" (no console device), "waiting" (no
				    answer yet), "silent" (stopped answering), "garbled",
				    "refusing" (its policy blocks guest-file-*) */
	unsigned int interval_s;
	struct timespec updated;    /* CLOCK_MONOTONIC of the last reading; 0: none */
	uint64_t cma_total_bytes;   /* /proc/meminfo CmaTotal */
	uint64_t cma_free_bytes;    /* /proc/meminfo CmaFree */
	uint64_t nr_free_cma_bytes; /* /proc/vmstat nr_free_cma, in bytes */
	uint64_t alloc_success;	    /* /proc/vmstat cma_alloc_success (calls) */
	uint64_t alloc_fail;	    /* /proc/vmstat cma_alloc_fail (calls) */
	uint64_t peak_used_bytes;   /* the largest CmaTotal - CmaFree seen */
	uint64_t readings,
		agent_errors; /* readings taken; replies refused (garbage, too long, late) */
	/* without an agent: pool pageblocks the guest reported free (free page reporting) */
	uint64_t reported_free_bytes;
};

#define CTL_PENDING 1 /* the callback will finish later: see struct ctl_pending */
/*
 * A command the VM finishes later (moves run off the loop thread). A
 * callback given @pending may return CTL_PENDING instead of its answer:
 * it then calls @pending->done(@pending, ret) on the loop thread, ret
 * being what it would have returned, with its out-arguments and @err
 * filled; until then the request and out-arguments stay valid.
 */
struct ctl_pending {
	void (*done)(struct ctl_pending *p, int ret);
};

/*
 * What the VM does for the API. Every callback runs on the event-loop
 * thread and must not block (a short lock at most): work that takes long
 * is handed off and finished later through struct ctl_pending. Strings
 * the VM hands out must stay valid until the callback's caller returns
 * (for a pending command: until its done() returns); the VM's own
 * long-lived strings do. Callbacks return 0 or a negative errno, with the
 * meanings below; any other error becomes a 500 naming it. A NULL callback
 * means the VM cannot do that yet (501; for the balloon ones: no balloon).
 */
struct ctl_ops {
	void *opaque;
	int (*status)(void *opaque, struct ctl_vm_status *out);
	/*
	 * Change state. 0: done, *state is the state now. -EBUSY: not
	 * allowed now, *state is the state that forbids it (409).
	 */
	int (*pause)(void *opaque, enum ctl_vm_state *state);
	int (*resume)(void *opaque, enum ctl_vm_state *state);
	int (*shutdown)(void *opaque, enum ctl_vm_state *state);
	/* -ENODEV: the VM has no balloon device (404). */
	int (*balloon_get)(void *opaque, struct ctl_balloon *out);
	/* -ENODEV: no balloon; -ERANGE: target above guest RAM (400). */
	int (*balloon_set)(void *opaque, const struct ctl_balloon_update *update);
	/* -ENODEV: no balloon; -ENODATA: no report from the guest yet (409). */
	int (*balloon_stats)(void *opaque, struct ctl_balloon_stats *out);
	/* Fill up to @max devices; returns how many, or a negative errno. */
	int (*devices)(void *opaque, struct ctl_device *devs, unsigned int max);

	/*
	 * The CMA engine. Counts return how many entries were filled (up to
	 * @max) or a negative errno. Strings stay valid until the next call.
	 * Commit, release and migrate return, or finish later with (when they
	 * returned CTL_PENDING), 0, -ENOENT (no such pool, window or block:
	 * 404), -EINVAL (a bad range or level: 400), -EBUSY (409), or -EIO
	 * with the reason in @err (the host could not: 500 with it, e.g. no
	 * huge pages); @err is always a sentence naming the problem and fix.
	 * The API answers them when they are done, and serves every other
	 * request meanwhile; @pending is never NULL.
	 */
	int (*cma_pools)(void *opaque, struct ctl_cma_pool *out, unsigned int max);
	int (*cma_map)(void *opaque, struct ctl_cma_map *out, unsigned int max,
		       uint64_t *pageblock_size);
	int (*cma_windows)(void *opaque, struct ctl_cma_window *out, unsigned int max);
	int (*cma_commit)(void *opaque, const struct ctl_cma_commit *req,
			  struct ctl_cma_window *out, char *err, size_t errlen,
			  struct ctl_pending *pending);
	int (*cma_release)(void *opaque, unsigned int id, char *err, size_t errlen,
			   struct ctl_pending *pending);
	int (*cma_migrate)(void *opaque, const struct ctl_cma_migrate *req, uint64_t *gpa,
			   uint64_t *pause_ns, char *err, size_t errlen,
			   struct ctl_pending *pending);
	int (*cma_stats)(void *opaque, struct ctl_cma_stats *out);
	/*
	 * The GPU. Every one: -ENODEV when the VM has no GPU (404). Errors
	 * other than -ENODEV come with @err, a sentence naming the problem
	 * and the fix. set_display: -ENOENT (no such scanout: 404),
	 * -EINVAL (a size out of range: 400). screenshot: -ENOENT,
	 * -ENODATA (the scanout shows nothing yet: 409); *@png is a
	 * malloc()ed PNG file of *@len bytes the caller frees. export:
	 * -ENOENT, -ENODATA, -EOPNOTSUPP (the host lacks what a dma-buf
	 * needs: 501), -EIO (the host refused: 500).
	 */
	int (*gpu_get)(void *opaque, struct ctl_gpu *out);
	int (*gpu_set_display)(void *opaque, unsigned int scanout, uint32_t width, uint32_t height,
			       char *err, size_t errlen);
	int (*gpu_screenshot)(void *opaque, unsigned int scanout, uint8_t **png, size_t *len,
			      char *err, size_t errlen);
	int (*gpu_export)(void *opaque, unsigned int scanout, struct ctl_gpu_export *out, char *err,
			  size_t errlen);
	/* The guest's CMA figures; never fails (without an agent, agent is false). */
	int (*guest_cma)(void *opaque, struct ctl_guest_cma *out);
};

/*
 * The http_handler_fn serving every endpoint; @ops is a const struct
 * ctl_ops *: http_server_open(&srv, loop, path, ctl_api_handle, &ops).
 */
void ctl_api_handle(void *ops, const struct http_request *req, struct http_response *resp);

/*
 * Before the first request, from a thread that may still open files:
 * jansson seeds its hash function from /dev/urandom when it makes its
 * first object, which the loop thread's sandbox would refuse.
 */
void ctl_api_prepare(void);

/* "running", "paused", "stopping" */
const char *ctl_vm_state_str(enum ctl_vm_state state);

#endif
