// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GPU's commands of `cmavm ctl` whose answers are more than JSON to
 * show: `screenshot` writes the PNG the VM sends (the VM opens no files;
 * the client does), `gpu export` receives the dma-buf the VM passes with
 * its answer and runs a program with it as fd 3, described in
 * CMAVM_DMABUF_* (or, without a program, says what it got). Also their
 * words, and those of `gpu display`.
 */
#include "vmm/cli/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/control/api.h"
#include "vmm/control/client.h"
#include "vmm/util/log.h"

#define usage_error(...) cli_usage_error("ctl", __VA_ARGS__)

#define DMABUF_FD     3 /* where the program finds the dma-buf */
#define DMABUF_PREFIX "CMAVM_DMABUF_"

static int take_screenshot(const struct ctl_command *cmd, struct ctl_reply *reply, bool as_json);
static int take_export(const struct ctl_command *cmd, struct ctl_reply *reply, bool as_json);

/* ---- the words ---- */

struct gpu_words {
	uint64_t scanout;
	const char *arg; /* the one word that is not an option; NULL: none */
	char **program;	 /* after "--" */
	int program_argc;
};

/* --scanout N or --scanout=N at @argv[*i]; 1: taken, 0: not one, -1: a usage error. */
static int scanout_option(const char *name, int argc, char **argv, int *i, uint64_t *scanout)
{
	const char *value;

	if (!strncmp(argv[*i], "--scanout=", 10))
		value = argv[*i] + 10;
	else if (strcmp(argv[*i], "--scanout"))
		return 0;
	else if (++*i < argc)
		value = argv[*i];
	else
		value = NULL;
	if (!value)
		usage_error("%s: --scanout needs a number, e.g. --scanout 0", name);
	else if (!ctl_parse_index(value, UINT32_MAX, scanout))
		usage_error("%s: --scanout '%s' is not a scanout's number (0, 1, ...); 'cmavm ctl "
			    "gpu' lists them",
			    name, value);
	else
		return 1;
	return -1;
}

/*
 * The words of @name after its first @skip: --scanout N anywhere, one
 * other word at most (an error says @usage when there are more), and
 * with @takes_program, "--" and the program after it.
 */
static int gpu_words(const char *name, const char *usage, bool takes_program, int skip, int argc,
		     char **argv, struct gpu_words *w)
{
	int i, ret;

	for (i = skip; i < argc; i++) {
		if (takes_program && !strcmp(argv[i], "--")) {
			if (i + 1 == argc)
				return usage_error("%s: -- needs a PROGRAM to run after it", name);
			w->program = argv + i + 1;
			w->program_argc = argc - i - 1;
			return 0;
		}
		ret = scanout_option(name, argc, argv, &i, &w->scanout);
		if (ret < 0)
			return CLI_EXIT_USAGE;
		if (ret)
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return usage_error("'%s' has no option '%s'", name, argv[i]);
		if (w->arg)
			return usage_error("'%s' takes %s", name, usage);
		w->arg = argv[i];
	}
	return 0;
}

/* "1280x800" as a display size; false when it is not one. */
static bool parse_display_size(const char *text, uint64_t *width, uint64_t *height)
{
	const char *x = strpbrk(text, "xX");
	char w[16];

	if (!x || (size_t)(x - text) >= sizeof(w))
		return false;
	memcpy(w, text, x - text);
	w[x - text] = '\0';
	return ctl_parse_index(w, UINT32_MAX, width) && ctl_parse_index(x + 1, UINT32_MAX, height);
}

static bool side_ok(uint64_t n)
{
	return n >= CTL_GPU_SIDE_MIN && n <= CTL_GPU_SIDE_MAX;
}

/* @body (consumed) as the command's body. */
static int set_body(struct ctl_command *cmd, json_t *body)
{
	cmd->json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return cmd->json ? 0 : usage_error("out of memory");
}

int ctl_gpu_display(int argc, char **argv, struct ctl_command *cmd)
{
	struct gpu_words w = { 0 };
	uint64_t width, height;

	if (gpu_words("gpu display", "one WIDTHxHEIGHT", false, 2, argc, argv, &w))
		return CLI_EXIT_USAGE;
	if (!w.arg)
		return usage_error("'gpu display' takes WIDTHxHEIGHT, e.g. 'gpu display 1280x800'");
	if (!parse_display_size(w.arg, &width, &height))
		return usage_error("gpu display: '%s' is not WIDTHxHEIGHT, e.g. 1280x800", w.arg);
	if (!side_ok(width) || !side_ok(height))
		return usage_error("gpu display: %s is out of range; width and height are each "
				   "%d to %d pixels",
				   w.arg, CTL_GPU_SIDE_MIN, CTL_GPU_SIDE_MAX);
	return set_body(cmd, json_pack("{s:I, s:I, s:I}", "scanout", (json_int_t)w.scanout, "width",
				       (json_int_t)width, "height", (json_int_t)height));
}

