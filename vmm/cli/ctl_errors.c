// SPDX-License-Identifier: GPL-2.0-only
/*
 * A refusal in the terms of the `cmavm ctl` command typed. The API words
 * its errors for curl users (endpoints, JSON fields, bytes); ctl knows the
 * command, so where it can it asks the VM what it needs (its state, its
 * pools) and says what was wrong with the words typed and which command
 * would do. Any other refusal keeps the API's sentence.
 */
#include "vmm/cli/ctl.h"

#include <stdarg.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/control/client.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

const char *ctl_typed(int argc, char **argv, char *buf, size_t len)
{
	struct strbuf sb;
	int i;

	buf[0] = '\0';
	strbuf_attach(&sb, buf, len);
	strbuf_addf(&sb, "cmavm ctl");
	for (i = 0; i < argc; i++)
		strbuf_addf(&sb, " %s", argv[i]);
	return strbuf_str(&sb);
}

const char *ctl_size_words(uint64_t bytes, char buf[static 32])
{
	static const char units[] = "GMK";
	int shift = 30, i;

	for (i = 0; bytes && units[i]; i++, shift -= 10)
		if (!(bytes & ((1ULL << shift) - 1))) {
			snprintf(buf, 32, "%llu%c", (unsigned long long)(bytes >> shift), units[i]);
			return buf;
		}
	snprintf(buf, 32, "%llu", (unsigned long long)bytes);
	return buf;
}

/* The 200 answer to GET @path as JSON, or NULL. */
static json_t *ask(const char *socket, const char *path)
{
	struct ctl_reply reply;
	json_t *root = NULL;

	if (ctl_request(socket, "GET", path, NULL, &reply))
		return NULL;
	if (reply.status == 200)
		root = json_loads(reply.body, 0, NULL);
	ctl_reply_free(&reply);
	return root;
}

/* pause, resume, shutdown refused (409): the VM's state says why. */
static bool state_refused(const char *socket, const char *typed, const char *word)
{
	json_t *vm = ask(socket, "/v1/vm");
	const char *state = json_string_value(json_object_get(vm, "state"));
	bool said = true;

	if (state && !strcmp(state, "stopping"))
		pr_err("%s: the VM is shutting down; nothing more can be done with it (start a "
		       "new one with 'cmavm run')",
		       typed);
	else if (state && !strcmp(word, "pause") && !strcmp(state, "paused"))
		pr_err("%s: the VM is already paused; resume it with 'cmavm ctl resume'", typed);
	else if (state && !strcmp(word, "resume") && !strcmp(state, "running"))
		pr_err("%s: the VM is already running; pause it with 'cmavm ctl pause'", typed);
	else
		said = false;
	json_decref(vm);
	return said;
}

/* The pool @name in GET /v1/cma/map's @map, or NULL. */
static json_t *map_pool(json_t *map, const char *name)
{
	json_t *pool;
	size_t i;

	json_array_foreach (json_object_get(map, "pools"), i, pool)
		if (!strcmp(view_str(pool, "name"), name))
			return pool;
	return NULL;
}

static size_t pool_blocks(json_t *pool)
{
	return strlen(view_str(pool, "blocks"));
}

/* No pool @name: the pools there are. */
static void no_pool(json_t *map, const char *typed, const char *name)
{
	json_t *pools = json_object_get(map, "pools"), *pool;
	size_t i, n = json_array_size(pools);
	char names[512];
	struct strbuf sb;

	names[0] = '\0';
	if (!n) {
		pr_err("%s: this VM has no CMA pools; start one with --cma SIZE or --dma-pool "
		       "NAME:SIZE",
		       typed);
		return;
	}
	strbuf_attach(&sb, names, sizeof(names));
	json_array_foreach (pools, i, pool)
		strbuf_addf(&sb, "%s'%s'",
			    !i		 ? ""
			    : i + 1 == n ? " and "
					 : ", ",
			    view_str(pool, "name"));
	pr_err("%s: no CMA pool '%s'; %s %s ('cmavm ctl pools' shows %s)", typed, name,
	       n == 1 ? "the pool is" : "the pools are", strbuf_str(&sb), n == 1 ? "it" : "them");
}

