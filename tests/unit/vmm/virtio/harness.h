/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the device tests in this directory (test_mmio.c,
 * test_device.c, test_rng.c, test_blk.c, test_balloon.c, test_gpu.c,
 * test_console.c): a test driver
 * for virtio devices behind their virtio-mmio register window, as a Linux
 * guest's driver would drive them. Fake guest RAM (anonymous memory, no
 * memfd), register access, the handshake, rings and chains built by hand,
 * QueueNotify, the interrupt eventfd and InterruptStatus. No KVM: with
 * vm_fd = -1 a QueueNotify write signals the queue's eventfd itself, and
 * an event loop thread runs the devices.
 *
 * The ABI comes from the kernel's UAPI headers, as the Linux driver sees
 * it; the tests still check layouts and values by number where the
 * number is the point.
 */
#ifndef TESTS_UNIT_VMM_VIRTIO_HARNESS_H
#define TESTS_UNIT_VMM_VIRTIO_HARNESS_H

#include <linux/virtio_blk.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/hw/event_loop.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtio.h"

#define RAM_GPA	    0x80000000ULL
#define RAM_SIZE    (16ULL << 20)
#define RAM_END	    (RAM_GPA + RAM_SIZE)
#define REGION_SIZE (1ULL << 20) /* fake RAM per test device: rings, then buffers */
#define RINGS_SIZE  0x20000	 /* VIRTIO_MAX_QUEUES rings of 0x4000 */
#define MMIO_BASE   0x0a000000ULL

#define MAX_TDEVS  6
#define QSIZE	   16
#define TIMEOUT_MS 2000
#define PAGE	   4096

#define SECTOR	   512
#define IMAGE_SIZE (1u << 20)

/* The driver's view of one queue */
struct tqueue {
	uint64_t desc, avail, used;
	uint16_t avail_idx; /* the driver's next avail->idx */
	uint16_t used_seen; /* used entries consumed */
	uint16_t next_desc; /* descriptors are handed out round robin */
};

/* One device under test, its transport and its part of fake RAM */
struct tdev {
	struct virtio_device dev;
	struct virtio_mmio m;
	uint64_t region; /* gpa of this device's part of fake RAM */
	uint64_t buf_next;
	struct tqueue q[VIRTIO_MAX_QUEUES];
	int start_ret;
};

/* One buffer of a chain */
struct tbuf {
	uint64_t gpa;
	uint32_t len;
	bool dev_writes;
};

extern struct guest_ram ram;
extern struct ev_loop loop;
extern char images[2][64]; /* disk images, unlinked at teardown */

/* ---- fake guest RAM ---- */
void *hp(uint64_t gpa);
void put16(uint64_t gpa, uint16_t v);
void put32(uint64_t gpa, uint32_t v);
void put64(uint64_t gpa, uint64_t v);
uint32_t get32(uint64_t gpa);
/* A buffer of @len bytes in @t's region, zeroed */
uint64_t galloc(struct tdev *t, uint32_t len);
bool all_bytes(const void *p, int c, size_t len);
uint64_t now_ms(void);
void sleep_ms(unsigned int ms);
/* Return once the loop thread has finished whatever callback it was running. */
void loop_sync(void);

/* ---- registers ---- */
uint32_t rd(struct tdev *t, uint64_t off);
void wr(struct tdev *t, uint64_t off, uint32_t v);
void cfg_read(struct tdev *t, uint32_t off, void *data, uint32_t len);
uint32_t cfg_read32(struct tdev *t, uint32_t off);
void cfg_write32(struct tdev *t, uint32_t off, uint32_t v);
uint64_t device_features(struct tdev *t);
void driver_features(struct tdev *t, uint64_t f);
/* Pending interrupt edges on the irq eventfd (nonblocking): 0 if none. */
uint64_t irq_edges(struct tdev *t);
bool wait_irq(struct tdev *t);
/* Read InterruptStatus, acknowledge what it says, and drain the eventfd. */
uint32_t take_interrupt(struct tdev *t);

/* ---- the handshake (3.1.1), as Linux does it ---- */
void reset(struct tdev *t);
/* Up to FEATURES_OK; true if the device accepted the features. */
bool negotiate(struct tdev *t, uint64_t features);
/*
 * Queue @q, not ready: its rings at their place in @t's region, emptied,
 * its registers written, then QueueReady = 1 (which must read back 1).
 */
void setup_queue(struct tdev *t, unsigned int q);
/* The whole handshake with VERSION_1 | @want (those the device offers); all queues live. */
void handshake(struct tdev *t, uint64_t want);

/* ---- requests ---- */
void write_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		uint16_t next);
/* Put chain @head on the available ring and notify. */
void offer(struct tdev *t, unsigned int q, uint16_t head, bool notify);
/* Describe @bufs in consecutive descriptors; returns the head. */
uint16_t build_chain(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n);
uint16_t submit(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n);
uint16_t used_idx(struct tdev *t, unsigned int q);
bool wait_used(struct tdev *t, unsigned int q, uint16_t idx, unsigned int timeout_ms);
/* Wait for the next used element; returns its len and checks its id. */
uint32_t next_used(struct tdev *t, unsigned int q, uint16_t head);
/* One request start to finish, and its interrupt: returns the used len. */
uint32_t request(struct tdev *t, unsigned int q, const struct tbuf *bufs, unsigned int n);
uint64_t counter(struct tdev *t, const char *name);
/* Wait until the device status has @bits. */
bool wait_status(struct tdev *t, uint32_t bits);

/* ---- devices ---- */
struct virtio_env env(void);
struct tdev *add_rng(void);
struct tdev *add_blk(const char *path, bool readonly);
struct tdev *add_balloon(unsigned int stats_interval_s);
/* A balloon whose discards and deflates go to @hooks (the engine's place). */
struct tdev *add_balloon_hooked(const struct memory_hooks *hooks);
/* virtio-gpu on @opts (its region the caller's), VIRTIO_F_ACCESS_PLATFORM offered if asked */
struct tdev *add_gpu(const struct gpu_options *opts, bool access_platform);
/* virtio-console with one named port; @opts's callbacks are the caller's */
struct tdev *add_console(const struct console_options *opts);
/* virtio-net on @opts->tap_fd (a tap, or one end of a socketpair standing for one) */
struct tdev *add_net(const struct net_options *opts);

/* ---- disk images and virtio-blk requests ---- */
uint8_t pattern(uint64_t off);
/* A new 1 MiB image in @dir with the known pattern; returns its path. */
const char *make_image_in(unsigned int slot, const char *dir);
const char *make_image(unsigned int slot);
void read_image(const char *path, uint8_t *buf);
uint64_t blk_header(struct tdev *t, uint32_t type, uint64_t sector);
/*
 * header, [data], status: the data goes to the device (@data_in false) or
 * comes from it; returns the status byte, and the used len in @used.
 */
uint8_t blk_req(struct tdev *t, uint32_t type, uint64_t sector, void *data, uint32_t len,
		bool data_in, uint32_t *used);
/* Discard or write zeroes of one segment */
uint8_t blk_segment(struct tdev *t, uint32_t type, uint64_t sector, uint32_t sectors,
		    uint32_t flags);

/* ---- the CMA engine's fence: the mover's side, under the device lock as the glue takes it ---- */
void fence(struct tdev *t, uint64_t gpa, uint64_t len);
/* From this thread, not the loop's: the mover's. */
void unfence_off_loop(struct tdev *t);

/* ---- fixtures: fake RAM for the group, a fresh event loop for each test ---- */
int group_setup(void **state);
int group_teardown(void **state);
int setup(void **state);
int teardown(void **state);

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
