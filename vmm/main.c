// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm: a KVM virtual machine monitor for arm64 Linux guests whose
 * speciality is guest contiguous memory (CMA).
 */
#include "vmm/cli/commands.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: cmavm COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  run        boot an arm64 Linux guest with DMA pools cmavm places\n"
	"  dtb check  tell what a guest kernel will do with a DTB's /reserved-memory pools\n"
	"  ctl        ask a running VM: status, pause, resume, shutdown, balloon, devices\n"
	"  plan       size a VM class's CMA from its buffers; pack a fleet; size from what VMs "
	"saw\n"
	"\n"
	"'cmavm COMMAND --help' describes each command.\n";

int main(int argc, char **argv)
{
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("cmavm %s\n", CMAVM_VERSION);
		return 0;
	}
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
