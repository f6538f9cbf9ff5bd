// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl` COMMAND ARGS... to a request: its method, path and JSON
 * body, and the view for its answer. The words are checked here, so that
 * a mistyped command is a usage error before anything is sent.
 */
#include "vmm/cli/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cma/engine.h"
#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#define usage_error(...) cli_usage_error("ctl", __VA_ARGS__)

/* @body (consumed) as the command's body. */
static int set_body(struct ctl_command *cmd, json_t *body)
{
	cmd->json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return cmd->json ? 0 : usage_error("out of memory");
}

bool ctl_parse_index(const char *text, uint64_t max, uint64_t *out)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || *end || n > max)
		return false;
	*out = n;
	return true;
}

/* A mistake in the words of @argv: "cmavm ctl WORDS: what"; CLI_EXIT_USAGE. */
static int mistake(int argc, char **argv, const char *fmt, ...)
{
	char typed[512], what[768] = "";
	va_list ap;

	va_start(ap, fmt);
	str_vappendf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pr_err("%s: %s", ctl_typed(argc, argv, typed, sizeof(typed)), what);
	return CLI_EXIT_USAGE;
}

static bool is_bare_number(const char *text)
{
	return text[strspn(text, "0123456789")] == '\0';
}

#define BALLOON_PAGE SZ_4K /* virtio-balloon's page, whatever the guest's */

/* balloon set SIZE */
static int balloon_set(int argc, char **argv, struct ctl_command *cmd)
{
	uint64_t bytes;
	char err[256], up[32];

	if (argc != 3)
		return usage_error("'balloon set' takes one SIZE");
	if (size_parse(argv[2], &bytes, err, sizeof(err)))
		return usage_error("balloon set %s: %s", argv[2], err);
	/* JSON numbers past INT64_MAX are not numbers to the API's parser */
	if (bytes > INT64_MAX)
		return mistake(
			argc, argv,
			"%s is more memory than any guest has; the balloon takes at most the "
			"guest's memory ('cmavm ctl status' shows it)",
			argv[2]);
	if (bytes % BALLOON_PAGE && is_bare_number(argv[2]))
		return mistake(argc, argv,
			       "%s is bytes, not a whole number of 4 KiB pages; did you mean "
			       "'cmavm ctl balloon set %sM'?",
			       argv[2], argv[2]);
	if (bytes % BALLOON_PAGE)
		return mistake(
			argc, argv,
			"%s is not a whole number of 4 KiB pages; use 'cmavm ctl balloon set "
			"%s'",
			argv[2], ctl_size_words(align_up(bytes, BALLOON_PAGE), up));
	if (asprintf(&cmd->json, "{\"target_bytes\": %llu}", (unsigned long long)bytes) < 0)
		cmd->json = NULL;
	return cmd->json ? 0 : usage_error("out of memory");
}

/* map, map --svg FILE, map --svg=FILE */
static int map_svg(int argc, char **argv, struct ctl_command *cmd)
{
	if (argc == 3 && !strcmp(argv[1], "--svg"))
		cmd->svg = argv[2];
	else if (argc == 2 && !strncmp(argv[1], "--svg=", 6))
		cmd->svg = argv[1] + 6;
	else if (argc != 1)
		return usage_error("'map' takes only --svg FILE");
	if (cmd->svg && !*cmd->svg)
		return usage_error("--svg needs a FILE");
	return 0;
}

static bool is_level(const char *word)
{
	enum cma_level level;

	return !cma_level_parse(word, &level);
}

/*
 * window commit's LEVEL: the last word, or the one after POOL; when
 * neither is a level, the one of them that is no size was meant for it.
 */
static const char *commit_level(int argc, char **argv)
{
	if (is_level(argv[argc - 1]))
		return argv[argc - 1];
	if (argc == 4 || is_level(argv[3]) || !isdigit((unsigned char)argv[3][0]))
		return argv[3];
	return argv[argc - 1];
}

/* window commit POOL [OFFSET LENGTH] LEVEL, or POOL LEVEL [OFFSET LENGTH] */
static int window_commit(int argc, char **argv, struct ctl_command *cmd)
{
	uint64_t offset = 0, length = 0;
	const char *level, *off_text = NULL, *len_text = NULL;
	char err[256];

	if (argc != 4 && argc != 6)
		return usage_error("'window commit' takes POOL [OFFSET LENGTH] LEVEL");
	level = commit_level(argc, argv);
	if (!is_level(level))
		return mistake(argc, argv,
			       "unknown level '%s'; use resident, huge or contiguous, e.g. 'cmavm "
			       "ctl window commit %s huge'",
			       level, argv[2]);
	if (argc == 6) {
		off_text = level == argv[3] ? argv[4] : argv[3];
		len_text = level == argv[3] ? argv[5] : argv[4];
	}
	if (off_text && size_parse(off_text, &offset, err, sizeof(err)))
		return usage_error("window commit: OFFSET %s", err);
	if (len_text && size_parse(len_text, &length, err, sizeof(err)))
		return usage_error("window commit: LENGTH %s", err);
	if (offset > INT64_MAX || length > INT64_MAX)
		return usage_error("window commit: OFFSET or LENGTH is too large");
	return set_body(cmd, json_pack("{s:s, s:s, s:I, s:I}", "pool", argv[2], "level", level,
				       "offset", (json_int_t)offset, "length", (json_int_t)length));
}

/* window release ID */
static int window_release(int argc, char **argv, struct ctl_command *cmd)
{
	uint64_t id;

	if (argc != 3)
		return usage_error("'window release' takes one ID");
	if (!ctl_parse_index(argv[2], UINT32_MAX, &id))
		return usage_error("window release: '%s' is not a window id; 'cmavm ctl window "
				   "list' shows them",
				   argv[2]);
	return set_body(cmd, json_pack("{s:I}", "id", (json_int_t)id));
}

