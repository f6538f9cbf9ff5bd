// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon (virtio 1.2, 5.5): inflate and deflate, the statistics
 * queue, and free page reporting. Inflated and reported pages lose their
 * host backing (guest_ram_discard); deflated ones get it back the next
 * time the guest touches them, so deflate needs no work here.
 *
 * Statistics: the driver parks one buffer on the stats queue; holding it
 * and giving it back every stats_interval_s asks for fresh numbers.
 *
 * The queues carry no status to fail a request with, so a chain laid out
 * against 5.5.6 breaks its queue (DEVICE_NEEDS_RESET) before anything is
 * given back: page numbers and statistics are device-readable, reported
 * free pages device-writable (the device discards them, which is writing),
 * a page number array holds whole 32-bit numbers, and there is at most one
 * statistics buffer at a time.
 */
#include "vmm/virtio/devices.h"
#include "vmm/hw/event_loop.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <linux/virtio_balloon.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The ABI is <linux/virtio_balloon.h>'s: features VIRTIO_BALLOON_F_*,
 * struct virtio_balloon_config (5.5.4) and the statistics entries struct
 * virtio_balloon_stat (5.5.6.3).
 */
#define BALLOON_PAGE (1u << VIRTIO_BALLOON_PFN_SHIFT) /* 4 KiB, whatever the guest page */
#define Q_INFLATE    0
#define Q_DEFLATE    1
/*
 * The stats and reporting queues are numbered by the features the driver
 * took: the driver counts only the queues that exist (virtio_find_vqs).
 */
#define Q_NONE (-1)

#define INFLATE_MAX_PFNS 4096		  /* per chain: 16 times what Linux sends */
#define PFN_BYTES	 sizeof(uint32_t) /* inflate and deflate buffers: le32 page numbers */

#define STAT_ENTRY sizeof(struct virtio_balloon_stat) /* le16 tag, le64 value, packed */
#define STAT_TAGS  BALLOON_STAT_TAGS
_Static_assert(STAT_ENTRY == 10, "5.5.6.3: a statistics entry is 10 bytes");

struct balloon_counters {
	uint64_t inflated_pages, deflated_pages, reported_bytes, reported_ranges, refused_bytes;
	uint64_t bad_pages, discard_failures, stats_updates;
};

struct balloon {
	struct virtio_device *dev;
	struct memory_hooks memory;
	int q_stats, q_report; /* queue numbers, or Q_NONE */
	uint32_t num_pages;    /* the target, in balloon pages */
	uint32_t actual;       /* what the driver says it holds */
	unsigned int stats_interval_s;

	bool stats_held; /* the driver's stats buffer is with us */
	uint16_t stats_head;
	unsigned int stats_generation;
	uint64_t stats[STAT_TAGS];
	uint32_t stats_seen; /* bitmap of tags the guest reported */
	struct timespec stats_time;

	struct ev_op timer_op;
	struct __kernel_timespec timer_ts;
	bool timer_armed;

	struct balloon_counters n;
};

static struct balloon *to_balloon(struct virtio_device *dev)
{
	return dev->priv;
}

/* Discard one run of pages; the guest may name pages outside RAM: count them. */
/* The host CMA engine decides (windows keep their pages); else punch RAM directly. */
static int give_back(struct virtio_device *dev, uint64_t gpa, uint64_t len, bool reported)
{
	struct balloon *b = to_balloon(dev);
	int64_t refused;

	if (!b->memory.discard)
		return guest_ram_discard(dev->ram, gpa, len);
	if (!guest_ram_ptr(dev->ram, gpa, len) || (gpa | len) % BALLOON_PAGE)
		return -1;
	refused = b->memory.discard(b->memory.opaque, gpa, len, reported);
	if (refused > 0) {
		if (!b->n.refused_bytes)
			pr_info("%s: the guest %s pages inside a committed DMA window at 0x%llx; "
				"they keep their host memory (counted as refused_bytes)",
				dev->name, reported ? "reported free" : "ballooned",
				(unsigned long long)gpa);
		b->n.refused_bytes += (uint64_t)refused;
	}
	return refused < 0 ? -1 : 0;
}

