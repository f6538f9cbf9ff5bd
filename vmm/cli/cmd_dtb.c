// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm dtb check FILE.dtb [--cmdline "..."] [--guest 6.1|6.12]
 * [--page-size 4K|16K|64K] [--kernel IMAGE]: what a given guest kernel
 * will make of a DTB's memory pools. Exit 0: all fine; 1: a pool is
 * rejected; 2: usage error or a malformed DTB.
 */
#include "vmm/cli/commands.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdt/dtb_check.h"
#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/loader.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/file.h"
#include "vmm/util/log.h"

/* Far above any real DTB (the guest takes 2 MiB), low enough to read whole. */
#define DTB_FILE_MAX (16u << 20)

static const char dtb_usage[] =
	"Usage: cmavm dtb check FILE.dtb [--cmdline \"KERNEL COMMAND LINE\"]\n"
	"                       [--guest 6.1|6.12] [--page-size 4K|16K|64K]\n"
	"                       [--kernel IMAGE] [--json]\n"
	"\n"
	"Tell what an arm64 Linux guest will do with the DTB's RAM and\n"
	"/reserved-memory pools: for each pool whether it becomes a CMA pool, a\n"
	"coherent DMA pool, stays only reserved, is disabled, or is rejected, and\n"
	"why, with the kernel's own message and what to change. The rules are\n"
	"those of the guest kernel named: Debian 12's Linux 6.1 or Debian 13's\n"
	"6.12, which differ in the order pools are set up, in what they count\n"
	"and in what they print; the page size sets the pageblock every CMA\n"
	"pool must be aligned to (2 MiB with 4K pages, 32 MiB with 16K, 512 MiB\n"
	"with 64K). The first line of the output names the guest judged for.\n"
	"\n"
	"Options:\n"
	"  --cmdline TEXT     judge with this kernel command line instead of the\n"
	"                     DTB's /chosen/bootargs (cma= overrides a\n"
	"                     linux,cma-default pool)\n"
	"  --guest SERIES     the guest kernel's series: 6.1 or 6.12  [6.12]\n"
	"  --page-size SIZE   its page size: 4K, 16K or 64K  [4K]\n"
	"  --kernel IMAGE     read series and page size from an arm64 Image;\n"
	"                     --guest and --page-size override what it says\n"
	"  --json             the report as JSON (verdicts: cma, coherent,\n"
	"                     reserved, disabled, rejected)\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 all pools fine, 1 some pool rejected, 2 usage error or\n"
	"malformed DTB.\n";

#define usage_error(...) cli_usage_error("dtb", __VA_ARGS__)

static int file_too_big(const char *path, long long size)
{
	pr_err("%s is %lld bytes; a DTB file may be at most 16 MiB (the guest takes 2 MiB)", path,
	       size);
	return -1;
}

