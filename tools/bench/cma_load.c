// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-bench cma-load BASE SIZE SECONDS [HOLD_MIB [DISK OFFSET_MIB MIB]]
 *
 * Runs in the guest, as root, while the host moves the guest's CMA pool
 * [BASE, BASE + SIZE) (window commits and releases, pageblock migrations),
 * and says whether the guest lost a byte or a vCPU lost time:
 *
 * - It allocates anonymous memory until HOLD_MIB (64 by default) of it
 *   lies in the pool (the guest's movable allocations spill into CMA;
 *   /proc/self/pagemap gives each page's frame), keeps and locks those
 *   pages and frees the rest.
 * - A writer (CPU 0) writes an increasing pass number into four words of
 *   every held page, and the page's own address into its first; the rest
 *   of each page holds a pattern written once. A checker (CPU 1) checks
 *   that every page holds its address and pass numbers no older than the
 *   writer's last completed pass, and a sixteenth of the patterns per
 *   pass, counting corrupted bytes; both rest between passes. A spinner,
 *   on the last CPU, reads the clock in a loop and keeps its longest gap
 *   between two iterations; its stack and the page it reports into lie
 *   outside the pool (its code, read only, may not). With DISK,
 *   a fourth thread (CPU 0) writes and reads back [OFFSET_MIB, +MIB) of it
 *   with O_DIRECT, from and into buffers outside the pool, so no read is
 *   ever in flight into a range the host moves.
 * - Phases: "idle" (SECONDS, before the host moves anything), "moves"
 *   (until SIGUSR1), "after" (SECONDS); then the writer stops and every
 *   page is checked whole. One line per phase:
 *
 *   cma-load: phase moves: seconds=12.3 pages=16384 writes=... passes=...
 *     checks=... corrupted_bytes=0 gap_max_us=... gaps_over_1ms=... (5, 20 ms)
 *     spins=... write_max_us=... io_bytes=... io_corrupted_bytes=0 io_errors=0
 *
 *   and "cma-load: final: ..." at the end; exit 1 when a byte was wrong.
 */
#include "tools/bench/cma_load.h"
#include "tools/bench/pool_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum phase { IDLE, MOVES, AFTER, STOP };
#define NPHASES 3
static const char *const phase_names[NPHASES] = { "idle", "moves", "after" };
static const uint64_t gap_bounds_ns[3] = { 1000000, 5000000, 20000000 };

#define PAGEBLOCK      (2ull << 20)
#define IO_CHUNK       (64u << 10)
#define IO_PAUSE_US    2000
#define FULL_EVERY     16   /* the checker reads a page whole once in this many passes */
#define MAX_REPORTS    16   /* corruptions described on stderr */
#define MOVES_MAX_S    1800 /* the moves phase ends by itself after this */
#define SPIN_STACK_MIN (256u << 10)
#define REST	       2
#define REST_MAX_NS    200000000ull

/* Each field is written by one thread and read by main. */
struct phase_stats {
	uint64_t writes, passes, write_max_ns;	    /* writer */
	uint64_t checks, corrupted;		    /* checker */
	uint64_t spins, gap_max_ns, gaps_over[3];   /* spinner: 1, 5, 20 ms */
	uint64_t io_bytes, io_corrupted, io_errors; /* disk */
};

/* On a page outside the pool: the spinner writes here. */
struct shared {
	int phase;
	uint64_t cur, done; /* the writer's pass in progress, and its last completed one */
	struct phase_stats st[NPHASES];
};

struct load {
	struct pool_pages pp;
	uint64_t base, size, hold; /* the pool (guest-physical) and how much of it to hold */
	unsigned int seconds;
	const char *disk;
	uint64_t disk_off, disk_len;
	size_t words;  /* a page's 64-bit words */
	size_t seq[4]; /* the words that hold the pass number */
	int cpus;
	uint64_t **pages; /* the held pages */
	size_t npages;
	struct shared *sh;
	uint8_t *stack, *io; /* the spinner's stack, the disk buffers: outside the pool */
	size_t stack_len;
	int reports;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static void raise_to(uint64_t *max, uint64_t v)
{
	if (v > __atomic_load_n(max, __ATOMIC_RELAXED))
		__atomic_store_n(max, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static int phase_now(const struct shared *sh)
{
	return __atomic_load_n(&sh->phase, __ATOMIC_ACQUIRE);
}

static int fail(const char *what)
{
	fprintf(stderr, "cma-load: %s: %s\n", what, strerror(errno));
	return -1;
}

/* ---- what a page holds ---- */

static uint64_t pattern(const uint64_t *page, size_t i)
{
	uint64_t x = (uintptr_t)page ^ (i * 0x9e3779b97f4a7c15ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static bool is_seq(const struct load *ld, size_t i)
{
	return i == ld->seq[0] || i == ld->seq[1] || i == ld->seq[2] || i == ld->seq[3];
}

static void fill(struct load *ld)
{
	for (size_t p = 0; p < ld->npages; p++) {
		uint64_t *w = ld->pages[p];

		w[0] = (uintptr_t)w;
		for (size_t i = 1; i < ld->words; i++)
			w[i] = is_seq(ld, i) ? 0 : pattern(w, i);
	}
}

static unsigned int bytes_differ(uint64_t got, uint64_t want)
{
	unsigned int n = 0;

	for (int k = 0; k < 64; k += 8)
		n += ((got ^ want) >> k & 0xff) != 0;
	return n;
}

/* Bytes of word @i of @w wrong for holding @got instead of [@lo, @hi]; said on stderr. */
static unsigned int corrupt(struct load *ld, const uint64_t *w, size_t i, uint64_t got, uint64_t lo,
			    uint64_t hi)
{
	unsigned int n = bytes_differ(got, got < lo ? lo : hi);

	if (ld->reports++ < MAX_REPORTS)
		fprintf(stderr,
			"cma-load: corrupted: page %p (frame 0x%llx) word %zu holds 0x%llx, "
			"expected 0x%llx..0x%llx, phase %d\n",
			(const void *)w, (unsigned long long)pool_pages_pfn(&ld->pp, w), i,
			(unsigned long long)got, (unsigned long long)lo, (unsigned long long)hi,
			phase_now(ld->sh));
	return n;
}

/* The address and pass numbers of one page, against the writer's progress. */
static uint64_t check_header(struct load *ld, const uint64_t *w)
{
	uint64_t lo = __atomic_load_n(&ld->sh->done, __ATOMIC_ACQUIRE), hi, v[4], bad = 0;
	uint64_t addr = __atomic_load_n(&w[0], __ATOMIC_RELAXED);

	for (int k = 0; k < 4; k++)
		v[k] = __atomic_load_n(&w[ld->seq[k]], __ATOMIC_RELAXED);
	/* a pass number seen here was written after the writer announced it */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	hi = __atomic_load_n(&ld->sh->cur, __ATOMIC_RELAXED);
	if (addr != (uintptr_t)w)
		bad += corrupt(ld, w, 0, addr, (uintptr_t)w, (uintptr_t)w);
	for (int k = 0; k < 4; k++)
		if (v[k] < lo || v[k] > hi)
			bad += corrupt(ld, w, ld->seq[k], v[k], lo, hi);
	return bad;
}

static uint64_t check_pattern(struct load *ld, const uint64_t *w)
{
	uint64_t bad = 0;

	for (size_t i = 1; i < ld->words; i++)
		if (!is_seq(ld, i) && w[i] != pattern(w, i))
			bad += corrupt(ld, w, i, w[i], pattern(w, i), pattern(w, i));
	return bad;
}

/* ---- the threads ---- */

/*
 * The writer and the checker rest REST times as long as a pass took, so
 * that on a host with few CPUs (the emulated host has 2) the spinner's
 * vCPU and the host's copy need not take turns with them.
 */
static void rest(uint64_t since)
{
	uint64_t ns = (now_ns() - since) * REST;
	struct timespec ts;

	if (ns > REST_MAX_NS)
		ns = REST_MAX_NS;
	ts = (struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);
}

static void write_page(const struct load *ld, uint64_t *w, uint64_t pass)
{
	__atomic_store_n(&w[0], (uintptr_t)w, __ATOMIC_RELAXED);
	for (int k = 0; k < 4; k++)
		__atomic_store_n(&w[ld->seq[k]], pass, __ATOMIC_RELAXED);
}

static void *writer(void *arg)
{
	struct load *ld = arg;
	struct shared *sh = ld->sh;
	int ph;

	for (uint64_t pass = 1; (ph = phase_now(sh)) != STOP; pass++) {
		uint64_t longest = 0, start = now_ns();

		__atomic_store_n(&sh->cur, pass, __ATOMIC_RELAXED);
		/* announced before any page holds it */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		for (size_t i = 0; i < ld->npages; i++) {
			uint64_t t0 = now_ns(), dt;

			write_page(ld, ld->pages[i], pass);
			dt = now_ns() - t0;
			if (dt > longest)
				longest = dt;
		}
		__atomic_store_n(&sh->done, pass, __ATOMIC_RELEASE);
		add(&sh->st[ph].writes, ld->npages);
		add(&sh->st[ph].passes, 1);
		raise_to(&sh->st[ph].write_max_ns, longest);
		rest(start);
	}
	return NULL;
}

static void *checker(void *arg)
{
	struct load *ld = arg;
	int ph;

	for (size_t pass = 0; (ph = phase_now(ld->sh)) != STOP; pass++) {
		uint64_t bad = 0, start = now_ns();

		for (size_t i = 0; i < ld->npages; i++) {
			bad += check_header(ld, ld->pages[i]);
			if ((i + pass) % FULL_EVERY == 0)
				bad += check_pattern(ld, ld->pages[i]);
		}
		add(&ld->sh->st[ph].checks, ld->npages);
		add(&ld->sh->st[ph].corrupted, bad);
		rest(start);
	}
	return NULL;
}

/* Touches nothing but its stack and @arg, both outside the pool. */
static void *spinner(void *arg)
{
	struct shared *sh = arg;
	uint64_t last = now_ns();
	int ph;

	while ((ph = phase_now(sh)) != STOP) {
		struct phase_stats *st = &sh->st[ph];
		uint64_t t = now_ns(), gap = t - last;

		last = t;
		add(&st->spins, 1);
		raise_to(&st->gap_max_ns, gap);
		for (int i = 0; i < 3; i++)
			if (gap > gap_bounds_ns[i])
				add(&st->gaps_over[i], 1);
	}
	return NULL;
}

static void io_fill(uint8_t *buf, uint64_t k, uint64_t off)
{
	uint64_t *w = (uint64_t *)buf;

	for (size_t i = 0; i < IO_CHUNK / 8; i++)
		w[i] = (k << 32 | i) ^ off;
}

static void *disk(void *arg)
{
	struct load *ld = arg;
	uint8_t *out = ld->io, *in = ld->io + IO_CHUNK;
	int fd = open(ld->disk, O_RDWR | O_DIRECT), ph;

	for (uint64_t k = 0; (ph = phase_now(ld->sh)) != STOP; k++) {
		struct phase_stats *st = &ld->sh->st[ph];
		uint64_t off = ld->disk_off + k % (ld->disk_len / IO_CHUNK) * IO_CHUNK, bad = 0;

		io_fill(out, k, off);
		memset(in, 0, IO_CHUNK);
		if (fd < 0 || pwrite(fd, out, IO_CHUNK, (off_t)off) != IO_CHUNK ||
		    pread(fd, in, IO_CHUNK, (off_t)off) != IO_CHUNK) {
			add(&st->io_errors, 1);
		} else {
			for (size_t i = 0; i < IO_CHUNK; i++)
				bad += in[i] != out[i];
			add(&st->io_bytes, 2 * IO_CHUNK);
			add(&st->io_corrupted, bad);
		}
		usleep(IO_PAUSE_US);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* ---- setting up ---- */

static int parse(int argc, char **argv, struct load *ld)
{
	char *end;

	if (argc != 4 && argc != 5 && argc != 8)
		return -1;
	ld->base = strtoull(argv[1], &end, 0);
	ld->size = strtoull(argv[2], &end, 0);
	ld->seconds = (unsigned int)strtoul(argv[3], &end, 10);
	ld->hold = (argc > 4 ? strtoull(argv[4], &end, 10) : 64) << 20;
	if (argc == 8) {
		ld->disk = argv[5];
		ld->disk_off = strtoull(argv[6], &end, 10) << 20;
		ld->disk_len = strtoull(argv[7], &end, 10) << 20;
	}
	ld->words = (size_t)sysconf(_SC_PAGESIZE) / 8;
	ld->seq[0] = 1;
	ld->seq[1] = ld->words / 4;
	ld->seq[2] = ld->words / 2;
	ld->seq[3] = ld->words - 1;
	ld->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return ld->size && ld->hold && (!ld->disk || ld->disk_len >= IO_CHUNK) ? 0 : -1;
}

/* What else might move the held pages: the guest's compaction of locked pages. */
static void keep_compaction_off_locked(void)
{
	int fd = open("/proc/sys/vm/compact_unevictable_allowed", O_WRONLY);

	if (fd >= 0 && write(fd, "0", 1) != 1)
		fprintf(stderr, "cma-load: compact_unevictable_allowed stays as it was\n");
	if (fd >= 0)
		close(fd);
}

static int setup(struct load *ld)
{
	size_t min = (size_t)sysconf(_SC_THREAD_STACK_MIN), page;
	struct pool_pages *pp = &ld->pp;

	if (pool_pages_open(pp, ld->base, ld->size))
		return -1;
	page = pp->page;
	ld->stack_len = min > SPIN_STACK_MIN ? (min + page - 1) & ~(page - 1) : SPIN_STACK_MIN;
	if (mlockall(MCL_CURRENT))
		return fail("mlockall");
	keep_compaction_off_locked();
	if (pool_pages_hunt(pp, ld->hold))
		return -1;
	ld->sh = pool_pages_outside(pp, 1);
	ld->stack = pool_pages_outside(pp, ld->stack_len / page);
	ld->io = pool_pages_outside(pp, 2 * IO_CHUNK / page);
	if (!ld->sh || !ld->stack || !ld->io || pool_pages_keep(pp, &ld->pages, &ld->npages))
		return -1;
	memset(ld->sh, 0, sizeof(*ld->sh));
	printf("cma-load: touched %zu pages, holding %zu (%llu KiB) in [0x%llx, +0x%llx)\n",
	       pp->touched, ld->npages, (unsigned long long)(ld->npages * page >> 10),
	       (unsigned long long)ld->base, (unsigned long long)ld->size);
	fill(ld);
	return 0;
}

/* The pool's pageblocks the held pages lie in, as ranges: "0-31,40". */
static void print_blocks(const struct load *ld)
{
	size_t n = (size_t)((ld->size + PAGEBLOCK - 1) / PAGEBLOCK), count = 0;
	uint8_t *has = calloc(n + 1, 1);
	char sep = ' ';

	for (size_t p = 0; has && p < ld->npages; p++) {
		uint64_t pfn = pool_pages_pfn(&ld->pp, ld->pages[p]);

		if (pool_pages_in_pool(&ld->pp, pfn))
			has[(pfn * ld->pp.page - ld->base) / PAGEBLOCK] = 1;
	}
	printf("cma-load: pool blocks held:");
	for (size_t b = 0; has && b < n; b++) {
		size_t e = b;

		if (!has[b])
			continue;
		while (has[e + 1])
			e++;
		count += e - b + 1;
		if (e > b)
			printf("%c%zu-%zu", sep, b, e);
		else
			printf("%c%zu", sep, b);
		sep = ',';
		b = e;
	}
	printf(" (%zu of %zu)\n", count, n);
	free(has);
}

static void print_where_the_spinner_is(const struct load *ld)
{
	const struct pool_pages *pp = &ld->pp;

	printf("cma-load: spinner: stack %s, its page %s, its code %s\n",
	       pool_pages_holds(pp, ld->stack) ? "IN the pool" : "outside the pool",
	       pool_pages_holds(pp, ld->sh) ? "IN the pool" : "outside",
	       pool_pages_holds(pp, (const void *)spinner) ? "in the pool (read only)" : "outside");
}

/* ---- running ---- */

static int start(pthread_t *t, void *(*fn)(void *), void *arg, int cpu, void *stack,
		 size_t stack_len)
{
	pthread_attr_t a;
	cpu_set_t set;
	int r;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_attr_init(&a);
	pthread_attr_setaffinity_np(&a, sizeof(set), &set);
	if (stack)
		pthread_attr_setstack(&a, stack, stack_len);
	r = pthread_create(t, &a, fn, arg);
	pthread_attr_destroy(&a);
	if (r) {
		errno = r;
		return fail("pthread_create");
	}
	return 0;
}

/* The writer and the disk on CPU 0, the checker (and main) on CPU 1, the spinner last. */
static int start_all(struct load *ld, pthread_t t[4])
{
	int checker_cpu = ld->cpus >= 3 ? 1 : 0;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(checker_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (start(&t[0], writer, ld, 0, NULL, 0) ||
	    start(&t[1], checker, ld, checker_cpu, NULL, 0) ||
	    start(&t[2], spinner, ld->sh, ld->cpus - 1, ld->stack, ld->stack_len))
		return -1;
	return ld->disk ? start(&t[3], disk, ld, 0, NULL, 0) : 0;
}

static void print_phase(const struct load *ld, int ph, double seconds)
{
	const struct phase_stats *st = &ld->sh->st[ph];

	printf("cma-load: phase %s: seconds=%.1f pages=%zu writes=%llu passes=%llu checks=%llu "
	       "corrupted_bytes=%llu gap_max_us=%llu gaps_over_1ms=%llu gaps_over_5ms=%llu "
	       "gaps_over_20ms=%llu spins=%llu "
	       "write_max_us=%llu io_bytes=%llu io_corrupted_bytes=%llu io_errors=%llu\n",
	       phase_names[ph], seconds, ld->npages, (unsigned long long)get(&st->writes),
	       (unsigned long long)get(&st->passes), (unsigned long long)get(&st->checks),
	       (unsigned long long)get(&st->corrupted),
	       (unsigned long long)get(&st->gap_max_ns) / 1000,
	       (unsigned long long)get(&st->gaps_over[0]),
	       (unsigned long long)get(&st->gaps_over[1]),
	       (unsigned long long)get(&st->gaps_over[2]), (unsigned long long)get(&st->spins),
	       (unsigned long long)get(&st->write_max_ns) / 1000,
	       (unsigned long long)get(&st->io_bytes), (unsigned long long)get(&st->io_corrupted),
	       (unsigned long long)get(&st->io_errors));
	fflush(stdout);
}

/* Phase @ph for @seconds, or until SIGUSR1 (@seconds 0); then its line. */
static void run_phase(struct load *ld, int ph, unsigned int seconds)
{
	struct timespec wait = { seconds ? seconds : MOVES_MAX_S, 0 };
	uint64_t t0 = now_ns();
	sigset_t usr1;

	__atomic_store_n(&ld->sh->phase, ph, __ATOMIC_RELEASE);
	if (ph == MOVES) {
		printf("cma-load: moves may begin (kill -USR1 %d ends them)\n", (int)getpid());
		fflush(stdout);
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (seconds)
		while (nanosleep(&wait, &wait) && errno == EINTR)
			;
	else
		sigtimedwait(&usr1, NULL, &wait);
	print_phase(ld, ph, (double)(now_ns() - t0) / 1e9);
}

/* With the writer stopped: every page exactly as the last pass left it. */
static uint64_t final_check(struct load *ld, size_t *still_in_pool)
{
	uint64_t done = ld->sh->done, bad = 0;

	*still_in_pool = 0;
	for (size_t p = 0; p < ld->npages; p++) {
		const uint64_t *w = ld->pages[p];

		if (w[0] != (uintptr_t)w)
			bad += corrupt(ld, w, 0, w[0], (uintptr_t)w, (uintptr_t)w);
		for (int k = 0; k < 4; k++)
			if (w[ld->seq[k]] != done)
				bad += corrupt(ld, w, ld->seq[k], w[ld->seq[k]], done, done);
		bad += check_pattern(ld, w);
		*still_in_pool += pool_pages_holds(&ld->pp, w);
	}
	return bad;
}

int cma_load_main(int argc, char **argv)
{
	struct load ld = { 0 };
	pthread_t t[4];
	uint64_t bad = 0;
	size_t in_pool_now;
	sigset_t usr1;

	if (parse(argc, argv, &ld)) {
		fprintf(stderr, "usage: cmavm-bench cma-load BASE SIZE SECONDS [HOLD_MIB "
				"[DISK OFFSET_MIB MIB]]\n");
		return 2;
	}
	if (ld.cpus < 2) {
		fprintf(stderr, "cma-load: needs 2 CPUs or more (the spinner has one alone)\n");
		return 2;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the threads inherit it: main waits */
	if (setup(&ld))
		return 1;
	print_blocks(&ld);
	print_where_the_spinner_is(&ld);
	if (start_all(&ld, t))
		return 1;
	run_phase(&ld, IDLE, ld.seconds);
	run_phase(&ld, MOVES, 0);
	run_phase(&ld, AFTER, ld.seconds);
	__atomic_store_n(&ld.sh->phase, STOP, __ATOMIC_RELEASE);
	for (int i = 0; i < (ld.disk ? 4 : 3); i++)
		pthread_join(t[i], NULL);
	for (int ph = 0; ph < NPHASES; ph++)
		bad += ld.sh->st[ph].corrupted + ld.sh->st[ph].io_corrupted;
	bad += final_check(&ld, &in_pool_now);
	printf("cma-load: final: passes=%llu corrupted_bytes=%llu still_in_pool=%zu\n",
	       (unsigned long long)ld.sh->done, (unsigned long long)bad, in_pool_now);
	return bad ? 1 : 0;
}
