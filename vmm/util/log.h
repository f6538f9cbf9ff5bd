/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Messages to the operator: every line on stderr starts with "cmavm: ".
 *
 * Owns: the format of errors, warnings and progress lines. Errors say what
 * failed and what to do about it; callers print once, where they know the
 * most, and return -1.
 */
#ifndef VMM_UTIL_LOG_H
#define VMM_UTIL_LOG_H

#include <stdbool.h>

#define pr_err(...)  vmm_log("error: ", __VA_ARGS__)
#define pr_warn(...) vmm_log("warning: ", __VA_ARGS__)
#define pr_info(...) vmm_log("", __VA_ARGS__)

void vmm_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pr_err() plus the errno string: "what: No such file or directory" */
#define pr_errno(...) vmm_log_errno(__VA_ARGS__)
void vmm_log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Another writer on the operator's terminal (the guest's console) may be in
 * the middle of a line: @gate(true) before each message returns once a
 * whole line may go, @gate(false) after it. NULL: no other writer.
 */
void vmm_log_set_gate(void (*gate)(bool hold));

#endif
