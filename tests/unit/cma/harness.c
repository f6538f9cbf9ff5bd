// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CMA engine tests' harness (harness.h): fake guest RAM and its shadow,
 * the hooks, fault injection, and the checks every test file shares.
 */
#include "tests/unit/cma/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t pb = CMA_PAGEBLOCK_4K;
struct pool_layout layout[NR_POOLS];

/* The pools, first pageblock and pageblocks each. */
static const struct {
	const char *name;
	unsigned int first, blocks;
} pools_in_blocks[NR_POOLS] = {
	[P_LOW] = { "low", 0, 8 },
	[P_CMA] = { "linux,cma", 8, 8 },
	[P_GPU] = { "gpu", 20, 4 },
};

/* The tests' pageblock is @bytes from now: the pools in bytes follow. */
static void set_pageblock(uint64_t bytes)
{
	pb = bytes;
	for (size_t i = 0; i < NR_POOLS; i++)
		layout[i] = (struct pool_layout){ pools_in_blocks[i].name,
						  pools_in_blocks[i].first * PB,
						  pools_in_blocks[i].blocks * PB };
}

/* ---- hooks ---- */

static int hook_pause(void *opaque)
{
	struct fx *f = opaque;

	f->pause_calls++;
	if (f->pause_err)
		return f->pause_err;
	if (f->pause_fail_from && f->pause_calls >= f->pause_fail_from)
		return -EAGAIN; /* device I/O in flight, as the VMM says */
	if (f->paused)
		f->violations++; /* nested pause */
	if (f->touch_on_pause) {
		*f->touch_on_pause = f->touch_value;
		f->touch_on_pause = NULL;
	}
	f->paused = true;
	f->pauses++;
	return 0;
}

static void hook_resume(void *opaque)
{
	struct fx *f = opaque;

	if (!f->paused)
		f->violations++; /* resume without pause */
	f->paused = false;
	f->resumes++;
}

static int hook_fence(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fx *f = opaque;

	if (f->paused)
		f->violations++; /* fenced before the pause, never inside it */
	f->fences++;
	f->fenced += f->fence_err ? 0 : 1;
	return f->fence_err;
}

static void hook_unfence(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fx *f = opaque;

	f->fenced--;
}

static int hook_alloc(void *opaque, uint64_t size, uint64_t page_size)
{
	struct fx *f = opaque;
	int fd;

	if (f->paused)
		f->violations++; /* allocating must not stall the guest */
	if (f->alloc_err)
		return f->alloc_err;
	fd = memfd_sized("cmatest-backing", MFD_CLOEXEC, size);
	if (fd < 0)
		return fd;
	f->allocs++;
	f->alloc_size = size;
	f->alloc_page = page_size;
	return fd;
}

static int hook_inject(void *opaque, int step, size_t block)
{
	struct fx *f = opaque;
	/* live moves pause nobody; the others copy and remap inside the pause */
	bool must_be_paused = !f->live && (step == CMA_STEP_COPY || step == CMA_STEP_REMAP);

	if (must_be_paused != f->paused)
		f->violations++; /* copy and remap inside the pause, the rest outside */
	if (step >= 0 && step < 4)
		f->steps[step]++;
	if (f->on_step)
		f->on_step(f, step, block);
	if (f->inj2_times && step == f->inj2_step && block == f->inj2_block) {
		if (f->inj2_skip) {
			f->inj2_skip--;
			return 0;
		}
		if (f->inj2_times > 0)
			f->inj2_times--;
		return f->inj2_err;
	}
	if (f->inj_times && step == f->inj_step && block == f->inj_block) {
		if (f->inj_skip) {
			f->inj_skip--;
			return 0;
		}
		if (f->inj_times > 0)
			f->inj_times--;
		f->inj_hits++;
		return f->inj_err;
	}
	return 0;
}

void inject(struct fx *f, int step, size_t block, int times, int err)
{
	f->inj_step = step;
	f->inj_block = block;
	f->inj_times = times;
	f->inj_err = err;
	f->inj_hits = 0;
	f->inj_skip = 0;
}

void inject2(struct fx *f, int step, size_t block, int skip, int err)
{
	f->inj2_step = step;
	f->inj2_block = block;
	f->inj2_times = err ? -1 : 0;
	f->inj2_err = err;
	f->inj2_skip = skip;
}

