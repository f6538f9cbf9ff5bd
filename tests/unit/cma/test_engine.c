// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host CMA engine (cma/engine.h) on fake guest memory: a memfd mapped
 * shared at a 2 MiB-aligned host address, as the VMM maps guest RAM, with
 * hooks that count pauses, hand out ordinary memfds as "huge" backing (no
 * hugetlb pages here; the engine's logic is the same) and inject failures.
 *
 * Every move is checked against a shadow copy of what guest RAM must read
 * as, by checksum per pageblock, and against /proc/self/maps (which file
 * backs each pageblock), /proc/self/smaps (locked or not) and mincore().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cma/engine.h"

#define MiB	 (1ULL << 20)
#define GiB	 (1ULL << 30)
#define PB	 CMA_PAGEBLOCK
#define PAGE	 CMA_PAGE
#define PAGES	 (CMA_PAGEBLOCK / CMA_PAGE)
#define RAM_GPA	 0x80000000ULL
#define RAM_SIZE (64 * MiB)
#define RAM_BLKS (RAM_SIZE / PB)

/* Three pools; guest RAM at +32..40 MiB and +48..64 MiB is in none. */
enum { P_LOW, P_CMA, P_GPU, NR_POOLS };
static const struct {
	const char *name;
	uint64_t off, size;
} layout[NR_POOLS] = {
	[P_LOW] = { "low", 0, 16 * MiB },
	[P_CMA] = { "linux,cma", 16 * MiB, 16 * MiB },
	[P_GPU] = { "gpu", 40 * MiB, 8 * MiB },
};

struct fx {
	int memfd;
	ino_t ram_ino;
	uint8_t *resv;
	size_t resv_size;
	uint8_t *host;
	uint8_t *shadow; /* what guest RAM must read as */
	struct cma_engine e;
	int base_fds;
	uint64_t base_vmlck;

	/* hooks */
	int pauses, resumes, violations;
	bool paused;
	int pause_err;
	int pause_calls, pause_fail_from; /* pause calls from this one on fail (0: none) */
	uint8_t *touch_on_pause;	  /* a "vCPU" writes here just as the pause begins */
	uint8_t touch_value;
	int alloc_err, allocs;
	uint64_t alloc_size, alloc_page;
	int inj_step;
	size_t inj_block;
	int inj_skip;  /* matches let through before failing */
	int inj_times; /* 0: off; -1: every time */
	int inj_err, inj_hits;
	int steps[4];
};

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

static int hook_alloc(void *opaque, uint64_t size, uint64_t page_size)
{
	struct fx *f = opaque;
	int fd, err;

	if (f->paused)
		f->violations++; /* allocating must not stall the guest */
	if (f->alloc_err)
		return f->alloc_err;
	fd = memfd_create("cmatest-backing", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		err = -errno;
		close(fd);
		return err;
	}
	f->allocs++;
	f->alloc_size = size;
	f->alloc_page = page_size;
	return fd;
}

static int hook_inject(void *opaque, int step, size_t block)
{
	struct fx *f = opaque;
	bool must_be_paused = step == CMA_STEP_COPY || step == CMA_STEP_REMAP;

	if (must_be_paused != f->paused)
		f->violations++; /* copy and remap inside the pause, the rest outside */
	if (step >= 0 && step < 4)
		f->steps[step]++;
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

static void inject(struct fx *f, int step, size_t block, int times, int err)
{
	f->inj_step = step;
	f->inj_block = block;
	f->inj_times = times;
	f->inj_err = err;
	f->inj_hits = 0;
	f->inj_skip = 0;
}

/* ---- /proc and friends ---- */

struct vma {
	unsigned long start, end, ino;
	uint64_t off;
	char perms[8];
	char path[256];
};

static int find_vma(const void *addr, struct vma *v)
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
static int backing_mappings(void)
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

/* The smaps VMA holding @addr: locked (VmFlags "lo") and its Locked: kB. */
static bool vma_locked(const void *addr, uint64_t *locked_kb)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, lo = false;
	unsigned long start, end, kb;

	assert_non_null(fp);
	*locked_kb = 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Locked: %lu kB", &kb) == 1)
			*locked_kb = kb;
		if (!strncmp(line, "VmFlags:", 8))
			lo = strstr(line, " lo") != NULL;
	}
	fclose(fp);
	return lo;
}

static uint64_t vmlck_kb(void)
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
static bool mlock_works(void)
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
static void need_memlock(uint64_t bytes)
{
	struct rlimit rl;

	if (geteuid() == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= bytes)
		return;
	print_message("RLIMIT_MEMLOCK is %llu KiB, this test locks %llu KiB: skipped\n",
		      (unsigned long long)rl.rlim_cur / 1024, (unsigned long long)bytes / 1024);
	skip();
}

static int fd_count(void)
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

static ino_t fd_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* Does @fd hold data (not a hole) anywhere in [off, off + len)? */
static bool fd_has_data(int fd, uint64_t off, uint64_t len)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	return d >= 0 && (uint64_t)d < off + len;
}

static size_t resident(const void *p, uint64_t len)
{
	unsigned char vec[PAGES];
	size_t n = 0;

	assert_true(len <= PB);
	assert_int_equal(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / PAGE; i++)
		n += vec[i] & 1;
	return n;
}

/* ---- guest memory and its shadow ---- */

static uint8_t *hva(struct fx *f, uint64_t gpa)
{
	return f->host + (gpa - RAM_GPA);
}

static uint64_t pgpa(struct fx *f, size_t pool, size_t i)
{
	return f->e.pools[pool].base + i * PB;
}

static size_t gblock(struct fx *f, size_t pool, size_t i)
{
	return f->e.pools[pool].first_block + i;
}

static struct cma_block *blk(struct fx *f, size_t pool, size_t i)
{
	return &f->e.blocks[gblock(f, pool, i)];
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Random contents in every @stride-th page of the pageblock at @gpa. */
static void fill_pages(struct fx *f, uint64_t gpa, unsigned int stride, uint64_t seed)
{
	for (uint64_t p = 0; p < PAGES; p += stride) {
		uint64_t *s = (uint64_t *)(f->shadow + (gpa - RAM_GPA) + p * PAGE);
		uint64_t x = seed ^ (gpa + p * PAGE);

		for (size_t w = 0; w < PAGE / 8; w++)
			s[w] = splitmix(&x);
		memcpy(hva(f, gpa + p * PAGE), s, PAGE);
	}
}

static void expect_zero(struct fx *f, uint64_t gpa, uint64_t len)
{
	memset(f->shadow + (gpa - RAM_GPA), 0, len);
}

/*
 * Some pageblocks full, some partly touched, some never touched: in every
 * pool, and in RAM outside pools.
 */
static void fill_standard(struct fx *f)
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
	fill_pages(f, RAM_GPA + 32 * MiB, 1, 0x0ff);
	fill_pages(f, RAM_GPA + 50 * MiB, 9, 0x0ff);
}

