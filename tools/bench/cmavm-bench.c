// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-bench: the measuring half of tools/bench/run. The same static
 * binary runs in the guest (against its virtio disk) and on the host
 * (against the image file, or on a memfd), so that each figure has a
 * baseline measured the same way in the same run.
 *
 *   cmavm-bench blk PATH MIB    sequential 1 MiB and random 4 KiB I/O, O_DIRECT
 *   cmavm-bench release MIB     populate a memfd, then punch it out in 1 MiB runs
 *   cmavm-bench memcpy MIB      copy MIB between two populated buffers (best of 5)
 *   cmavm-bench unix PATH       send stdin to a UNIX socket as it is, print the
 *                               answer (tests send the control socket bytes no
 *                               well-behaved client would)
 *   cmavm-bench uffd-probe      whether userfaultfd write-protect works on
 *                               shmem and on hugetlbfs (what live window moves
 *                               need): "uffd-wp CASE: ok | unsupported: WHY |
 *                               failed: WHY", one line per case; exit 0 when
 *                               both are ok. hugetlb needs free huge pages
 *                               (/proc/sys/vm/nr_hugepages).
 *   cmavm-bench cma-load BASE SIZE SECONDS [HOLD_MIB [DISK OFFSET_MIB MIB]]
 *                               in the guest: hold pages of the CMA pool
 *                               [BASE, +SIZE), write and check them while the
 *                               host moves the pool, and time a vCPU that
 *                               never touches it (cma_load.c)
 *   cmavm-bench move-probe N [nowp|view]
 *                               the host kernel's cost of each step of a live
 *                               pageblock move, on N 2 MiB blocks of a memfd,
 *                               no guest; nowp: without write-protect; view:
 *                               copied from a mapping of its own (move_probe.c)
 *   cmavm-bench engine-commit MIB [pause] [single]
 *                               the CMA engine's own commit and release of a
 *                               MIB huge window on a memfd, no guest, with the
 *                               time of each step (engine_probe.c)
 *   cmavm-bench boot-load KERNEL INITRD
 *                               both put into fresh guest RAM (a memfd) the
 *                               old way, through buffers of their own, and by
 *                               cmavm's loader, straight in (load_probe.c)
 *
 * Output: one "name value unit" line per figure.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench/cma_load.h"
#include "tools/bench/engine_probe.h"
#include "tools/bench/engine_probe.h"
#include "tools/bench/load_probe.h"
#include "tools/bench/move_probe.h"

#define SEQ_BLOCK  (1u << 20)
#define RAND_BLOCK 4096u
#define RAND_OPS   2000u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "cmavm-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void full_io(int fd, void *buf, size_t len, off_t off, int write)
{
	ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	if (n != (ssize_t)len)
		die(write ? "pwrite" : "pread");
}

static double sequential(int fd, void *buf, uint64_t bytes, int write)
{
	double t0 = now();

	for (uint64_t off = 0; off < bytes; off += SEQ_BLOCK)
		full_io(fd, buf, SEQ_BLOCK, (off_t)off, write);
	if (write && fdatasync(fd))
		die("fdatasync");
	return (double)bytes / (1 << 20) / (now() - t0);
}

static double random_ops(int fd, void *buf, uint64_t bytes, int write)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, blocks = bytes / RAND_BLOCK;
	double t0 = now();

	for (unsigned int i = 0; i < RAND_OPS; i++)
		full_io(fd, buf, RAND_BLOCK, (off_t)(xorshift(&seed) % blocks * RAND_BLOCK), write);
	if (write && fdatasync(fd))
		die("fdatasync");
	return RAND_OPS / (now() - t0);
}

static int bench_blk(const char *path, uint64_t mib)
{
	uint64_t bytes = mib << 20;
	void *buf;
	int fd = open(path, O_RDWR | O_DIRECT);

	/* tmpfs (the emulated host's files) has no O_DIRECT: measure buffered. */
	if (fd < 0 && errno == EINVAL) {
		fd = open(path, O_RDWR);
		printf("mode buffered\n");
	} else {
		printf("mode direct\n");
	}
	if (fd < 0)
		die(path);
	if (posix_memalign(&buf, 4096, SEQ_BLOCK))
		die("posix_memalign");
	memset(buf, 0x5a, SEQ_BLOCK);
	printf("seq_write %.1f MiB/s\n", sequential(fd, buf, bytes, 1));
	printf("seq_read %.1f MiB/s\n", sequential(fd, buf, bytes, 0));
	printf("rand_write %.0f IOPS\n", random_ops(fd, buf, bytes, 1));
	printf("rand_read %.0f IOPS\n", random_ops(fd, buf, bytes, 0));
	close(fd);
	return 0;
}

/* What the balloon does to host memory, without a guest: punch a populated memfd. */
static int bench_release(uint64_t mib)
{
	uint64_t bytes = mib << 20;
	int fd = memfd_create("cmavm-bench", 0);
	uint8_t *p;
	double t0;

	if (fd < 0 || ftruncate(fd, (off_t)bytes))
		die("memfd");
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (uint64_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	t0 = now();
	for (uint64_t off = 0; off < bytes; off += SEQ_BLOCK)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      SEQ_BLOCK))
			die("fallocate");
	printf("release %.1f MiB/s\n", (double)mib / (now() - t0));
	return 0;
}