static void discard_run(struct virtio_device *dev, uint64_t gpa, uint64_t len, bool reported)
{
	struct balloon *b = to_balloon(dev);
	bool in_ram = guest_ram_ptr(dev->ram, gpa, len);

	/* A run that leaves RAM may start inside it: page by page, only the rest is bad. */
	if (!in_ram && len > BALLOON_PAGE && !(len % BALLOON_PAGE)) {
		for (uint64_t off = 0; off < len; off += BALLOON_PAGE)
			discard_run(dev, gpa + off, BALLOON_PAGE, reported);
		return;
	}
	if (!give_back(dev, gpa, len, reported))
		return;
	if (in_ram && !((gpa | len) % BALLOON_PAGE)) {
		/* Good pages the host failed to drop: ours, not the guest's. */
		if (!b->n.discard_failures)
			pr_errno("%s: giving back guest pages at 0x%llx (+%llu bytes) failed "
				 "(reported once)",
				 dev->name, (unsigned long long)gpa, (unsigned long long)len);
		b->n.discard_failures++;
		return;
	}
	if (!b->n.bad_pages)
		pr_warn("%s: the guest named pages at 0x%llx (+%llu bytes) that are not "
			"guest RAM or not page-aligned; ignored (reported once)",
			dev->name, (unsigned long long)gpa, (unsigned long long)len);
	b->n.bad_pages += len / BALLOON_PAGE ? len / BALLOON_PAGE : 1;
}

/* Is every buffer of @chain on the side 5.5.6 gives @what? Else the queue breaks. */
static bool on_side(struct virtqueue *vq, const struct vq_chain *chain, bool writable,
		    const char *what)
{
	unsigned int wrong = writable ? chain->nr_out : chain->nr - chain->nr_out;

	if (!wrong)
		return true;
	vq_fail(vq, "chain from head %u: %u device-%s buffer(s), but %s are device-%s (5.5.6)",
		chain->head, wrong, writable ? "readable" : "writable", what,
		writable ? "writable" : "readable");
	return false;
}

/* Inflate and deflate: a device-readable array of whole le32 page numbers (5.5.6). */
static bool pfn_array_ok(struct virtqueue *vq, const struct vq_chain *chain)
{
	if (!on_side(vq, chain, false, "page numbers"))
		return false;
	if (!(chain->out_len % PFN_BYTES))
		return true;
	vq_fail(vq, "chain from head %u: %llu bytes is not a whole number of 32-bit page numbers",
		chain->head, (unsigned long long)chain->out_len);
	return false;
}

/* Page number @i of an inflate or deflate buffer, as an address; false past its end. */
static bool pfn_gpa(const struct vq_chain *chain, uint64_t i, uint64_t *gpa)
{
	uint32_t pfn;

	if (i >= INFLATE_MAX_PFNS || (i + 1) * PFN_BYTES > chain->out_len)
		return false;
	vq_chain_read(chain, i * PFN_BYTES, &pfn, PFN_BYTES);
	*gpa = (uint64_t)le32toh(pfn) * BALLOON_PAGE;
	return true;
}

typedef void (*run_fn)(struct virtio_device *dev, uint64_t gpa, uint64_t len);

/*
 * The page numbers of @chain as runs of neighbours, each given to @fn once,
 * and how many there were. A guest with 16 KiB pages names each of its
 * pages as four neighbouring 4 KiB frames (VIRTIO_BALLOON_PAGES_PER_PAGE),
 * so its runs are whole guest pages.
 */
static uint64_t for_each_run(struct virtio_device *dev, const struct vq_chain *chain, run_fn fn)
{
	uint64_t run_start = 0, run_len = 0, gpa, i;

	for (i = 0; pfn_gpa(chain, i, &gpa); i++) {
		if (run_len && gpa == run_start + run_len) {
			run_len += BALLOON_PAGE;
			continue;
		}
		if (run_len)
			fn(dev, run_start, run_len);
		run_start = gpa;
		run_len = BALLOON_PAGE;
	}
	if (run_len)
		fn(dev, run_start, run_len);
	return i;
}

static void inflate_run(struct virtio_device *dev, uint64_t gpa, uint64_t len)
{
	discard_run(dev, gpa, len, false);
}

static void deflate_run(struct virtio_device *dev, uint64_t gpa, uint64_t len)
{
	struct balloon *b = to_balloon(dev);

	if (b->memory.deflated)
		b->memory.deflated(b->memory.opaque, gpa, len);
}

/* Linux sends at most 256 page numbers a buffer (VIRTIO_BALLOON_ARRAY_PFNS_MAX). */
static void warn_long_array(struct virtio_device *dev, const struct vq_chain *chain)
{
	struct balloon *b = to_balloon(dev);

	if (chain->out_len <= INFLATE_MAX_PFNS * PFN_BYTES)
		return;
	if (!b->n.bad_pages)
		pr_warn("%s: a buffer of %llu page numbers; only the first %d are taken "
			"(reported once)",
			dev->name, (unsigned long long)(chain->out_len / PFN_BYTES),
			INFLATE_MAX_PFNS);
	b->n.bad_pages += chain->out_len / PFN_BYTES - INFLATE_MAX_PFNS;
}

