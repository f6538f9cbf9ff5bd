/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio devices cmavm offers, and how to create each.
 *
 * Owns: the constructors and the device-specific knobs the rest of the VMM
 * (flags, control API) may turn. Each device lives in its own file.
 */
#ifndef VMM_VIRTIO_DEVICES_H
#define VMM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/virtio/virtio.h"

/*
 * Who gives guest memory back to the host for the balloon: the host CMA
 * engine, which refuses pages in committed windows. Without one, the
 * balloon punches guest RAM's memfd itself.
 */
struct memory_hooks {
	void *opaque;
	/*
	 * Give [gpa, gpa + len) back (@reported: free page reporting, else
	 * inflation); returns the bytes refused, or -1 if it failed.
	 */
	int64_t (*discard)(void *opaque, uint64_t gpa, uint64_t len, bool reported);
	/* The guest took [gpa, gpa + len) back from the balloon. */
	void (*deflated)(void *opaque, uint64_t gpa, uint64_t len);
};

struct virtio_env {
	const struct guest_ram *ram;
	struct ev_loop *loop;
	bool access_platform;	    /* offer VIRTIO_F_ACCESS_PLATFORM */
	struct memory_hooks memory; /* the balloon's; may be all NULL */
};

int virtio_rng_create(struct virtio_device *dev, const struct virtio_env *env);

struct blk_options {
	const char *path;
	bool readonly;
	unsigned int index; /* virtio-blk<index> */
};
int virtio_blk_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct blk_options *opts);

int virtio_balloon_create(struct virtio_device *dev, const struct virtio_env *env,
			  unsigned int stats_interval_s);

/* The balloon's knobs and readings, for the control API (take the device lock). */
struct balloon_info {
	uint64_t target_bytes;
	uint64_t actual_bytes;
	unsigned int stats_interval_s;
	bool deflate_on_oom;
	bool free_page_reporting;
};
void balloon_get_info(struct virtio_device *dev, struct balloon_info *info);
void balloon_set_target(struct virtio_device *dev, uint64_t bytes);
void balloon_set_stats_interval(struct virtio_device *dev, unsigned int seconds);
/* The guest's last statistics, by virtio tag (5.5.6.3); false if none yet. */
#define BALLOON_STAT_TAGS 16
struct balloon_stats {
	uint64_t value[BALLOON_STAT_TAGS];
	uint32_t reported;	 /* bit N: the guest reported tag N */
	struct timespec updated; /* CLOCK_MONOTONIC */
};
bool balloon_stats(struct virtio_device *dev, struct balloon_stats *out);

#endif
