// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl` whole (vmm/cli/ctl.c): its options, what it sends, and what
 * it prints for an answer, against a server thread that records the
 * request and answers canned bytes; the GPU's commands (vmm/cli/ctl_gpu.c)
 * against the real API server on the fake VM of tests/unit/vmm/control,
 * so that a PNG and a dma-buf travel as they would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "capture.h"
#include "tests/unit/lib/canned_server.h"
#include "tests/unit/vmm/control/fake_vm.h"
#include "tests/unit/vmm/control/http_harness.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/commands.h"

/* ---- a VM that answers one request with canned bytes ---- */

/* A VM that answers @status ("200 OK") with @body, of @type. */
static struct canned_server *canned_vm(const char *status, const char *type, const char *body)
{
	static char answer[8192];

	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 status, type, strlen(body), body);
	return canned_server_start(answer, 0);
}

#define JSON "application/json"

/* ---- running cmavm ctl ---- */

struct run {
	int status;
	char *out, *err;
};

/* cmavm ctl with the words of @words (split at blanks), "{}" for @socket. */
static struct run ctl(const char *socket, const char *words)
{
	char *copy = strdup(words), *argv[16] = { "ctl" }, *save, *w, *sock = NULL;
	struct capture out, err;
	struct run r;
	int argc = 1;

	assert_non_null(copy);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < 15);
		if (!strcmp(w, "{}") && socket)
			w = sock = strdup(socket);
		argv[argc++] = w;
	}
	optind = 0; /* glibc: parse afresh, as in a new process */
	capture_start(&out, stdout);
	capture_start(&err, stderr);
	r.status = cmd_ctl(argc, argv);
	r.err = captured(&err, stderr);
	r.out = captured(&out, stdout);
	free(sock);
	free(copy);
	return r;
}

static void run_done(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define BALLOON                                                                                    \
	"{\"target_bytes\": 67108864, \"actual_bytes\": 0, \"deflate_on_oom\": true, "             \
	"\"free_page_reporting\": true, \"stats_interval_s\": 5}"

static void test_a_table_for_people(void **state)
{
	struct canned_server *canned = canned_vm("200 OK", JSON, BALLOON);
	struct run r = ctl(canned->path, "--socket {} balloon set 64M");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "target               64 MiB\n"
				   "actual               0 bytes\n"
				   "deflate_on_oom       yes\n"
				   "free_page_reporting  yes\n"
				   "statistics           every 5 s\n");
	assert_string_equal(r.err, "");
	assert_non_null(strstr(canned->request, "PUT /v1/balloon HTTP/1.1\r\n"));
	canned_server_stop(canned);
	run_done(&r);
}

static void test_json_with_json(void **state)
{
	struct canned_server *canned = canned_vm("200 OK", JSON, "{\"state\": \"paused\"}");
	struct run r = ctl(canned->path, "--json --socket {} pause");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"state\": \"paused\"\n}\n");
	assert_non_null(strstr(canned->request, "PUT /v1/vm/pause HTTP/1.1\r\n"));
	canned_server_stop(canned);
	run_done(&r);
}

static void test_the_body_sent(void **state)
{
	struct canned_server *canned = canned_vm("200 OK", JSON, "{\"released\": 2}");
	struct run r = ctl(canned->path, "--socket {} window release 2");
	const char *body;

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "released window 2\n");
	body = strstr(canned->request, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, "{\"id\":2}");
	canned_server_stop(canned);
	run_done(&r);
}

static void test_raw_prints_the_body_as_it_came_when_not_json(void **state)
{
	struct canned_server *canned = canned_vm("200 OK", "text/plain", "hello");
	struct run r = ctl(canned->path, "--socket {} raw GET /v1/anything");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "hello\n");
	canned_server_stop(canned);
	run_done(&r);
}

static void test_a_refusal_is_an_error_with_the_api_s_words(void **state)
{
	struct canned_server *canned =
		canned_vm("409 Conflict", JSON, "{\"error\": \"no statistics yet\"}");
	struct run r = ctl(canned->path, "--socket {} balloon stats");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "cmavm: error: no statistics yet\r\n");
	canned_server_stop(canned);
	run_done(&r);
}