static uint64_t checksum(const uint8_t *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

static void check_ram_block(struct fx *f, size_t r)
{
	const uint8_t *m = f->host + r * PB, *s = f->shadow + r * PB;

	if (checksum(m, PB) == checksum(s, PB))
		return;
	for (size_t i = 0; i < PB; i++)
		if (m[i] != s[i])
			fail_msg("guest RAM at 0x%" PRIx64 " reads 0x%02x, want 0x%02x",
				 (uint64_t)(RAM_GPA + r * PB + i), m[i], s[i]);
}

/* Every pageblock of guest RAM reads as it must (never-touched ones as zeros). */
static void check_all(struct fx *f)
{
	for (size_t r = 0; r < RAM_BLKS; r++)
		check_ram_block(f, r);
}

static void check_hooks(struct fx *f)
{
	assert_int_equal(f->violations, 0);
	assert_false(f->paused);
	assert_int_equal(f->pauses, f->resumes);
	assert_int_equal(f->e.stats.pauses, (uint64_t)f->pauses);
}

/* ---- where a pageblock lives ---- */

static void assert_maps(const uint8_t *addr, ino_t ino, uint64_t off)
{
	struct vma v;

	assert_int_equal(find_vma(addr, &v), 0);
	if (v.ino != ino || v.off + ((uintptr_t)addr - v.start) != off)
		fail_msg("%p maps inode %lu at 0x%" PRIx64 " (%s), want inode %lu at 0x%" PRIx64,
			 (const void *)addr, v.ino, v.off + ((uintptr_t)addr - v.start), v.path,
			 (unsigned long)ino, off);
	assert_string_equal(v.perms, "rw-s");
}

static void assert_block_maps(struct fx *f, size_t pool, size_t i, ino_t ino, uint64_t off)
{
	uint8_t *h = hva(f, pgpa(f, pool, i));

	assert_maps(h, ino, off);
	assert_maps(h + PB - PAGE, ino, off + PB - PAGE);
}

static void assert_unlocked(struct fx *f, size_t pool, size_t i)
{
	uint64_t kb;

	assert_false(blk(f, pool, i)->locked);
	assert_false(vma_locked(hva(f, pgpa(f, pool, i)), &kb));
}

/* Back on guest RAM's memfd, in no window, not locked. */
static void assert_plain(struct fx *f, size_t pool, size_t i)
{
	struct cma_block *b = blk(f, pool, i);

	assert_int_equal(b->backing, CMA_BACKING_MEMFD);
	assert_int_equal(b->window, -1);
	assert_false(b->own_fd);
	assert_int_not_equal(cma_block_state(&f->e, pool, i), CMA_WINDOW);
	assert_block_maps(f, pool, i, f->ram_ino, pgpa(f, pool, i) - RAM_GPA);
	assert_unlocked(f, pool, i);
}

/* Every pageblock of window @w is where its level says. */
static void assert_window(struct fx *f, int w)
{
	struct cma_engine *e = &f->e;
	struct cma_window *win = &e->windows[w];
	uint64_t kb;

	assert_true(win->used);
	for (size_t i = 0; i < win->length / PB; i++) {
		size_t pi = win->offset / PB + i;
		struct cma_block *b = blk(f, win->pool, pi);
		uint8_t *h = hva(f, b->gpa);

		assert_int_equal(b->window, w);
		assert_int_equal(cma_block_state(e, win->pool, pi), CMA_WINDOW);
		assert_int_equal(resident(h, PB), PAGES);
		switch (win->level) {
		case CMA_RESIDENT:
			assert_int_equal(b->backing, CMA_BACKING_MEMFD);
			assert_block_maps(f, win->pool, pi, f->ram_ino, b->gpa - RAM_GPA);
			assert_true(b->locked);
			if (mlock_works()) {
				assert_true(vma_locked(h, &kb));
				assert_true(kb >= PB / 1024);
			}
			assert_int_equal(win->huge_fd, -1);
			break;
		case CMA_HUGE:
			assert_int_equal(b->backing, CMA_BACKING_HUGE);
			assert_true(b->fd >= 0);
			if (b->own_fd) {
				assert_int_not_equal(b->fd, win->huge_fd);
				assert_int_equal(b->fd_off, 0);
			} else {
				assert_int_equal(b->fd, win->huge_fd);
				assert_int_equal(b->fd_off, i * PB);
			}
			assert_block_maps(f, win->pool, pi, fd_ino(b->fd), b->fd_off);
			assert_false(b->locked);
			assert_false(vma_locked(h, &kb));
			break;
		case CMA_CONTIGUOUS:
			assert_int_equal(b->backing, CMA_BACKING_GIGANTIC);
			assert_int_equal(b->fd, win->huge_fd);
			assert_block_maps(f, win->pool, pi, fd_ino(win->huge_fd), b->fd_off);
			break;
		}
	}
}

static int windows_used(struct fx *f)
{
	int n = 0;

	for (int i = 0; i < CMA_MAX_WINDOWS; i++)
		n += f->e.windows[i].used;
	return n;
}

static int commit_ok(struct fx *f, size_t pool, uint64_t off, uint64_t len, enum cma_level level)
{
	int w = cma_window_commit(&f->e, pool, off, len, level);

	if (w < 0)
		fail_msg("commit %s +0x%" PRIx64 " 0x%" PRIx64 " %s: %s", layout[pool].name, off,
			 len, cma_level_name(level), f->e.error);
	assert_window(f, w);
	return w;
}

static void release_ok(struct fx *f, int w)
{
	struct cma_window win = f->e.windows[w];

	if (cma_window_release(&f->e, win.id))
		fail_msg("release window %u: %s", win.id, f->e.error);
	assert_false(f->e.windows[w].used);
	for (size_t i = 0; i < win.length / PB; i++)
		assert_plain(f, win.pool, win.offset / PB + i);
}

/* The call failed and said so, in words containing @what. */
static void assert_error(struct fx *f, int ret, const char *what)
{
	assert_int_equal(ret, -1);
	if (!strstr(f->e.error, what))
		fail_msg("error \"%s\" does not say \"%s\"", f->e.error, what);
}

static const char *gpa_str(uint64_t gpa)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, gpa);
	return buf;
}

/* ---- fixtures ---- */

static const struct cma_hooks hooks_template = {
	.pause = hook_pause,
	.resume = hook_resume,
	.alloc_backing = hook_alloc,
	.inject = hook_inject,
};

/*
 * Guest RAM at a 2 MiB-aligned host address that is not 1 GiB aligned and
 * whose 64 MiB do not cross a 1 GiB boundary (so a contiguous commit fails
 * for one reason, always the same); @gig: 1 GiB aligned with address space
 * to the next 1 GiB reserved, as the VMM maps it.
 */
