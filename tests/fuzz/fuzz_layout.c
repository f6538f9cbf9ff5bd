// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: the layout planner's inputs as the operator gives them,
 * through `cmavm run --dry-run` (vmm/cli/cmd_run.c): its flags (--memory,
 * --cma, --dma-pool, --window, --pool-align, --cmdline, --cpus, --gpu...) checked
 * into a config, then the boot plan (vmm/machine/boot_plan.h): the layout
 * (fdt/layout.h), the bootargs, the DTB written and checked by the same
 * rules as `cmavm dtb check`.
 *
 * Input: lines. A line "#image TEXT_OFFSET IMAGE_SIZE [FLAGS]" sets the
 * kernel's Image header (numbers in C notation; FLAGS bits 1-2 are the
 * guest's page size, so the pageblock varies too), "#initrd SIZE" gives an initrd of
 * that many bytes (a sparse file), "#pools TEXT" sets the test-only
 * $CMAVM_TEST_RAW_POOLS (vmm/machine/test_pools.h); every other line is one
 * argument.
 * Arguments that name files or sockets (--kernel, --initrd, --dump-dtb,
 * --disk, --net, --name, --api-socket, and their abbreviations) are
 * dropped: a dry run opens disks and taps and asks a named socket whether
 * a VM answers; the kernel and initrd are the target's own, in a
 * temporary directory removed at exit.
 *
 * Beyond the sanitizers: the boot plan refuses with an "internal error"
 * (quiet_log.c aborts) when the DTB its own layout produced is one the
 * checker rejects: planner and checker must agree.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli/commands.h"

#define ARGS_MAX     64
#define FILE_SIZE    4096
#define INITRD_LIMIT (1ULL << 30)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], kernel[128], initrd[128];
static int kernel_fd = -1, initrd_fd = -1;

static void remove_files(void)
{
	unlink(kernel);
	unlink(initrd);
	rmdir(dir);
}

static int make_file(char *path, size_t len, const char *name)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FILE_SIZE))
		abort();
	return fd;
}

/* Once: the files, and stdout (--help) to /dev/null. */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	snprintf(dir, sizeof(dir), "%s/cmavm-fuzz-XXXXXX", tmp);
	if (!mkdtemp(dir) || null < 0 || dup2(null, STDOUT_FILENO) < 0)
		abort();
	close(null);
	atexit(remove_files);
	kernel_fd = make_file(kernel, sizeof(kernel), "Image");
	initrd_fd = make_file(initrd, sizeof(initrd), "initrd");
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The arm64 Image header (Documentation/arm64/booting.rst) at the file's start. */
static void write_image(uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	uint8_t h[64] = { 0 };

	put_le64(h + 8, text_offset);
	put_le64(h + 16, image_size);
	put_le64(h + 24, flags); /* 0xa: little-endian, 4 KiB pages, anywhere */
	memcpy(h + 56, "ARM\x64", 4);
	if (pwrite(kernel_fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		abort();
}

/* The flags that name files or sockets, and what getopt_long() takes for them. */
static bool names_a_file(const char *arg)
{
	static const char *const flags[] = { "kernel", "initrd", "dump-dtb",  "disk",
					     "net",    "name",	 "api-socket" };
	size_t len;

	if (strncmp(arg, "--", 2) || !arg[2])
		return false;
	arg += 2;
	len = strcspn(arg, "=");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strncmp(flags[i], arg, len))
			return true;
	return false;
}

/* A "#" line; false if it is an argument. */
static bool directive(const char *line, const char **initrd_arg)
{
	unsigned long long a = 0, b = 16ULL << 20, flags = 0xa, n = 0;

	if (sscanf(line, "#image %lli %lli %lli", &a, &b, &flags) >= 1) {
		write_image(a, b, flags);
		return true;
	}
	if (!strncmp(line, "#pools ", 7)) {
		setenv("CMAVM_TEST_RAW_POOLS", line + 7, 1);
		return true;
	}
	if (sscanf(line, "#initrd %lli", &n) == 1) {
		*initrd_arg = n ? initrd : NULL;
		if (n && ftruncate(initrd_fd, (off_t)(n < INITRD_LIMIT ? n : INITRD_LIMIT)))
			abort();
		return true;
	}
	return false;
}

/* Getopt keeps where it was in the last argv: start it afresh on this one. */
static void reset_getopt(void)
{
	static char *none[] = { "run", NULL };

	optind = 0;
	opterr = 0;
	getopt(1, none, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[ARGS_MAX + 8], *line, *save;
	const char *initrd_arg = NULL;
	int argc = 0;

	if (!text)
		abort();
	if (kernel_fd < 0)
		setup();
	memcpy(text, data, size);
	text[size] = '\0';
	write_image(0, 16ULL << 20, 0xa);
	unsetenv("CMAVM_TEST_RAW_POOLS");
	argv[argc++] = "run";
	argv[argc++] = "--kernel";
	argv[argc++] = kernel;
	argv[argc++] = "--dry-run";
	for (line = strtok_r(text, "\n", &save); line && argc < ARGS_MAX;
	     line = strtok_r(NULL, "\n", &save))
		if (!directive(line, &initrd_arg) && !names_a_file(line))
			argv[argc++] = line;
	if (initrd_arg) {
		argv[argc++] = "--initrd";
		argv[argc++] = (char *)initrd_arg;
	}
	argv[argc] = NULL;
	reset_getopt();
	cmd_run(argc, argv);
	free(text);
	return 0;
}
