/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host CMA engine: every guest pageblock of every pool, and what backs it.
 *
 * Owns: the pageblock map (per pageblock: unbacked, backed, reported free,
 * ballooned, or part of a committed DMA window), committing and releasing
 * windows at three levels, moving a pageblock onto new backing without the
 * guest losing a byte, what each window's moves cost the guest (counted
 * for that window alone), and the rule that balloon and free page
 * reporting never discard a committed window. It knows guest RAM only as
 * a host mapping of a memfd; how the guest is paused is the caller's
 * business (struct cma_hooks), so the engine has no KVM in it and runs on
 * fake guest memory in tests.
 *
 * The pageblock is the guest's (cma_engine_set_pageblock(): 2 MiB with
 * 4 KiB guest pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB); host pages
 * stay what they are: 4 KiB base pages, 2 MiB and 1 GiB huge pages.
 *
 * Levels of a window:
 *   resident    every page populated and locked (mlock)
 *   huge        each pageblock moved onto host 2 MiB huge pages (hugetlb):
 *               one, sixteen for a 32 MiB pageblock, 256 for 512 MiB; each 2 MiB is
 *               host-physically contiguous and KVM can map it with one
 *               stage-2 block
 *   contiguous  the whole window on host-physically contiguous memory
 *               (a 1 GiB huge page, of which a 32 MiB pageblock is 1/32
 *               and a 512 MiB one half); refused with the reason when the
 *               host has none
 *
 * struct cma_engine is private to cma/ (cma/internal.h): callers hold a
 * pointer from cma_engine_create() and read through the accessors below.
 *
 * Thread-safe: any thread may call in. One commit, release or migration
 * runs at a time (a second is refused as a conflict); while it moves
 * memory it lets go of the engine's lock, so reads, discards and window
 * progress answer meanwhile. The hooks' pause, resume, fence and unfence
 * are called without the lock held.
 */
#ifndef CMA_ENGINE_H
#define CMA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/pool.h"

#define CMA_PAGE	  4096ULL	 /* a host base page; the balloon's unit */
#define CMA_HUGE_PAGE	  (2ULL << 20)	 /* a host huge page of hugetlbfs */
#define CMA_PAGEBLOCK_4K  (2ULL << 20)	 /* a 4 KiB-page guest's: the default, the least */
#define CMA_PAGEBLOCK_MAX (512ULL << 20) /* a 64 KiB-page guest's */
#define CMA_MAX_WINDOWS	  16

struct cma_engine;

enum cma_block_state {
	CMA_UNBACKED,  /* no host memory behind it */
	CMA_BACKED,    /* some host memory behind it, lazily */
	CMA_REPORTED,  /* the guest reported it free; the host dropped it */
	CMA_BALLOONED, /* every page of it is in the balloon */
	CMA_WINDOW,    /* part of a committed window */
	CMA_NR_STATES,
};

enum cma_level {
	CMA_RESIDENT,
	CMA_HUGE,
	CMA_CONTIGUOUS,
};

/*
 * Stall histograms: bucket i counts stalls of at most cma_hist_bound_ns[i];
 * the last bucket counts the longer ones.
 */
#define CMA_HIST_BUCKETS 14
extern const uint64_t cma_hist_bound_ns[CMA_HIST_BUCKETS - 1];

struct cma_stats {
	uint64_t commits, releases, migrations, rollbacks;
	uint64_t boot_commits; /* windows committed before the guest ran: no move */
	uint64_t refused_discards, refused_discard_bytes;
	/* whole-guest pauses (every vCPU parked) */
	uint64_t pauses, pause_ns_total, pause_ns_max, pause_ns_last;
	uint64_t pause_hist[CMA_HIST_BUCKETS];
	/* a guest writer (vCPU or device) that waited for a range being moved */
	uint64_t stalls, stall_ns_total, stall_ns_max, stall_ns_last;
	uint64_t stall_hist[CMA_HIST_BUCKETS];
};

/* What the engine asks of the VMM around a move. */
struct cma_hooks {
	void *opaque;
	/* Stop the vCPUs and device work; 0, or a negative errno. */
	int (*pause)(void *opaque);
	void (*resume)(void *opaque);
	/*
	 * A file of @size bytes to back a window: a hugetlb memfd of 2 MiB
	 * (@page_size = CMA_HUGE_PAGE) or 1 GiB pages; @size is a whole
	 * number of pageblocks, or 1 GiB. NULL: memfd_create
	 * with MFD_HUGETLB. Tests give an ordinary memfd. Returns an fd, or a
	 * negative errno.
	 */
	int (*alloc_backing)(void *opaque, uint64_t size, uint64_t page_size);
	/*
	 * Tests only: return a negative errno to make step @step of moving
	 * block @block fail (see enum cma_step).
	 */
	int (*inject)(void *opaque, int step, size_t block);
	/* Progress of a long commit or release: @done of @total bytes; may be NULL. */
	void (*progress)(void *opaque, uint64_t done, uint64_t total);
	/*
	 * A live move of guest-physical [gpa, gpa + len) begins: return once no
	 * device I/O into the range is in flight, and hold new I/O into it back
	 * until unfence(); 0, or a negative errno (the move is refused). NULL:
	 * nothing to fence.
	 */
	int (*fence)(void *opaque, uint64_t gpa, uint64_t len);
	void (*unfence)(void *opaque, uint64_t gpa, uint64_t len);
	/*
	 * Each thread the engine makes (its copy helper) calls this first, with
	 * a name for it (the VMM's sandbox); non-zero ends that thread and the
	 * engine works without it. Given this hook, the engine makes its
	 * threads at once, from the thread that creates it: a thread that has
	 * entered the sandbox may make none. NULL: threads start when needed.
	 */
	int (*thread_start)(void *opaque, const char *name);
};