static int setup_ram(void **state, bool gig)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cma_hooks hooks = hooks_template;
	uintptr_t p, align = gig ? GiB : PB;

	assert_non_null(f);
	f->shadow = calloc(1, RAM_SIZE);
	assert_non_null(f->shadow);
	f->memfd = memfd_create("cmatest-ram", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, RAM_SIZE), 0);
	f->ram_ino = fd_ino(f->memfd);
	f->resv_size = gig ? 2 * GiB + RAM_SIZE : 2 * RAM_SIZE + 4 * PB;
	f->resv = mmap(NULL, f->resv_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	assert_true(f->resv != MAP_FAILED);
	for (p = ((uintptr_t)f->resv + align - 1) & ~(align - 1);; p += align) {
		assert_true(p + GiB <= (uintptr_t)f->resv + f->resv_size || !gig);
		assert_true(p + RAM_SIZE <= (uintptr_t)f->resv + f->resv_size);
		if (gig || (p % GiB && p / GiB == (p + RAM_SIZE - 1) / GiB))
			break;
	}
	f->host = mmap((void *)p, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       f->memfd, 0);
	assert_true(f->host == (uint8_t *)p);

	hooks.opaque = f;
	assert_int_equal(cma_engine_init(&f->e, f->host, RAM_GPA, RAM_SIZE, f->memfd, &hooks), 0);
	if (gig)
		f->e.map_end = f->host + GiB; /* guest_ram_map_end() */
	for (size_t i = 0; i < NR_POOLS; i++) {
		struct pool_spec spec = { .size = layout[i].size, .kind = POOL_CMA };

		snprintf(spec.name, sizeof(spec.name), "%s", layout[i].name);
		spec.is_default = i == P_CMA;
		assert_int_equal(
			cma_engine_add_pool(&f->e, &spec, RAM_GPA + layout[i].off, layout[i].size),
			0);
	}
	f->base_fds = fd_count();
	f->base_vmlck = vmlck_kb();
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_ram(state, false);
}

static int setup_gig(void **state)
{
	return setup_ram(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cma_engine_destroy(&f->e);
	munmap(f->resv, f->resv_size);
	close(f->memfd);
	free(f->shadow);
	free(f);
	return 0;
}

/* Nothing left behind: no windows, fds, locks or backing mappings. */
static void assert_clean(struct fx *f)
{
	check_hooks(f);
	assert_int_equal(windows_used(f), 0);
	assert_int_equal(fd_count(), f->base_fds);
	assert_int_equal(backing_mappings(), 0);
	assert_int_equal(vmlck_kb(), f->base_vmlck);
	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < f->e.pools[p].nr_blocks; i++)
			assert_plain(f, p, i);
}

/* ---- tests ---- */

static void test_names(void **state)
{
	enum cma_level l;

	assert_string_equal(cma_state_name(CMA_REPORTED), "reported");
	assert_int_equal(cma_state_letter(CMA_BALLOONED), 'L');
	assert_int_equal(cma_state_letter(CMA_WINDOW), 'W');
	assert_string_equal(cma_level_name(CMA_HUGE), "huge");
	assert_int_equal(cma_level_parse("contiguous", &l), 0);
	assert_int_equal(l, CMA_CONTIGUOUS);
	assert_int_equal(cma_level_parse("gigantic", &l), -1);
}

static void test_states(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t counts[CMA_NR_STATES], want_counts[CMA_NR_STATES] = { 0 }, sum = 0;
	static const enum cma_block_state want[8] = {
		CMA_BACKED, CMA_BACKED, CMA_BALLOONED, CMA_REPORTED,
		CMA_WINDOW, CMA_WINDOW, CMA_REPORTED,  CMA_UNBACKED,
	};
	uint8_t page[PAGE];
	uint64_t g;
	int w;

	assert_int_equal(cma_engine_find_pool(e, "gpu"), P_GPU);
	assert_int_equal(cma_engine_find_pool(e, "nope"), -1);
	for (size_t p = 0; p < NR_POOLS; p++)
		for (size_t i = 0; i < e->pools[p].nr_blocks; i++)
			assert_int_equal(cma_block_state(e, p, i), CMA_UNBACKED);
	cma_pool_counts(e, P_CMA, counts);
	assert_int_equal(counts[CMA_UNBACKED], 16 * MiB);

	/* 0: one byte written */
	g = pgpa(f, P_CMA, 0);
	hva(f, g)[12345] = f->shadow[g - RAM_GPA + 12345] = 1;
	assert_int_equal(cma_block_state(e, P_CMA, 0), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), 1);

	/* 1: reported free as a whole: the host memory goes, it reads as zeros */
	g = pgpa(f, P_CMA, 1);
	fill_pages(f, g, 1, 1);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), PAGES);
	assert_int_equal(cma_discard(e, g, PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_REPORTED);
	assert_int_equal(resident(hva(f, g), PB), 0);
	assert_false(fd_has_data(f->memfd, g - RAM_GPA, PB));
	assert_int_equal(pread(f->memfd, page, PAGE, (off_t)(g - RAM_GPA + 7 * PAGE)), PAGE);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(page[i], 0);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_REPORTED);
	check_ram_block(f, (g - RAM_GPA) / PB);
	/* touched again */
	hva(f, g)[PB - 1] = f->shadow[g - RAM_GPA + PB - 1] = 0x77;
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);

	/* 3: reported in two halves: backed until the second half goes */
	g = pgpa(f, P_CMA, 3);
	fill_pages(f, g, 1, 3);
	assert_int_equal(cma_discard(e, g, PB / 2, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_BACKED);
	assert_int_equal(resident(hva(f, g), PB), PAGES / 2);
	assert_int_equal(cma_discard(e, g + PB / 2, PB / 2, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_REPORTED);

	/* 2: ballooned page by page, deflated, inflated again */
	g = pgpa(f, P_CMA, 2);
	fill_pages(f, g, 1, 2);
	for (size_t p = 0; p < PAGES; p++) {
		assert_int_equal(cma_discard(e, g + p * PAGE, PAGE, CMA_DISCARD_BALLOON), 0);
		if (p < PAGES - 1)
			assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BACKED);
	}
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BALLOONED);
	assert_int_equal(resident(hva(f, g), PB), 0);
	cma_deflated(e, g + 5 * PAGE, PAGE);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	cma_deflated(e, g, 5 * PAGE);
	cma_deflated(e, g + 6 * PAGE, PB - 6 * PAGE);
	assert_int_equal(blk(f, P_CMA, 2)->ballooned_pages, 0);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	fill_pages(f, g, 1, 2);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BACKED);
	for (size_t p = 0; p < PAGES; p++)
		assert_int_equal(cma_discard(e, g + p * PAGE, PAGE, CMA_DISCARD_BALLOON), 0);
	expect_zero(f, g, PB);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_BALLOONED);

	/* 4, 5: a committed window */
	w = commit_ok(f, P_CMA, 4 * PB, 2 * PB, CMA_HUGE);

	/* 6: reported; 7 never touched */
	g = pgpa(f, P_CMA, 6);
	fill_pages(f, g, 1, 6);
	assert_int_equal(cma_discard(e, g, PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, g, PB);

	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(cma_block_state(e, P_CMA, i), want[i]);
		want_counts[want[i]] += PB;
	}
	cma_pool_counts(e, P_CMA, counts);
	for (int s = 0; s < CMA_NR_STATES; s++) {
		assert_int_equal(counts[s], want_counts[s]);
		sum += counts[s];
	}
	assert_int_equal(sum, 16 * MiB);
	cma_pool_counts(e, P_GPU, counts);
	assert_int_equal(counts[CMA_UNBACKED], 8 * MiB);

	/* Released, the window's pageblocks are backed (their move populated them). */
	release_ok(f, w);
	assert_int_equal(cma_block_state(e, P_CMA, 4), CMA_BACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 5), CMA_BACKED);
	check_all(f);
	assert_clean(f);
}

