// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A message's bytes: room for a whole kernel command line (2047) and its words. */
#define LOG_MSG_MAX 4096

static void (*_Atomic log_gate)(bool hold);

void vmm_log_set_gate(void (*gate)(bool hold))
{
	log_gate = gate;
}

/*
 * The terminal may be in raw mode while the guest runs, so end lines with
 * CR LF; one fprintf per line keeps lines whole between threads, and the
 * gate keeps them out of the middle of the guest's.
 */
static void emit(const char *level, const char *msg, const char *suffix)
{
	void (*gate)(bool hold) = log_gate;

	if (gate)
		gate(true);
	fprintf(stderr, "cmavm: %s%s%s\r\n", level, msg, suffix);
	if (gate)
		gate(false);
}

static const char *prefix(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return "error: ";
	case LOG_LEVEL_WARN:
		return "warning: ";
	case LOG_LEVEL_DEBUG:
		return "debug: ";
	case LOG_LEVEL_INFO:
		break;
	}
	return "";
}

void vmm_log(enum log_level level, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX];
	va_list ap;

	if (!vmm_log_shown(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prefix(level), msg, "");
}

void vmm_log_errno(const char *fmt, ...)
{
	int saved = errno;
	char msg[LOG_MSG_MAX], suffix[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(suffix, sizeof(suffix), ": %s (errno %d)", strerror(saved), saved);
	emit("error: ", msg, suffix);
	errno = saved;
}