/*
 * An array of le32 page frame numbers to discard. At most INFLATE_MAX_PFNS
 * are taken: a chain of gigabytes of them would hold the loop thread for
 * minutes.
 */
static int64_t inflate(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	if (!pfn_array_ok(vq, chain))
		return -1;
	warn_long_array(dev, chain);
	to_balloon(dev)->n.inflated_pages += for_each_run(dev, chain, inflate_run);
	return 0;
}

static int64_t deflate(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	if (!pfn_array_ok(vq, chain))
		return -1;
	warn_long_array(dev, chain);
	to_balloon(dev)->n.deflated_pages += for_each_run(dev, chain, deflate_run);
	return 0;
}

/* Free page reporting (5.5.6.7): each buffer is a free range to drop. */
static int64_t report(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct balloon *b = to_balloon(dev);

	if (!on_side(vq, chain, true, "reported free pages"))
		return -1;
	for (unsigned int i = 0; i < chain->nr; i++) {
		discard_run(dev, chain->buf[i].gpa, chain->buf[i].len, true);
		b->n.reported_bytes += chain->buf[i].len;
		b->n.reported_ranges++;
	}
	return 0;
}

static void parse_stats(struct balloon *b, const struct vq_chain *chain)
{
	struct virtio_balloon_stat e;

	for (uint64_t off = 0; off + STAT_ENTRY <= chain->out_len; off += STAT_ENTRY) {
		uint16_t tag;

		vq_chain_read(chain, off, &e, STAT_ENTRY);
		tag = le16toh(e.tag);
		if (tag < STAT_TAGS) {
			b->stats[tag] = le64toh(e.val);
			b->stats_seen |= 1u << tag;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b->stats_time);
	b->n.stats_updates++;
}

static void give_back_stats_buffer(struct virtio_device *dev)
{
	struct balloon *b = to_balloon(dev);

	if (!b->stats_held)
		return;
	b->stats_held = false;
	if (b->stats_generation == dev->generation && virtio_running(dev)) {
		vq_push(&dev->vq[b->q_stats], b->stats_head, 0);
		virtio_queue_done(dev, &dev->vq[b->q_stats]);
	}
}

/* Loop thread: the timer ends in stats_timer_fired(). */
static void arm_stats_timer(struct virtio_device *dev);

static void stats_timer_fired(struct ev_op *op, int res, unsigned int flags)
{
	struct balloon *b = (struct balloon *)((char *)op - offsetof(struct balloon, timer_op));
	struct virtio_device *dev = b->dev;

	(void)res;
	(void)flags;
	pthread_mutex_lock(&dev->lock);
	b->timer_armed = false;
	give_back_stats_buffer(dev);
	pthread_mutex_unlock(&dev->lock);
}

static void arm_stats_timer(struct virtio_device *dev)
{
	struct balloon *b = to_balloon(dev);
	struct io_uring_sqe *sqe;

	if (b->timer_armed || !b->stats_interval_s || !b->stats_held)
		return;
	sqe = ev_sqe(dev->loop, &b->timer_op);
	if (!sqe)
		return;
	b->timer_op.done = stats_timer_fired;
	b->timer_ts.tv_sec = b->stats_interval_s;
	b->timer_ts.tv_nsec = 0;
	io_uring_prep_timeout(sqe, &b->timer_ts, 0, 0);
	b->timer_armed = true;
}

static int64_t stats(struct virtio_device *dev, struct virtqueue *vq, struct vq_chain *chain)
{
	struct balloon *b = to_balloon(dev);

	if (!on_side(vq, chain, false, "statistics"))
		return -1;
	/* 5.5.6.3.1: at most one buffer at a time, and the device still holds the last one. */
	if (b->stats_held)
		return vq_fail(vq,
			       "chain from head %u: a second statistics buffer while the device "
			       "holds one (5.5.6.3.1)",
			       chain->head);
	parse_stats(b, chain);
	b->stats_held = true;
	b->stats_head = chain->head;
	b->stats_generation = dev->generation;
	arm_stats_timer(dev);
	return -1;
}

static void balloon_notify(struct virtio_device *dev, unsigned int q)
{
	struct balloon *b = to_balloon(dev);
	virtio_chain_fn handle = q == Q_INFLATE		 ? inflate
				 : q == Q_DEFLATE	 ? deflate
				 : (int)q == b->q_stats	 ? stats
				 : (int)q == b->q_report ? report
							 : NULL;

	if (handle)
		virtio_process_queue(dev, &dev->vq[q], handle);
}

static void balloon_start(struct virtio_device *dev)
{
	struct balloon *b = to_balloon(dev);
	int next = Q_DEFLATE + 1;

	b->q_stats = virtio_has_feature(dev, VIRTIO_BALLOON_F_STATS_VQ) ? next++ : Q_NONE;
	b->q_report = virtio_has_feature(dev, VIRTIO_BALLOON_F_REPORTING) ? next++ : Q_NONE;
}

static void balloon_config_read(struct virtio_device *dev, uint32_t offset, void *data,
				uint32_t len)
{
	struct balloon *b = to_balloon(dev);
	struct virtio_balloon_config cfg = {
		.num_pages = htole32(b->num_pages),
		.actual = htole32(b->actual),
	};

	memcpy(data, (const uint8_t *)&cfg + offset, len);
}

static void balloon_config_write(struct virtio_device *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	uint32_t v;

	/* Only "actual" is the driver's to write (5.5.4). */
	if (offset == offsetof(struct virtio_balloon_config, actual) && len == sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		to_balloon(dev)->actual = le32toh(v);
	}
}

/* The statistics buffer the device holds goes back with its queue, unanswered. */
static void balloon_queue_stop(struct virtio_device *dev, unsigned int q)
{
	struct balloon *b = to_balloon(dev);

	if ((int)q == b->q_stats)
		b->stats_held = false;
}

static void balloon_reset(struct virtio_device *dev)
{
	struct balloon *b = to_balloon(dev);

	b->stats_held = false;
	b->actual = 0;
}

static const struct virtio_counter_field balloon_counter_fields[] = {
	VIRTIO_COUNTER_FIELD(struct balloon_counters, inflated_pages),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, deflated_pages),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, reported_bytes),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, reported_ranges),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, refused_bytes),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, bad_pages),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, discard_failures),
	VIRTIO_COUNTER_FIELD(struct balloon_counters, stats_updates),
};