/* Contents stay through every kind of move; never-touched memory reads as zeros. */
static void test_every_move(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t pause_ns = 0, kb;
	int w1, w2, fd, r, before;
	ino_t ino;

	need_memlock(8 * MiB);
	fill_standard(f);
	assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 5), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_GPU, 1), CMA_UNBACKED);
	assert_int_equal(cma_block_state(e, P_CMA, 1), CMA_BACKED);
	check_all(f);

	/* resident: populated and locked */
	w1 = commit_ok(f, P_CMA, 2 * PB, 6 * MiB, CMA_RESIDENT);
	assert_int_equal(e->windows[w1].level, CMA_RESIDENT);
	if (mlock_works())
		assert_true(vmlck_kb() >= f->base_vmlck + 6 * MiB / 1024);
	check_all(f);

	/* huge: onto the alloc_backing file; guest RAM's memfd gives its pages back */
	before = f->allocs;
	w2 = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	assert_int_equal(f->allocs, before + 1);
	assert_int_equal(f->alloc_size, 8 * MiB);
	assert_int_equal(f->alloc_page, PB);
	assert_int_equal(e->windows[w2].length, 8 * MiB);
	assert_false(fd_has_data(f->memfd, layout[P_GPU].off, layout[P_GPU].size));
	check_all(f);

	/*
	 * resident -> huge -> resident, and huge -> resident -> huge (in an
	 * order that never locks more than 8 MiB, a common RLIMIT_MEMLOCK)
	 */
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_HUGE), w1);
	assert_window(f, w1);
	assert_false(fd_has_data(f->memfd, layout[P_CMA].off + 2 * PB, 3 * PB));
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_GPU, 0, 8 * MiB, CMA_RESIDENT), w2);
	assert_window(f, w2);
	assert_int_equal(e->windows[w2].level, CMA_RESIDENT);
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_GPU, 0, 0, CMA_HUGE), w2);
	assert_window(f, w2);
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_RESIDENT), w1);
	assert_window(f, w1);
	check_all(f);
	/* the same level again: nothing moves */
	before = f->pauses;
	assert_int_equal(cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_RESIDENT), w1);
	assert_int_equal(f->pauses, before);

	/* migrate a memfd pageblock outside windows, and one in the resident window */
	before = f->pauses;
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 7) + 12345, &pause_ns), 0);
	assert_int_equal(f->pauses, before + 1);
	assert_int_equal(pause_ns, e->stats.pause_ns_last);
	assert_plain(f, P_CMA, 7);
	check_all(f);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 3), NULL), 0);
	assert_window(f, w1);
	check_all(f);

	/* migrate a huge pageblock: onto a file of its own; its old page is freed */
	assert_true(fd_has_data(e->windows[w2].huge_fd, 1 * PB, PB));
	ino = fd_ino(blk(f, P_GPU, 1)->fd);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 1), &pause_ns), 0);
	assert_true(blk(f, P_GPU, 1)->own_fd);
	assert_int_not_equal(fd_ino(blk(f, P_GPU, 1)->fd), ino);
	assert_int_equal(f->alloc_size, PB);
	assert_false(fd_has_data(e->windows[w2].huge_fd, 1 * PB, PB));
	assert_window(f, w2);
	check_all(f);
	/* again: the file it had is closed */
	fd = blk(f, P_GPU, 1)->fd;
	before = fd_count();
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 1), NULL), 0);
	assert_int_equal(fd_count(), before);
	assert_int_equal(fcntl(fd, F_GETFD) == -1 || blk(f, P_GPU, 1)->fd == fd, true);
	assert_window(f, w2);
	check_all(f);
	assert_int_equal(e->stats.migrations, 4);

	/* contiguous: no 1 GiB alignment, no 1 GiB page; refused with the reason */
	before = f->pauses;
	r = cma_window_commit(e, P_CMA, 12 * MiB, 4 * MiB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB");
	assert_non_null(strstr(e->error, "not 1 GiB aligned"));
	assert_int_equal(windows_used(f), 2);
	assert_plain(f, P_CMA, 6);
	assert_plain(f, P_CMA, 7);
	assert_int_equal(f->pauses, before);
	check_all(f);
	/* ... and as a level change, the window keeps its level */
	r = cma_window_commit(e, P_CMA, 2 * PB, 3 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB");
	assert_int_equal(e->windows[w1].level, CMA_RESIDENT);
	assert_window(f, w1);
	check_all(f);

	/* release: back to lazy memfd backing */
	release_ok(f, w1);
	check_all(f);
	release_ok(f, w2);
	check_all(f);
	assert_false(vma_locked(hva(f, pgpa(f, P_CMA, 3)), &kb));
	assert_int_equal(e->stats.releases, 2);
	assert_clean(f);
}

/* A memfd migration keeps exactly the pages that were there, and nothing else. */
static void test_migrate(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t g = pgpa(f, P_CMA, 4); /* every 7th page touched */
	unsigned char before[PAGES], after[PAGES];
	uint8_t *race;
	int w, r;
	ino_t ino;

	fill_standard(f);
	assert_int_equal(mincore(hva(f, g), PB, before), 0);
	assert_int_equal(resident(hva(f, g), PB), (PAGES + 6) / 7);
	assert_int_equal(cma_migrate_block(e, g, NULL), 0);
	assert_int_equal(mincore(hva(f, g), PB, after), 0);
	for (size_t i = 0; i < PAGES; i++)
		assert_int_equal(before[i] & 1, after[i] & 1);
	check_ram_block(f, (g - RAM_GPA) / PB);
	check_hooks(f);

	/*
	 * A vCPU writes a never-touched page in the instant before the pause
	 * takes hold: the write must survive the migration.
	 */
	g = pgpa(f, P_CMA, 1); /* every 3rd page touched */
	race = hva(f, g + 4 * PAGE + 99);
	assert_int_equal(resident(hva(f, g + 4 * PAGE), PAGE), 0);
	f->touch_on_pause = race;
	f->touch_value = 0xa5;
	f->shadow[g - RAM_GPA + 4 * PAGE + 99] = 0xa5;
	assert_int_equal(cma_migrate_block(e, g, NULL), 0);
	assert_null(f->touch_on_pause);
	check_ram_block(f, (g - RAM_GPA) / PB);
	check_hooks(f);

	/* a failure while paused: nothing lost */
	g = pgpa(f, P_CMA, 7);
	inject(f, CMA_STEP_REMAP, gblock(f, P_CMA, 7), -1, -EIO);
	r = cma_migrate_block(e, g, NULL);
	assert_error(f, r, gpa_str(g));
	assert_non_null(strstr(e->error, "Input/output error"));
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	check_all(f);
	check_hooks(f);

	/* the pause does not come (a disk request in flight) */
	f->pause_err = -EBUSY;
	r = cma_migrate_block(e, g, NULL);
	assert_error(f, r, "could not pause the guest");
	assert_non_null(strstr(e->error, strerror(EBUSY)));
	f->pause_err = 0;
	check_all(f);
	check_hooks(f);

	/* a huge pageblock whose move fails stays on its page */
	w = commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	ino = fd_ino(e->windows[w].huge_fd);
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		int fds = fd_count();

		inject(f, step, gblock(f, P_GPU, 2), -1, -ENOMEM);
		r = cma_migrate_block(e, pgpa(f, P_GPU, 2), NULL);
		assert_error(f, r, gpa_str(pgpa(f, P_GPU, 2)));
		assert_int_equal(f->inj_hits, 1);
		assert_int_equal(fd_count(), fds);
		assert_false(blk(f, P_GPU, 2)->own_fd);
		assert_block_maps(f, P_GPU, 2, ino, 2 * PB);
		assert_window(f, w);
		check_all(f);
		check_hooks(f);
	}
	inject(f, 0, 0, 0, 0);
	f->alloc_err = -ENOMEM;
	r = cma_migrate_block(e, pgpa(f, P_GPU, 2), NULL);
	assert_error(f, r, "huge page");
	f->alloc_err = 0;
	assert_window(f, w);
	assert_int_equal(e->stats.migrations, 2);

	/* not in a pool */
	r = cma_migrate_block(e, RAM_GPA + 32 * MiB, NULL);
	assert_error(f, r, "is not in a pool");
	assert_non_null(strstr(e->error, gpa_str(RAM_GPA + 32 * MiB)));
	r = cma_migrate_block(e, 0x1000, NULL);
	assert_error(f, r, "is not in a pool");
	r = cma_migrate_block(e, RAM_GPA + RAM_SIZE, NULL);
	assert_error(f, r, "is not in a pool");

	release_ok(f, w);
	check_all(f);
	assert_clean(f);
}

