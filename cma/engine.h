/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host CMA engine: every guest pageblock of every pool, and what backs it.
 *
 * Owns: the pageblock map (per pageblock: unbacked, backed, reported free,
 * ballooned, or part of a committed DMA window), committing and releasing
 * windows at three levels, moving a pageblock onto new backing without the
 * guest losing a byte, and the rule that balloon and free page reporting
 * never discard a committed window. It knows guest RAM only as a host
 * mapping of a memfd; how the guest is paused is the caller's business
 * (struct cma_hooks), so the engine has no KVM in it and runs on fake
 * guest memory in tests.
 *
 * Levels of a window:
 *   resident    every page populated and locked (mlock)
 *   huge        each pageblock moved onto a host 2 MiB huge page (hugetlb),
 *               so each is host-physically contiguous and KVM can map it
 *               with one stage-2 block
 *   contiguous  the whole window on host-physically contiguous memory
 *               (1 GiB huge pages); refused with the reason when the host
 *               has none
 *
 * Not thread-safe by itself: the caller serialises engine calls (the VMM
 * makes them all on its event loop thread).
 */
#ifndef CMA_ENGINE_H
#define CMA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/pool.h"

#define CMA_PAGEBLOCK	(2ULL << 20) /* the guest's pageblock (4 KiB pages) */
#define CMA_PAGE	4096ULL
#define CMA_MAX_WINDOWS 16

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

/* Where a pageblock's host memory comes from. */
enum cma_backing {
	CMA_BACKING_MEMFD,    /* guest RAM's own memfd, at the block's offset */
	CMA_BACKING_HUGE,     /* a 2 MiB page of a window's hugetlb memfd */
	CMA_BACKING_GIGANTIC, /* part of a 1 GiB page */
};

struct cma_block {
	uint64_t gpa;
	enum cma_backing backing;
	int fd; /* CMA_BACKING_HUGE: the hugetlb file and offset */
	uint64_t fd_off;
	bool own_fd;		  /* @fd is this block's alone (after a migration) */
	int window;		  /* index into windows[], or -1 */
	bool locked;		  /* mlock()ed (resident level) */
	uint16_t reported_pages;  /* 4 KiB pages reported free since last backed */
	uint16_t ballooned_pages; /* 4 KiB pages now in the balloon */
};

struct cma_window {
	bool used;
	unsigned int id;
	unsigned int pool;
	uint64_t offset, length; /* within the pool, pageblock aligned */
	enum cma_level level;
	int huge_fd; /* hugetlb memfd behind a huge/contiguous window, or -1 */
	uint64_t huge_fd_size;
	uint64_t largest_run;	/* host-physically contiguous bytes, 0 if unknown */
	uint64_t contiguous_2m; /* 2 MiB pieces that are each one physical run */
	uint64_t commit_ns;	/* how long the last commit (or level change) took */
	bool verified;		/* largest_run measured from /proc/self/pagemap */
};

struct cma_engine_pool {
	struct pool_spec spec;
	uint64_t base; /* guest-physical */
	uint64_t size;
	size_t first_block; /* index into blocks[] */
	size_t nr_blocks;
};

struct cma_stats {
	uint64_t commits, releases, migrations, rollbacks;
	uint64_t refused_discards, refused_discard_bytes;
	uint64_t pauses, pause_ns_total, pause_ns_max, pause_ns_last;
};

/* What the engine asks of the VMM around a move. */
struct cma_hooks {
	void *opaque;
	/* Stop the vCPUs and device work; 0, or a negative errno. */
	int (*pause)(void *opaque);
	void (*resume)(void *opaque);
	/*
	 * A file of @size bytes to back a window: a hugetlb memfd of 2 MiB
	 * (@page_size = CMA_PAGEBLOCK) or 1 GiB pages. NULL: memfd_create
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

struct cma_engine {
	uint8_t *host; /* guest RAM's host mapping, 2 MiB aligned */
	uint64_t gpa;  /* guest-physical base of RAM */
	uint64_t size;
	int memfd;	  /* guest RAM's memfd */
	uint8_t *map_end; /* the engine may map up to here (a 1 GiB page may overhang RAM) */
	struct cma_hooks hooks;

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
	struct cma_stats stats;
	char error[256];	   /* why the last call failed */
	enum cma_error error_kind; /* what kind of failure @error is */
};

/* Set up the engine over guest RAM; pools are added with cma_engine_add_pool(). */
int cma_engine_init(struct cma_engine *e, uint8_t *host, uint64_t gpa, uint64_t size, int memfd,
		    const struct cma_hooks *hooks);
void cma_engine_destroy(struct cma_engine *e);
/* A pool placed at guest-physical @base; pageblock aligned. */
int cma_engine_add_pool(struct cma_engine *e, const struct pool_spec *spec, uint64_t base,
			uint64_t size);
int cma_engine_find_pool(const struct cma_engine *e, const char *name);

/* The state of block @i of pool @pool, measured (mincore) where it matters. */
enum cma_block_state cma_block_state(struct cma_engine *e, size_t pool, size_t i);
const char *cma_state_name(enum cma_block_state s);
char cma_state_letter(enum cma_block_state s); /* U B R L W, for maps */
const char *cma_level_name(enum cma_level level);
int cma_level_parse(const char *name, enum cma_level *level);
/* Bytes of @pool per state. */
void cma_pool_counts(struct cma_engine *e, size_t pool, uint64_t counts[CMA_NR_STATES]);

/*
 * Commit [offset, offset + length) of @pool at @level (length 0: to the
 * pool's end). A committed window with the same range changes level.
 * Returns the window index, or -1 with e->error saying why; a failure
 * midway rolls every pageblock back, contents intact.
 */
int cma_window_commit(struct cma_engine *e, size_t pool, uint64_t offset, uint64_t length,
		      enum cma_level level);
/* Back to ordinary lazy backing, contents intact. 0, or -1 with e->error. */
int cma_window_release(struct cma_engine *e, unsigned int id);
struct cma_window *cma_window_by_id(struct cma_engine *e, unsigned int id);
/* Measure @w's host-physical contiguity again (largest_run, contiguous_2m). */
void cma_window_measure(struct cma_engine *e, struct cma_window *w);

/*
 * Move the pageblock at guest-physical @gpa onto new host backing of the
 * same kind (new pages), contents intact. Returns 0 with the pause it took
 * in *@pause_ns, or -1 with e->error.
 */
int cma_migrate_block(struct cma_engine *e, uint64_t gpa, uint64_t *pause_ns);

/*
 * The balloon or free page reporting wants [gpa, gpa + len) discarded.
 * Discards what is outside committed windows (the host gets it back),
 * refuses and counts what is inside (its contents stay). Returns the bytes
 * refused.
 */
enum cma_discard_reason {
	CMA_DISCARD_BALLOON,
	CMA_DISCARD_REPORTED,
};
uint64_t cma_discard(struct cma_engine *e, uint64_t gpa, uint64_t len, enum cma_discard_reason why);
/* The balloon gave pages back to the guest (deflate). */
void cma_deflated(struct cma_engine *e, uint64_t gpa, uint64_t len);

/* Bytes of guest RAM backed by the host now (memfd blocks plus windows). */
uint64_t cma_resident_bytes(struct cma_engine *e);

/*
 * Host-physically contiguous runs of [host, host + len) from
 * /proc/self/pagemap: the largest run in bytes, or 0 when the frame
 * numbers are hidden (not root). @runs_2m counts 2 MiB-aligned pieces
 * that are each contiguous.
 */
uint64_t cma_largest_contiguous_run(const uint8_t *host, uint64_t len, uint64_t *contiguous_2m);

#endif
