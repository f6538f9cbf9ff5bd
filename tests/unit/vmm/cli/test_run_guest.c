// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --dry-run` (vmm/cli/cmd_run.c, run_window.c, run_check.c)
 * with kernels of each page size: the pageblock read from the Image header
 * or --guest-page-size, and every pool and window measured in it, refused
 * before boot with the flag and the reason; --name and the socket it
 * gives, a VM of that name already running; --cmdline-append; --log-level
 * and $CMAVM_LOG_LEVEL; every --disk and --net tap looked at as the
 * devices would open them, all problems told.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/lib/capture.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/commands.h"
#include "vmm/util/log.h"

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
 * cmavm run --kernel (an Image with @flags) [--dry-run], then @args
 * (NULL-ended, copied: flags are cut up where they are parsed).
 */
static struct run run_va(bool dry, uint64_t flags, va_list ap)
{
	char *argv[40] = { "run", "--kernel", kernel, "--dry-run" }, *err;
	int fixed = dry ? 4 : 3, argc = fixed;
	struct capture out, errs;
	struct run r;

	write_image(flags);
	while (argc < 39 && (argv[argc] = va_arg(ap, char *)))
		argv[argc] = strdup(argv[argc]), argc++;
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
	while (argc > fixed)
		free(argv[--argc]);
	return r;
}

static struct run run(bool dry, uint64_t flags, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, flags);
	r = run_va(dry, flags, ap);
	va_end(ap);
	return r;
}

#define dry_run(...) run(true, __VA_ARGS__)
/* Without --dry-run: for what stops a run before the VM (glue/unsupported.c would refuse it). */
#define real_run(...) run(false, __VA_ARGS__)

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

/*
 * --net: a MAC derived from the tap's name, the same each run; a given one
 * exactly. These taps do not exist: the plan is still printed, the dry
 * run ends with their errors.
 */
static void test_net_macs(void **state)
{
	struct run a = dry_run(FLAGS_4K, "--net", "tap=nosuch0", "--net", "tap=nosuch1", NULL);
	struct run b = dry_run(FLAGS_4K, "--net", "tap=nosuch0", NULL);
	const size_t at = strlen("tap nosuch0, MAC ");
	char *mac_a = strstr(a.out, "tap nosuch0, MAC 02:cb:");
	char *mac_b = strstr(b.out, "tap nosuch0, MAC ");
	char *mac_1 = strstr(a.out, "tap nosuch1, MAC 02:cb:");

	(void)state;
	assert_non_null(mac_a);
	assert_non_null(mac_b);
	assert_non_null(mac_1);
	assert_memory_equal(mac_a + at, mac_b + at, 17); /* the same tap, the same MAC */
	assert_memory_not_equal(mac_a + at, mac_1 + at, 17);
	free(b.out);
	expect(a, 1, "virtio-net1");
	expect(dry_run(FLAGS_4K, "--net", "tap=nosuch0,mac=02:AB:cd:00:00:0f", NULL), 1,
	       "tap nosuch0, MAC 02:ab:cd:00:00:0f\r\n");
	expect(dry_run(FLAGS_4K, "--net", "tap=nosuch0,mac=+2:00:00:00:00:01", NULL), 2,
	       "give six hex bytes");
	expect(dry_run(FLAGS_4K, "--net", "tap=nosuch0,mac=02:00:00:00:00", NULL), 2,
	       "give six hex bytes");
	expect(dry_run(FLAGS_4K, "--net", "tap=averyveryverylongname", NULL), 2,
	       "a tap's name has 1 to 15 characters");
}

static char rundir[64]; /* $XDG_RUNTIME_DIR, where the sockets go */

/* @name in rundir, into @buf */
static char *in_rundir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", rundir, name);
	return buf;
}

/* A server's socket at @path: what a running VM has. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0 && strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* The run printed @text, and not @absent. */
static void expect_not(struct run r, int exit, const char *text, const char *absent)
{
	if (strstr(r.out, absent))
		fail_msg("\"%s\" was printed:\n%s", absent, r.out);
	expect(r, exit, text);
}

