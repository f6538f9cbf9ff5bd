// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --dry-run` (vmm/cli/cmd_run.c, run_window.c) with kernels of
 * each page size: the pageblock read from the Image header or
 * --guest-page-size, and every pool and window measured in it, refused
 * before boot with the flag and the reason.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/lib/capture.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/commands.h"

#define FLAGS_4K	  0xa /* little-endian, 4 KiB pages, anywhere */
#define FLAGS_16K	  0xc
#define FLAGS_UNSPECIFIED 0x8

static char kernel[64];

/* A 3 MiB Image whose header says @flags, at kernel[]. */
static void write_image(uint64_t flags)
{
	static uint8_t img[3 << 20];
	uint64_t image_size = sizeof(img);
	int fd;

	memset(img, 0, 64);
	memcpy(img + 16, &image_size, 8);
	memcpy(img + 24, &flags, 8);
	memcpy(img + 56, "ARM\x64", 4);
	strcpy(kernel, "/tmp/cmavm-run-guest-XXXXXX");
	fd = mkstemp(kernel);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
}

struct run {
	int exit;
	char *out; /* stdout and stderr, in that order */
};

/*
 * cmavm run --kernel (an Image with @flags) --dry-run, then @args
 * (NULL-ended, copied: flags are cut up where they are parsed).
 */
static struct run dry_run(uint64_t flags, ...)
{
	char *argv[32] = { "run", "--kernel", kernel, "--dry-run" }, *err;
	struct capture out, errs;
	struct run r;
	int argc = 4;
	va_list ap;

	write_image(flags);
	va_start(ap, flags);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argv[argc] = strdup(argv[argc]), argc++;
	va_end(ap);
	optind = 0;
	capture_start(&out, stdout);
	capture_start(&errs, stderr);
	r.exit = cmd_run(argc, argv);
	fflush(stdout);
	err = captured(&errs, stderr);
	r.out = captured(&out, stdout);
	r.out = realloc(r.out, strlen(r.out) + strlen(err) + 1);
	strcat(r.out, err);
	free(err);
	unlink(kernel);
	while (argc > 4)
		free(argv[--argc]);
	return r;
}

static void expect(struct run r, int exit, const char *text)
{
	if (r.exit != exit || !strstr(r.out, text))
		fail_msg("expected exit %d and \"%s\"; got exit %d and:\n%s", exit, text, r.exit,
			 r.out);
	free(r.out);
}

static void test_16k_header_gives_32m_pageblocks(void **state)
{
	/* RAM ends at 0xbe800000: 4 MiB alignment would put the pool at 0xba800000 */
	struct run r = dry_run(FLAGS_16K, "--memory", "1000M", "--dma-pool", "cam:32M", NULL);

	(void)state;
	assert_non_null(strstr(r.out, "guest pages 16 KiB (its Image header), so pageblocks of "
				      "32 MiB"));
	/* --pool-align's default of 4M is raised to the pageblock */
	assert_non_null(strstr(r.out, "pool linux,cma at 0xba000000 size 64 MiB"));
	expect(r, 0, "pool cam at 0xb8000000 size 32 MiB");
}

static void test_pool_smaller_than_a_pageblock_is_refused(void **state)
{
	(void)state;
	expect(dry_run(FLAGS_16K, "--dma-pool", "cam:16M", NULL), 1,
	       "--dma-pool cam:16M: size 16 MiB is smaller than 32 MiB, the pageblock of a "
	       "16 KiB-page guest; use 32 MiB");
	expect(dry_run(FLAGS_4K, "--dma-pool", "cam:16M", NULL), 0, "pool cam at");
	/* the guest would take it; the engine would not: said whose rule it is */
	expect(dry_run(FLAGS_16K, "--dma-pool", "fw:4M:no-map", NULL), 1,
	       "size 4 MiB is smaller than 32 MiB, the pageblock of a 16 KiB-page guest (cmavm's "
	       "rule for no-map pools");
}