/* ---- /proc and friends ---- */

int find_vma(const void *addr, struct vma *v)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	int ret = -1;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		struct vma t = { 0 };

		if (sscanf(line, "%lx-%lx %7s %" SCNx64 " %*s %lu %255[^\n]", &t.start, &t.end,
			   t.perms, &t.off, &t.ino, t.path) < 5)
			continue;
		if ((uintptr_t)addr >= t.start && (uintptr_t)addr < t.end) {
			*v = t;
			ret = 0;
			break;
		}
	}
	fclose(fp);
	return ret;
}

/* Mappings of any backing file the hooks handed out. */
int backing_mappings(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, "cmatest-backing") != NULL;
	fclose(fp);
	return n;
}

/*
 * /proc/self/smaps as far as a range's end: the kernel walks every page of
 * every mapping it shows, which takes long over 1 GiB of guest RAM, so
 * checks of many pageblocks read it once (smaps_hold()).
 */
struct smaps_vma {
	unsigned long start, end, locked_kb;
	bool lo; /* VmFlags "lo": mlock()ed */
};
static struct {
	struct smaps_vma *v;
	size_t n;
	bool held;
} smaps;

static void smaps_read(const void *up_to)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	struct smaps_vma t;
	unsigned long kb;

	assert_non_null(fp);
	smaps.n = 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%lx ", &t.start, &t.end) == 2) {
			if (t.start >= (uintptr_t)up_to)
				break;
			smaps.v = realloc(smaps.v, (smaps.n + 1) * sizeof(*smaps.v));
			assert_non_null(smaps.v);
			smaps.v[smaps.n++] = (struct smaps_vma){ t.start, t.end, 0, false };
			continue;
		}
		if (!smaps.n)
			continue;
		if (sscanf(line, "Locked: %lu kB", &kb) == 1)
			smaps.v[smaps.n - 1].locked_kb = kb;
		if (!strncmp(line, "VmFlags:", 8))
			smaps.v[smaps.n - 1].lo = strstr(line, " lo") != NULL;
	}
	fclose(fp);
}

void smaps_hold(const void *up_to)
{
	smaps_read(up_to);
	smaps.held = true;
}

void smaps_release(void)
{
	smaps.held = false;
}

/* The smaps VMA holding @addr: locked (VmFlags "lo") and its Locked: kB. */
bool vma_locked(const void *addr, uint64_t *locked_kb)
{
	if (!smaps.held)
		smaps_read((const uint8_t *)addr + 1);
	*locked_kb = 0;
	for (size_t i = 0; i < smaps.n; i++) {
		if ((uintptr_t)addr >= smaps.v[i].start && (uintptr_t)addr < smaps.v[i].end) {
			*locked_kb = smaps.v[i].locked_kb;
			return smaps.v[i].lo;
		}
	}
	return false;
}

uint64_t vmlck_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long kb = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmLck: %lu kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* mlock() really locks (AddressSanitizer makes it a no-op). */
bool mlock_works(void)
{
	static int works = -1;
	void *p;

	if (works < 0) {
		uint64_t kb = vmlck_kb();

		p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		assert_true(p != MAP_FAILED);
		works = !mlock(p, 16 * PAGE) && vmlck_kb() >= kb + 16 * PAGE / 1024;
		munmap(p, 16 * PAGE);
		if (!works)
			print_message(
				"mlock() does not lock here (a sanitizer?): not checking locks\n");
	}
	return works;
}

/* Resident windows lock memory: skip a test the locked-memory limit is too low for. */
void need_memlock(uint64_t bytes)
{
	struct rlimit rl;

	if (geteuid() == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= bytes)
		return;
	print_message("RLIMIT_MEMLOCK is %llu KiB, this test locks %llu KiB: skipped\n",
		      (unsigned long long)rl.rlim_cur / 1024, (unsigned long long)bytes / 1024);
	skip();
}

int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

ino_t fd_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* Does @fd hold data (not a hole) anywhere in [off, off + len)? */
bool fd_has_data(int fd, uint64_t off, uint64_t len)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	return d >= 0 && (uint64_t)d < off + len;
}