/* A huge commit failing at any step of any pageblock puts everything back. */
static void test_rollback_huge(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	static const char *const what[] = {
		[CMA_STEP_ALLOC] = "getting new backing for",
		[CMA_STEP_POPULATE] = "populating new backing for",
		[CMA_STEP_COPY] = "onto new backing",
		[CMA_STEP_REMAP] = "onto new backing",
	};
	static const size_t at[] = { 0, 2, 3 }; /* of the 4 pageblocks 1..4 */
	uint64_t rollbacks, commits;
	int r;

	fill_standard(f);
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			size_t bad = 1 + at[k];

			rollbacks = e->stats.rollbacks;
			commits = e->stats.commits;
			inject(f, step, gblock(f, P_CMA, bad), -1, -ENOMEM);
			r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
			assert_error(f, r, what[step]);
			assert_non_null(strstr(e->error, gpa_str(pgpa(f, P_CMA, bad))));
			assert_non_null(strstr(e->error, strerror(ENOMEM)));
			assert_int_equal(f->inj_hits, 1);
			inject(f, 0, 0, 0, 0);
			assert_int_equal(e->stats.rollbacks, rollbacks + 1);
			assert_int_equal(e->stats.commits, commits);
			for (size_t i = 0; i < 8; i++)
				assert_plain(f, P_CMA, i);
			check_all(f);
			assert_clean(f);
			/* and a retry goes through */
			if (k == 1) {
				int w = commit_ok(f, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);

				check_all(f);
				release_ok(f, w);
				check_all(f);
			}
		}
	}

	/* no backing file at all */
	f->alloc_err = -ENOMEM;
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "hugetlb");
	assert_non_null(strstr(e->error, strerror(ENOMEM)));
	f->alloc_err = 0;
	check_all(f);
	assert_clean(f);

	/* the pause does not come */
	f->pause_err = -EBUSY;
	rollbacks = e->stats.rollbacks;
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "could not pause the guest");
	f->pause_err = 0;
	assert_int_equal(e->stats.rollbacks, rollbacks + 1);
	check_all(f);
	assert_clean(f);
}

/*
 * The pause stops coming midway through a commit and does not come back
 * for the rollback either (device I/O in flight): the pageblocks already
 * moved must stay usable, and the engine must never touch a file it does
 * not hold.
 */
static void test_rollback_incomplete(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint8_t *want = malloc(2 * PB), *got = malloc(2 * PB);
	uint64_t x = 42;
	int r, canary;

	assert_non_null(want);
	assert_non_null(got);
	fill_standard(f);
	f->pause_fail_from = f->pause_calls + 3; /* pageblocks 1 and 2 move, then no more pauses */
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_HUGE);
	assert_error(f, r, "could not pause the guest");
	f->pause_fail_from = 0;
	check_all(f);
	check_hooks(f);
	assert_int_equal(windows_used(f), 0);

	/* A file opened now (a disk image, say) gets the lowest free descriptor. */
	canary = memfd_create("cmatest-canary", MFD_CLOEXEC);
	assert_true(canary >= 0);
	for (size_t i = 0; i < 2 * PB / 8; i++)
		((uint64_t *)want)[i] = splitmix(&x);
	assert_int_equal(pwrite(canary, want, 2 * PB, 0), (ssize_t)(2 * PB));

	/* The stranded pageblocks are still guest memory: kept, movable. */
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 1), 2 * PB, CMA_DISCARD_BALLOON), 2 * PB);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_CMA, 1), NULL), 0);
	check_all(f);
	assert_int_equal(pread(canary, got, 2 * PB, 0), (ssize_t)(2 * PB));
	if (memcmp(got, want, 2 * PB))
		fail_msg("the engine punched a file it does not hold (fd %d)", canary);

	for (size_t i = 1; i <= 2; i++) {
		struct cma_block *b = blk(f, P_CMA, i);

		assert_int_equal(b->backing, CMA_BACKING_HUGE);
		assert_int_equal(b->window, -1);
		assert_true(b->own_fd);
		assert_int_not_equal(b->fd, canary);
		assert_int_not_equal(fcntl(b->fd, F_GETFD), -1);
		assert_block_maps(f, P_CMA, i, fd_ino(b->fd), b->fd_off);
	}
	assert_plain(f, P_CMA, 3);
	assert_plain(f, P_CMA, 4);

	/* Committed over and released, everything is back on the memfd. */
	release_ok(f, commit_ok(f, P_CMA, 1 * PB, 2 * PB, CMA_HUGE));
	assert_int_equal(pread(canary, got, 2 * PB, 0), (ssize_t)(2 * PB));
	assert_memory_equal(got, want, 2 * PB);
	close(canary);
	free(want);
	free(got);
	check_all(f);
	assert_clean(f);
}

/* A resident commit failing midway unlocks what it locked. */
static void test_rollback_resident(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t rollbacks = e->stats.rollbacks;
	int r;

	need_memlock(4 * MiB);
	fill_standard(f);
	inject(f, CMA_STEP_POPULATE, gblock(f, P_CMA, 3), -1, -ENOMEM);
	r = cma_window_commit(e, P_CMA, 1 * PB, 4 * PB, CMA_RESIDENT);
	assert_error(f, r, "populating");
	assert_non_null(strstr(e->error, gpa_str(pgpa(f, P_CMA, 3))));
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	assert_int_equal(e->stats.rollbacks, rollbacks + 1);
	assert_int_equal(e->stats.commits, 0);
	for (size_t i = 0; i < 8; i++)
		assert_plain(f, P_CMA, i);
	assert_int_equal(vmlck_kb(), f->base_vmlck);
	check_all(f);
	assert_clean(f);
}

/*
 * Over the locked-memory limit a resident commit fails at the pageblock that
 * does not fit, says what to do, and unlocks the rest. Returns 0, or the
 * number of the check that failed (this runs in a child when we are root).
 */
