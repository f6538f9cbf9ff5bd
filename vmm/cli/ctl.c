// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl`: talk to a running VM through its API socket. Each command
 * is one request; the answer is printed as a table, or as the API's JSON
 * with --json. Exit 0: done; 1: refused or unreachable; 2: usage error;
 * gpu export -- PROGRAM: PROGRAM's status.
 */
#include "vmm/cli/commands.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/cli/cli.h"
#include "vmm/cli/ctl.h"
#include "vmm/control/client.h"
#include "vmm/util/log.h"

#define usage_error(...) cli_usage_error("ctl", __VA_ARGS__)

static const char ctl_usage[] =
	"Usage: cmavm ctl [--socket PATH | --name NAME] [--wait SECONDS] [--json] COMMAND\n"
	"\n"
	"Ask a running VM through its API socket.\n"
	"\n"
	"Commands:\n"
	"  list                     the running VMs with sockets in the default place:\n"
	"                           name, state, vCPUs, memory, uptime, socket\n"
	"  status                   name, state, vCPUs, memory, pools, uptime\n"
	"  pause, resume            stop the vCPUs, or start them again\n"
	"  shutdown                 stop the VM\n"
	"  balloon                  the balloon's target and actual size\n"
	"  balloon set SIZE         ask the guest to give back SIZE (128M; 0 returns all)\n"
	"  balloon stats            the guest's memory statistics\n"
	"  devices                  the devices: features, status, counters\n"
	"  pools                    the CMA pools and their bytes per pageblock state\n"
	"  map [--svg FILE]         draw each pool's pageblocks (U unbacked, B backed,\n"
	"                           R reported, L ballooned, W window); --svg also\n"
	"                           writes the map to FILE as SVG\n"
	"  window list              the committed windows\n"
	"  window commit POOL [OFFSET LENGTH] LEVEL\n"
	"                           commit a window of POOL at LEVEL (resident, huge,\n"
	"                           contiguous); OFFSET and LENGTH like 16M, default\n"
	"                           the whole pool (LENGTH 0: to the pool's end)\n"
	"  window release ID        back to lazy backing, contents intact\n"
	"  migrate GPA              move the pageblock at GPA (0x9c200000), or block\n"
	"  migrate POOL BLOCK       BLOCK (0, 1, ...) of POOL, onto new host pages\n"
	"  cma-stats                the CMA engine's counters and guest pauses\n"
	"  gpu                      the GPU: scanouts, resources and where their\n"
	"                           pixels live on the host, dma-buf export\n"
	"  gpu display WIDTHxHEIGHT [--scanout N]\n"
	"                           resize a display (16 to 8192 pixels a side)\n"
	"  screenshot FILE.png [--scanout N]\n"
	"                           save what a scanout shows as PNG (FILE -: stdout)\n"
	"  gpu export [--scanout N] [-- PROGRAM [ARGS...]]\n"
	"                           run PROGRAM with a scanout's pixels as a dma-buf\n"
	"                           (fd 3; CMAVM_DMABUF_* describe it) and exit with\n"
	"                           its status; without PROGRAM, describe the buffer\n"
	"  metrics                  the VM's Prometheus metrics, as a scraper reads\n"
	"                           them (docs/metrics.md)\n"
	"  raw METHOD PATH [JSON]   any request; prints the answer's body\n"
	"  connect                  join stdin and stdout to the API socket, to carry\n"
	"                           the API elsewhere (ssh HOST cmavm ctl connect)\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the VM's API socket [$CMAVM_SOCKET, else\n"
	"                   ${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock]\n"
	"  -n, --name NAME  the VM started with 'cmavm run --name NAME': its socket\n"
	"                   is ${XDG_RUNTIME_DIR:-/tmp}/cmavm-NAME.sock\n"
	"  --wait SECONDS   first wait until the VM answers, at most SECONDS (for\n"
	"                   scripts that start a VM and talk to it next)\n"
	"  --json           print the API's JSON instead of a table\n"
	"  -h, --help       this text\n"
	"\n"
	"The map is drawn in colour on a terminal; with NO_COLOR set, or when stdout\n"
	"is not a terminal, in letters.\n"
	"\n"
	"Environment:\n"
	"  CMAVM_SOCKET     the VM's API socket without --socket or --name\n"
	"  XDG_RUNTIME_DIR  the socket's directory without either  [/tmp]\n"
	"  NO_COLOR         draw the map in letters\n"
	"\n"
	"Exit status: 0 done, 1 the VM refused or cannot be reached, 2 usage error;\n"
	"gpu export -- PROGRAM: PROGRAM's (128 + N if signal N ended it).\n";