static void test_name_gives_the_socket(void **state)
{
	char want[192], path[128];

	(void)state;
	snprintf(want, sizeof(want), "its control socket would be %s/cmavm-web-1.sock)", rundir);
	expect(dry_run(FLAGS_4K, "--name", "web-1", NULL), 0, want);
	snprintf(want, sizeof(want), "its control socket would be %s/cmavm.sock)", rundir);
	expect(dry_run(FLAGS_4K, NULL), 0, want);
	/* an explicit socket wins, and so does $CMAVM_SOCKET */
	in_rundir(path, sizeof(path), "mine.sock");
	snprintf(want, sizeof(want), "its control socket would be %s)", path);
	expect(dry_run(FLAGS_4K, "--name", "web-1", "--api-socket", path, NULL), 0, want);
	setenv("CMAVM_SOCKET", path, 1);
	expect(dry_run(FLAGS_4K, "--name", "web-1", NULL), 0, want);
	unsetenv("CMAVM_SOCKET");
}

static void test_bad_names(void **state)
{
	(void)state;
	expect(dry_run(FLAGS_4K, "--name", "a/b", NULL), 2,
	       "error: --name 'a/b': the name has '/' (letters, digits, '.', '_' and '-' only); "
	       "give one like --name web-1");
	expect(dry_run(FLAGS_4K, "--name", "", NULL), 2,
	       "--name '': the name is empty (1 to 32 characters); give one like --name web-1");
	expect(dry_run(FLAGS_4K, "--name", ".web", NULL), 2,
	       "--name '.web': the name starts with '.'; give one like");
	expect(dry_run(FLAGS_4K, "--name", "abcdefghijklmnopqrstuvwxyz0123456", NULL), 2,
	       "the name is too long (1 to 32 characters)");
	expect(dry_run(FLAGS_4K, "--name", "abcdefghijklmnopqrstuvwxyz012345", NULL), 0,
	       "cmavm-abcdefghijklmnopqrstuvwxyz012345.sock");
}

static void test_name_already_running(void **state)
{
	char path[128], other[128], want[320];
	int fd = listen_at(in_rundir(path, sizeof(path), "cmavm-web.sock"));

	(void)state;
	snprintf(want, sizeof(want),
		 "cmavm: error: a VM named web is already running (socket %s); pick another "
		 "--name, or stop it with 'cmavm ctl --name web shutdown'\r\n",
		 path);
	/* refused before anything: no plan */
	expect_not(real_run(FLAGS_4K, "--name", "web", NULL), 1, want, "cmdline:");
	/* a dry run tells it among the rest */
	expect(dry_run(FLAGS_4K, "--name", "web", NULL), 1,
	       "--dry-run: 1 problem above; a real run would stop at the first");
	expect(dry_run(FLAGS_4K, "--name", "web2", NULL), 0, "not starting the guest");
	expect(dry_run(FLAGS_4K, "--name", "web", "--api-socket",
		       in_rundir(other, sizeof(other), "other.sock"), NULL),
	       0, "not starting the guest");
	/* nobody listens on it any more: a stale socket, which the VM replaces */
	close(fd);
	expect(dry_run(FLAGS_4K, "--name", "web", NULL), 0, "not starting the guest");
	unlink(path);
}

static void test_cmdline_append(void **state)
{
	char a[1100], b[1100];

	(void)state;
	expect(dry_run(FLAGS_4K, "--cmdline-append", "loglevel=8", "--cmdline-append",
		       "init=/bin/sh", NULL),
	       0, "cmavm: cmdline: console=ttyS0 quiet loglevel=8 init=/bin/sh\r\n");
	/* after --cmdline's, wherever that comes */
	expect(dry_run(FLAGS_4K, "--cmdline-append", "b=2", "--cmdline", "a=1", NULL), 0,
	       "cmavm: cmdline: a=1 b=2\r\n");
	expect(dry_run(FLAGS_4K, "--cmdline", "", "--cmdline-append", "b=2", NULL), 0,
	       "cmavm: cmdline: b=2\r\n");
	/* 2047 bytes in all is what the guest reads; one more is refused, naming both flags */
	memset(a, 'a', 1023);
	a[1023] = '\0';
	memset(b, 'b', 1023);
	b[1023] = '\0';
	expect(dry_run(FLAGS_4K, "--cmdline", a, "--cmdline-append", b, NULL), 0,
	       "not starting the guest");
	b[1023] = 'b';
	b[1024] = '\0';
	expect(dry_run(FLAGS_4K, "--cmdline", a, "--cmdline-append", b, NULL), 2,
	       "error: --cmdline with --cmdline-append: the kernel command line would be 2048 "
	       "bytes; an arm64 guest reads only the first 2047: shorten --cmdline or "
	       "--cmdline-append");
	memset(b, 'b', 1099);
	b[1099] = '\0';
	expect(dry_run(FLAGS_4K, "--cmdline-append", b, "--cmdline-append", b, NULL), 2,
	       "the kernel command line would be 2219 bytes");
}