static int memlock_limit_case(struct fx *f)
{
	struct cma_engine *e = &f->e;
	struct rlimit rl, low;
	uint64_t kb, rollbacks = e->stats.rollbacks;
	int r, ret = 0;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return 1;
	low = rl;
	low.rlim_cur = PB + PB / 2;
	if (setrlimit(RLIMIT_MEMLOCK, &low))
		return 2;
	r = cma_window_commit(e, P_CMA, 0, 2 * PB, CMA_RESIDENT);
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (r != -1)
		ret = 3;
	else if (!strstr(e->error, "the locked-memory limit is 3072 KiB") ||
		 !strstr(e->error, gpa_str(pgpa(f, P_CMA, 1))))
		ret = 4;
	else if (blk(f, P_CMA, 0)->locked || vma_locked(hva(f, pgpa(f, P_CMA, 0)), &kb))
		ret = 5;
	else if (e->stats.rollbacks != rollbacks + 1 || windows_used(f))
		ret = 6;
	else if (vmlck_kb() != 0)
		ret = 7;
	if (ret)
		print_message("memlock case %d: %s\n", ret, e->error);
	return ret;
}

static void test_memlock_limit(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status;

	if (!mlock_works())
		skip();
	fill_standard(f);
	if (geteuid() != 0) {
		assert_int_equal(memlock_limit_case(f), 0);
	} else {
		/* root has CAP_IPC_LOCK, which ignores the limit: a child without it */
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(100);
			_exit(memlock_limit_case(f));
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	check_all(f);
	assert_clean(f);
}

/* A level change that fails keeps the old level, contents intact. */
static void test_level_change_failure(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	size_t mid = gblock(f, P_CMA, 2);
	uint64_t rollbacks;
	unsigned int id;
	int w, r;

	need_memlock(6 * MiB);
	fill_standard(f);

	/* resident -> huge fails at a copy: resident again, locked */
	w = commit_ok(f, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	id = e->windows[w].id;
	rollbacks = e->stats.rollbacks;
	inject(f, CMA_STEP_COPY, mid, -1, -EFAULT);
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_HUGE);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	assert_non_null(strstr(e->error, strerror(EFAULT)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(e->stats.rollbacks, rollbacks + 1);
	assert_true(cma_window_by_id(e, id) == &e->windows[w]);
	assert_int_equal(e->windows[w].level, CMA_RESIDENT);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails once while locking: back on huge pages */
	assert_int_equal(cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_HUGE), w);
	assert_window(f, w);
	inject(f, CMA_STEP_POPULATE, mid, 1, -ENOMEM);
	f->inj_skip = 1; /* leaving the huge page populates the memfd first */
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "populating");
	assert_int_equal(f->inj_hits, 1);
	inject(f, 0, 0, 0, 0);
	assert_int_equal(e->windows[w].level, CMA_HUGE);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails while leaving the huge pages: still huge */
	inject(f, CMA_STEP_REMAP, mid, 1, -EIO);
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(e->windows[w].level, CMA_HUGE);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* huge -> resident fails, and so does going back: released, says so */
	inject(f, CMA_STEP_POPULATE, mid, -1, -ENOMEM);
	f->inj_skip = 1;
	r = cma_window_commit(e, P_CMA, 1 * PB, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "it is released");
	inject(f, 0, 0, 0, 0);
	assert_null(cma_window_by_id(e, id));
	check_all(f);
	assert_clean(f);
	/* discards work there again */
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 2), PB, CMA_DISCARD_REPORTED), 0);
	expect_zero(f, pgpa(f, P_CMA, 2), PB);
	check_all(f);
}

/*
 * A release that fails midway puts back what it can and keeps the window
 * (still refusing discards); a retry finishes it.
 */
static void test_release_failure(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	size_t mid = gblock(f, P_CMA, 2);
	unsigned int id;
	int w, r;

	fill_standard(f);
	w = commit_ok(f, P_CMA, 1 * PB, 3 * PB, CMA_HUGE);
	id = e->windows[w].id;
	inject(f, CMA_STEP_COPY, mid, 1, -EIO);
	r = cma_window_release(e, id);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 2)));
	inject(f, 0, 0, 0, 0);
	assert_true(cma_window_by_id(e, id) == &e->windows[w]);
	assert_int_equal(e->stats.releases, 0);
	assert_int_equal(blk(f, P_CMA, 2)->backing, CMA_BACKING_HUGE);
	assert_block_maps(f, P_CMA, 2, fd_ino(e->windows[w].huge_fd), 1 * PB);
	for (size_t i = 1; i <= 3; i++)
		assert_int_equal(cma_block_state(e, P_CMA, i), CMA_WINDOW);
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 1), 3 * PB, CMA_DISCARD_BALLOON), 3 * PB);
	check_all(f);
	check_hooks(f);

	release_ok(f, w);
	assert_int_equal(e->stats.releases, 1);
	check_all(f);
	assert_clean(f);
}

/* Destroying the engine with windows committed closes every file it holds. */
static void test_destroy(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	struct cma_hooks hooks = e->hooks;

	need_memlock(2 * MiB);
	fill_standard(f);
	commit_ok(f, P_GPU, 0, 0, CMA_HUGE);
	commit_ok(f, P_CMA, 0, PB, CMA_RESIDENT);
	assert_int_equal(cma_migrate_block(e, pgpa(f, P_GPU, 3), NULL), 0);
	assert_int_equal(fd_count(), f->base_fds + 2);
	cma_engine_destroy(e);
	assert_int_equal(fd_count(), f->base_fds);
	assert_null(e->blocks);
	/* the mappings stay: guest RAM still reads right */
	check_all(f);
	/* a fresh engine for teardown */
	cma_engine_init(e, f->host, RAM_GPA, RAM_SIZE, f->memfd, &hooks);
}

/* Balloon and free page reporting never take a committed window's memory. */
static void test_refused_discards(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t g1 = pgpa(f, P_CMA, 1), g4 = pgpa(f, P_CMA, 4);
	int w;

	need_memlock(4 * MiB);
	fill_standard(f);
	for (int level = CMA_RESIDENT; level <= CMA_HUGE; level++) {
		uint64_t n = e->stats.refused_discards, bytes = e->stats.refused_discard_bytes;

		/* refill what the last round dropped */
		fill_pages(f, g1, 1, 11);
		fill_pages(f, g4, 1, 44);
		w = commit_ok(f, P_CMA, 2 * PB, 2 * PB, (enum cma_level)level);

		/* half of pageblock 1, the window (2, 3), half of pageblock 4 */
		assert_int_equal(cma_discard(e, g1 + PB / 2, 3 * PB, CMA_DISCARD_REPORTED), 2 * PB);
		expect_zero(f, g1 + PB / 2, PB / 2);
		expect_zero(f, g4, PB / 2);
		assert_int_equal(e->stats.refused_discards, n + 1);
		assert_int_equal(e->stats.refused_discard_bytes, bytes + 2 * PB);
		assert_window(f, w);
		check_all(f);

		/* the balloon, page by page inside the window */
		for (size_t p = 0; p < PAGES; p += 64)
			assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 3) + p * PAGE, PAGE,
						     CMA_DISCARD_BALLOON),
					 PAGE);
		assert_int_equal(blk(f, P_CMA, 3)->ballooned_pages, 0);
		assert_int_equal(e->stats.refused_discards, n + 1 + PAGES / 64);
		assert_int_equal(e->stats.refused_discard_bytes,
				 bytes + 2 * PB + PAGES / 64 * PAGE);
		assert_window(f, w);
		check_all(f);

		/* outside any window, nothing is refused or counted */
		assert_int_equal(cma_discard(e, RAM_GPA + 32 * MiB, PB, CMA_DISCARD_BALLOON), 0);
		expect_zero(f, RAM_GPA + 32 * MiB, PB);
		assert_int_equal(e->stats.refused_discards, n + 1 + PAGES / 64);
		check_all(f);

		/* released: discards work again */
		release_ok(f, w);
		assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 2), 2 * PB, CMA_DISCARD_REPORTED),
				 0);
		expect_zero(f, pgpa(f, P_CMA, 2), 2 * PB);
		assert_int_equal(cma_block_state(e, P_CMA, 2), CMA_REPORTED);
		assert_int_equal(cma_block_state(e, P_CMA, 3), CMA_REPORTED);
		check_all(f);
		fill_pages(f, pgpa(f, P_CMA, 2), 1, 22);
		fill_pages(f, pgpa(f, P_CMA, 3), 2, 33);
	}

	/* not (all) guest RAM: the caller's business, nothing discarded */
	assert_int_equal(cma_discard(e, RAM_GPA + RAM_SIZE - PB, 2 * PB, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_discard(e, RAM_GPA - PB, 2 * PB, CMA_DISCARD_REPORTED), 0);
	check_all(f);
	assert_clean(f);
}

