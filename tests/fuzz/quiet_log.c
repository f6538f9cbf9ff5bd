// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm/util/log.h for the fuzz targets: every message is still formatted
 * (so a bad argument is still caught), but printed only with FUZZ_LOG=1 in
 * the environment; a fuzzer feeds malformed input by the million and each
 * one would otherwise print its error. A message that starts "internal
 * error" is printed and aborts: cmavm says so only where its own code went
 * wrong, which is what a fuzzer is after. Being in the target's own
 * objects, these win over the library's vmm/util/log.c, which is then not
 * linked.
 */
#include "vmm/util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vlog(const char *level, const char *suffix, const char *fmt, va_list ap)
{
	static int verbose = -1;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (verbose < 0)
		verbose = getenv("FUZZ_LOG") && !strcmp(getenv("FUZZ_LOG"), "1");
	if (verbose || !strncmp(msg, "internal error", 14))
		fprintf(stderr, "cmavm: %s%s%s\n", level, msg, suffix);
	if (!strncmp(msg, "internal error", 14))
		abort();
}

void vmm_log(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	va_start(ap, fmt);
	vlog(prefix[level], "", fmt, ap);
	va_end(ap);
}

void vmm_log_errno(const char *fmt, ...)
{
	int saved = errno;
	char suffix[128];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s (errno %d)", strerror(saved), saved);
	va_start(ap, fmt);
	vlog("error: ", suffix, fmt, ap);
	va_end(ap);
	errno = saved;
}