size_t resident(const void *p, uint64_t len)
{
	unsigned char *vec = malloc(len / PAGE);
	size_t n = 0;

	assert_non_null(vec);
	assert_int_equal(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / PAGE; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

/* ---- guest memory and its shadow ---- */

uint8_t *hva(struct fx *f, uint64_t gpa)
{
	return f->host + (gpa - RAM_GPA);
}

static struct cma_pool_info pool(struct fx *f, size_t p)
{
	struct cma_pool_info info;

	assert_int_equal(cma_pool_info(f->e, p, &info), 0);
	return info;
}

uint64_t pgpa(struct fx *f, size_t p, size_t i)
{
	return pool(f, p).base + i * PB;
}

size_t pool_blocks(struct fx *f, size_t p)
{
	return pool(f, p).nr_blocks;
}

/* The engine's index of block @i of pool @p, as the inject hook sees it. */
size_t gblock(struct fx *f, size_t p, size_t i)
{
	return f->e->pools[p].first_block + i;
}

uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Random contents in every @stride-th page of the pageblock at @gpa. */
void fill_pages(struct fx *f, uint64_t gpa, unsigned int stride, uint64_t seed)
{
	for (uint64_t p = 0; p < PAGES; p += stride) {
		uint64_t *s = (uint64_t *)(f->shadow + (gpa - RAM_GPA) + p * PAGE);
		uint64_t x = seed ^ (gpa + p * PAGE);

		for (size_t w = 0; w < PAGE / 8; w++)
			s[w] = splitmix(&x);
		memcpy(hva(f, gpa + p * PAGE), s, PAGE);
	}
}

void expect_zero(struct fx *f, uint64_t gpa, uint64_t len)
{
	memset(f->shadow + (gpa - RAM_GPA), 0, len);
}

/*
 * Some pageblocks full, some partly touched, some never touched: in every
 * pool, and in RAM outside pools.
 */
void fill_standard(struct fx *f)
{
	static const unsigned int cma[8] = { 1, 3, 0, 1, 7, 0, 1, 2 };
	static const unsigned int gpu[4] = { 1, 0, 5, 1 };

	for (size_t i = 0; i < 8; i++)
		if (cma[i])
			fill_pages(f, pgpa(f, P_CMA, i), cma[i], 0xc0ffee);
	for (size_t i = 0; i < 4; i++)
		if (gpu[i])
			fill_pages(f, pgpa(f, P_GPU, i), gpu[i], 0x6e0);
	fill_pages(f, pgpa(f, P_LOW, 0), 1, 0x10);
	fill_pages(f, pgpa(f, P_LOW, 5), 4, 0x10);
	fill_pages(f, OUTSIDE_GPA, 1, 0x0ff);
	fill_pages(f, RAM_GPA + 25 * PB, 9, 0x0ff);
}

void check_ram_block(struct fx *f, size_t r)
{
	const uint8_t *m = f->host + r * PB, *s = f->shadow + r * PB;

	if (!memcmp(m, s, PB))
		return;
	for (size_t i = 0; i < PB; i++)
		if (m[i] != s[i])
			fail_msg("guest RAM at 0x%" PRIx64 " reads 0x%02x, want 0x%02x",
				 (uint64_t)(RAM_GPA + r * PB + i), m[i], s[i]);
}

/* Every pageblock of guest RAM reads as it must (never-touched ones as zeros). */
void check_all(struct fx *f)
{
	for (size_t r = 0; r < RAM_BLKS; r++)
		check_ram_block(f, r);
}

void check_hooks(struct fx *f)
{
	assert_int_equal(f->violations, 0);
	assert_false(f->paused);
	assert_int_equal(f->pauses, f->resumes);
	assert_int_equal(cma_engine_stats(f->e).pauses, (uint64_t)f->pauses);
}

/* ---- the engine's records ---- */

struct cma_block *blk(struct fx *f, size_t pool, size_t i)
{
	return &f->e->blocks[gblock(f, pool, i)];
}

int window_fd(struct fx *f, int w)
{
	return f->e->windows[w].huge_fd;
}

int gigantic_window(struct fx *f)
{
	return f->e->gigantic.window;
}

/* ---- where a pageblock lives ---- */

struct cma_window_info win(struct fx *f, int w)
{
	struct cma_window_info info;

	if (cma_window_info(f->e, w, &info))
		fail_msg("window %d is not committed", w);
	return info;
}

bool window_used(struct fx *f, int w)
{
	struct cma_window_info info;

	return !cma_window_info(f->e, w, &info);
}

void assert_maps(const uint8_t *addr, ino_t ino, uint64_t off)
{
	struct vma v;

	assert_int_equal(find_vma(addr, &v), 0);
	if (v.ino != ino || v.off + ((uintptr_t)addr - v.start) != off)
		fail_msg("%p maps inode %lu at 0x%" PRIx64 " (%s), want inode %lu at 0x%" PRIx64,
			 (const void *)addr, v.ino, v.off + ((uintptr_t)addr - v.start), v.path,
			 (unsigned long)ino, off);
	assert_string_equal(v.perms, "rw-s");
}

void assert_block_maps(struct fx *f, size_t pool, size_t i, ino_t ino, uint64_t off)
{
	uint8_t *h = hva(f, pgpa(f, pool, i));

	assert_maps(h, ino, off);
	assert_maps(h + PB - PAGE, ino, off + PB - PAGE);
}

void assert_unlocked(struct fx *f, size_t pool, size_t i)
{
	uint64_t kb;

	assert_false(blk(f, pool, i)->locked);
	assert_false(vma_locked(hva(f, pgpa(f, pool, i)), &kb));
}

/*
 * On ordinary pages, in no window, not locked: guest RAM's memfd, or a
 * memfd of its own where a migration put it.
 */
void assert_plain(struct fx *f, size_t pool, size_t i)
{
	struct cma_block *b = blk(f, pool, i);

	assert_int_equal(b->window, -1);
	assert_int_not_equal(cma_block_state(f->e, pool, i), CMA_WINDOW);
	if (b->backing == CMA_BACKING_OWN) {
		assert_true(b->own_fd);
		assert_block_maps(f, pool, i, fd_ino(b->fd), b->fd_off);
	} else {
		assert_int_equal(b->backing, CMA_BACKING_MEMFD);
		assert_false(b->own_fd);
		assert_block_maps(f, pool, i, f->ram_ino, pgpa(f, pool, i) - RAM_GPA);
	}
	assert_unlocked(f, pool, i);
}

/* Back on guest RAM's memfd itself. */
void assert_on_ram(struct fx *f, size_t pool, size_t i)
{
	assert_plain(f, pool, i);
	assert_int_equal(blk(f, pool, i)->backing, CMA_BACKING_MEMFD);
}

/* Descriptors the engine holds beyond what it held at setup: migrated blocks' own files. */
static int own_files(struct fx *f)
{
	int n = 0;

	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < pool_blocks(f, p); i++)
			n += blk(f, p, i)->backing == CMA_BACKING_OWN;
	return n;
}

/* Every pageblock of window @w is where its level says. */
void assert_window(struct fx *f, int w)
{
	struct cma_engine *e = f->e;
	struct cma_window_info info;
	int huge_fd = window_fd(f, w);
	uint64_t kb;

	assert_int_equal(cma_window_info(e, w, &info), 0);
	smaps_hold(f->host + RAM_SIZE);
	for (size_t i = 0; i < info.length / PB; i++) {
		size_t pi = info.offset / PB + i;
		struct cma_block *b = blk(f, info.pool, pi);
		uint8_t *h = hva(f, b->gpa);

		assert_int_equal(b->window, w);
		assert_int_equal(cma_block_state(e, info.pool, pi), CMA_WINDOW);
		assert_int_equal(resident(h, PB), PAGES);
		switch (info.level) {
		case CMA_RESIDENT: /* in place, or on its own memfd after a migration */
			if (b->backing == CMA_BACKING_OWN) {
				assert_block_maps(f, info.pool, pi, fd_ino(b->fd), b->fd_off);
			} else {
				assert_int_equal(b->backing, CMA_BACKING_MEMFD);
				assert_block_maps(f, info.pool, pi, f->ram_ino, b->gpa - RAM_GPA);
			}
			assert_true(b->locked);
			if (mlock_works()) {
				assert_true(vma_locked(h, &kb));
				assert_true(kb >= PB / 1024);
			}
			assert_int_equal(huge_fd, -1);
			break;
		case CMA_HUGE:
			assert_int_equal(b->backing, CMA_BACKING_HUGE);
			assert_true(b->fd >= 0);
			if (b->own_fd) {
				assert_int_not_equal(b->fd, huge_fd);
				assert_int_equal(b->fd_off, 0);
			} else {
				assert_int_equal(b->fd, huge_fd);
				assert_int_equal(b->fd_off, i * PB);
			}
			assert_block_maps(f, info.pool, pi, fd_ino(b->fd), b->fd_off);
			assert_false(b->locked);
			assert_false(vma_locked(h, &kb));
			break;
		case CMA_CONTIGUOUS:
			assert_int_equal(b->backing, CMA_BACKING_GIGANTIC);
			assert_int_equal(b->fd, huge_fd);
			assert_block_maps(f, info.pool, pi, fd_ino(huge_fd), b->fd_off);
			break;
		}
	}
	smaps_release();
}

int windows_used(struct fx *f)
{
	int n = 0;

	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		n += window_used(f, i);
	return n;
}

int commit_ok(struct fx *f, size_t pool, uint64_t off, uint64_t len, enum cma_level level)
{
	int w = cma_window_commit(f->e, pool, off, len, level);

	if (w < 0)
		fail_msg("commit %s +0x%" PRIx64 " 0x%" PRIx64 " %s: %s", layout[pool].name, off,
			 len, cma_level_name(level), cma_engine_error(f->e));
	assert_window(f, w);
	return w;
}

void release_ok(struct fx *f, int w)
{
	struct cma_window_info info = win(f, w);

	if (cma_window_release(f->e, info.id))
		fail_msg("release window %u: %s", info.id, cma_engine_error(f->e));
	assert_false(window_used(f, w));
	for (size_t i = 0; i < info.length / PB; i++)
		assert_plain(f, info.pool, info.offset / PB + i);
}

/* The call failed and said so, in words containing @what. */
void assert_error(struct fx *f, int ret, const char *what)
{
	assert_int_equal(ret, -1);
	if (!strstr(cma_engine_error(f->e), what))
		fail_msg("error \"%s\" does not say \"%s\"", cma_engine_error(f->e), what);
}

const char *gpa_str(uint64_t gpa)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, gpa);
	return buf;
}

