/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Messages to the operator: every line on stderr starts with "cmavm: ".
 *
 * Owns: the format of errors, warnings, progress and debug lines, and the
 * level that decides which are shown (log_level.c): `cmavm run
 * --log-level`, else $CMAVM_LOG_LEVEL, else info. Errors say what failed
 * and what to do about it; callers print once, where they know the most,
 * and return -1.
 */
#ifndef VMM_UTIL_LOG_H
#define VMM_UTIL_LOG_H

#include <stdbool.h>

/* Each level shows its own messages and those of the levels before it. */
enum log_level {
	LOG_LEVEL_ERROR, /* always shown */
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO, /* the default: what cmavm has always printed */
	LOG_LEVEL_DEBUG,
};

#define LOG_LEVEL_NAMES "error, warn, info, debug"
#define LOG_LEVEL_ENV	"CMAVM_LOG_LEVEL"

#define pr_err(...)   vmm_log(LOG_LEVEL_ERROR, __VA_ARGS__)
#define pr_warn(...)  vmm_log(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_info(...)  vmm_log(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...) vmm_log(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* A line at @level, unless the level in force hides it. */
void vmm_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pr_err() plus the errno string: "what: No such file or directory" */
#define pr_errno(...) vmm_log_errno(__VA_ARGS__)
void vmm_log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Another writer on the operator's terminal (the guest's console) may be in
 * the middle of a line: @gate(true) before each message returns once a
 * whole line may go, @gate(false) after it. NULL: no other writer.
 */
void vmm_log_set_gate(void (*gate)(bool hold));

/* ---- log_level.c ---- */

/* "error", "warn", "info" or "debug" into @out; false for any other word. */
bool log_level_parse(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Whether a message at @level is shown. */
bool vmm_log_shown(enum log_level level);

/* From now on, messages at @level and before it are shown (--log-level). */
void vmm_log_set_level(enum log_level level);

/*
 * Back to $CMAVM_LOG_LEVEL's level (info when it is unset or empty), read
 * at the next message; a word that is no level is warned about once and
 * read as info. Until vmm_log_set_level(), this is where the level comes
 * from.
 */
void vmm_log_level_from_env(void);

#endif
