/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the files of vmm/cli/: what every command shares, so that `cmavm run`,
 * `cmavm dtb` and `cmavm ctl` end with the same statuses and word their
 * usage errors alike.
 */
#ifndef VMM_CLI_CLI_H
#define VMM_CLI_CLI_H

#include <stdio.h>

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1, /* the VM refused or failed, a pool was rejected */
	CLI_EXIT_USAGE = 2,  /* wrong words (dtb check: also a malformed DTB) */
};

/*
 * Print "error: WHAT; see 'cmavm @command --help'", WHAT from @fmt;
 * returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct vm_config;
struct dtb_report;

/* cmd_dtb_json.c: `cmavm dtb check --json`'s document for the report of @file; 0, or -1 said why.
 */
int dtb_report_json(const struct dtb_report *rep, const char *file, FILE *out);
/* Before the sandbox: jansson seeds its hash from /dev/urandom on first use. */
void dtb_report_json_prepare(void);

/* run_help.c: `cmavm run --help` on stdout; returns CLI_EXIT_OK. */
int run_print_usage(void);

/*
 * run_check.c: whether the VM named with --name runs already (its socket
 * answers): 0, or -1 said so, with what to do.
 */
int run_check_name(const struct vm_config *cfg);
/*
 * run_check.c: every --disk and --net of @cfg as its device would open
 * it, without creating or attaching anything (--dry-run): how many are
 * wrong, each said with its flag and the fix.
 */
unsigned int run_check_inputs(const struct vm_config *cfg);

/* run_gpu.c: `cmavm run --gpu ...` into @cfg->gpu; 0, or -1 said why. @arg may be NULL. */
int run_flag_gpu(struct vm_config *cfg, char *arg);

/* run_net.c: one --net into @cfg->nets; 0, or -1 said why. */
int run_flag_net(struct vm_config *cfg, char *arg);

/* run_window.c: one --window into @cfg->windows (its syntax only); 0, or -1 said why. */
int run_flag_window(struct vm_config *cfg, char *arg);
/*
 * run_window.c: the windows of ,window= added, and every window checked
 * against the pools and @cfg->guest's pageblock. 0, or -1 said why.
 */
int run_check_windows(struct vm_config *cfg);

#endif
