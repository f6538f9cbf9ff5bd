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
 *
 * Output: one "name value unit" line per figure.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BLOCK	(1u << 20)
#define RAND_BLOCK	4096u
#define RAND_OPS	2000u

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
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, SEQ_BLOCK))
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
	fprintf(stderr, "usage: cmavm-bench blk PATH MIB | release MIB | memcpy MIB | unix PATH\n");
	return 2;
}
