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
/*
 * What virtio_blk_create() asks of @opts->path, without a device (`cmavm
 * run --dry-run`): a regular file or a block device, opened as the device
 * opens it (read-write unless @opts->readonly), not locked by another
 * process, at least a sector; then closed. 0, or -1 with the message the
 * device would print.
 */
int virtio_blk_check_image(const struct blk_options *opts);

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

/*
 * virtio-gpu, 2D (virtio 1.2, 5.7). Each resource's pixels live in
 * @region, a host memory region placed so that a resource is
 * host-physically contiguous (cma/region.h); the device places and frees
 * them there but does not own the region.
 */
struct cma_region;

#define GPU_MIN_DIM 16
#define GPU_MAX_DIM 8192 /* a display mode's width or height; resources may be up to 16384 */

struct gpu_options {
	uint32_t width, height; /* the display's mode at start */
	struct cma_region *region;
};
int virtio_gpu_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct gpu_options *opts);

struct gpu_rect {
	uint32_t x, y, width, height;
};

struct gpu_cursor {
	uint32_t resource_id; /* 0: none */
	uint32_t scanout, x, y, hot_x, hot_y;
};

/* The GPU's knobs and readings, for the control API (take the device lock). */
struct gpu_scanout_info {
	bool enabled;
	uint32_t width, height;
	uint32_t resource_id;
	struct gpu_rect rect;
	uint64_t flushes;
};
struct gpu_resource_info {
	uint32_t id, format, width, height, stride;
	uint64_t bytes, offset; /* its storage in the region */
	bool backed;
	unsigned int nr_entries;
	uint32_t scanouts;
};
/* What a scanout shows: the resource's pixels in the region, and the part shown. */
struct gpu_picture {
	uint32_t resource_id, format, stride;
	struct gpu_rect rect;
	const uint8_t *pixels;	/* the resource's first pixel */
	uint64_t offset, bytes; /* the resource's storage in the region */
};
unsigned int gpu_nr_scanouts(struct virtio_device *dev);
void gpu_scanout_info(struct virtio_device *dev, unsigned int i, struct gpu_scanout_info *out);
/* Up to @max resources in id order; *@total: how many there are. */
unsigned int gpu_resources(struct virtio_device *dev, struct gpu_resource_info *out,
			   unsigned int max, unsigned int *total);
struct gpu_cursor gpu_cursor_info(struct virtio_device *dev);
struct cma_region *gpu_region(struct virtio_device *dev);
/* A new mode for scanout @i, and a display event: 0, -ENOENT (no scanout), -EINVAL (size). */
int gpu_set_display(struct virtio_device *dev, unsigned int i, uint32_t width, uint32_t height);
/* 0, -ENOENT (no scanout @i), -ENODATA (it shows nothing). */
int gpu_scanout_picture(struct virtio_device *dev, unsigned int i, struct gpu_picture *out);
/* The byte offsets of red, green and blue in a pixel of @format; false if unknown. */
bool gpu_format_channels(uint32_t format, uint8_t *r, uint8_t *g, uint8_t *b);
const char *gpu_format_name(uint32_t format);	/* "B8G8R8X8", "?" */
const char *gpu_format_fourcc(uint32_t format); /* as DRM names it: "XR24", "?" */

/*
 * virtio-console, multiport (virtio 1.2, 5.3): one named port (port 1)
 * carrying a byte stream between a program in the guest and the VMM, the
 * QEMU guest agent's "org.qemu.guest_agent.0". Not a console: no port is
 * a console port, and port 0 (whose queues exist) is never added.
 */
#define CONSOLE_TX_MAX	 (64 * 1024) /* bytes for the guest not yet delivered */
#define CONSOLE_NAME_MAX 255	     /* a port name, in bytes */