/*
 * A huge commit over pageblocks 1..4 of the CMA pool failing at each step
 * (allocate, populate, copy, remap) of a pageblock at the start, middle and
 * end: rolled back every time, contents and records intact; a retry then
 * goes through.
 */
void rollback_each_step(struct fx *f)
{
	static const char *const what[] = {
		[CMA_STEP_ALLOC] = "getting new backing for",
		[CMA_STEP_POPULATE] = "populating new backing for",
		[CMA_STEP_COPY] = "onto new backing",
		[CMA_STEP_REMAP] = "onto new backing",
	};
	static const size_t at[] = { 0, 2, 3 }; /* of the 4 pageblocks 1..4 */
	struct cma_engine *e = f->e;

	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			size_t bad = 1 + at[k];
			uint64_t rollbacks = cma_engine_stats(e).rollbacks;
			uint64_t commits = cma_engine_stats(e).commits;
			int r;

			inject(f, step, gblock(f, P_CMA, bad), -1, -ENOMEM);
			r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
			assert_error(f, r, what[step]);
			assert_non_null(strstr(cma_engine_error(e), gpa_str(pgpa(f, P_CMA, bad))));
			assert_non_null(strstr(cma_engine_error(e), strerror(ENOMEM)));
			assert_int_equal(f->inj_hits, 1);
			inject(f, 0, 0, 0, 0);
			assert_int_equal(cma_engine_stats(e).rollbacks, rollbacks + 1);
			assert_int_equal(cma_engine_stats(e).commits, commits);
			for (size_t i = 0; i < 8; i++)
				assert_plain(f, P_CMA, i);
			check_all(f);
			assert_clean(f);
			if (k == 1) { /* and a retry goes through */
				int w = commit_ok(f, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);

				check_all(f);
				release_ok(f, w);
				check_all(f);
			}
		}
	}
}