static void test_an_answer_that_is_not_json(void **state)
{
	struct canned_server *canned = canned_vm("200 OK", JSON, "not {}!");
	struct run r = ctl(canned->path, "--socket {} status");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.err, "cmavm: error: the VM's answer is not JSON: not {}!\r\n");
	canned_server_stop(canned);
	run_done(&r);
}

#define MAP "{\"pageblock_size\": 2097152, \"pools\": []}"

static void test_map_svg_says_where_it_wrote(void **state)
{
	char svg[160], words[256], wrote[200];
	struct canned_server *canned = canned_vm("200 OK", JSON, MAP);
	struct run r;

	snprintf(svg, sizeof(svg), "%s/map.svg", canned->dir);
	snprintf(words, sizeof(words), "--socket {} map --svg %s", svg);
	snprintf(wrote, sizeof(wrote), "wrote %s\n", svg);
	r = ctl(canned->path, words);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, strcat(strcpy(words, "no CMA pools\n"), wrote));
	assert_int_equal(access(svg, R_OK), 0);
	unlink(svg);
	canned_server_stop(canned);
	run_done(&r);

	/* with --json, stdout stays the JSON alone */
	canned = canned_vm("200 OK", JSON, MAP);
	snprintf(svg, sizeof(svg), "%s/map.svg", canned->dir);
	snprintf(wrote, sizeof(wrote), "wrote %s\n", svg);
	snprintf(words, sizeof(words), "--json --socket {} map --svg=%s", svg);
	r = ctl(canned->path, words);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"pageblock_size\": 2097152,\n  \"pools\": []\n}\n");
	assert_string_equal(r.err, wrote);
	unlink(svg);
	canned_server_stop(canned);
	run_done(&r);
}

static void test_no_vm_at_the_socket(void **state)
{
	struct run r = ctl(NULL, "--socket /nonexistent/api.sock status");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_non_null(
		strstr(r.err, "cannot connect to the VM's API socket /nonexistent/api.sock"));
	run_done(&r);
}

static bool starts_with(const char *text, const char *start)
{
	return !strncmp(text, start, strlen(start));
}

static void test_usage(void **state)
{
	struct run r = ctl(NULL, "--help");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "Usage: cmavm ctl [--socket PATH | --name NAME] [--wait "
				       "SECONDS] [--json] COMMAND\n"));
	run_done(&r);
	r = ctl(NULL, "-h status");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "Usage: cmavm ctl "));
	run_done(&r);
}

static void test_usage_errors(void **state)
{
	static const char *const cases[][2] = {
		{ "", "which command? e.g. 'cmavm ctl status', or 'cmavm ctl list' for the running "
		      "VMs" },
		{ "--json", "which command? e.g. 'cmavm ctl status', or 'cmavm ctl list' for the "
			    "running VMs" },
		{ "--socket", "--socket needs a PATH" },
		{ "--name", "--name needs a NAME" },
		{ "--wait", "--wait needs SECONDS" },
		{ "list now", "list takes no arguments" },
		{ "--socket /x.sock connect now", "connect takes no arguments" },
		{ "--frob status", "'ctl' has no option '--frob'" },
		{ "-x status", "'ctl' has no option '-x'" },
		{ "--socket /x.sock bogus", "unknown command 'bogus'" },
	};
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = ctl(NULL, cases[i][0]);

		snprintf(want, sizeof(want), "cmavm: error: %s; see 'cmavm ctl --help'\r\n",
			 cases[i][1]);
		assert_int_equal(r.status, CLI_EXIT_USAGE);
		assert_string_equal(r.out, "");
		assert_string_equal(r.err, want);
		run_done(&r);
	}
}

/* ---- mistakes, through the API to the fake VM, in the command's terms ---- */