/* The body pretty-printed if it is JSON, else as it came. */
static void print_body(const char *body)
{
	json_t *root = json_loads(body, JSON_DECODE_ANY, NULL);
	size_t len = strlen(body);

	if (root) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else if (len) {
		fputs(body, stdout);
		if (body[len - 1] != '\n')
			putchar('\n');
	}
	json_decref(root);
}

/* A 2xx answer: as the view shows it, or as JSON; map --svg also writes the SVG. */
static int show_answer(const struct ctl_command *cmd, const char *body, bool as_json)
{
	bool as_table = !as_json && cmd->show;
	json_t *root;
	int ret = CLI_EXIT_OK;

	if (!as_table)
		print_body(body);
	if (!as_table && !cmd->svg)
		return CLI_EXIT_OK;
	root = json_loads(body, 0, NULL);
	if (!root) {
		pr_err("the VM's answer is not JSON: %.200s", body);
		return CLI_EXIT_FAILED;
	}
	if (as_table)
		cmd->show(stdout, root);
	/* with --json, stdout stays the JSON alone */
	if (cmd->svg)
		ret = ctl_write_svg(cmd->svg, root, as_json ? stderr : stdout);
	json_decref(root);
	return ret;
}

/* The answer to @cmd, typed as @argv, from the VM at @socket. */
static int show_reply(const char *socket, int argc, char **argv, const struct ctl_command *cmd,
		      struct ctl_reply *reply, bool as_json)
{
	if (reply->status >= 200 && reply->status <= 299 && cmd->take)
		return cmd->take(cmd, reply, as_json);
	if (reply->status >= 200 && reply->status <= 299)
		return show_answer(cmd, reply->body, as_json);
	return ctl_refused(socket, argc, argv, cmd, reply);
}

/*
 * A directory given for the socket (the VM's runtime directory, say):
 * the socket is a file in it. False, with the error printed.
 */
static bool socket_not_a_directory(const char *path, bool flag, int argc, char **argv)
{
	const char *slash = path[0] && path[strlen(path) - 1] == '/' ? "" : "/";
	struct stat st;
	char typed[512];

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return true;
	/* the words typed after "cmavm ctl" */
	ctl_typed(argc, argv, typed, sizeof(typed));
	pr_err("%s %s is a directory; the API socket is a file in it, e.g. 'cmavm ctl --socket "
	       "%s%s" CTL_SOCKET_NAME "%s'",
	       flag ? "--socket" : "the API socket", path, path, slash,
	       typed + strlen("cmavm ctl"));
	return false;
}

