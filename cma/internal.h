/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the cma/ sources (and to white-box checks in tests/unit/cma/): the
 * engine's records and what its files share. Callers outside cma/ use
 * cma/engine.h.
 *
 *   engine.c   create/destroy, pools, lookups, errors, accessors, names
 *   block.c    the pageblock record: every change of its state, reading it,
 *              the balloon and free page reporting bookkeeping
 *   backing.c  the files behind guest memory: make, map, punch
 *   move.c     moving guest memory onto new backing (populate, fence,
 *              write-protect or pause, copy, remap, roll back, punch)
 *   migrate.c  migrating one pageblock onto backing of its kind
 *   parallel.c a helper thread sharing a move's populate and copy
 *   uffd.c     userfaultfd write-protect for live moves
 *   window.c   committing, releasing and re-levelling windows; the 1 GiB page
 *   window_info.c  what a window reports: its contiguity, what its moves cost
 *   pagemap.c  measuring: resident bytes (mincore), contiguous runs (pagemap)
 *   region.c   a region for device buffers (cma/region.h), on backing.c's files
 */
#ifndef CMA_INTERNAL_H
#define CMA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/engine.h"

#define UFFD_WAITING_MAX 64 /* writers timed one by one; more share the last time */
#define GIGANTIC	 (1ULL << 30)
#define LIVE_RUN_DEFAULT (16ULL << 20) /* writers wait ~2 ms natively, its copy */

/* Where a pageblock's host memory comes from. */
enum cma_backing {
	CMA_BACKING_MEMFD,    /* guest RAM's own memfd, at the block's offset */
	CMA_BACKING_OWN,      /* a memfd of its own, ordinary pages (after a migration) */
	CMA_BACKING_HUGE,     /* pageblock / 2 MiB pages of a window's hugetlb memfd */
	CMA_BACKING_GIGANTIC, /* part of a 1 GiB page */
};

/*
 * Which 4 KiB pages of a pageblock are in the balloon, or reported free:
 * none (@count 0), all (@count the block's pages), or some, one bit a page
 * in @bits (NULL otherwise). A page counts once, however often it comes.
 */
struct page_set {
	uint32_t count; /* up to 131072: the 4 KiB pages of a 512 MiB pageblock */
	uint64_t *bits;
};

/* Written only by the block_set_*() / block_count_*() family (block.c). */
struct cma_block {
	uint64_t gpa;
	enum cma_backing backing;
	int fd; /* HUGE, OWN: the file and offset */
	uint64_t fd_off;
	bool own_fd;		   /* @fd is this block's alone (after a migration) */
	int window;		   /* index into windows[], or -1 */
	bool locked;		   /* mlock()ed (resident level) */
	struct page_set reported;  /* reported free, untouched since and not moved */
	struct page_set ballooned; /* now in the balloon */
};

struct cma_window {
	bool used;
	unsigned int id;
	unsigned int pool;
	uint64_t offset, length; /* within the pool, pageblock aligned */
	enum cma_level level;
	int huge_fd; /* hugetlb memfd behind a huge/contiguous window, or -1 */
	uint64_t huge_fd_size;
	uint64_t largest_run;	       /* host-physically contiguous bytes, 0 if unknown */
	uint64_t contiguous_2m;	       /* 2 MiB pieces that are each one physical run */
	bool verified;		       /* largest_run measured from /proc/self/pagemap */
	struct cma_window_moves moves; /* window_info.c counts them */
	enum cma_window_state state;
	uint64_t done_bytes; /* of a commit or release under way */
};

struct cma_engine_pool {
	struct pool_spec spec;
	uint64_t base; /* guest-physical */
	uint64_t size;
	size_t first_block; /* index into blocks[] */
	size_t nr_blocks;
};

/*
 * One lock, @lock, guards everything below that changes after the pools
 * are added. Every entry point takes it; a move lets go of it while it
 * populates, waits for device I/O, pauses the guest and copies (move.c,
 * window.c), so readers and the balloon go on meanwhile: the blocks it
 * moves are marked (@moving_lo, @moving_hi) and refuse discards, and
 * @busy keeps a second move out. What only the moving thread touches
 * (the userfaultfd bookkeeping, @error) needs no lock.
 */
struct cma_engine {
	pthread_mutex_t lock;
	bool busy;			/* a commit, release or migration is under way */
	uint8_t *moving_lo, *moving_hi; /* host range a move has unlocked, or NULL */
	int progress_slot;		/* the window whose commit or release runs, or -1 */
	uint8_t *host;			/* guest RAM's host mapping, 2 MiB aligned */
	uint64_t gpa;			/* guest-physical base of RAM */
	uint64_t size;
	int memfd;	  /* guest RAM's memfd */
	uint8_t *map_end; /* the engine may map up to here (a 1 GiB page may overhang RAM) */
	struct cma_hooks hooks;
	uint64_t pageblock; /* the guest's: blocks[] are of this size */