static const struct mistake {
	enum ctl_vm_state state; /* the fake VM's */
	const char *words;	 /* after --socket */
	int status;
	const char *said; /* after "cmavm: error: " */
} mistakes[] = {
	{ CTL_VM_RUNNING, "balloon set 128", CLI_EXIT_USAGE,
	  "cmavm ctl balloon set 128: 128 is bytes, not a whole number of 4 KiB pages; did you "
	  "mean 'cmavm ctl balloon set 128M'?" },
	{ CTL_VM_RUNNING, "balloon set 0x1001", CLI_EXIT_USAGE,
	  "cmavm ctl balloon set 0x1001: 0x1001 is not a whole number of 4 KiB pages; use 'cmavm "
	  "ctl balloon set 8K'" },
	{ CTL_VM_RUNNING, "balloon set 8589934592G", CLI_EXIT_USAGE,
	  "cmavm ctl balloon set 8589934592G: 8589934592G is more memory than any guest has; the "
	  "balloon takes at "
	  "most the guest's memory ('cmavm ctl status' shows it)" },
	{ CTL_VM_RUNNING, "raw get /v1/vm", CLI_EXIT_USAGE,
	  "cmavm ctl raw get /v1/vm: 'get' is not an HTTP method; e.g. GET or PUT" },
	{ CTL_VM_RUNNING, "raw GET v1/vm", CLI_EXIT_USAGE,
	  "cmavm ctl raw GET v1/vm: the path starts with '/' and has no blanks or control "
	  "characters, e.g. /v1/vm" },
	{ CTL_VM_PAUSED, "pause", CLI_EXIT_FAILED,
	  "cmavm ctl pause: the VM is already paused; resume it with 'cmavm ctl resume'" },
	{ CTL_VM_RUNNING, "resume", CLI_EXIT_FAILED,
	  "cmavm ctl resume: the VM is already running; pause it with 'cmavm ctl pause'" },
	{ CTL_VM_STOPPING, "shutdown", CLI_EXIT_FAILED,
	  "cmavm ctl shutdown: the VM is shutting down; nothing more can be done with it (start "
	  "a new one with 'cmavm run')" },
	{ CTL_VM_RUNNING, "window commit linux,cma hugh", CLI_EXIT_USAGE,
	  "cmavm ctl window commit linux,cma hugh: unknown level 'hugh'; use resident, huge or "
	  "contiguous, e.g. 'cmavm ctl window commit linux,cma huge'" },
	{ CTL_VM_RUNNING, "window commit linux,cma 0 16M hugh", CLI_EXIT_USAGE,
	  "cmavm ctl window commit linux,cma 0 16M hugh: unknown level 'hugh'; use resident, huge "
	  "or contiguous, e.g. 'cmavm ctl window commit linux,cma huge'" },
	{ CTL_VM_RUNNING, "window commit linux,cma Huge 0 16M", CLI_EXIT_USAGE,
	  "cmavm ctl window commit linux,cma Huge 0 16M: unknown level 'Huge'; use resident, huge "
	  "or contiguous, e.g. 'cmavm ctl window commit linux,cma huge'" },
	{ CTL_VM_RUNNING, "migrate gpu 3", CLI_EXIT_FAILED,
	  "cmavm ctl migrate gpu 3: no CMA pool 'gpu'; the pools are 'linux,cma' and 'fw' "
	  "('cmavm ctl pools' shows them)" },
	{ CTL_VM_RUNNING, "window commit gpu huge", CLI_EXIT_FAILED,
	  "cmavm ctl window commit gpu huge: no CMA pool 'gpu'; the pools are 'linux,cma' and "
	  "'fw' ('cmavm ctl pools' shows them)" },
	{ CTL_VM_RUNNING, "migrate fw 5", CLI_EXIT_FAILED,
	  "cmavm ctl migrate fw 5: pool 'fw' has 2 pageblocks of 2 MiB, numbered 0 to 1; e.g. "
	  "'cmavm ctl migrate fw 1'" },
	{ CTL_VM_RUNNING, "window commit linux,cma 3M 4M huge", CLI_EXIT_FAILED,
	  "cmavm ctl window commit linux,cma 3M 4M huge: OFFSET 3 MiB is not a whole number of 2 "
	  "MiB pageblocks; use 2M or 4M" },
	{ CTL_VM_RUNNING, "window commit linux,cma 0 1M huge", CLI_EXIT_FAILED,
	  "cmavm ctl window commit linux,cma 0 1M huge: LENGTH 1 MiB is not a whole number of 2 "
	  "MiB pageblocks; use 2M" },
	{ CTL_VM_RUNNING, "window commit linux,cma 60M 8M huge", CLI_EXIT_FAILED,
	  "cmavm ctl window commit linux,cma 60M 8M huge: OFFSET 60M and LENGTH 8M run past the "
	  "end of pool 'linux,cma' (64 MiB); from 60M, LENGTH is at most 4M (0: to the end)" },
	{ CTL_VM_RUNNING, "window commit linux,cma huge 64M 2M", CLI_EXIT_FAILED,
	  "cmavm ctl window commit linux,cma huge 64M 2M: OFFSET 64 MiB is past the end of pool "
	  "'linux,cma' (64 MiB); give one below 64M" },
	/* what the API says itself, where it speaks of nothing but the command */
	{ CTL_VM_RUNNING, "window release 9", CLI_EXIT_FAILED,
	  "no window 9; GET /v1/cma/windows lists them" },
};