/* The longest command line, all of it from --cmdline-append, reaches the DTB whole. */
static void test_cmdline_append_alone_at_the_limit(void **state)
{
	char c[2049], dtb[128], *blob = malloc(1 << 16), *at;
	size_t len;
	FILE *f;

	(void)state;
	memset(c, 'c', 2047);
	c[2047] = '\0';
	in_rundir(dtb, sizeof(dtb), "limit.dtb");
	expect(dry_run(FLAGS_4K, "--cmdline", "", "--cmdline-append", c, "--dump-dtb", dtb, NULL),
	       0, "not starting the guest");
	f = fopen(dtb, "rb");
	assert_non_null(f);
	len = fread(blob, 1, 1 << 16, f);
	fclose(f);
	unlink(dtb);
	at = memmem(blob, len, c, 2047);
	assert_non_null(at);
	assert_int_equal(at[2047], '\0'); /* bootargs, and nothing cut */
	assert_int_not_equal(at[-1], 'c');
	free(blob);
	c[2047] = 'c';
	c[2048] = '\0';
	expect(dry_run(FLAGS_4K, "--cmdline", "", "--cmdline-append", c, NULL), 2,
	       "the kernel command line would be 2048 bytes");
}

static void test_log_level(void **state)
{
	(void)state;
	expect_not(dry_run(FLAGS_4K, "--log-level", "error", "--metrics-file", "m.txt", NULL), 0,
		   "", "cmavm: cmdline:");
	/* wherever it is: the flags before it are quiet too */
	expect_not(dry_run(FLAGS_4K, "--metrics-file", "m.txt", "--log-level", "error", NULL), 0,
		   "", "warning");
	expect_not(dry_run(FLAGS_4K, "--log-level", "warn", "--metrics-file", "m.txt", NULL), 0,
		   "cmavm: warning: --metrics-file m.txt", "cmavm: cmdline:");
	expect_not(dry_run(FLAGS_4K, "--metrics-file", "m.txt", NULL), 0,
		   "cmavm: cmdline:", "debug: ");
	/* the early look for it leaves a flag's optional value after the flag */
	expect(dry_run(FLAGS_4K, "--gpu", "640x480", "--log-level", "warn", NULL), 0, "");
	expect(dry_run(FLAGS_4K, "--log-level", "debug", NULL), 0, "cmavm: debug: control socket ");
	/* $CMAVM_LOG_LEVEL without the flag; the flag over it */
	setenv(LOG_LEVEL_ENV, "error", 1);
	expect_not(dry_run(FLAGS_4K, NULL), 0, "", "cmavm: cmdline:");
	expect(dry_run(FLAGS_4K, "--log-level", "info", NULL), 0, "cmavm: cmdline:");
	unsetenv(LOG_LEVEL_ENV);
	expect(dry_run(FLAGS_4K, "--log-level", "loud", NULL), 2,
	       "error: --log-level loud: unknown log level 'loud'; levels: error, warn, info, "
	       "debug");
	expect(dry_run(FLAGS_4K, NULL), 0, "cmavm: cmdline:");
}