static void test_window_in_whole_guest_pageblocks(void **state)
{
	(void)state;
	expect(dry_run(FLAGS_16K, "--window", "linux,cma:huge:0:2M", NULL), 2,
	       "--window linux,cma:huge:0:2M: length 2 MiB is not a whole number of the guest's "
	       "32 MiB pageblocks (16 KiB pages); use 32 MiB");
	expect(dry_run(FLAGS_16K, "--window", "linux,cma:huge:16M:32M", NULL), 2,
	       "offset 16 MiB is not a whole number of the guest's 32 MiB pageblocks");
	expect(dry_run(FLAGS_16K, "--window", "linux,cma:huge:32M:32M", NULL), 0, "window");
	expect(dry_run(FLAGS_4K, "--window", "linux,cma:huge:0:2M", NULL), 0, "window");
	/* a whole-pool window: the pool's size is at fault, and its flag is named */
	expect(dry_run(FLAGS_16K, "--cma", "48M,window=huge", NULL), 1,
	       "--cma 48M,window=huge: size 48 MiB is not a multiple of 32 MiB, the pageblock of "
	       "a 16 KiB-page guest; use 32 MiB or 64 MiB");
}

static void test_flag_where_the_header_is_silent(void **state)
{
	(void)state;
	expect(dry_run(FLAGS_UNSPECIFIED, "--guest-page-size", "16K", NULL), 0,
	       "guest pages 16 KiB (--guest-page-size), so pageblocks of 32 MiB");
	expect(dry_run(FLAGS_UNSPECIFIED, NULL), 0,
	       "does not say its page size in its Image header: assuming 4 KiB pages");
	expect(dry_run(FLAGS_16K, "--guest-page-size", "4K", NULL), 1,
	       "--guest-page-size 4 KiB: the kernel");
	expect(dry_run(FLAGS_4K, "--guest-page-size", "8K", NULL), 2,
	       "--guest-page-size 8K: give 4K, 16K or 64K");
}

/* --net: a MAC derived from the tap's name, the same each run; a given one exactly. */
static void test_net_macs(void **state)
{
	struct run a = dry_run(FLAGS_4K, "--net", "tap=tap0", "--net", "tap=tap1", NULL);
	struct run b = dry_run(FLAGS_4K, "--net", "tap=tap0", NULL);
	const size_t at = strlen("tap tap0, MAC ");
	char *mac_a = strstr(a.out, "tap tap0, MAC 02:cb:");
	char *mac_b = strstr(b.out, "tap tap0, MAC ");
	char *mac_1 = strstr(a.out, "tap tap1, MAC 02:cb:");

	(void)state;
	assert_non_null(mac_a);
	assert_non_null(mac_b);
	assert_non_null(mac_1);
	assert_memory_equal(mac_a + at, mac_b + at, 17); /* the same tap, the same MAC */
	assert_memory_not_equal(mac_a + at, mac_1 + at, 17);
	free(b.out);
	expect(a, 0, "virtio-net1");
	expect(dry_run(FLAGS_4K, "--net", "tap=tap0,mac=02:AB:cd:00:00:0f", NULL), 0,
	       "tap tap0, MAC 02:ab:cd:00:00:0f\r\n");
	expect(dry_run(FLAGS_4K, "--net", "tap=tap0,mac=+2:00:00:00:00:01", NULL), 2,
	       "give six hex bytes");
	expect(dry_run(FLAGS_4K, "--net", "tap=tap0,mac=02:00:00:00:00", NULL), 2,
	       "give six hex bytes");
	expect(dry_run(FLAGS_4K, "--net", "tap=averyveryverylongname", NULL), 2,
	       "a tap's name has 1 to 15 characters");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_16k_header_gives_32m_pageblocks),
		cmocka_unit_test(test_pool_smaller_than_a_pageblock_is_refused),
		cmocka_unit_test(test_window_in_whole_guest_pageblocks),
		cmocka_unit_test(test_flag_where_the_header_is_silent),
		cmocka_unit_test(test_net_macs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