int ctl_gpu_export(int argc, char **argv, struct ctl_command *cmd)
{
	struct gpu_words w = { 0 };

	if (gpu_words("gpu export", "only --scanout N and -- PROGRAM [ARGS...]", true, 2, argc,
		      argv, &w))
		return CLI_EXIT_USAGE;
	if (w.arg)
		return usage_error("'gpu export' takes only --scanout N and -- PROGRAM [ARGS...]; "
				   "put '--' before '%s'",
				   w.arg);
	cmd->program = w.program;
	cmd->program_argc = w.program_argc;
	cmd->take = take_export;
	return set_body(cmd, json_pack("{s:I}", "scanout", (json_int_t)w.scanout));
}

int ctl_gpu_screenshot(int argc, char **argv, struct ctl_command *cmd)
{
	struct gpu_words w = { 0 };

	if (gpu_words("screenshot", "one FILE.png", false, 1, argc, argv, &w))
		return CLI_EXIT_USAGE;
	if (!w.arg)
		return usage_error("'screenshot' takes FILE.png, e.g. 'screenshot shot.png'");
	cmd->file = w.arg;
	cmd->take = take_screenshot;
	snprintf(cmd->path_buf, sizeof(cmd->path_buf), "/v1/gpu/screenshot?scanout=%llu",
		 (unsigned long long)w.scanout);
	cmd->path = cmd->path_buf;
	return 0;
}

/* ---- screenshot: the PNG to its file ---- */

