/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmavm's commands. Each takes argv starting at its own name and returns
 * the process exit code.
 */
#ifndef VMM_COMMANDS_H
#define VMM_COMMANDS_H

/* cmavm run: boot a guest (vmm/cli/cmd_run.c) */
int cmd_run(int argc, char **argv);

/* cmavm dtb check: judge a DTB as the guest kernel will (vmm/cli/cmd_dtb.c) */
int cmd_dtb(int argc, char **argv);

/* cmavm ctl: ask a running VM through its API socket (vmm/cli/cmd_ctl.c) */
int cmd_ctl(int argc, char **argv);

#endif