static void test_each_mistake_in_the_command_s_terms(void **state)
{
	char words[256], want[512];
	struct fixture *f;
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(mistakes) / sizeof(mistakes[0]); i++) {
		reset_vm(NULL);
		f = fixture_open(ctl_api_handle, (void *)&ops);
		vm.state = mistakes[i].state;
		snprintf(words, sizeof(words), "--socket {} %s", mistakes[i].words);
		snprintf(want, sizeof(want), "cmavm: error: %s\r\n", mistakes[i].said);
		r = ctl(f->path, words);
		assert_string_equal(r.err, want);
		assert_int_equal(r.status, mistakes[i].status);
		assert_string_equal(r.out, "");
		run_done(&r);
		fixture_close(f);
	}
}

/* --socket DIR (with or without its slash): nothing is sent, the file in it suggested */
static void test_a_directory_for_the_socket(void **state)
{
	static const char *const cases[][2] = { { "", "status" }, { "/", "window list" } };
	struct canned_server *canned = canned_vm("200 OK", JSON, "{}");
	char words[256], want[512];
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(words, sizeof(words), "--socket %s%s %s", canned->dir, cases[i][0],
			 cases[i][1]);
		snprintf(want, sizeof(want),
			 "cmavm: error: --socket %s%s is a directory; the API socket is a file in "
			 "it, e.g. 'cmavm ctl --socket %s/cmavm.sock %s'\r\n",
			 canned->dir, cases[i][0], canned->dir, cases[i][1]);
		r = ctl(NULL, words);
		assert_int_equal(r.status, CLI_EXIT_USAGE);
		assert_string_equal(r.err, want);
		assert_string_equal(canned->request, "");
		run_done(&r);
	}
	canned_server_stop(canned);
}

/* ---- the GPU's commands, through the API to the fake VM ---- */

/* The fake VM (fake_vm.h) behind a real API socket. */
static struct fixture *gpu_vm(void)
{
	reset_vm(NULL);
	return fixture_open(ctl_api_handle, (void *)&ops);
}

/* cmavm ctl --socket (the VM's) @words */
static struct run gpu_ctl(struct fixture *f, const char *words)
{
	char all[512];

	snprintf(all, sizeof(all), "--socket {} %s", words);
	return ctl(f->path, all);
}

static void test_gpu_shows_the_gpu(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = gpu_ctl(f, "gpu");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_true(starts_with(r.out,
				"gpu             virtio-gpu0\n"
				"memory          6 MiB of 64 MiB in use (huge backing, 2 MiB "
				"pages)\n"));
	assert_non_null(strstr(r.out, "1         1024x768  B8G8R8X8  4096    3 MiB    1 run       "
				      "0x8a2000000    1 entry        0\n"));
	run_done(&r);
	fixture_close(f);
}