enum cma_step {
	CMA_STEP_ALLOC,	   /* get the new backing */
	CMA_STEP_POPULATE, /* fault it in, or lock it */
	CMA_STEP_COPY,	   /* copy the contents */
	CMA_STEP_REMAP,	   /* map it over the guest's pageblock */
};

/* Why a call failed, for callers that answer differently to each. */
enum cma_error {
	CMA_ERR_HOST,	   /* the host could not (memory, huge pages, limits) */
	CMA_ERR_CONFLICT,  /* the engine's present state forbids it: later, perhaps */
	CMA_ERR_INVALID,   /* a range or argument it can never take */
	CMA_ERR_NOT_FOUND, /* no such pool, window or pageblock */
};

/* A pool as the engine holds it. @name points into the engine. */
struct cma_pool_info {
	const char *name;
	enum pool_kind kind;
	bool is_default;
	uint64_t base; /* guest-physical */
	uint64_t size;
	size_t nr_blocks;
};

enum cma_window_state {
	CMA_WINDOW_COMMITTED,
	CMA_WINDOW_COMMITTING, /* its commit (or level change) is under way */
	CMA_WINDOW_RELEASING,
};

/*
 * What moving one window cost the guest, over the window's life: its
 * commit, its level changes, its releases that rolled back and the
 * migrations of its pageblocks. A pause or stall counts for the window
 * whose move took it, however many windows there are; a boot window's
 * commit costs nothing.
 */
struct cma_window_moves {
	uint64_t commit_ns;	  /* its commit, or its last level change, all of it */
	uint64_t commit_pause_ns; /* the guest paused in that commit, all told (live: 0) */
	uint64_t pauses;	  /* whole-guest pauses taken for it */
	uint64_t pause_ns_max;	  /* the longest of them */
	uint64_t stalls;	  /* guest writers that waited on a range of its moves (live) */
	uint64_t stall_ns_max;	  /* the longest of them */
	uint64_t migrations;	  /* of its pageblocks, onto new backing */
};

/* A committed window. */
struct cma_window_info {
	unsigned int id;
	size_t pool;
	uint64_t offset, length; /* within the pool, pageblock aligned */
	uint64_t gpa;		 /* the pool's base + @offset */
	enum cma_level level;
	uint64_t largest_run;	/* host-physically contiguous bytes, 0 if unknown */
	uint64_t contiguous_2m; /* 2 MiB pieces that are each one physical run */
	bool verified;		/* largest_run measured from /proc/self/pagemap */
	struct cma_window_moves moves;
	enum cma_window_state state;
	uint64_t done_bytes; /* of a commit or release under way: bytes done so far */
};

/*
 * The engine over guest RAM: @size bytes at host @host (2 MiB aligned),
 * guest-physical @gpa, backed by @memfd. It may map up to @map_end (a 1 GiB
 * page may overhang RAM; NULL: RAM's end). Pools are added with
 * cma_engine_add_pool(). NULL when out of memory.
 */
struct cma_engine *cma_engine_create(uint8_t *host, uint64_t gpa, uint64_t size, int memfd,
				     uint8_t *map_end, const struct cma_hooks *hooks);
/* Closes every file the engine holds; the mappings stay. NULL is fine. */
void cma_engine_destroy(struct cma_engine *e);

/*
 * The guest's pageblock, in bytes: a power of two from CMA_PAGEBLOCK_4K
 * (the default) to CMA_PAGEBLOCK_MAX. Only before the first pool is added:
 * pools, windows, migrations and balloon counts are in whole pageblocks.
 * 0, or -1 with the error (CMA_ERR_INVALID: not such a size;
 * CMA_ERR_CONFLICT: pools are there).
 */
int cma_engine_set_pageblock(struct cma_engine *e, uint64_t bytes);

/*
 * Whether the guest runs (the default). While it does not (before its
 * first instruction), a move needs no pause and copies nothing the guest
 * never touched: a window committed then is a boot window, on its backing
 * before the guest starts, counted in stats.boot_commits and not as a move.
 */
void cma_engine_set_guest_running(struct cma_engine *e, bool running);

/*
 * Live moves: where the host kernel has userfaultfd write-protect for shmem
 * and hugetlbfs (probed at creation), a move write-protects the range
 * instead of pausing the guest: only a writer of the range waits, for the
 * copy of one run of pageblocks at most (a window's consecutive pageblocks
 * move in runs of up to cma_engine_set_live_run() bytes, 16 MiB unless
 * set: longer runs cost fewer system calls, shorter ones shorter waits).
 * Elsewhere a commit or release pauses the guest once.
 * cma_engine_set_live(e, true) fails where the kernel cannot;
 * cma_engine_live_why() says why (or "" when live).
 */