/* ---- fixtures ---- */

struct cma_engine *new_engine(struct fx *f)
{
	const struct cma_hooks hooks = {
		.opaque = f,
		.pause = hook_pause,
		.resume = hook_resume,
		.alloc_backing = hook_alloc,
		.inject = hook_inject,
		.fence = hook_fence,
		.unfence = hook_unfence,
	};
	struct cma_engine *e =
		cma_engine_create(f->host, RAM_GPA, RAM_SIZE, f->memfd, f->map_end, &hooks);

	assert_non_null(e);
	assert_int_equal(cma_engine_set_pageblock(e, PB), 0);
	assert_int_equal(cma_engine_pageblock_size(e), PB);
	if (f->live && cma_engine_set_live(e, true)) {
		printf("skipped: %s\n", cma_engine_live_why(e));
		cma_engine_destroy(e);
		skip();
	}
	if (!f->live)
		assert_int_equal(cma_engine_set_live(e, false), 0);
	for (size_t i = 0; i < NR_POOLS; i++) {
		struct pool_spec spec = { .size = layout[i].size, .kind = POOL_CMA };

		snprintf(spec.name, sizeof(spec.name), "%s", layout[i].name);
		spec.is_default = i == P_CMA;
		assert_int_equal(
			cma_engine_add_pool(e, &spec, RAM_GPA + layout[i].off, layout[i].size), 0);
	}
	return e;
}