static void test_range_checks(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	struct pool_spec spec = { .name = "bad", .size = PB };
	int w[CMA_MAX_WINDOWS], r;
	size_t n = 0;

	r = cma_window_commit(e, P_CMA, PAGE, PB, CMA_RESIDENT);
	assert_error(f, r, "multiples of the 2 MiB pageblock");
	r = cma_window_commit(e, P_CMA, 0, PB + PAGE, CMA_HUGE);
	assert_error(f, r, "multiples of the 2 MiB pageblock");
	r = cma_window_commit(e, P_CMA, 16 * MiB, 0, CMA_HUGE);
	assert_error(f, r, "is not inside pool 'linux,cma'");
	r = cma_window_commit(e, P_CMA, 14 * MiB, 4 * MiB, CMA_HUGE);
	assert_error(f, r, "is not inside pool 'linux,cma'");
	r = cma_window_commit(e, P_GPU, 0, 16 * MiB, CMA_RESIDENT);
	assert_error(f, r, "is not inside pool 'gpu'");
	r = cma_window_commit(e, P_CMA, 2 * PB, UINT64_MAX - PB + 1, CMA_HUGE);
	assert_error(f, r, "is not inside pool");
	r = cma_window_commit(e, NR_POOLS, 0, 0, CMA_HUGE);
	assert_error(f, r, "no such pool");
	assert_int_equal(windows_used(f), 0);

	/* overlaps */
	w[0] = commit_ok(f, P_CMA, 2 * PB, 2 * PB, CMA_HUGE);
	r = cma_window_commit(e, P_CMA, 3 * PB, 2 * PB, CMA_HUGE);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 0, 3 * PB, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 0, 0, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	r = cma_window_commit(e, P_CMA, 2 * PB, PB, CMA_RESIDENT);
	assert_error(f, r, "overlaps a committed window");
	assert_int_equal(windows_used(f), 1);
	assert_window(f, w[0]);
	release_ok(f, w[0]);

	/* at most CMA_MAX_WINDOWS, across pools */
	for (size_t p = P_LOW; p <= P_CMA; p++)
		for (size_t i = 0; i < 8; i++)
			w[n++] = commit_ok(f, p, i * PB, PB, CMA_HUGE);
	assert_int_equal(n, CMA_MAX_WINDOWS);
	r = cma_window_commit(e, P_GPU, 0, PB, CMA_HUGE);
	assert_error(f, r, "16 windows are committed already");
	assert_plain(f, P_GPU, 0);
	release_ok(f, w[5]);
	w[5] = commit_ok(f, P_GPU, 0, PB, CMA_HUGE);
	for (size_t i = 0; i < n; i++)
		release_ok(f, w[i]);

	/* releases */
	r = cma_window_release(e, 12345);
	assert_error(f, r, "no window 12345");
	r = cma_window_release(e, e->next_window_id);
	assert_error(f, r, "no window");
	assert_null(cma_window_by_id(e, 0));

	/* pools */
	r = cma_engine_add_pool(e, &spec, RAM_GPA + PAGE, PB);
	assert_error(f, r, "pool 'bad' is not a whole number of pageblocks inside guest RAM");
	r = cma_engine_add_pool(e, &spec, RAM_GPA + RAM_SIZE - PB, 2 * PB);
	assert_error(f, r, "inside guest RAM");
	r = cma_engine_add_pool(e, &spec, RAM_GPA - PB, PB);
	assert_error(f, r, "inside guest RAM");
	r = cma_engine_add_pool(e, &spec, RAM_GPA + 32 * MiB, 0);
	assert_error(f, r, "inside guest RAM");
	assert_int_equal(e->nr_pools, NR_POOLS);
	assert_clean(f);
}

