// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: `cmavm ctl`'s words to a request (vmm/cli/ctl_requests.c,
 * ctl_gpu.c) and a VM's name (vmm/control/client.c). Input: lines; the
 * first is a VM name, every other line one word after "cmavm ctl".
 *
 * Beyond the sanitizers: words taken make a request line HTTP can carry
 * (a method of capitals, a path from '/' with no blank or control
 * character) and, but for raw, a request the API could serve (a path
 * under /v1/ or /metrics, a body that is JSON); a name taken makes a
 * socket path with no directory of its own.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli/cli.h"
#include "vmm/cli/ctl.h"
#include "vmm/control/client.h"

#define WORDS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, const char *text)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ctl_words: %s: '%s'\n", what, text);
		abort();
	}
}

static void check_name(const char *name)
{
	char why[80] = "", path[128];
	const char *sock;

	if (!ctl_name_valid(name, why, sizeof(why))) {
		check(why[0] != '\0', "a name refused without a reason", name);
		return;
	}
	setenv("XDG_RUNTIME_DIR", "/run/fuzz", 1);
	sock = ctl_named_socket(name, path, sizeof(path));
	check(sock && !strchr(sock + strlen("/run/fuzz/"), '/') && strchr(name, '/') == NULL,
	      "a name taken leaves the socket directory", name);
}

static void check_words(int argc, char **argv)
{
	struct ctl_command cmd = { 0 };
	bool raw = !strcmp(argv[0], "raw");
	char *raw_body;
	json_t *body;

	if (ctl_parse_command(argc, argv, &cmd))
		return;
	raw_body = cmd.json;
	check(cmd.method && *cmd.method &&
		      strspn(cmd.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(cmd.method),
	      "words taken make no method", argv[0]);
	check(cmd.path && cmd.path[0] == '/' && !strpbrk(cmd.path, " \t\r\n"),
	      "words taken make a path no request line can carry", argv[0]);
	if (raw) /* its body goes as the user gave it */
		cmd.json = NULL;
	else
		check(!strncmp(cmd.path, "/v1/", 4) || !strcmp(cmd.path, "/metrics"),
		      "words taken make a path outside the API", cmd.path);
	if (cmd.json) {
		body = json_loads(cmd.json, 0, NULL);
		check(body != NULL, "words taken make a body that is not JSON", cmd.json);
		json_decref(body);
	}
	free(raw_body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[WORDS_MAX + 1], *line, *save, *name;
	int argc = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	name = strtok_r(text, "\n", &save);
	if (name)
		check_name(name);
	for (line = strtok_r(NULL, "\n", &save); line && argc < WORDS_MAX;
	     line = strtok_r(NULL, "\n", &save))
		argv[argc++] = line;
	argv[argc] = NULL;
	if (argc)
		check_words(argc, argv);
	free(text);
	return 0;
}