/* The baseline of every move the CMA engine makes: a plain copy. */
static int bench_memcpy(uint64_t mib)
{
	uint64_t bytes = mib << 20;
	uint8_t *a = malloc(bytes), *b = malloc(bytes);
	double best = 1e9;

	if (!a || !b)
		die("malloc");
	memset(a, 1, bytes);
	memset(b, 2, bytes);
	for (int i = 0; i < 5; i++) {
		double t0 = now();

		memcpy(b, a, bytes);
		if (now() - t0 < best)
			best = now() - t0;
	}
	printf("memcpy_ns %.0f ns\n", best * 1e9);
	free(a);
	free(b);
	return 0;
}

static int send_raw(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[65536];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	signal(SIGPIPE, SIG_IGN);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		die(path);
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break; /* the server may close early: read its answer anyway */
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

/*
 * uffd-probe: write-protect a populated memfd mapping through userfaultfd,
 * let a second thread write to it, see the write-protect fault, lift the
 * protection and check that the write landed.
 */
enum probe_result { PROBE_OK, PROBE_UNSUPPORTED, PROBE_FAILED };

#define PROBE_TIMEOUT_MS 5000

struct probe_writer {
	volatile uint8_t *addr;
	volatile int done;
};

static void *probe_write(void *arg)
{
	struct probe_writer *w = arg;

	*w->addr = 0xa5; /* blocks on the write-protect fault */
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A userfaultfd, user-mode only where unprivileged ones must be (the writer
 * faults in user mode); -1 and errno if none. */
static int probe_open_uffd(void)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	int flags = O_CLOEXEC | O_NONBLOCK, unprivileged = 1;

	if (f) {
		if (fscanf(f, "%d", &unprivileged) != 1)
			unprivileged = 1;
		fclose(f);
	}
	if (!unprivileged && geteuid() != 0)
		flags |= UFFD_USER_MODE_ONLY;
	return (int)syscall(__NR_userfaultfd, flags);
}

/* The features the kernel offers (UFFDIO_API asking for none), or 0. */
static unsigned long long probe_features(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = probe_open_uffd();

	if (fd < 0)
		return 0;
	if (ioctl(fd, UFFDIO_API, &api))
		api.features = 0;
	close(fd);
	return api.features;
}

/* A userfaultfd with UFFD_FEATURE_WP_HUGETLBFS_SHMEM, or -1 and @why. */
static int probe_uffd(char *why, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
	int fd = probe_open_uffd();

	if (fd < 0) {
		snprintf(why, n, "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(why, n, "UFFDIO_API refused UFFD_FEATURE_WP_HUGETLBFS_SHMEM (%s)",
			 strerror(errno));
	} else if (!(api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		snprintf(why, n,
			 "UFFDIO_API refused UFFD_FEATURE_WP_HUGETLBFS_SHMEM (not granted, "
			 "features 0x%llx)",
			 (unsigned long long)api.features);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* A shared mapping of a memfd (@flags: MFD_HUGETLB or 0), every page written. */
static uint8_t *probe_memfd(unsigned int flags, size_t len, char *why, size_t n)
{
	int fd = memfd_create("cmavm-uffd-probe", MFD_CLOEXEC | flags);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, (off_t)len)) {
		snprintf(why, n, "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(why, n, "mmap: %s%s", strerror(errno),
			 flags ? " (no free huge pages? see /proc/sys/vm/nr_hugepages)" : "");
		return NULL;
	}
	memset(p, 0x11, len);
	return p;
}

static int probe_wp(int uffd, void *addr, size_t len, int protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* Wait for the write-protect fault of the write to @addr in [@p, @p + @len). */
static int probe_fault(int uffd, uint8_t *p, size_t len, uint8_t *addr, char *why, size_t n)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;
	uintptr_t at;

	if (poll(&pfd, 1, PROBE_TIMEOUT_MS) != 1) {
		snprintf(why, n, "no fault event within %d ms", PROBE_TIMEOUT_MS);
		return -1;
	}
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg)) {
		snprintf(why, n, "reading the event: %s", strerror(errno));
		return -1;
	}
	/* The address is that of the (huge) page, not the byte written. */
	at = (uintptr_t)msg.arg.pagefault.address;
	if (msg.event != UFFD_EVENT_PAGEFAULT ||
	    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) || at < (uintptr_t)p ||
	    at > (uintptr_t)addr || at >= (uintptr_t)p + len) {
		snprintf(why, n, "unexpected event %u, flags 0x%llx, address 0x%llx", msg.event,
			 (unsigned long long)msg.arg.pagefault.flags, (unsigned long long)at);
		return -1;
	}
	if (*addr != 0x11) {
		snprintf(why, n, "the write landed while the page was write-protected");
		return -1;
	}
	return 0;
}

static const char *probe_name; /* the case being probed */

/* Lift the protection and join the writer; a writer still blocked cannot
 * be left behind with its mapping gone: the probe ends there. */