static const struct option ctl_options[] = {
	{ "socket", required_argument, NULL, 's' }, { "name", required_argument, NULL, 'n' },
	{ "wait", required_argument, NULL, 'w' },   { "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
};

#define GO_ON (-1)

struct ctl_flags {
	const char *socket_path; /* NULL: the default */
	const char *name;	 /* --name */
	int wait_s;		 /* --wait; -1: none */
	bool as_json;
};

#define WAIT_MAX_S 3600

/* --wait SECONDS; GO_ON, or the usage error's exit code. */
static int parse_wait(const char *text, struct ctl_flags *flags)
{
	uint64_t s;

	if (!ctl_parse_index(text, WAIT_MAX_S, &s))
		return usage_error("--wait takes whole seconds from 0 to %d, not '%s' (e.g. "
				   "--wait 60)",
				   WAIT_MAX_S, text);
	flags->wait_s = (int)s;
	return GO_ON;
}

#define GO_ON (-1)

/* The options before COMMAND; GO_ON, or the exit code. */
static int parse_flags(int argc, char **argv, struct ctl_flags *flags)
{
	int opt;

	opterr = 0;
	/* '+': stop at COMMAND, so that raw's JSON is never taken for an option */
	while ((opt = getopt_long(argc, argv, "+hn:", ctl_options, NULL)) != -1) {
		if (opt == 's') {
			flags->socket_path = optarg;
		} else if (opt == 'n') {
			flags->name = optarg;
		} else if (opt == 'w') {
			if (parse_wait(optarg, flags) != GO_ON)
				return CLI_EXIT_USAGE;
		} else if (opt == 'j') {
			flags->as_json = true;
		} else if (opt == 'h') {
			fputs(ctl_usage, stdout);
			return CLI_EXIT_OK;
		} else if (optopt == 's' || optopt == 'n' || optopt == 'w') {
			return usage_error("%s needs %s", argv[optind - 1],
					   optopt == 's'   ? "a PATH"
					   : optopt == 'n' ? "a NAME"
							   : "SECONDS");
		} else {
			return usage_error("'ctl' has no option '%s'", argv[optind - 1]);
		}
	}
	if (flags->socket_path && flags->name)
		return usage_error("--socket and --name both say which VM; give one "
				   "(--name %s is --socket %s/cmavm-%s.sock)",
				   flags->name, ctl_socket_dir(), flags->name);
	if (optind == argc)
		return usage_error("which command? e.g. 'cmavm ctl status', or 'cmavm ctl list' "
				   "for the running VMs");
	return GO_ON;
}

/*
 * The socket @flags name, in @buf unless given as is; NULL with the
 * error printed. @given: whether the user typed it (for the messages).
 */
static const char *socket_of(const struct ctl_flags *flags, char *buf, size_t len, bool *given)
{
	*given = flags->socket_path != NULL;
	if (flags->socket_path)
		return flags->socket_path;
	if (flags->name)
		return ctl_named_socket(flags->name, buf, len);
	return ctl_default_socket(buf, len);
}

/* A command other than list: to the VM at @path. */
static int ctl_to_vm(const char *path, const struct ctl_flags *flags, int argc, char **argv)
{
	struct ctl_command cmd = { 0 };
	struct ctl_reply reply;
	int ret = strcmp(argv[0], "connect") ? ctl_parse_command(argc, argv, &cmd) : 0;

	if (ret)
		return ret;
	ret = CLI_EXIT_FAILED;
	if (flags->wait_s >= 0 && ctl_wait_for_vm(path, flags->wait_s))
		ret = CLI_EXIT_FAILED;
	else if (!strcmp(argv[0], "connect"))
		ret = argc == 1 ? ctl_connect(path) : usage_error("connect takes no arguments");
	else if (!ctl_request(path, cmd.method, cmd.path, cmd.json, &reply)) {
		ret = show_reply(path, argc, argv, &cmd, &reply, flags->as_json);
		ctl_reply_free(&reply);
	}
	free(cmd.json);
	return ret;
}

int cmd_ctl(int argc, char **argv)
{
	struct ctl_flags flags = { .wait_s = -1 };
	char socket_buf[128];
	const char *path;
	bool given;
	int ret = parse_flags(argc, argv, &flags);

	if (ret != GO_ON)
		return ret;
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "list"))
		return argc == 1 ? ctl_list(flags.as_json) : usage_error("list takes no arguments");
	path = socket_of(&flags, socket_buf, sizeof(socket_buf), &given);
	if (!path)
		return flags.name ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
	if (!socket_not_a_directory(path, given, argc, argv))
		return CLI_EXIT_USAGE;
	return ctl_to_vm(path, &flags, argc, argv);
}