/* migrate GPA, migrate POOL BLOCK */
static int migrate(int argc, char **argv, struct ctl_command *cmd)
{
	uint64_t n;
	char err[256];

	if (argc == 2) {
		if (size_parse(argv[1], &n, err, sizeof(err)))
			return usage_error("migrate: GPA %s (e.g. 0x9c200000)", err);
		if (n > INT64_MAX)
			return usage_error("migrate: GPA %s is too large", argv[1]);
		return set_body(cmd, json_pack("{s:I}", "gpa", (json_int_t)n));
	}
	if (argc != 3)
		return usage_error("'migrate' takes GPA, or POOL BLOCK");
	if (!ctl_parse_index(argv[2], INT64_MAX, &n))
		return usage_error("migrate: BLOCK '%s' is not a pageblock number (0, 1, ...)",
				   argv[2]);
	return set_body(cmd, json_pack("{s:s, s:I}", "pool", argv[1], "block", (json_int_t)n));
}

/* Printable ASCII, no blank: what may stand in a request line's field. */
static bool request_line_safe(const char *text)
{
	for (; *text; text++)
		if (*text <= ' ' || *text > '~')
			return false;
	return true;
}

static bool is_method(const char *text)
{
	return *text && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(text);
}

/* raw METHOD PATH [JSON]: the body goes as it is given */
static int raw(int argc, char **argv, struct ctl_command *cmd)
{
	if (argc < 3 || argc > 4)
		return usage_error("'raw' takes METHOD PATH [JSON]");
	if (!is_method(argv[1]))
		return mistake(argc, argv, "'%s' is not an HTTP method; e.g. GET or PUT", argv[1]);
	if (argv[2][0] != '/' || !request_line_safe(argv[2]))
		return mistake(argc, argv,
			       "the path starts with '/' and has no blanks or control characters, "
			       "e.g. /v1/vm");
	cmd->method = argv[1];
	cmd->path = argv[2];
	cmd->json = argc == 4 ? strdup(argv[3]) : NULL;
	return 0;
}

/*
 * Every command: its word and subcommand, the request and the view. One
 * with a @words function takes more words, which that function checks
 * (and turns into the body); one without takes none.
 */
static const struct command {
	const char *word, *sub; /* "window", "list"; NULL: the word alone */
	const char *method, *path;
	ctl_show_fn show;
	int (*words)(int argc, char **argv, struct ctl_command *cmd);
} commands[] = {
	{ "status", NULL, "GET", "/v1/vm", ctl_show_status, NULL },
	{ "pause", NULL, "PUT", "/v1/vm/pause", ctl_show_state, NULL },
	{ "resume", NULL, "PUT", "/v1/vm/resume", ctl_show_state, NULL },
	{ "shutdown", NULL, "PUT", "/v1/vm/shutdown", ctl_show_state, NULL },
	{ "balloon", NULL, "GET", "/v1/balloon", ctl_show_balloon, NULL },
	{ "balloon", "set", "PUT", "/v1/balloon", ctl_show_balloon, balloon_set },
	{ "balloon", "stats", "GET", "/v1/balloon/statistics", ctl_show_balloon_stats, NULL },
	{ "devices", NULL, "GET", "/v1/devices", ctl_show_devices, NULL },
	{ "pools", NULL, "GET", "/v1/cma/pools", ctl_show_cma_pools, NULL },
	{ "map", NULL, "GET", "/v1/cma/map", ctl_show_cma_map, map_svg },
	{ "window", "list", "GET", "/v1/cma/windows", ctl_show_windows, NULL },
	{ "window", "commit", "PUT", "/v1/cma/windows", ctl_show_window, window_commit },
	{ "window", "release", "PUT", "/v1/cma/windows/release", ctl_show_released,
	  window_release },
	{ "migrate", NULL, "PUT", "/v1/cma/migrate", ctl_show_migrated, migrate },
	{ "cma-stats", NULL, "GET", "/v1/cma/stats", ctl_show_cma_stats, NULL },
	{ "gpu", NULL, "GET", "/v1/gpu", ctl_show_gpu, NULL },
	{ "gpu", "display", "PUT", "/v1/gpu/display", ctl_show_gpu_scanout, ctl_gpu_display },
	{ "gpu", "export", "PUT", "/v1/gpu/export", NULL, ctl_gpu_export },
	{ "screenshot", NULL, "GET", "/v1/gpu/screenshot", NULL, ctl_gpu_screenshot },
	/* Prometheus' text, printed as it comes (no view: it is for scrapers) */
	{ "metrics", NULL, "GET", "/metrics", NULL, NULL },
	{ "raw", NULL, NULL, NULL, NULL, raw },
};

static bool is_command(const struct command *c, int argc, char **argv)
{
	if (strcmp(argv[0], c->word))
		return false;
	if (c->sub && (argc < 2 || strcmp(argv[1], c->sub)))
		return false;
	return c->words || argc == (c->sub ? 2 : 1);
}

int ctl_parse_command(int argc, char **argv, struct ctl_command *cmd)
{
	const struct command *c;

	for (c = commands; c < commands + sizeof(commands) / sizeof(commands[0]); c++) {
		if (!is_command(c, argc, argv))
			continue;
		*cmd = (struct ctl_command){ .method = c->method,
					     .path = c->path,
					     .show = c->show };
		return c->words ? c->words(argc, argv, cmd) : 0;
	}
	return usage_error("unknown command '%s%s%s'", argv[0], argc > 1 ? " " : "",
			   argc > 1 ? argv[1] : "");
}