/*
 * Not 1 GiB aligned, so a contiguous commit fails for one reason, always
 * the same: RAM crosses no 1 GiB boundary, or where it must (1 GiB of it),
 * one between pools, at the end of P_LOW.
 */
static bool placed_apart(uintptr_t p)
{
	if (!(p % GiB))
		return false;
	if (RAM_SIZE < GiB)
		return p / GiB == (p + RAM_SIZE - 1) / GiB;
	return (p + layout[P_LOW].size) % GiB == 0;
}

/*
 * Guest RAM at a pageblock-aligned host address, placed apart (above);
 * @gig: 1 GiB aligned with address space to the next 1 GiB reserved, as
 * the VMM maps it.
 */
static int setup_ram(void **state, bool gig)
{
	struct fx *f = calloc(1, sizeof(*f));
	uintptr_t p, align;

	set_pageblock(*state ? *(const uint64_t *)*state : CMA_PAGEBLOCK_4K);
	smaps_release(); /* a failed check may have left it held */
	align = gig ? GiB : PB;
	assert_non_null(f);
	f->shadow = calloc(1, RAM_SIZE);
	assert_non_null(f->shadow);
	f->memfd = memfd_create("cmatest-ram", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, RAM_SIZE), 0);
	f->ram_ino = fd_ino(f->memfd);
	f->resv_size = (gig ? 2 * GiB : GiB + PB) + RAM_SIZE;
	f->resv = mmap(NULL, f->resv_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	assert_true(f->resv != MAP_FAILED);
	for (p = ((uintptr_t)f->resv + align - 1) & ~(align - 1);; p += align) {
		assert_true(p + GiB <= (uintptr_t)f->resv + f->resv_size || !gig);
		assert_true(p + RAM_SIZE <= (uintptr_t)f->resv + f->resv_size);
		if (gig || placed_apart(p))
			break;
	}
	f->host = mmap((void *)p, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       f->memfd, 0);
	assert_true(f->host == (uint8_t *)p);

	/* gig: guest_ram_map_end(); otherwise the engine's default, RAM's end */
	f->map_end = gig ? f->host + GiB : NULL;
	f->e = new_engine(f);
	f->base_fds = fd_count();
	f->base_vmlck = vmlck_kb();
	*state = f;
	return 0;
}

int setup(void **state)
{
	return setup_ram(state, false);
}

int setup_gig(void **state)
{
	return setup_ram(state, true);
}

int teardown(void **state)
{
	struct fx *f = *state;

	cma_engine_destroy(f->e);
	munmap(f->resv, f->resv_size);
	close(f->memfd);
	free(f->shadow);
	free(f);
	return 0;
}

/* Nothing left behind: no windows, fds, locks or backing mappings. */
void assert_clean(struct fx *f)
{
	check_hooks(f);
	assert_int_equal(windows_used(f), 0);
	assert_int_equal(fd_count(), f->base_fds + own_files(f));
	assert_int_equal(backing_mappings(), 0);
	assert_int_equal(vmlck_kb(), f->base_vmlck);
	smaps_hold(f->host + RAM_SIZE);
	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < pool_blocks(f, p); i++)
			assert_plain(f, p, i);
	smaps_release();
}

void prepare_process(void)
{
	struct rlimit rl;

	/* Exact residency counts: no transparent huge pages behind guest RAM. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	/* CMA_TEST_FILTER='*32M': the tests whose names match, alone */
	if (getenv("CMA_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CMA_TEST_FILTER"));
}