	size_t nr_pools;
	struct cma_engine_pool pools[POOL_MAX];
	size_t nr_blocks;
	struct cma_block *blocks;
	struct cma_window windows[CMA_MAX_WINDOWS];
	struct {
		int window;		   /* the window on a 1 GiB page, or -1 */
		uint8_t *span;		   /* its 1 GiB-aligned host span */
		uint64_t ram_gpa, ram_len; /* the guest RAM inside the span */
	} gigantic;
	unsigned int next_window_id;
	bool guest_stopped;	   /* before the guest's first instruction: no pause, no copy */
	int uffd;		   /* userfaultfd with write-protect, or -1 (uffd.c) */
	bool live;		   /* moves write-protect instead of pausing the guest */
	uint64_t live_run;	   /* asked for; live_run() is what a move uses */
	unsigned int threads;	   /* that populate and copy (parallel.c): 1 or 2 */
	struct cma_helper *helper; /* the second one, once started */
	char live_why[160];	   /* why not, when the kernel cannot */
	uint64_t protected_since, last_look; /* the range under write-protect now */
	size_t nr_waiting;		     /* writers seen waiting on it */
	uint64_t waiting_since[UFFD_WAITING_MAX];
	struct cma_stats stats;
	uint64_t op_pause_ns;	   /* the guest paused in the op under way (op_begin()) */
	int move_window;	   /* the window whose move runs: its pauses, stalls; or -1 */
	char error[256];	   /* why the last call failed */
	enum cma_error error_kind; /* what kind of failure @error is */
};

/* A file range that backs guest memory. */
struct backing {
	int fd;
	uint64_t off;
	uint64_t page_size; /* for messages: 4 KiB (memfd), 2 MiB or 1 GiB */
};

/* engine.c */
/* The engine's lock (const: it guards, it is not part of the state read). */
void engine_lock(const struct cma_engine *e);
void engine_unlock(const struct cma_engine *e);
/*
 * A commit, release or migration begins (0), or is refused because
 * another is under way (-1, CMA_ERR_CONFLICT); ends with op_end().
 */
