// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm: a KVM virtual machine monitor for arm64 Linux guests whose
 * speciality is guest contiguous memory (CMA).
 */
#include "vmm/cli/commands.h"

#include <stdio.h>
#include <string.h>

#include "vmm/version.h"

/*
 * The manual pages are made from this text by help2man (docs/man/), and
 * tests/unit/vmm/cli/check-help checks that it names every command and
 * every `cmavm ctl` command of vmm/cli/ctl_requests.c.
 */
static const char usage[] =
	"Usage: cmavm COMMAND [OPTIONS]\n"
	"\n"
	"A KVM virtual machine monitor for arm64 Linux guests whose speciality is\n"
	"guest contiguous memory (CMA): it places the guest's DMA pools and backs them\n"
	"on the host.\n"
	"\n"
	"Commands:\n"
	"  run        boot an arm64 Linux guest with DMA pools cmavm places\n"
	"  dtb check  tell what a guest kernel will do with a DTB's /reserved-memory pools\n"
	"  ctl        ask a running VM: list, status, pause, resume, shutdown, balloon,\n"
	"             devices, pools, map, window, migrate, cma-stats, gpu, screenshot,\n"
	"             metrics, raw, connect\n"
	"  plan       size a VM class's CMA from its buffers; pack a fleet; size from what\n"
	"             VMs saw\n"
	"  version    print cmavm's version\n"
	"\n"
	"Options:\n"
	"  -h, --help     this text; 'cmavm COMMAND --help' describes each command\n"
	"  --version      print cmavm's version\n"
	"\n"
	"Environment:\n"
	"  CMAVM_SOCKET     the VM's API socket (run --api-socket, ctl --socket)\n"
	"  XDG_RUNTIME_DIR  where the socket is without CMAVM_SOCKET\n"
	"                   [${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock, or cmavm-NAME.sock\n"
	"                   for run --name NAME]\n"
	"  CMAVM_GUEST_DIR  where run looks for the demo guest first\n"
	"  CMAVM_LOG_LEVEL  error, warn, info or debug: what cmavm prints  [info]\n"
	"  NO_COLOR         ctl map draws in letters, not colour\n"
	"  CMAVM_TEST_RAW_POOLS  for cmavm's own tests only\n"
	"  CMAVM_SECCOMP_PROBE   for cmavm's own tests only\n"
	"\n"
	"Exit status: 0 done, 1 failed or refused, 2 usage error (each command's\n"
	"--help tells its own).\n";

static int print_version(void)
{
	if (strcmp(CMAVM_GIT, "") && strcmp(CMAVM_GIT, CMAVM_VERSION))
		printf("cmavm %s (git %s)\n", CMAVM_VERSION, CMAVM_GIT);
	else
		printf("cmavm %s\n", CMAVM_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return print_version();
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dtb"))
		return cmd_dtb(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "plan"))
		return cmd_plan(argc - 1, argv + 1);
	fprintf(stderr, "cmavm: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