/* @json (consumed) as --json prints it. */
static void print_json(FILE *out, json_t *json)
{
	json_dumpf(json, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(json);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The width and height in the header of the PNG file @png; false when it is none. */
static bool png_dimensions(const char *png, size_t len, uint32_t *width, uint32_t *height)
{
	static const char signature[] = "\x89PNG\r\n\x1a\n";
	const unsigned char *p = (const unsigned char *)png;

	if (len < 24 || memcmp(png, signature, 8) || memcmp(png + 12, "IHDR", 4))
		return false;
	*width = be32(p + 16);
	*height = be32(p + 20);
	return true;
}

/* @len bytes of @data in @path ("-": stdout); false with the error printed. */
static bool write_file(const char *path, const char *data, size_t len)
{
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	bool ok;

	if (!f) {
		pr_err("cannot write the screenshot to %s: %s; give a path in a directory you "
		       "can write",
		       path, strerror(errno));
		return false;
	}
	ok = fwrite(data, 1, len, f) == len;
	ok = (to_stdout ? fflush(f) : fclose(f)) == 0 && ok;
	if (!ok)
		pr_err("writing the screenshot to %s failed: %s", path, strerror(errno));
	return ok;
}

static int take_screenshot(const struct ctl_command *cmd, struct ctl_reply *reply, bool as_json)
{
	bool to_stdout = !strcmp(cmd->file, "-");
	FILE *said = to_stdout ? stderr : stdout; /* stdout may be the PNG */
	const char *name = to_stdout ? "stdout" : cmd->file;
	uint32_t width, height;

	if (strncmp(reply->content_type, "image/png", 9) ||
	    !png_dimensions(reply->body, reply->body_len, &width, &height)) {
		pr_err("the VM's answer is not a PNG image (Content-Type '%s'); is it a cmavm "
		       "that takes screenshots?",
		       reply->content_type);
		return CLI_EXIT_FAILED;
	}
	if (!write_file(cmd->file, reply->body, reply->body_len))
		return CLI_EXIT_FAILED;
	if (as_json)
		print_json(said, json_pack("{s:s, s:I, s:I, s:I}", "file", name, "bytes",
					   (json_int_t)reply->body_len, "width", (json_int_t)width,
					   "height", (json_int_t)height));
	else
		fprintf(said, "wrote %s: %ux%u PNG, %zu bytes\n", name, width, height,
			reply->body_len);
	return CLI_EXIT_OK;
}

/* ---- gpu export: the dma-buf to a program ---- */

/* The answer's members the program finds in its environment, and their names there. */
static const char *const dmabuf_vars[][2] = {
	{ "WIDTH", "width" },	{ "HEIGHT", "height" }, { "STRIDE", "stride" },
	{ "FORMAT", "format" }, { "FOURCC", "fourcc" }, { "OFFSET", "offset" },
	{ "SIZE", "size" },
};

#define NR_DMABUF_VARS (sizeof(dmabuf_vars) / sizeof(dmabuf_vars[0]))

/* "CMAVM_DMABUF_WIDTH=1024": member @key of @exported as a variable. */
static char *dmabuf_var(const char *name, json_t *exported, const char *key)
{
	json_t *v = json_object_get(exported, key);
	char *var = NULL;
	int n;

	if (json_is_string(v))
		n = asprintf(&var, DMABUF_PREFIX "%s=%s", name, json_string_value(v));
	else
		n = asprintf(&var, DMABUF_PREFIX "%s=%lld", name, (long long)json_integer_value(v));
	return n < 0 ? NULL : var;
}

/*
 * Our environment without any CMAVM_DMABUF_*, then the buffer's: the
 * first @*own of it borrowed, the rest malloc()ed. NULL: out of memory.
 */
static char **dmabuf_env(json_t *exported, size_t *own)
{
	size_t n = 0, k = 0, i;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + NR_DMABUF_VARS + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], DMABUF_PREFIX, strlen(DMABUF_PREFIX)))
			env[k++] = environ[i];
	*own = k;
	env[k++] = strdup(DMABUF_PREFIX "FD=3");
	for (i = 0; i < NR_DMABUF_VARS; i++)
		env[k++] = dmabuf_var(dmabuf_vars[i][0], exported, dmabuf_vars[i][1]);
	for (i = *own; i < k; i++)
		if (!env[i])
			break;
	if (i == k)
		return env;
	for (i = *own; i < k; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_env(char **env, size_t own)
{
	for (size_t i = own; env[i]; i++)
		free(env[i]);
	free(env);
}

/* In the child: the dma-buf as fd 3, kept across exec, then the program. */
static void __attribute__((noreturn)) exec_with_dmabuf(char **argv, char **env, int fd)
{
	int err;

	if (fd != DMABUF_FD && dup2(fd, DMABUF_FD) < 0)
		pr_errno("dup2(the dma-buf, 3)");
	else if (fd == DMABUF_FD && fcntl(fd, F_SETFD, 0))
		pr_errno("fcntl(the dma-buf, F_SETFD)");
	else
		execvpe(argv[0], argv, env);
	err = errno;
	if (err == ENOENT)
		pr_err("cannot run %s: no such program; give its path, or a name in $PATH",
		       argv[0]);
	else
		pr_err("cannot run %s: %s", argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126); /* as a shell says it */
}

/* What became of the program @name: its exit status, or 128 + the signal that ended it. */
static int program_status(const char *name, int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	pr_err("%s was killed by signal %d (%s)", name, WTERMSIG(status),
	       strsignal(WTERMSIG(status)));
	return 128 + WTERMSIG(status);
}

/*
 * Run @argv with @env and the dma-buf @fd, and wait for it. As with
 * system(), Ctrl-C and Ctrl-\ are the program's while it runs: we wait
 * to tell how it ended. Its pid, or -1 with the error printed.
 */
static pid_t spawn_and_wait(char **argv, char **env, int fd, int *status)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	pid = fork();
	if (!pid) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		exec_with_dmabuf(argv, env, fd);
	}
	if (pid < 0)
		pr_errno("fork");
	while (pid > 0 && waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return pid;
}

/* Run @cmd's program with the dma-buf @fd described by @exported; its status. */
static int run_with_dmabuf(const struct ctl_command *cmd, int fd, json_t *exported)
{
	char **argv = calloc(cmd->program_argc + 1, sizeof(*argv));
	size_t own = 0;
	char **env = dmabuf_env(exported, &own);
	int status = -1;
	pid_t pid = -1;

	if (argv && env) {
		memcpy(argv, cmd->program, cmd->program_argc * sizeof(*argv));
		pid = spawn_and_wait(argv, env, fd, &status);
	} else {
		pr_err("out of memory");
	}
	if (env)
		free_env(env, own);
	free(argv);
	return pid > 0 ? program_status(cmd->program[0], status) : CLI_EXIT_FAILED;
}

static int take_export(const struct ctl_command *cmd, struct ctl_reply *reply, bool as_json)
{
	json_t *exported = json_loadb(reply->body, reply->body_len, 0, NULL);
	int ret = CLI_EXIT_OK;

	if (!exported) {
		pr_err("the VM's answer is not JSON: %.200s", reply->body);
		return CLI_EXIT_FAILED;
	}
	if (reply->fd < 0) {
		pr_err("the VM's answer came without the dma-buf; run 'cmavm ctl' of the same "
		       "version as the VM's cmavm");
		ret = CLI_EXIT_FAILED;
	} else if (cmd->program) {
		ret = run_with_dmabuf(cmd, reply->fd, exported);
	} else if (as_json) {
		print_json(stdout, json_incref(exported));
	} else {
		ctl_show_exported(stdout, exported);
	}
	json_decref(exported);
	return ret;
}