int op_begin(struct cma_engine *e);
void op_end(struct cma_engine *e);
/* Set the error (of kind CMA_ERR_HOST, or @kind) and return -1. */
int cma_fail(struct cma_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cma_fail_as(struct cma_engine *e, enum cma_error kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define cma_conflict(e, ...) cma_fail_as(e, CMA_ERR_CONFLICT, __VA_ARGS__)
uint64_t now_ns(void);
int injected(struct cma_engine *e, enum cma_step step, size_t b);
int find_block(const struct cma_engine *e, uint64_t gpa);

/* Does a move now write-protect (only writers wait) rather than pause the guest? */
static inline bool move_is_live(const struct cma_engine *e)
{
	return e->live && !e->guest_stopped; /* live implies a userfaultfd */
}

/* 4 KiB pages in a pageblock: 512 to 131072. */
static inline size_t block_pages(const struct cma_engine *e)
{
	return (size_t)(e->pageblock / CMA_PAGE);
}

/* The longest run a live move protects at once: whole pageblocks, one at least. */
static inline uint64_t live_run(const struct cma_engine *e)
{
	uint64_t run = e->live_run & ~(e->pageblock - 1);

	return run ? run : e->pageblock;
}

static inline uint8_t *block_host(const struct cma_engine *e, size_t b)
{
	return e->host + (e->blocks[b].gpa - e->gpa);
}

static inline uint64_t block_memfd_off(const struct cma_engine *e, size_t b)
{
	return e->blocks[b].gpa - e->gpa;
}

/* Count a stall of @ns in @hist (CMA_HIST_BUCKETS buckets). */
void hist_add(uint64_t *hist, uint64_t ns);

/* block.c: the only writers of struct cma_block */
void block_init(struct cma_engine *e, size_t b, uint64_t gpa);
/* What the record holds beside itself (its page sets), freed. */
void block_fini(struct cma_engine *e, size_t b);
void block_set_backing(struct cma_engine *e, size_t b, enum cma_backing kind, int fd, uint64_t off,
		       bool own);
void block_keep_fd(struct cma_engine *e, size_t b);
void block_set_window(struct cma_engine *e, size_t b, int window);
void block_set_locked(struct cma_engine *e, size_t b, bool locked);
/* [gpa, gpa + len), inside block @b, is about to be discarded for @why. */
void block_count_discard(struct cma_engine *e, size_t b, uint64_t gpa, uint64_t len,
			 enum cma_discard_reason why);
/* [gpa, gpa + len), inside block @b, is out of the balloon. */
void block_count_deflate(struct cma_engine *e, size_t b, uint64_t gpa, uint64_t len);
struct backing block_backing(const struct cma_engine *e, size_t b);
struct backing memfd_backing(const struct cma_engine *e, size_t b);

/* backing.c */
/* Map [off, off + len) of @fd at @host in place of what is there; 0 or -errno. */
int map_over(uint8_t *host, uint64_t len, int fd, uint64_t off);
void punch(int fd, uint64_t off, uint64_t len);
/* What to tell a user whose host has no free page of @page_size. */
const char *no_memory_hint(uint64_t page_size);
/* A memfd of @size bytes: an fd, or a negative errno. */
int memfd_sized(const char *name, unsigned int flags, uint64_t size);
/* A hugetlb file of @size bytes on @page_size pages (or the alloc hook's). */
int alloc_backing(struct cma_engine *e, uint64_t size, uint64_t page_size);
uint64_t file_page_size(int fd);
/* What mmap() maps for @len bytes of @fd (whole huge pages of hugetlbfs). */
uint64_t mapped_len(int fd, uint64_t len);
/* Did a failed MAP_FIXED leave the old mapping at @host in place? */
bool still_mapped(uint8_t *host);
/* @len bytes of @fd mapped apart at a 2 MiB boundary, huge pages asked for; NULL. */
uint8_t *map_aligned(uint64_t len, int prot, int fd, uint64_t off);

/* move.c */
int pause_guest(struct cma_engine *e, uint64_t *t0);
void resume_guest(struct cma_engine *e, uint64_t t0);

/* One range of guest memory onto new backing (move.c). */
struct move {
	size_t b;	/* its first block: for fault injection and messages */
	size_t nblocks; /* blocks b, b + 1, ... it covers, for fault injection (0: 1) */
	size_t bad;	/* of those, the one a step failed at (messages name it) */
	uint8_t *host;	/* where the guest's memory is mapped */
	uint64_t len;
	struct backing from, to;
	uint8_t *view;	 /* @to, mapped and populated, while the move is prepared */
	uint64_t mapped; /* what mmap() mapped for @view */
	uint8_t *src;	 /* @from, mapped apart from the guest's mapping, or NULL */
};
size_t move_ranges(struct cma_engine *e, struct move *m, size_t n);
int move_range(struct cma_engine *e, size_t b, uint8_t *host, uint64_t len,
	       const struct backing *from, const struct backing *to);
/*
 * @done of @total bytes moved (without the lock): the window's progress,
 * and the progress hook when more than a pageblock moves.
 */
void report_progress(struct cma_engine *e, uint64_t done, uint64_t total);
size_t blocks_move(struct cma_engine *e, size_t first, size_t n, int fd, uint64_t off);
int block_to_huge(struct cma_engine *e, size_t b, int fd, uint64_t off, bool own);
int block_to_memfd(struct cma_engine *e, size_t b);
/* The move of block @b from its backing onto @to. */
struct move block_move(const struct cma_engine *e, size_t b, const struct backing *to);
/* The old backing of a move that took place: its pages freed. */
void free_old_backing(const struct move *m);

/* parallel.c */
/*
 * @fn(@arg, i) for each i in [0, n), on this thread and the engine's
 * helper thread (when it has two) at once; returns when all are done. The
 * moving thread only.
 */
void split_work(struct cma_engine *e, void (*fn)(void *arg, size_t i), void *arg, size_t n);
void helper_stop(struct cma_engine *e);
/* With a thread_start hook: the helper, made now by the creating thread. */
void helper_start_now(struct cma_engine *e);
/* 2 where the host has more than one CPU, else 1. */
unsigned int default_threads(void);

/* uffd.c */
/* A userfaultfd with write-protect for shmem and hugetlbfs, or -1 with @why. */
int uffd_open(char *why, size_t len);
/* Register for write-protect (once for many ranges), protect, or both. */
int uffd_register(struct cma_engine *e, uint8_t *host, uint64_t len);
void uffd_unregister(struct cma_engine *e, uint8_t *host, uint64_t len);
int uffd_wp(struct cma_engine *e, uint8_t *host, uint64_t len);
int uffd_protect(struct cma_engine *e, uint8_t *host, uint64_t len);
void uffd_note_writers(struct cma_engine *e);
void uffd_wake(struct cma_engine *e, uint8_t *host, uint64_t len);
void uffd_unprotect(struct cma_engine *e, uint8_t *host, uint64_t len);

/* window_info.c */
static inline size_t window_first_block(const struct cma_engine *e, const struct cma_window *w)
{
	return e->pools[w->pool].first_block + w->offset / e->pageblock;
}

/* Measure window @slot's host-physical contiguity again; committed windows only. */
void window_measure(struct cma_engine *e, int slot);
/* A pause, or a writer's stall, of @ns in the move under way (the lock held). */
void note_move_pause(struct cma_engine *e, uint64_t ns);
void note_move_stall(struct cma_engine *e, uint64_t ns);

/* pagemap.c */
uint64_t resident_pages(const uint8_t *host, uint64_t len);
/* Open /proc/self/pagemap for good, while cmavm may still open files. */
void pagemap_open(void);
/* Page frame numbers of @n pages at @host, 0 where hidden or absent; -1 if unreadable. */
int read_pfns(const uint8_t *host, size_t n, uint64_t *pfn);

#endif
