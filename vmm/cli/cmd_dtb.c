// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm dtb check FILE.dtb [--cmdline "..."]: what the guest kernel will
 * make of a DTB's memory pools. Exit 0: all fine; 1: a pool is rejected;
 * 2: usage error or a malformed DTB.
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
#include "vmm/cli/cli.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/file.h"
#include "vmm/util/log.h"

/* Far above any real DTB (the guest takes 2 MiB), low enough to read whole. */
#define DTB_FILE_MAX (16u << 20)

static const char dtb_usage[] =
	"Usage: cmavm dtb check FILE.dtb [--cmdline \"KERNEL COMMAND LINE\"]\n"
	"\n"
	"Tell what an arm64 Linux 6.1 guest will do with the DTB's RAM and\n"
	"/reserved-memory pools: for each pool whether it becomes a CMA pool, a\n"
	"coherent DMA pool, stays only reserved, is disabled, or is rejected, and\n"
	"why, with the kernel's own message and what to change.\n"
	"\n"
	"Options:\n"
	"  --cmdline TEXT  judge with this kernel command line instead of the\n"
	"                  DTB's /chosen/bootargs (cma= overrides a\n"
	"                  linux,cma-default pool)\n"
	"  -h, --help      show this help\n"
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

static int check_file(const char *path, const char *cmdline)
{
	static struct dtb_report rep; /* ~70 KiB: not on the stack */
	void *blob;
	size_t size;
	int ret;

	if (read_file(path, &blob, &size))
		return CLI_EXIT_USAGE;
	/* The DTB may be anyone's: judge it where a bug could do no harm. */
	if (sandbox_set_mode(SANDBOX_ON) || sandbox_enter(SANDBOX_CHECK, "dtb-check")) {
		free(blob);
		return CLI_EXIT_FAILED;
	}
	ret = dtb_check(blob, size, cmdline, &rep);
	free(blob);
	if (ret) {
		pr_err("%s: %s", path, rep.error);
		return CLI_EXIT_USAGE;
	}
	printf("%s: as an arm64 Linux 6.1 guest will see it\n\n", path);
	dtb_report_print(&rep, stdout);
	return dtb_report_rejects(&rep) ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* argv[0] is "check" */
static int cmd_dtb_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cmdline", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmdline = NULL;
	int opt;

	optind = 0; /* glibc: start afresh, whatever parsed argv before */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cmdline = optarg;
			break;
		case 'h':
			fputs(dtb_usage, stdout);
			return CLI_EXIT_OK;
		default:
			if (optopt == 'c')
				return usage_error("--cmdline needs a value");
			return usage_error("'dtb check' has no option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("'dtb check' needs a DTB file");
	if (argc - optind > 1)
		return usage_error("'dtb check' takes one DTB file");
	return check_file(argv[optind], cmdline);
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