static void probe_release(int uffd, uint8_t *p, size_t len, pthread_t thread,
			  struct probe_writer *w)
{
	const char *why = NULL;
	int ms;

	if (probe_wp(uffd, p, len, 0))
		why = strerror(errno);
	for (ms = 0; ms < PROBE_TIMEOUT_MS && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE); ms++)
		usleep(1000);
	if (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		printf("uffd-wp %s: failed: the writer was not woken within %d ms%s%s%s\n",
		       probe_name, PROBE_TIMEOUT_MS, why ? " (unprotecting: " : "", why ? why : "",
		       why ? ")" : "");
		exit(1);
	}
	pthread_join(thread, NULL);
}

/* The write to protected memory, its fault, the unprotect, the write landing. */
static enum probe_result probe_write_cycle(int uffd, uint8_t *p, size_t len, char *why, size_t n)
{
	struct probe_writer w = { .addr = p + len / 2 };
	pthread_t thread;
	int faulted;

	if (probe_wp(uffd, p, len, 1)) {
		snprintf(why, n, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
		return PROBE_FAILED;
	}
	if (pthread_create(&thread, NULL, probe_write, &w)) {
		snprintf(why, n, "pthread_create failed");
		return PROBE_FAILED;
	}
	faulted = !probe_fault(uffd, p, len, (uint8_t *)w.addr, why, n);
	probe_release(uffd, p, len, thread, &w);
	if (!faulted)
		return PROBE_FAILED;
	if (*w.addr != 0xa5) {
		snprintf(why, n, "the write did not land after unprotecting");
		return PROBE_FAILED;
	}
	return PROBE_OK;
}

static enum probe_result probe_case(unsigned int memfd_flags, size_t len, char *why, size_t n)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	enum probe_result r = PROBE_UNSUPPORTED;
	int uffd = probe_uffd(why, n);
	uint8_t *p;

	if (uffd < 0)
		return PROBE_UNSUPPORTED;
	p = probe_memfd(memfd_flags, len, why, n);
	if (!p) {
		close(uffd);
		return PROBE_UNSUPPORTED;
	}
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		snprintf(why, n, "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
	else if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT)))
		snprintf(why, n, "no UFFDIO_WRITEPROTECT on this range");
	else
		r = probe_write_cycle(uffd, p, len, why, n);
	munmap(p, len);
	close(uffd);
	return r;
}

static int uffd_probe(void)
{
	static const struct {
		const char *name;
		unsigned int memfd_flags;
		size_t len;
	} cases[] = { { "shmem", 0, 16 * 4096 }, { "hugetlb", MFD_HUGETLB, 2u << 20 } };
	static const char *const results[] = { "ok", "unsupported", "failed" };
	struct utsname u;
	int bad = 0;

	uname(&u);
	printf("uffd-probe: Linux %s %s, userfaultfd features 0x%llx\n", u.release, u.machine,
	       probe_features());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		enum probe_result r;

		probe_name = cases[i].name;
		fflush(stdout); /* the probe may end through exit() */
		r = probe_case(cases[i].memfd_flags, cases[i].len, why, sizeof(why));
		printf("uffd-wp %s: %s%s%s\n", cases[i].name, results[r], r ? ": " : "", why);
		bad |= r != PROBE_OK;
	}
	return bad;
}

static int engine_commit(int argc, char **argv)
{
	bool live = true;
	unsigned int threads = 2;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "pause"))
			live = false;
		else if (!strcmp(argv[i], "single"))
			threads = 1;
		else
			return 2;
	}
	return engine_probe_main(strtoull(argv[2], NULL, 10), 5, live, threads);
}

static int move_probe(int argc, char **argv)
{
	enum move_probe_mode mode = MOVE_PROBE_LIVE;

	if (argc == 4 && !strcmp(argv[3], "nowp"))
		mode = MOVE_PROBE_NOWP;
	else if (argc == 4 && !strcmp(argv[3], "view"))
		mode = MOVE_PROBE_VIEW;
	else if (argc == 4)
		return 2;
	return move_probe_main((unsigned int)strtoul(argv[2], NULL, 10), mode);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "blk"))
		return bench_blk(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "release"))
		return bench_release(strtoull(argv[2], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "memcpy"))
		return bench_memcpy(strtoull(argv[2], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "unix"))
		return send_raw(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "uffd-probe"))
		return uffd_probe();
	if (argc >= 2 && !strcmp(argv[1], "cma-load"))
		return cma_load_main(argc - 1, argv + 1);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "move-probe"))
		return move_probe(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "engine-commit"))
		return engine_commit(argc, argv);
	if (argc == 4 && !strcmp(argv[1], "boot-load"))
		return load_probe_main(argv[2], argv[3], 5);
	fprintf(stderr,
		"usage: cmavm-bench blk PATH MIB | release MIB | memcpy MIB | unix PATH | "
		"uffd-probe | cma-load BASE SIZE SECONDS [HOLD_MIB [DISK OFFSET_MIB MIB]] | "
		"move-probe N [nowp|view] | engine-commit MIB [pause] [single] | "
		"boot-load KERNEL INITRD\n");
	return 2;
}