static unsigned int balloon_counters(struct virtio_device *dev, struct virtio_counter *out)
{
	return virtio_fill_counters(out, &to_balloon(dev)->n, balloon_counter_fields,
				    sizeof(balloon_counter_fields) /
					    sizeof(balloon_counter_fields[0]));
}

static const struct virtio_device_ops balloon_ops = {
	.type = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nr_queues = 4,
	.features = BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ) | BIT_ULL(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
		    BIT_ULL(VIRTIO_BALLOON_F_REPORTING),
	.config_size = sizeof(struct virtio_balloon_config),
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_notify,
	.start = balloon_start,
	.queue_stop = balloon_queue_stop,
	.reset = balloon_reset,
	.counters = balloon_counters,
};

int virtio_balloon_create(struct virtio_device *dev, const struct virtio_env *env,
			  unsigned int stats_interval_s)
{
	struct balloon *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	virtio_init(dev, &balloon_ops, "virtio-balloon0", env->ram, env->loop,
		    env->access_platform);
	b->dev = dev;
	b->memory = env->memory;
	b->q_stats = b->q_report = Q_NONE;
	b->stats_interval_s = stats_interval_s;
	dev->priv = b;
	return 0;
}

void balloon_get_info(struct virtio_device *dev, struct balloon_info *info)
{
	struct balloon *b = to_balloon(dev);

	info->target_bytes = (uint64_t)b->num_pages * BALLOON_PAGE;
	info->actual_bytes = (uint64_t)b->actual * BALLOON_PAGE;
	info->stats_interval_s = b->stats_interval_s;
	info->deflate_on_oom = virtio_has_feature(dev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	info->free_page_reporting = virtio_has_feature(dev, VIRTIO_BALLOON_F_REPORTING);
}

void balloon_set_target(struct virtio_device *dev, uint64_t bytes)
{
	to_balloon(dev)->num_pages = (uint32_t)(bytes / BALLOON_PAGE);
	virtio_config_changed(dev);
}

void balloon_set_stats_interval(struct virtio_device *dev, unsigned int seconds)
{
	to_balloon(dev)->stats_interval_s = seconds;
	arm_stats_timer(dev);
}

bool balloon_stats(struct virtio_device *dev, struct balloon_stats *out)
{
	struct balloon *b = to_balloon(dev);

	if (!b->n.stats_updates)
		return false;
	memcpy(out->value, b->stats, sizeof(out->value));
	out->reported = b->stats_seen;
	out->updated = b->stats_time;
	return true;
}