/* Frame numbers are for root; without them the run is 0 ("unknown"). */
static void test_contiguous_run(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint8_t *h = hva(f, pgpa(f, P_CMA, 0));
	uint64_t run, c2m, pm = 0;
	bool visible;
	pid_t pid;
	int w, fd, status = 0;

	need_memlock(4 * MiB);
	w = commit_ok(f, P_CMA, 0, 2 * PB, CMA_RESIDENT);
	fd = open("/proc/self/pagemap", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &pm, 8, (off_t)((uintptr_t)h / PAGE * 8)), 8);
	close(fd);
	assert_true(pm >> 63); /* present: the window is resident */
	visible = (pm & ((1ULL << 55) - 1)) != 0;

	run = cma_largest_contiguous_run(h, 2 * PB, &c2m);
	if (visible) {
		assert_true(run >= PAGE);
		assert_true(run <= 2 * PB);
		assert_true(c2m <= 2);
		assert_true(e->windows[w].verified);
		assert_true(e->windows[w].largest_run >= PAGE);
	} else {
		assert_int_equal(run, 0);
		assert_int_equal(c2m, 0);
		assert_false(e->windows[w].verified);
	}

	/* Not root: 0, whatever the memory. */
	if (geteuid() == 0) {
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(2);
			/* dumpable again, so /proc/self/pagemap is ours to open */
			prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			/* a forked child has no page table entries for shared memory yet */
			for (uint64_t off = 0; off < 2 * PB; off += PAGE)
				status += ((volatile uint8_t *)h)[off];
			fd = open("/proc/self/pagemap", O_RDONLY);
			if (fd < 0 || pread(fd, &pm, 8, (off_t)((uintptr_t)h / PAGE * 8)) != 8 ||
			    !(pm >> 63) || (pm & ((1ULL << 55) - 1)))
				_exit(3); /* not the case under test: readable, present, hidden */
			close(fd);
			run = cma_largest_contiguous_run(h, 2 * PB, &c2m);
			_exit(run == 0 && c2m == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	release_ok(f, w);
	assert_clean(f);
}

static void test_resident_bytes(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	uint64_t r0 = cma_resident_bytes(e), r1, r2;

	assert_int_equal(r0, 0);
	for (size_t i = 0; i < 10; i++)
		hva(f, RAM_GPA + 32 * MiB)[i * PAGE] = 1;
	fill_pages(f, pgpa(f, P_CMA, 0), 1, 5);
	r1 = cma_resident_bytes(e);
	assert_int_equal(r1, r0 + 10 * PAGE + PB);
	assert_int_equal(cma_discard(e, pgpa(f, P_CMA, 0), PB / 2, CMA_DISCARD_BALLOON), 0);
	r2 = cma_resident_bytes(e);
	assert_int_equal(r2, r1 - PB / 2);
	assert_int_equal(cma_discard(e, RAM_GPA + 32 * MiB, PB, CMA_DISCARD_REPORTED), 0);
	assert_int_equal(cma_resident_bytes(e), r2 - 10 * PAGE);
	/* a huge window counts, too */
	{
		int w = commit_ok(f, P_GPU, 0, PB, CMA_HUGE);

		assert_int_equal(cma_resident_bytes(e), r2 - 10 * PAGE + PB);
		release_ok(f, w);
	}
}

/*
 * The VMM's own layout: guest RAM 1 GiB aligned, address space reserved to
 * the next 1 GiB. A contiguous window moves the whole span onto one
 * (here ordinary) 1 GiB file.
 */
static void test_contiguous(void **state)
{
	struct fx *f = *state;
	struct cma_engine *e = &f->e;
	struct vma v;
	uint64_t rollbacks = e->stats.rollbacks;
	int w, w2, r, fd;

	need_memlock(8 * MiB);
	fill_standard(f);

	/* a failure at any step rolls the whole span back */
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		inject(f, step, gblock(f, P_CMA, 2), -1, -EIO);
		r = cma_window_commit(e, P_CMA, 2 * PB, 4 * PB, CMA_CONTIGUOUS);
		assert_error(f, r, strerror(EIO));
		assert_int_equal(f->inj_hits, 1);
		inject(f, 0, 0, 0, 0);
		assert_int_equal(e->stats.rollbacks, rollbacks + 1 + (uint64_t)step);
		assert_int_equal(e->gigantic.window, -1);
		assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
		assert_string_equal(v.perms, "---p");
		check_all(f);
		assert_clean(f);
	}
	f->alloc_err = -ENOMEM;
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "hugepagesz=1G");
	f->alloc_err = 0;
	assert_clean(f);

	w = commit_ok(f, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_int_equal(f->alloc_size, GiB);
	assert_int_equal(f->alloc_page, GiB);
	fd = e->windows[w].huge_fd;
	/*
	 * All of RAM is on the file now. The address space past RAM is too
	 * with a real 1 GiB page (mmap() maps whole huge pages); with this
	 * ordinary file it may stay reserved, but nothing else may be there.
	 */
	for (uint64_t off = 0; off < RAM_SIZE; off += 4 * MiB)
		assert_maps(f->host + off, fd_ino(fd), off);
	for (uint64_t off = RAM_SIZE; off < GiB; off += 32 * MiB) {
		assert_int_equal(find_vma(f->host + off, &v), 0);
		if (strcmp(v.perms, "---p"))
			assert_maps(f->host + off, fd_ino(fd), off);
	}
	assert_false(fd_has_data(f->memfd, 0, RAM_SIZE));
	assert_int_equal(blk(f, P_GPU, 1)->backing, CMA_BACKING_GIGANTIC);
	check_all(f);

	/* what is on the page stays on it */
	r = cma_migrate_block(e, pgpa(f, P_GPU, 1), NULL);
	assert_error(f, r, "on a 1 GiB page");
	/* the whole span is on the page: nothing in it can be given back */
	assert_int_equal(cma_discard(e, pgpa(f, P_GPU, 0), PB, CMA_DISCARD_BALLOON), PB);
	assert_int_equal(cma_discard(e, RAM_GPA + 32 * MiB, PB, CMA_DISCARD_REPORTED), PB);
	r = cma_window_commit(e, P_GPU, 0, PB, CMA_CONTIGUOUS);
	assert_error(f, r, "1 GiB page");
	check_all(f);

	/* another window inside the span would be torn off the page: refused */
	r = cma_window_commit(e, P_GPU, 0, 2 * PB, CMA_HUGE);
	if (r >= 0) {
		w2 = r;
		release_ok(f, w);
		/* if it was allowed, it must still be where it says */
		assert_window(f, w2);
		check_all(f);
		release_ok(f, w2);
		fail_msg("a window inside another window's 1 GiB span was allowed");
	}
	assert_error(f, r, "1 GiB");
	r = cma_window_commit(e, P_LOW, 0, PB, CMA_RESIDENT);
	assert_error(f, r, "1 GiB");
	check_all(f);

	/* contiguous -> huge -> contiguous */
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_HUGE), w);
	assert_window(f, w);
	assert_int_equal(e->gigantic.window, -1);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	/* a window in the span: no contiguous window there */
	w2 = commit_ok(f, P_GPU, 0, PB, CMA_RESIDENT);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	assert_error(f, r, "in another window");
	assert_window(f, w);
	assert_int_equal(e->windows[w].level, CMA_HUGE);
	check_all(f);
	release_ok(f, w2);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
	if (r != w)
		fail_msg("huge -> contiguous: %d, %s", r, e->error);
	assert_window(f, w);
	check_all(f);

	/* contiguous -> resident -> contiguous */
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_RESIDENT), w);
	assert_window(f, w);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	assert_int_equal(cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS), w);
	assert_window(f, w);
	check_all(f);

	/* contiguous -> huge failing: contiguous again */
	rollbacks = e->stats.rollbacks;
	inject(f, CMA_STEP_COPY, gblock(f, P_CMA, 3), -1, -EIO);
	r = cma_window_commit(e, P_CMA, 0, 4 * PB, CMA_HUGE);
	assert_error(f, r, gpa_str(pgpa(f, P_CMA, 3)));
	inject(f, 0, 0, 0, 0);
	assert_int_equal(e->stats.rollbacks, rollbacks + 1);
	assert_int_equal(e->windows[w].level, CMA_CONTIGUOUS);
	assert_window(f, w);
	check_all(f);
	check_hooks(f);

	/* a release failing off the page keeps the window on it */
	for (int step = CMA_STEP_ALLOC; step <= CMA_STEP_REMAP; step++) {
		inject(f, step, gblock(f, P_CMA, 0), -1, -EIO);
		r = cma_window_release(e, e->windows[w].id);
		inject(f, 0, 0, 0, 0);
		if (!r) /* a step the release does not take */
			w = commit_ok(f, P_CMA, 0, 4 * PB, CMA_CONTIGUOUS);
		else
			assert_error(f, r, strerror(EIO));
		assert_int_equal(e->windows[w].level, CMA_CONTIGUOUS);
		assert_int_equal(e->gigantic.window, w);
		assert_window(f, w);
		assert_int_equal(fd_has_data(f->memfd, 0, RAM_SIZE), false);
		check_all(f);
		check_hooks(f);
	}

	release_ok(f, w);
	assert_int_equal(find_vma(f->host + RAM_SIZE, &v), 0);
	assert_string_equal(v.perms, "---p");
	check_all(f);
	assert_clean(f);
}

int main(void)
{
	struct rlimit rl;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_huge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_incomplete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_resident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memlock_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_change_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contiguous_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resident_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contiguous, setup_gig, teardown),
	};

	/* Exact residency counts: no transparent huge pages behind guest RAM. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