/* migrate POOL BLOCK: a block past the pool's end. */
static bool block_refused(json_t *pool, uint64_t pageblock, const char *typed, uint64_t block)
{
	size_t n = pool_blocks(pool);
	char pb[32];

	if (block < n)
		return false;
	pr_err("%s: pool '%s' has %zu pageblocks of %s, numbered 0 to %zu; e.g. 'cmavm ctl "
	       "migrate %s %zu'",
	       typed, view_str(pool, "name"), n, size_str(pageblock, pb), n - 1,
	       view_str(pool, "name"), n - 1);
	return true;
}

/* OFFSET or LENGTH (@what) not in whole pageblocks */
static void not_in_blocks(const char *typed, const char *what, uint64_t v, uint64_t pageblock)
{
	char a[32], pb[32], lo[32], hi[32];

	if (v < pageblock)
		pr_err("%s: %s %s is not a whole number of %s pageblocks; use %s", typed, what,
		       size_str(v, a), size_str(pageblock, pb),
		       ctl_size_words(align_up(v, pageblock), hi));
	else
		pr_err("%s: %s %s is not a whole number of %s pageblocks; use %s or %s", typed,
		       what, size_str(v, a), size_str(pageblock, pb),
		       ctl_size_words(align_down(v, pageblock), lo),
		       ctl_size_words(align_up(v, pageblock), hi));
}

/* window commit: a range not in whole pageblocks, or past the pool's end. */
static bool range_refused(json_t *pool, uint64_t pageblock, const char *typed, json_t *body)
{
	uint64_t size = pool_blocks(pool) * pageblock, offset = view_u64(body, "offset");
	uint64_t length = view_u64(body, "length");
	const char *name = view_str(pool, "name");
	char a[32], b[32], c[32], most[32];

	if (!pageblock)
		return false;
	if (offset % pageblock || length % pageblock) {
		not_in_blocks(typed, offset % pageblock ? "OFFSET" : "LENGTH",
			      offset % pageblock ? offset : length, pageblock);
		return true;
	}
	if (offset >= size) {
		pr_err("%s: OFFSET %s is past the end of pool '%s' (%s); give one below %s", typed,
		       size_str(offset, a), name, size_str(size, b), ctl_size_words(size, c));
		return true;
	}
	if (length > size - offset) {
		pr_err("%s: OFFSET %s and LENGTH %s run past the end of pool '%s' (%s); from "
		       "%s, LENGTH is at most %s (0: to the end)",
		       typed, ctl_size_words(offset, a), ctl_size_words(length, b), name,
		       size_str(size, c), a, ctl_size_words(size - offset, most));
		return true;
	}
	return false;
}

/* window commit, migrate POOL BLOCK: what is wrong with the pool or the range. */
static bool pool_refused(const char *socket, const char *typed, const struct ctl_command *cmd)
{
	json_t *body = json_loads(cmd->json ? cmd->json : "", 0, NULL);
	const char *name = json_string_value(json_object_get(body, "pool"));
	json_t *map = name ? ask(socket, "/v1/cma/map") : NULL, *pool;
	uint64_t pageblock = view_u64(map, "pageblock_size");
	bool said = false;

	if (map) {
		pool = map_pool(map, name);
		said = true;
		if (!pool)
			no_pool(map, typed, name);
		else if (json_object_get(body, "block"))
			said = block_refused(pool, pageblock, typed, view_u64(body, "block"));
		else
			said = range_refused(pool, pageblock, typed, body);
	}
	json_decref(map);
	json_decref(body);
	return said;
}

static bool is_state_change(const char *path)
{
	return !strcmp(path, "/v1/vm/pause") || !strcmp(path, "/v1/vm/resume") ||
	       !strcmp(path, "/v1/vm/shutdown");
}

static bool names_a_pool(const char *path)
{
	return !strcmp(path, "/v1/cma/windows") || !strcmp(path, "/v1/cma/migrate");
}

int ctl_refused(const char *socket, int argc, char **argv, const struct ctl_command *cmd,
		const struct ctl_reply *reply)
{
	char typed[512], err[1024];
	bool said = false;

	ctl_typed(argc, argv, typed, sizeof(typed));
	if (!strcmp(argv[0], "raw")) /* its user speaks the API */
		;
	else if (reply->status == 409 && cmd->path && is_state_change(cmd->path))
		said = state_refused(socket, typed, argv[0]);
	else if (reply->status >= 400 && reply->status <= 499 && cmd->path &&
		 !strcmp(cmd->method, "PUT") && names_a_pool(cmd->path))
		said = pool_refused(socket, typed, cmd);
	if (!said)
		pr_err("%s", ctl_reply_error(reply, err, sizeof(err)));
	return CLI_EXIT_FAILED;
}
