// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which messages are shown (log.h). A file of its own, apart from the
 * printing in log.c: the fuzz targets print through a log.c of their own
 * (tests/fuzz/quiet_log.c) and still link the level from here.
 */
#include "vmm/util/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_UNREAD (-1) /* $CMAVM_LOG_LEVEL not read yet */

static const char *const names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* Any thread may log: whoever reads the environment first stores the same level. */
static _Atomic int threshold = LEVEL_UNREAD;

bool log_level_parse(const char *text, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(text, names[i])) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned int)level < sizeof(names) / sizeof(names[0]) ? names[level] : "unknown";
}

/* $CMAVM_LOG_LEVEL's level; a word that is none is warned about, once, and read as info. */
static enum log_level level_from_env(void)
{
	static atomic_bool warned;
	const char *env = getenv(LOG_LEVEL_ENV);
	enum log_level level = LOG_LEVEL_INFO;

	if (!env || !*env || log_level_parse(env, &level))
		return level;
	/* Printed here, not through vmm_log(): that would ask for the level again. */
	if (!atomic_exchange(&warned, true))
		fprintf(stderr,
			"cmavm: warning: " LOG_LEVEL_ENV
			"=%s: unknown log level '%s'; levels: " LOG_LEVEL_NAMES
			" (showing info)\r\n",
			env, env);
	return LOG_LEVEL_INFO;
}

bool vmm_log_shown(enum log_level level)
{
	int t = threshold;

	/* read at the first message of any level, so that a bad word is told at once */
	if (t == LEVEL_UNREAD) {
		t = (int)level_from_env();
		threshold = t;
	}
	return level == LOG_LEVEL_ERROR || (int)level <= t;
}

void vmm_log_set_level(enum log_level level)
{
	threshold = (int)level;
}

void vmm_log_level_from_env(void)
{
	threshold = LEVEL_UNREAD;
}
