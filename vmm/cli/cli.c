// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the commands share (vmm/cli/cli.h, vmm/cli/commands.h).
 */
#include "vmm/cli/cli.h"
#include "vmm/cli/commands.h"

#include <stdarg.h>
#include <string.h>

#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

int cli_usage_error(const char *command, const char *fmt, ...)
{
	char what[1024] = ""; /* as long as a log line may be */
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pr_err("%s; see 'cmavm %s --help'", what, command);
	return CLI_EXIT_USAGE;
}

bool cli_is_help(const char *word)
{
	return !strcmp(word, "--help") || !strcmp(word, "-h") || !strcmp(word, "help");
}