bool cma_engine_live(const struct cma_engine *e);
int cma_engine_set_live(struct cma_engine *e, bool live);
const char *cma_engine_live_why(const struct cma_engine *e);
/*
 * The longest run a live move write-protects at once; used rounded down to
 * whole pageblocks, one at least (so a 32 MiB pageblock moves in runs of
 * 32 MiB under the 16 MiB default).
 */
void cma_engine_set_live_run(struct cma_engine *e, uint64_t bytes);
/*
 * Threads that populate new backing and copy for a move: 2 (the moving
 * thread and a helper; the default where the host has more than one CPU)
 * or 1. Not while a move runs.
 */
void cma_engine_set_threads(struct cma_engine *e, unsigned int threads);

/* Why the last call failed, and what kind of failure it was. */
const char *cma_engine_error(const struct cma_engine *e);
enum cma_error cma_engine_error_kind(const struct cma_engine *e);
struct cma_stats cma_engine_stats(const struct cma_engine *e);
uint64_t cma_engine_pageblock_size(const struct cma_engine *e);

/* A pool placed at guest-physical @base; base and size in whole pageblocks. */
int cma_engine_add_pool(struct cma_engine *e, const struct pool_spec *spec, uint64_t base,
			uint64_t size);
int cma_engine_find_pool(const struct cma_engine *e, const char *name);
size_t cma_engine_nr_pools(const struct cma_engine *e);
/* Pool @pool: 0 with *@out filled, or -1 if there is none. */
int cma_pool_info(const struct cma_engine *e, size_t pool, struct cma_pool_info *out);

/*
 * The state of block @i of pool @pool, measured (mincore) where it matters.
 * Reading changes nothing.
 */
enum cma_block_state cma_block_state(const struct cma_engine *e, size_t pool, size_t i);
const char *cma_state_name(enum cma_block_state s);
char cma_state_letter(enum cma_block_state s); /* U B R L W, for maps */
const char *cma_level_name(enum cma_level level);
int cma_level_parse(const char *name, enum cma_level *level);
/* Bytes of @pool per state. */
void cma_pool_counts(const struct cma_engine *e, size_t pool, uint64_t counts[CMA_NR_STATES]);

/*
 * Commit [offset, offset + length) of @pool at @level (length 0: to the
 * pool's end). A committed window with the same range changes level.
 * Returns the window's slot (0 .. CMA_MAX_WINDOWS - 1, kept while it is
 * committed), or -1 with cma_engine_error() saying why; a failure midway
 * rolls every pageblock back, contents intact.
 */
int cma_window_commit(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t length,
		      enum cma_level level);
/* Back to ordinary lazy backing, contents intact. 0, or -1 with the error. */
int cma_window_release(struct cma_engine *e, unsigned int id);
/* The slot of window @id, or -1. */
int cma_window_find(const struct cma_engine *e, unsigned int id);
/* The window in slot @slot: 0 with *@out filled, or -1 if the slot is free. */
int cma_window_info(const struct cma_engine *e, int slot, struct cma_window_info *out);
/* Measure the window in @slot again (largest_run, contiguous_2m); a free slot: nothing. */
void cma_window_measure(struct cma_engine *e, int slot);

/*
 * Move the pageblock at guest-physical @gpa onto new host backing of the
 * same kind (new pages), contents intact. Returns 0 with the pause it took
 * in *@pause_ns, or -1 with the error.
 */
int cma_migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns);

/*
 * The balloon or free page reporting wants [gpa, gpa + len) discarded.
 * Discards what is outside committed windows (the host gets it back),
 * refuses and counts what is inside (its contents stay). Returns the bytes
 * refused. A pageblock is ballooned, or reported, once each of its 4 KiB
 * pages is (whatever the pageblock and however the ranges came: a page
 * counts once).
 */
enum cma_discard_reason {
	CMA_DISCARD_BALLOON,
	CMA_DISCARD_REPORTED,
};
uint64_t cma_discard(struct cma_engine *e, uint64_t gpa, uint64_t len, enum cma_discard_reason why);
/* The balloon gave [gpa, gpa + len) back to the guest (deflate). */
void cma_deflated(struct cma_engine *e, uint64_t gpa, uint64_t len);

/* Bytes of guest RAM backed by the host now (memfd blocks plus windows). */
uint64_t cma_resident_bytes(const struct cma_engine *e);

/*
 * Host-physically contiguous runs of [host, host + len) from
 * /proc/self/pagemap: the largest run in bytes, or 0 when the frame
 * numbers are hidden (not root). @contiguous_2m counts 2 MiB pieces
 * (host huge pages, whatever the pageblock: from @host, which is 2 MiB
 * aligned) that are each contiguous.
 */
uint64_t cma_largest_contiguous_run(const uint8_t *host, uint64_t len, uint64_t *contiguous_2m);

#endif