static void test_gpu_display_resizes(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = gpu_ctl(f, "gpu display 1280x800 --scanout 1");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "scanout     1\n"
				   "display     connected, 1280x800\n"
				   "shows       nothing\n"
				   "part shown  -\n");
	assert_int_equal(vm.gpu.scanouts[1].width, 1280);
	assert_int_equal(vm.gpu.scanouts[1].height, 800);
	run_done(&r);

	r = gpu_ctl(f, "gpu display --scanout=5 640x480");
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.err,
			    "cmavm: error: the GPU has no scanout 5; it has 2 (0 and 1)\r\n");
	run_done(&r);
	fixture_close(f);
}

/* ---- more than one request: list, --name, --wait, connect ---- */

/*
 * The fake VM's socket also at @dir/@file (a second name; remove_in() it
 * before fixture_close()), $XDG_RUNTIME_DIR set to @dir.
 */
static void vm_socket_as(struct fixture *f, const char *file)
{
	char to[sizeof(f->path)];

	assert_true((size_t)snprintf(to, sizeof(to), "%s/%s", f->dir, file) < sizeof(to));
	assert_int_equal(link(f->path, to), 0);
	setenv("XDG_RUNTIME_DIR", f->dir, 1);
}

/* A socket file at @dir/@file that nobody listens on any more. */
static void stale_socket(const char *dir, const char *file)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, file);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void remove_in(const char *dir, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	unlink(path);
}

static void test_list_shows_each_vm_socket(void **state)
{
	struct fixture *f = gpu_vm();
	char other[256];
	struct run r;
	FILE *plain;

	vm_socket_as(f, "cmavm-alpha.sock");
	stale_socket(f->dir, "cmavm-old.sock");
	stale_socket(f->dir, "not-a-vm.sock"); /* not named like a VM's: not listed */
	/* a named VM's link to its socket elsewhere: listed with where it leads */
	snprintf(other, sizeof(other), "%s/cmavm-linked.sock", f->dir);
	assert_int_equal(symlink(f->path, other), 0);
	snprintf(other, sizeof(other), "%s/cmavm-file.sock", f->dir);
	plain = fopen(other, "w"); /* a file, not a socket: not listed */
	fclose(plain);

	r = ctl(NULL, "list");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_true(starts_with(r.out, "name  state          vcpus  memory   uptime"));
	/* sorted by socket: alpha answers, old does not */
	assert_non_null(strstr(r.out, "\n-     running        2      512 MiB"));
	assert_non_null(strstr(r.out, "\n-     not answering  -      -"));
	assert_non_null(strstr(r.out, "cmavm-old.sock\n"));
	snprintf(other, sizeof(other), "  %s\n", f->path);
	assert_non_null(strstr(r.out, other));
	assert_null(strstr(r.out, "cmavm-linked.sock"));
	assert_null(strstr(r.out, "not-a-vm"));
	assert_null(strstr(r.out, "cmavm-file"));
	run_done(&r);

	r = ctl(NULL, "--json list");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_non_null(strstr(r.out, "\"state\": \"not answering\""));
	assert_non_null(strstr(r.out, "\"vcpus\": 2"));
	run_done(&r);

	remove_in(f->dir, "cmavm-old.sock");
	remove_in(f->dir, "not-a-vm.sock");
	remove_in(f->dir, "cmavm-file.sock");
	remove_in(f->dir, "cmavm-linked.sock");
	remove_in(f->dir, "cmavm-alpha.sock");
	fixture_close(f);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_list_of_none_says_where_it_looked(void **state)
{
	struct run r;

	setenv("XDG_RUNTIME_DIR", "/nonexistent-cmavm-dir", 1);
	r = ctl(NULL, "list");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "no VM has its API socket in /nonexistent-cmavm-dir (VMs "
				   "started with --api-socket elsewhere are not listed)\n");
	run_done(&r);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_name_finds_the_socket(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r;

	vm_socket_as(f, "cmavm-alpha.sock");
	r = ctl(NULL, "--name alpha pause");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "state  paused\n");
	run_done(&r);

	r = ctl(NULL, "-n beta status");
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_non_null(strstr(r.err, "cannot connect to the VM's API socket "));
	assert_non_null(strstr(r.err, "/cmavm-beta.sock"));
	run_done(&r);

	r = ctl(NULL, "--name a/b status");
	assert_int_equal(r.status, CLI_EXIT_USAGE);
	assert_string_equal(r.err, "cmavm: error: the VM name 'a/b' has '/' (letters, digits, "
				   "'.', '_' and '-' only)\r\n");
	run_done(&r);

	r = ctl("/tmp/x.sock", "--socket {} --name alpha status");
	assert_int_equal(r.status, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "--socket and --name both say which VM; give one"));
	run_done(&r);
	remove_in(f->dir, "cmavm-alpha.sock");
	fixture_close(f);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_wait_until_the_vm_answers(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r;

	vm_socket_as(f, "cmavm-alpha.sock");
	r = ctl(NULL, "--name alpha --wait 5 status");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "state "));
	run_done(&r);

	/* a stale socket is not a VM: waited for, in vain */
	stale_socket(f->dir, "cmavm-old.sock");
	r = ctl(NULL, "--name old --wait 1 status");
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_non_null(strstr(r.err, "/cmavm-old.sock within 1 s (--wait 1)"));
	run_done(&r);

	r = ctl(NULL, "--wait soon status");
	assert_int_equal(r.status, CLI_EXIT_USAGE);
	assert_non_null(strstr(r.err, "--wait takes whole seconds from 0 to 3600, not 'soon'"));
	run_done(&r);
	remove_in(f->dir, "cmavm-old.sock");
	remove_in(f->dir, "cmavm-alpha.sock");
	fixture_close(f);
	unsetenv("XDG_RUNTIME_DIR");
}

