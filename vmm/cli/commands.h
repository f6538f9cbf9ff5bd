/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmavm's commands.
 *
 * Owns: each command's words (flags, subcommands, usage text and usage
 * errors) and what it prints. Each takes argv starting at its own name
 * and returns the process exit code: 0 done, 1 failed or refused, 2 a
 * usage error.
 */
#ifndef VMM_CLI_COMMANDS_H
#define VMM_CLI_COMMANDS_H

#include <stdbool.h>

/* cmavm run: boot a guest (vmm/cli/cmd_run.c) */
int cmd_run(int argc, char **argv);

/* cmavm dtb check: judge a DTB as the guest kernel will (vmm/cli/cmd_dtb.c) */
int cmd_dtb(int argc, char **argv);

/* cmavm plan: size a VM class's CMA, pack a fleet (vmm/cli/cmd_plan.c) */
int cmd_plan(int argc, char **argv);

/* cmavm ctl: ask a running VM through its API socket (vmm/cli/ctl.c) */
int cmd_ctl(int argc, char **argv);

/* --help, -h or help: the words that ask cmavm or a command for its usage */
bool cli_is_help(const char *word);

#endif