struct console_port_ops {
	void *opaque;
	/*
	 * Bytes the guest wrote to the port (loop thread, device lock held;
	 * may call console_port_send(), nothing else of the device's).
	 */
	void (*received)(void *opaque, const uint8_t *data, size_t len);
	/*
	 * The guest program opened (true) or closed (false) the port, or the
	 * device was reset while it was open (false; on the thread that reset
	 * it). Device lock held; may call console_port_send().
	 */
	void (*opened)(void *opaque, bool open);
};

struct console_options {
	const char *port_name; /* "org.qemu.guest_agent.0": 1 to CONSOLE_NAME_MAX bytes */
	struct console_port_ops ops;
};
/* -1 with errno EINVAL for a name that is empty or too long, ENOMEM. */
int virtio_console_create(struct virtio_device *dev, const struct virtio_env *env,
			  const struct console_options *opts);
/*
 * Queue @len bytes for the guest on the port (device lock held); returns
 * the bytes taken: at most CONSOLE_TX_MAX wait for the driver's receive
 * buffers, so a guest that never reads cannot make them grow; 0 while the
 * guest has the port closed (its driver would drop them).
 */
size_t console_port_send(struct virtio_device *dev, const void *data, size_t len);
/* The guest program has the port open (device lock held). */
bool console_port_is_open(struct virtio_device *dev);

/*
 * virtio-net (virtio 1.2, 5.1) on a tap the operator made: one receiveq,
 * one transmitq, the tap's vnet header carrying checksum and
 * segmentation offloads both ways as far as the tap takes them.
 */
#define NET_IFNAMSIZ 16 /* IFNAMSIZ: a tap's name and its NUL */

/* What net_tap_open() learnt of the tap. */
struct net_tap_info {
	char name[NET_IFNAMSIZ];
	unsigned int offloads; /* TUN_F_* TUNSETOFFLOAD accepted: what guests may receive */
	bool up;	       /* IFF_UP; while down the tap refuses the guest's frames */
};
/*
 * Open the existing tap @name: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a
 * 12-byte vnet header, its offloads probed and left off (the device sets
 * them to what the driver accepts). Never creates an interface. Returns
 * the descriptor (blocking, close-on-exec), or -1 with @err naming the
 * problem and its fix: no such tap, not a tap, another user's tap, a tap
 * in use, no /dev/net/tun.
 */
int net_tap_open(const char *name, struct net_tap_info *out, char *err, size_t errlen);
/*
 * What net_tap_open() would find wrong with the tap @name, without
 * attaching to it (`cmavm run --dry-run`): no such tap, not a tap (its
 * tun_flags in /sys/class/net), another user's or group's tap, no
 * /dev/net/tun, a single-queue tap another process holds. 0, or -1 with
 * @err as net_tap_open() words it; a tap that is down is warned about, as
 * net_tap_open() does.
 */
int net_tap_check(const char *name, char *err, size_t errlen);

struct net_options {
	int tap_fd;	       /* net_tap_open()'s; the device's once created (closed at destroy) */
	uint8_t mac[6];	       /* unicast */
	unsigned int offloads; /* net_tap_info.offloads */
	const char *tap_name;  /* for messages */
	unsigned int index;    /* virtio-net<index> */
};
/* -1 with errno ENOMEM (@opts->tap_fd is still the caller's then). */
int virtio_net_create(struct virtio_device *dev, const struct virtio_env *env,
		      const struct net_options *opts);

/* The device's knobs and readings, for the control API (take the device lock). */
struct net_info {
	char tap[NET_IFNAMSIZ];
	uint8_t mac[6];
	bool link_up;
	unsigned int tap_offloads; /* TUN_F_* the tap accepts */
	unsigned int offloads;	   /* TUN_F_* asked of the tap for what the driver accepted */
};
void net_get_info(struct virtio_device *dev, struct net_info *out);
/* Link up or down in the config space's status (5.1.4), with a config interrupt. */
void net_set_link(struct virtio_device *dev, bool up);

#endif