/* cmavm ctl @words with @input on its stdin */
static struct run ctl_with_stdin(const char *socket, const char *words, const char *input)
{
	int pipefd[2], saved = dup(STDIN_FILENO);
	struct run r;

	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], input, strlen(input)), (ssize_t)strlen(input));
	close(pipefd[1]);
	dup2(pipefd[0], STDIN_FILENO);
	close(pipefd[0]);
	r = ctl(socket, words);
	dup2(saved, STDIN_FILENO);
	close(saved);
	return r;
}

static void test_connect_carries_the_api(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = ctl_with_stdin(f->path, "--socket {} connect",
				      "GET /v1/vm HTTP/1.1\r\nHost: localhost\r\n\r\n");

	/* the VM answers, and stdin's end ends the exchange */
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_true(starts_with(r.out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r.out, "\"state\": \"running\""));
	run_done(&r);

	r = ctl_with_stdin("/nonexistent/vm.sock", "--socket {} connect", "");
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_non_null(
		strstr(r.err, "cannot connect to the VM's API socket /nonexistent/vm.sock"));
	run_done(&r);
	fixture_close(f);
}

/* The whole of the file at @path, which must be @len bytes long. */
static char *file_bytes(const char *path, size_t len)
{
	char *bytes = malloc(len + 1);
	FILE *f = fopen(path, "rb");

	assert_non_null(bytes);
	assert_non_null(f);
	assert_int_equal(fread(bytes, 1, len + 1, f), len);
	fclose(f);
	return bytes;
}

static void test_screenshot_writes_the_png(void **state)
{
	struct fixture *f = gpu_vm();
	char words[256], want[256], *png;
	struct run r;

	snprintf(words, sizeof(words), "screenshot %s/shot.png", f->dir);
	r = gpu_ctl(f, words);
	snprintf(want, sizeof(want), "wrote %s/shot.png: 1024x768 PNG, %zu bytes\n", f->dir,
		 fake_png_len);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");
	snprintf(words, sizeof(words), "%s/shot.png", f->dir);
	png = file_bytes(words, fake_png_len);
	assert_memory_equal(png, fake_png, fake_png_len);
	assert_int_equal(vm.gpu_scanout, 0);
	unlink(words);
	free(png);
	run_done(&r);
	fixture_close(f);
}