/* The whole file in a malloc()ed buffer; -1 with a message on failure. */
static int read_file(const char *path, void **data, size_t *size)
{
	struct stat st;
	ssize_t n = 0;
	size_t done = 0;
	void *buf;
	int fd = file_open_regular(path, "DTB", &st);

	if (fd < 0)
		return -1;
	if (st.st_size > DTB_FILE_MAX) {
		close(fd);
		return file_too_big(path, (long long)st.st_size);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	while (buf && done < (size_t)st.st_size &&
	       (n = read(fd, (char *)buf + done, (size_t)st.st_size - done)) > 0)
		done += (size_t)n;
	close(fd);
	if (!buf || n < 0) {
		pr_errno("cannot read '%s'", path);
		free(buf);
		return -1;
	}
	*data = buf;
	*size = done;
	return 0;
}

/* What the command line asked for, and where the guest's rules come from. */
struct dtb_args {
	const char *cmdline;
	const char *series; /* --guest, or NULL */
	const char *page;   /* --page-size, or NULL */
	const char *kernel; /* --kernel, or NULL */
	bool json;	    /* --json */
	struct guest_kernel guest;
	char source[128]; /* how the guest was chosen, for the first line */
};

/* The page size of the Image @k against --page-size (0: not given), and whence. */
static int image_page_size(const struct kernel_image *k, uint64_t flag, struct guest_kernel *g,
			   const char **from)
{
	uint64_t header = arm64_image_page_size(k->header);

	*from = flag ? "from --page-size" : header ? "from the Image" : "4 KiB assumed";
	return guest_page_size_settle(k, "--page-size", flag, &g->page_size);
}

/* The series of the kernel at @path from the version in its banner. */
static int image_series(const char *path, struct guest_kernel *g)
{
	char version[64];
	int ret = kernel_image_version(path, version, sizeof(version));

	if (ret < 0)
		return -1;
	if (ret > 0) {
		pr_err("--kernel %s: no \"Linux version\" banner in it (%s); name the series with "
		       "--guest " GUEST_SERIES_CHOICES,
		       path, ret == KERNEL_VERSION_GZIP ? "a gzip Image hides it" : "none found");
		return -1;
	}
	ret = guest_series_of_version(version, &g->series);
	if (ret < 0) {
		pr_err("--kernel %s: Linux %s is older than 5.18, whose CMA alignment cmavm does "
		       "not model (4 MiB with 4 KiB pages); name a series with --guest to judge "
		       "by its rules anyway",
		       path, version);
		return -1;
	}
	if (ret)
		pr_info("--kernel %s: Linux %s, judged by the rules of %s, the nearest series "
			"cmavm knows",
			path, version, guest_series_name(g->series));
	return 0;
}

/*
 * The Image's page size (refused when --page-size contradicts its header)
 * and, unless --guest names it, its series.
 */
static int guest_of_image(struct dtb_args *a, const char **page_from)
{
	struct kernel_image k;
	int ret;

	if (kernel_image_probe(a->kernel, &k))
		return -1;
	ret = image_page_size(&k, a->page ? a->guest.page_size : 0, &a->guest, page_from);
	boot_file_free(&k.file);
	if (ret || a->series)
		return ret;
	return image_series(a->kernel, &a->guest);
}

/* --guest and --page-size, then --kernel where they are silent; the default for the rest. */
static int settle_guest(struct dtb_args *a)
{
	const char *page_from = a->page ? "from --page-size" : "by default";

	a->guest = GUEST_KERNEL_DEFAULT;
	if (a->series && guest_series_from_text(a->series, &a->guest.series))
		return usage_error("--guest '%s': give " GUEST_SERIES_CHOICES
				   " (Debian 12's or Debian 13's kernel)",
				   a->series);
	if (a->page && guest_page_size_from_text(a->page, &a->guest.page_size))
		return usage_error("--page-size '%s': give " GUEST_PAGE_SIZE_CHOICES
				   " (the arm64 page sizes)",
				   a->page);
	if (a->kernel && guest_of_image(a, &page_from))
		return -1;
	snprintf(a->source, sizeof(a->source), "series %s, page size %s",
		 a->series   ? "from --guest"
		 : a->kernel ? "from the Image"
			     : "by default",
		 page_from);
	return 0;
}

static int check_file(const char *path, const struct dtb_args *a)
{
	static struct dtb_report rep; /* ~80 KiB: not on the stack */
	char name[64];
	void *blob;
	size_t size;
	int ret;

	if (read_file(path, &blob, &size))
		return CLI_EXIT_USAGE;
	if (a->json)
		dtb_report_json_prepare();
	/* The DTB may be anyone's: judge it where a bug could do no harm. */
	if (sandbox_set_mode(SANDBOX_ON) || sandbox_enter(SANDBOX_CHECK, "dtb-check")) {
		free(blob);
		return CLI_EXIT_FAILED;
	}
	ret = dtb_check_guest(blob, size, a->cmdline, &a->guest, &rep);
	free(blob);
	if (ret) {
		pr_err("%s: %s", path, rep.error);
		return CLI_EXIT_USAGE;
	}
	if (a->json) {
		if (dtb_report_json(&rep, path, stdout))
			return CLI_EXIT_USAGE;
	} else {
		printf("%s: as an arm64 guest running %s will see it (%s)\n\n", path,
		       guest_kernel_name(&rep.guest, name, sizeof(name)), a->source);
		dtb_report_print(&rep, stdout);
	}
	return dtb_report_rejects(&rep) ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* The usage error for a flag given without its value; 0 if @opt takes none. */
static int missing_value(int opt)
{
	static const struct {
		int opt;
		const char *flag;
	} flags[] = {
		{ 'c', "--cmdline" },
		{ 'g', "--guest" },
		{ 'p', "--page-size" },
		{ 'k', "--kernel" },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].opt == opt)
			return usage_error("%s needs a value", flags[i].flag);
	return 0;
}

/* argv[0] is "check" */
static int cmd_dtb_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cmdline", required_argument, NULL, 'c' },
		{ "guest", required_argument, NULL, 'g' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dtb_args a = { 0 };
	int opt, ret;

	optind = 0; /* glibc: start afresh, whatever parsed argv before */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a.cmdline = optarg;
			break;
		case 'g':
			a.series = optarg;
			break;
		case 'p':
			a.page = optarg;
			break;
		case 'k':
			a.kernel = optarg;
			break;
		case 'j':
			a.json = true;
			break;
		case 'h':
			fputs(dtb_usage, stdout);
			return CLI_EXIT_OK;
		default:
			ret = missing_value(optopt);
			return ret ? ret
				   : usage_error("'dtb check' has no option '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("'dtb check' needs a DTB file");
	if (argc - optind > 1)
		return usage_error("'dtb check' takes one DTB file");
	if (settle_guest(&a))
		return CLI_EXIT_USAGE;
	return check_file(argv[optind], &a);
}

int cmd_dtb(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("'cmavm dtb' needs a subcommand: check");
	if (cli_is_help(argv[1])) {
		fputs(dtb_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_dtb_check(argc - 1, argv + 1);
	return usage_error("unknown 'dtb' subcommand '%s'", argv[1]);
}