/* A file of @size bytes in rundir. */
static char *make_image(char *buf, size_t len, const char *name, off_t size)
{
	int fd = open(in_rundir(buf, len, name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	return buf;
}

#define RO_SYSFS_FILE "/sys/class/net/lo/address" /* read-only even for root */

static void test_dry_run_checks_disks_and_taps(void **state)
{
	char good[128], small[128], ro[160], want[320];
	struct run r;

	(void)state;
	make_image(good, sizeof(good), "good.img", 1 << 20);
	make_image(small, sizeof(small), "small.img", 100);
	snprintf(ro, sizeof(ro), "%s,ro", good);
	expect(dry_run(FLAGS_4K, "--disk", good, "--disk", ro, "--disk", RO_SYSFS_FILE ",ro", NULL),
	       0, "not starting the guest");
	r = dry_run(FLAGS_4K, "--disk", "/nonexistent/x.img", "--disk", rundir, "--disk",
		    RO_SYSFS_FILE, "--disk", small, "--net", "tap=cmvnosuch", "--net", "tap=lo",
		    NULL);
	assert_non_null(strstr(r.out, "error: --disk /nonexistent/x.img: cannot find the image: "
				      "No such file or directory"));
	snprintf(want, sizeof(want),
		 "error: --disk %s: this is a directory, not a disk image; give a raw image file",
		 rundir);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "error: --disk " RO_SYSFS_FILE ": cannot open the image "
				      "for writing (add ,ro for read-only): Permission denied"));
	snprintf(want, sizeof(want),
		 "error: --disk %s: the image is smaller than one 512-byte "
		 "sector",
		 small);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out,
			       "error: --net tap=cmvnosuch: there is no tap cmvnosuch: "
			       "create it: sudo ip tuntap add dev cmvnosuch mode tap user "));
	assert_non_null(strstr(r.out, "error: --net tap=lo: lo is not a tap"));
	/* the plan all the same, then the count */
	assert_non_null(strstr(r.out, "virtio-blk3 at "));
	expect(r, 1, "error: --dry-run: 6 problems above; a real run would stop at the first\r\n");
	unlink(good);
	unlink(small);
}

/* Another process's lock, as a running VM holds on its disk. */
static void test_dry_run_finds_a_disk_in_use(void **state)
{
	char img[128], want[256];
	int fd;

	(void)state;
	make_image(img, sizeof(img), "busy.img", 1 << 20);
	fd = open(img, O_RDWR | O_CLOEXEC);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	snprintf(want, sizeof(want),
		 "error: --disk %s: the image is in use by another process "
		 "(locked); stop it, or add ,ro to share it read-only",
		 img);
	expect(dry_run(FLAGS_4K, "--disk", img, NULL), 1, want);
	close(fd);
	expect(dry_run(FLAGS_4K, "--disk", img, NULL), 0, "not starting the guest");
	unlink(img);
}

static void test_help_has_the_flags(void **state)
{
	static const char *const words[] = {
		"  --name NAME ",
		"  --cmdline-append TEXT\n",
		"  --log-level error|warn|info|debug\n",
		"[$CMAVM_LOG_LEVEL, else info]",
		"  CMAVM_LOG_LEVEL ",
		"  --cmdline, --cmdline-append\n                2047 bytes in all",
		"  --name        1 to 32 letters",
	};
	struct run r = dry_run(FLAGS_4K, "--help", NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(r.out, words[i]))
			fail_msg("--help has no \"%s\"", words[i]);
	/* every line fits a terminal, as help2man and man want */
	for (char *line = r.out, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			break;
		if (end - line > 80)
			fail_msg("--help line over 80 columns: %.*s", (int)(end - line), line);
	}
	expect(r, 0, "Usage: cmavm run");
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(rundir, "/tmp/cmavm-run-dir-XXXXXX");
	if (!mkdtemp(rundir))
		return -1;
	setenv("XDG_RUNTIME_DIR", rundir, 1);
	unsetenv("CMAVM_SOCKET");
	unsetenv(LOG_LEVEL_ENV);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return rmdir(rundir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_16k_header_gives_32m_pageblocks),
		cmocka_unit_test(test_pool_smaller_than_a_pageblock_is_refused),
		cmocka_unit_test(test_window_in_whole_guest_pageblocks),
		cmocka_unit_test(test_flag_where_the_header_is_silent),
		cmocka_unit_test(test_net_macs),
		cmocka_unit_test(test_name_gives_the_socket),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_name_already_running),
		cmocka_unit_test(test_cmdline_append),
		cmocka_unit_test(test_cmdline_append_alone_at_the_limit),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_dry_run_checks_disks_and_taps),
		cmocka_unit_test(test_dry_run_finds_a_disk_in_use),
		cmocka_unit_test(test_help_has_the_flags),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