static void test_screenshot_to_stdout_and_as_json(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = gpu_ctl(f, "screenshot - --scanout 0");
	char words[256], want[256];

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_memory_equal(r.out, fake_png, fake_png_len);
	assert_string_equal(r.err, "wrote stdout: 1024x768 PNG, 33 bytes\n");
	run_done(&r);

	snprintf(words, sizeof(words), "--json screenshot %s/s.png", f->dir);
	snprintf(want, sizeof(want),
		 "{\n  \"file\": \"%s/s.png\",\n  \"bytes\": 33,\n  \"width\": 1024,\n  "
		 "\"height\": 768\n}\n",
		 f->dir);
	r = gpu_ctl(f, words);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, want);
	snprintf(words, sizeof(words), "%s/s.png", f->dir);
	unlink(words);
	run_done(&r);
	fixture_close(f);
}

static void test_screenshot_refused_or_unwritable(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = gpu_ctl(f, "screenshot /tmp/never.png --scanout 1");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.err, "cmavm: error: scanout 1 shows nothing yet; wait until the "
				   "guest draws on it\r\n");
	assert_int_equal(access("/tmp/never.png", F_OK), -1);
	run_done(&r);

	r = gpu_ctl(f, "screenshot /nonexistent/dir/x.png");
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "cmavm: error: cannot write the screenshot to "
				   "/nonexistent/dir/x.png: No such file or directory; give a "
				   "path in a directory you can write\r\n");
	run_done(&r);
	fixture_close(f);
}

static void test_gpu_export_without_a_program_describes_it(void **state)
{
	struct fixture *f = gpu_vm();
	struct run r = gpu_ctl(f, "gpu export");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "scanout        0\n"
				       "resource       1\n"
				       "pixels         1024x768, stride 4096 bytes, B8G8R8X8 (DRM "
				       "fourcc XR24)\n"
				       "dma-buf        3 MiB, first pixel at offset 0 bytes\n"
				       "host-physical  0x8a2000000, contiguous\n"));
	assert_non_null(strstr(r.out, "cmavm ctl gpu export --scanout 0 -- PROGRAM [ARGS...]"));
	run_done(&r);

	r = gpu_ctl(f, "--json gpu export");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "{\n  \"scanout\": 0,\n  \"resource_id\": 1,\n"));
	run_done(&r);
	fixture_close(f);
}

