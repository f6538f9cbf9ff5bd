// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl` whole (vmm/cli/ctl.c): its options, what it sends, and what
 * it prints for an answer, against a server thread that records the
 * request and answers canned bytes.
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
#include <sys/un.h>
#include <unistd.h>

#include "capture.h"
#include "tests/unit/lib/canned_server.h"
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
	struct canned_server *vm = canned_vm("200 OK", JSON, BALLOON);
	struct run r = ctl(vm->path, "--socket {} balloon set 64M");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "target               64 MiB\n"
				   "actual               0 bytes\n"
				   "deflate_on_oom       yes\n"
				   "free_page_reporting  yes\n"
				   "statistics           every 5 s\n");
	assert_string_equal(r.err, "");
	assert_non_null(strstr(vm->request, "PUT /v1/balloon HTTP/1.1\r\n"));
	canned_server_stop(vm);
	run_done(&r);
}

static void test_json_with_json(void **state)
{
	struct canned_server *vm = canned_vm("200 OK", JSON, "{\"state\": \"paused\"}");
	struct run r = ctl(vm->path, "--json --socket {} pause");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"state\": \"paused\"\n}\n");
	assert_non_null(strstr(vm->request, "PUT /v1/vm/pause HTTP/1.1\r\n"));
	canned_server_stop(vm);
	run_done(&r);
}

static void test_the_body_sent(void **state)
{
	struct canned_server *vm = canned_vm("200 OK", JSON, "{\"released\": 2}");
	struct run r = ctl(vm->path, "--socket {} window release 2");
	const char *body;

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "released window 2\n");
	body = strstr(vm->request, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, "{\"id\":2}");
	canned_server_stop(vm);
	run_done(&r);
}

static void test_raw_prints_the_body_as_it_came_when_not_json(void **state)
{
	struct canned_server *vm = canned_vm("200 OK", "text/plain", "hello");
	struct run r = ctl(vm->path, "--socket {} raw GET /v1/anything");

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "hello\n");
	canned_server_stop(vm);
	run_done(&r);
}

static void test_a_refusal_is_an_error_with_the_api_s_words(void **state)
{
	struct canned_server *vm =
		canned_vm("409 Conflict", JSON, "{\"error\": \"the VM is paused\"}");
	struct run r = ctl(vm->path, "--socket {} pause");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "cmavm: error: the VM is paused\r\n");
	canned_server_stop(vm);
	run_done(&r);
}

static void test_an_answer_that_is_not_json(void **state)
{
	struct canned_server *vm = canned_vm("200 OK", JSON, "not {}!");
	struct run r = ctl(vm->path, "--socket {} status");

	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_string_equal(r.err, "cmavm: error: the VM's answer is not JSON: not {}!\r\n");
	canned_server_stop(vm);
	run_done(&r);
}

#define MAP "{\"pageblock_size\": 2097152, \"pools\": []}"

static void test_map_svg_says_where_it_wrote(void **state)
{
	char svg[160], words[256], wrote[200];
	struct canned_server *vm = canned_vm("200 OK", JSON, MAP);
	struct run r;

	snprintf(svg, sizeof(svg), "%s/map.svg", vm->dir);
	snprintf(words, sizeof(words), "--socket {} map --svg %s", svg);
	snprintf(wrote, sizeof(wrote), "wrote %s\n", svg);
	r = ctl(vm->path, words);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, strcat(strcpy(words, "no CMA pools\n"), wrote));
	assert_int_equal(access(svg, R_OK), 0);
	unlink(svg);
	canned_server_stop(vm);
	run_done(&r);

	/* with --json, stdout stays the JSON alone */
	vm = canned_vm("200 OK", JSON, MAP);
	snprintf(svg, sizeof(svg), "%s/map.svg", vm->dir);
	snprintf(wrote, sizeof(wrote), "wrote %s\n", svg);
	snprintf(words, sizeof(words), "--json --socket {} map --svg=%s", svg);
	r = ctl(vm->path, words);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.out, "{\n  \"pageblock_size\": 2097152,\n  \"pools\": []\n}\n");
	assert_string_equal(r.err, wrote);
	unlink(svg);
	canned_server_stop(vm);
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
	assert_true(starts_with(r.out, "Usage: cmavm ctl [--socket PATH] [--json] COMMAND\n"));
	run_done(&r);
	r = ctl(NULL, "-h status");
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_true(starts_with(r.out, "Usage: cmavm ctl "));
	run_done(&r);
}

static void test_usage_errors(void **state)
{
	static const char *const cases[][2] = {
		{ "", "which command? e.g. 'cmavm ctl status'" },
		{ "--json", "which command? e.g. 'cmavm ctl status'" },
		{ "--socket", "--socket needs a PATH" },
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