/* A shell script @text at @dir/@name; its path in @path. */
static void write_script(const char *dir, const char *name, const char *text, char *path,
			 size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define SHOW_DMABUF                                                                                \
	"echo fd=$CMAVM_DMABUF_FD w=$CMAVM_DMABUF_WIDTH h=$CMAVM_DMABUF_HEIGHT"                    \
	" stride=$CMAVM_DMABUF_STRIDE format=$CMAVM_DMABUF_FORMAT"                                 \
	" fourcc=$CMAVM_DMABUF_FOURCC offset=$CMAVM_DMABUF_OFFSET size=$CMAVM_DMABUF_SIZE"         \
	" stale=${CMAVM_DMABUF_STALE-gone} args=$*\n"                                              \
	"stat -L -c fd3=%s /proc/self/fd/3\n"                                                      \
	"exit 7\n"

static void test_gpu_export_runs_the_program_with_the_dmabuf(void **state)
{
	struct fixture *f = gpu_vm();
	char script[200], words[300];
	struct run r;

	write_script(f->dir, "show.sh", SHOW_DMABUF, script, sizeof(script));
	snprintf(words, sizeof(words), "gpu export --scanout 0 -- /bin/sh %s a --b", script);
	setenv("CMAVM_DMABUF_STALE", "1", 1); /* ours, not the program's */
	r = gpu_ctl(f, words);
	unsetenv("CMAVM_DMABUF_STALE");
	assert_int_equal(r.status, 7); /* the program's */
	assert_string_equal(r.out, "fd=3 w=1024 h=768 stride=4096 format=B8G8R8X8 fourcc=XR24 "
				   "offset=0 size=3145728 stale=gone args=a --b\n"
				   "fd3=3145728\n");
	assert_string_equal(r.err, "");
	unlink(script);
	run_done(&r);
	fixture_close(f);
}

static void test_gpu_export_says_what_became_of_the_program(void **state)
{
	struct fixture *f = gpu_vm();
	char script[200], words[300];
	struct run r = gpu_ctl(f, "gpu export -- /nonexistent/consumer");

	assert_int_equal(r.status, 127);
	assert_string_equal(r.err, "cmavm: error: cannot run /nonexistent/consumer: no such "
				   "program; give its path, or a name in $PATH\r\n");
	run_done(&r);

	write_script(f->dir, "die.sh", "kill -TERM $$\n", script, sizeof(script));
	snprintf(words, sizeof(words), "gpu export -- /bin/sh %s", script);
	r = gpu_ctl(f, words);
	assert_int_equal(r.status, 128 + 15);
	assert_string_equal(r.err,
			    "cmavm: error: /bin/sh was killed by signal 15 (Terminated)\r\n");
	unlink(script);
	run_done(&r);
	fixture_close(f);
}

static void test_gpu_export_refused_runs_nothing(void **state)
{
	struct fixture *f = gpu_vm();
	char script[200], words[300], marker[200];
	struct run r;

	snprintf(marker, sizeof(marker), "%s/ran", f->dir);
	snprintf(words, sizeof(words), "touch %s\n", marker);
	write_script(f->dir, "touch.sh", words, script, sizeof(script));
	snprintf(words, sizeof(words), "gpu export -- /bin/sh %s", script);
	vm.export_fail = -EOPNOTSUPP;
	r = gpu_ctl(f, words);
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.err, "cmavm: error: this host has no /dev/udmabuf; load it with "
				   "'modprobe udmabuf'\r\n");
	assert_int_equal(access(marker, F_OK), -1);
	unlink(script);
	run_done(&r);
	fixture_close(f);
}

static void test_gpu_commands_in_the_usage(void **state)
{
	struct run r = ctl(NULL, "--help");

	assert_non_null(strstr(r.out, "  gpu                      the GPU: scanouts, resources"));
	assert_non_null(strstr(r.out, "  gpu display WIDTHxHEIGHT [--scanout N]\n"));
	assert_non_null(strstr(r.out, "  screenshot FILE.png [--scanout N]\n"));
	assert_non_null(strstr(r.out, "  gpu export [--scanout N] [-- PROGRAM [ARGS...]]\n"));
	run_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_table_for_people),
		cmocka_unit_test(test_json_with_json),
		cmocka_unit_test(test_the_body_sent),
		cmocka_unit_test(test_raw_prints_the_body_as_it_came_when_not_json),
		cmocka_unit_test(test_a_refusal_is_an_error_with_the_api_s_words),
		cmocka_unit_test(test_an_answer_that_is_not_json),
		cmocka_unit_test(test_map_svg_says_where_it_wrote),
		cmocka_unit_test(test_no_vm_at_the_socket),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_each_mistake_in_the_command_s_terms),
		cmocka_unit_test(test_a_directory_for_the_socket),
		cmocka_unit_test(test_gpu_shows_the_gpu),
		cmocka_unit_test(test_gpu_display_resizes),
		cmocka_unit_test(test_screenshot_writes_the_png),
		cmocka_unit_test(test_screenshot_to_stdout_and_as_json),
		cmocka_unit_test(test_screenshot_refused_or_unwritable),
		cmocka_unit_test(test_gpu_export_without_a_program_describes_it),
		cmocka_unit_test(test_gpu_export_runs_the_program_with_the_dmabuf),
		cmocka_unit_test(test_gpu_export_says_what_became_of_the_program),
		cmocka_unit_test(test_gpu_export_refused_runs_nothing),
		cmocka_unit_test(test_gpu_commands_in_the_usage),
		cmocka_unit_test(test_list_shows_each_vm_socket),
		cmocka_unit_test(test_list_of_none_says_where_it_looked),
		cmocka_unit_test(test_name_finds_the_socket),
		cmocka_unit_test(test_wait_until_the_vm_answers),
		cmocka_unit_test(test_connect_carries_the_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
