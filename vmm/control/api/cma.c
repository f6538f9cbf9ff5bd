// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/cma: the host CMA engine's pools, pageblock map, windows and
 * statistics, and its three commands: commit a window, release it,
 * migrate a pageblock. The engine's refusals come with its own sentence
 * and an errno that picks the status (see struct ctl_ops).
 *
 * A command may finish after its handler returned (the engine moves
 * memory on its own thread): its request, the engine's out-arguments and
 * sentence live in a struct cma_command until then, and the HTTP answer is
 * deferred. Either way one function builds each answer.
 */
#include "vmm/control/api/internal.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cma/engine.h"

/* bytes[] of struct ctl_cma_pool is indexed by the engine's states. */
_Static_assert(CTL_CMA_STATES == CMA_NR_STATES, "one entry per pageblock state");

#define COMMIT_EXAMPLE	"{\"pool\": \"linux,cma\", \"level\": \"huge\"}"
#define RELEASE_EXAMPLE "{\"id\": 1}"
#define MIGRATE_EXAMPLE "{\"gpa\": \"0x9c200000\"} or {\"pool\": \"linux,cma\", \"block\": 1}"
#define BLOCK_EXAMPLE	"{\"pool\": \"linux,cma\", \"block\": 1}"
#define WHY_MAX		256 /* the engine's sentence when it refuses */

/* ---- reading: pools, map, windows, statistics ---- */

static json_t *cma_pool_json(const struct ctl_cma_pool *p)
{
	json_t *bytes = json_object();
	unsigned int s;

	for (s = 0; bytes && s < CTL_CMA_STATES; s++)
		json_object_set_new(bytes, cma_state_name((enum cma_block_state)s),
				    api_u64(p->bytes[s]));
	return json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "name", p->name ? p->name : "", "kind",
			 p->kind == POOL_COHERENT ? "coherent" : "cma", "default", p->is_default,
			 "base", api_u64(p->base), "size", api_u64(p->size), "bytes", bytes);
}

void api_get_cma_pools(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_pool pools[POOL_MAX];
	json_t *list;
	int n, i;

	memset(pools, 0, sizeof(pools));
	n = ops->cma_pools ? ops->cma_pools(ops->opaque, pools, POOL_MAX) : -ENOSYS;
	if (n < 0) {
		api_vm_failed(resp, "list the CMA pools", n);
		return;
	}
	list = json_array();
	for (i = 0; list && i < n && i < POOL_MAX; i++)
		json_array_append_new(list, cma_pool_json(&pools[i]));
	api_respond(resp, 200, list);
}

static json_t *cma_map_json(const struct ctl_cma_map *maps, int n, uint64_t pageblock_size)
{
	json_t *pools = json_array();
	int i;

	for (i = 0; pools && i < n && i < POOL_MAX; i++)
		json_array_append_new(pools, json_pack("{s:s, s:o, s:s}", "name",
						       maps[i].name ? maps[i].name : "", "base",
						       api_u64(maps[i].base), "blocks",
						       maps[i].blocks ? maps[i].blocks : ""));
	return json_pack("{s:o, s:o}", "pageblock_size", api_u64(pageblock_size), "pools", pools);
}

void api_get_cma_map(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_map maps[POOL_MAX];
	uint64_t pageblock_size = 0;
	int n;

	memset(maps, 0, sizeof(maps));
	n = ops->cma_map ? ops->cma_map(ops->opaque, maps, POOL_MAX, &pageblock_size) : -ENOSYS;
	if (n < 0)
		api_vm_failed(resp, "draw the CMA pageblock map", n);
	else
		api_respond(resp, 200, cma_map_json(maps, n, pageblock_size));
}

/* Numbers of an answer by name, for an object set from a table of them. */
struct u64_field {
	const char *name;
	uint64_t value;
};

#define N_FIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* @obj with each of @fields[0..n) set in order; NULL stays NULL. */
static json_t *set_u64_fields(json_t *obj, const struct u64_field *fields, size_t n)
{
	for (size_t i = 0; obj && i < n; i++)
		json_object_set_new(obj, fields[i].name, api_u64(fields[i].value));
	return obj;
}

static json_t *cma_window_json(const struct ctl_cma_window *w)
{
	const struct u64_field moves[] = {
		{ "commit_ns", w->commit_ns },	 { "commit_pause_ns", w->commit_pause_ns },
		{ "pauses", w->pauses },	 { "pause_ns_max", w->pause_ns_max },
		{ "stalls", w->stalls },	 { "stall_ns_max", w->stall_ns_max },
		{ "migrations", w->migrations },
	};
	json_t *obj = json_pack("{s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "id", api_u64(w->id),
				"pool", w->pool ? w->pool : "", "offset", api_u64(w->offset),
				"length", api_u64(w->length), "gpa", api_u64(w->gpa), "level",
				w->level ? w->level : "", "largest_run", api_u64(w->largest_run),
				"contiguous_2m", api_u64(w->contiguous_2m));

	set_u64_fields(obj, moves, N_FIELDS(moves));
	if (obj) {
		json_object_set_new(obj, "state", json_string(w->state ? w->state : "committed"));
		json_object_set_new(obj, "done_bytes", api_u64(w->done_bytes));
	}
	return obj;
}

void api_get_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_window windows[CTL_CMA_WINDOWS_MAX];
	json_t *list;
	int n, i;

	memset(windows, 0, sizeof(windows));
	n = ops->cma_windows ? ops->cma_windows(ops->opaque, windows, CTL_CMA_WINDOWS_MAX)
			     : -ENOSYS;
	if (n < 0) {
		api_vm_failed(resp, "list the CMA windows", n);
		return;
	}
	list = json_array();
	for (i = 0; list && i < n && i < CTL_CMA_WINDOWS_MAX; i++)
		json_array_append_new(list, cma_window_json(&windows[i]));
	api_respond(resp, 200, list);
}

static json_t *u64_array(const uint64_t *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, api_u64(v[i]));
	return a;
}

static json_t *cma_stats_json(const struct ctl_cma_stats *st)
{
	const struct u64_field fields[] = {
		{ "pageblock_size", st->pageblock_size },
		{ "commits", st->commits },
		{ "releases", st->releases },
		{ "migrations", st->migrations },
		{ "rollbacks", st->rollbacks },
		{ "boot_commits", st->boot_commits },
		{ "refused_discards", st->refused_discards },
		{ "refused_discard_bytes", st->refused_discard_bytes },
		{ "pauses", st->pauses },
		{ "pause_ns_total", st->pause_ns_total },
		{ "pause_ns_max", st->pause_ns_max },
		{ "pause_ns_last", st->pause_ns_last },
		{ "stalls", st->stalls },
		{ "stall_ns_total", st->stall_ns_total },
		{ "stall_ns_max", st->stall_ns_max },
		{ "stall_ns_last", st->stall_ns_last },
		{ "resident_bytes", st->resident_bytes },
	};
	json_t *obj = set_u64_fields(json_object(), fields, N_FIELDS(fields));

	if (obj) {
		json_object_set_new(obj, "moves", json_string(st->live ? "live" : "pause"));
		json_object_set_new(obj, "live_why", json_string(st->live_why ? st->live_why : ""));
		json_object_set_new(obj, "histogram_bounds_ns",
				    u64_array(st->hist_bound_ns, CTL_HIST_BUCKETS - 1));
		json_object_set_new(obj, "pause_histogram",
				    u64_array(st->pause_hist, CTL_HIST_BUCKETS));
		json_object_set_new(obj, "stall_histogram",
				    u64_array(st->stall_hist, CTL_HIST_BUCKETS));
	}
	return obj;
}

void api_get_cma_stats(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_stats st = { 0 };
	int err = ops->cma_stats ? ops->cma_stats(ops->opaque, &st) : -ENOSYS;

	if (err)
		api_vm_failed(resp, "read the CMA engine's statistics", err);
	else
		api_respond(resp, 200, cma_stats_json(&st));
}

/* ---- commands: commit, release, migrate ---- */

/* The HTTP status for an errno the engine refused with; 0: none of them. */
static int refusal_status(int err)
{
	switch (err) {
	case -ENOENT:
		return 404;
	case -EINVAL:
		return 400;
	case -EBUSY:
		return 409;
	case -EIO:
		return 500;
	default:
		return 0;
	}
}

/*
 * The answer when the engine refused to @what: its sentence @why (which
 * may have been cut off unterminated) with the status its errno stands for.
 */
static void cma_refused(struct http_response *resp, const char *what, int err, char *why)
{
	int status = refusal_status(err);

	why[WHY_MAX - 1] = '\0';
	if (!status && (err == -ENOSYS || !why[0]))
		api_vm_failed(resp, what, err);
	else if (!status)
		http_response_error(resp, 500, "internal error: cannot %s: %s; %s", what,
				    strerror(-err), why);
	else if (why[0])
		http_response_error(resp, status, "%s", why);
	else
		http_response_error(resp, status, "cannot %s: %s", what, strerror(-err));
}

/*
 * One command from its request to its answer. The request's strings point
 * into @body, of which it holds a reference.
 */
struct cma_command {
	struct ctl_pending pending;
	const char *what;				  /* "commit the window" */
	json_t *(*answer)(const struct cma_command *cmd); /* the 200's JSON */
	json_t *body;
	struct http_deferred *deferred;
	bool in_call;	 /* the engine's callback has not returned yet */
	bool done_early; /* it called done() before returning: @early_ret */
	int early_ret;

	struct ctl_cma_commit commit;
	struct ctl_cma_window window;
	unsigned int id;
	struct ctl_cma_migrate migrate;
	uint64_t gpa, pause_ns;
	char why[WHY_MAX];
};

static struct cma_command *command_of(struct ctl_pending *p)
{
	return (struct cma_command *)((char *)p - offsetof(struct cma_command, pending));
}

static void command_free(struct cma_command *cmd)
{
	json_decref(cmd->body);
	free(cmd);
}

/* The answer to @cmd, which the engine ended with @ret. */
static void command_answer(struct cma_command *cmd, int ret, struct http_response *resp)
{
	if (ret)
		cma_refused(resp, cmd->what, ret, cmd->why);
	else
		api_respond(resp, 200, cmd->answer(cmd));
}

static void command_done(struct ctl_pending *p, int ret)
{
	struct cma_command *cmd = command_of(p);
	struct http_response resp = { .status = 200 };

	if (cmd->in_call) { /* the handler answers when the callback returns */
		cmd->done_early = true;
		cmd->early_ret = ret;
		return;
	}
	command_answer(cmd, ret, &resp);
	if (cmd->deferred)
		http_deferred_answer(cmd->deferred, &resp);
	else /* the client was told we could not wait for it */
		json_decref(resp.body);
	command_free(cmd);
}

static struct cma_command *command_new(json_t *body, const char *what,
				       json_t *(*answer)(const struct cma_command *cmd),
				       struct http_response *resp)
{
	struct cma_command *cmd = calloc(1, sizeof(*cmd));

	if (!cmd) {
		http_response_error(resp, 500, "cmavm is out of memory; retry later");
		return NULL;
	}
	cmd->pending.done = command_done;
	cmd->what = what;
	cmd->answer = answer;
	cmd->body = json_incref(body);
	cmd->in_call = true;
	return cmd;
}

/* The engine's callback returned @ret: answer now, or when it is done. */
static void command_returned(struct cma_command *cmd, int ret, struct http_response *resp)
{
	cmd->in_call = false;
	if (ret == CTL_PENDING && cmd->done_early)
		ret = cmd->early_ret;
	if (ret != CTL_PENDING) {
		command_answer(cmd, ret, resp);
		command_free(cmd);
		return;
	}
	cmd->deferred = http_response_defer(resp);
	if (!cmd->deferred) /* @cmd stays for done(), whose answer nobody gets */
		http_response_error(resp, 500,
				    "cmavm ran out of memory and cannot wait to %s; it goes on: "
				    "GET /v1/cma/windows and /v1/cma/stats show how it ends",
				    cmd->what);
}

static bool commit_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct ctl_cma_commit *c = req;
	enum cma_level level;

	if (!strcmp(key, "pool"))
		return api_field_str(key, value, COMMIT_EXAMPLE, &c->pool, resp);
	if (!strcmp(key, "offset"))
		return api_field_bytes(key, value,
				       "{\"offset\": 16777216} or {\"offset\": \"16M\"}",
				       &c->offset, resp);
	if (!strcmp(key, "length"))
		return api_field_bytes(key, value,
				       "{\"length\": 33554432} or {\"length\": \"32M\"}",
				       &c->length, resp);
	if (strcmp(key, "level")) {
		http_response_error(resp, 400,
				    "unknown field '%s'; PUT /v1/cma/windows takes pool, level, "
				    "and optionally offset and length, e.g. " COMMIT_EXAMPLE,
				    key);
		return false;
	}
	if (!api_field_str(key, value, COMMIT_EXAMPLE, &c->level, resp))
		return false;
	if (!cma_level_parse(c->level, &level))
		return true;
	http_response_error(resp, 400,
			    "level must be resident, huge or contiguous, not \"%s\"; e.g. "
			    "{\"level\": \"huge\"}",
			    c->level);
	return false;
}

/* The body as a commit; false with a 400 in @resp. */
static bool commit_request(json_t *body, struct ctl_cma_commit *c, struct http_response *resp)
{
	if (!api_body_fields(body, "PUT /v1/cma/windows", COMMIT_EXAMPLE, commit_field, c, resp))
		return false;
	if (!c->pool && !c->level) {
		http_response_error(
			resp, 400,
			"PUT /v1/cma/windows needs pool and level, e.g. " COMMIT_EXAMPLE);
		return false;
	}
	if (!c->pool || !c->level) {
		http_response_error(resp, 400, "PUT /v1/cma/windows needs %s, e.g. " COMMIT_EXAMPLE,
				    c->pool ? "level (resident, huge or contiguous)" : "pool");
		return false;
	}
	return true;
}

static json_t *commit_answer(const struct cma_command *cmd)
{
	return cma_window_json(&cmd->window);
}

void api_put_cma_windows(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_commit c = { 0 };
	struct cma_command *cmd;
	int ret = -ENOSYS;

	if (!commit_request(body, &c, resp))
		return;
	cmd = command_new(body, "commit the window", commit_answer, resp);
	if (!cmd)
		return;
	cmd->commit = c;
	if (ops->cma_commit)
		ret = ops->cma_commit(ops->opaque, &cmd->commit, &cmd->window, cmd->why,
				      sizeof(cmd->why), &cmd->pending);
	command_returned(cmd, ret, resp);
}

static bool release_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	uint64_t *id = req;

	if (!strcmp(key, "id"))
		return api_field_uint(key, value, UINT_MAX, RELEASE_EXAMPLE, id, resp);
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/cma/windows/release takes only id, "
			    "e.g. " RELEASE_EXAMPLE,
			    key);
	return false;
}

static json_t *release_answer(const struct cma_command *cmd)
{
	return json_pack("{s:o}", "released", api_u64(cmd->id));
}

void api_put_cma_release(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	uint64_t id = UINT64_MAX;
	struct cma_command *cmd;
	int ret = -ENOSYS;

	if (!api_body_fields(body, "PUT /v1/cma/windows/release", RELEASE_EXAMPLE, release_field,
			     &id, resp))
		return;
	if (id == UINT64_MAX) {
		http_response_error(
			resp, 400,
			"PUT /v1/cma/windows/release needs the window's id, e.g. " RELEASE_EXAMPLE
			" (GET /v1/cma/windows lists them)");
		return;
	}
	cmd = command_new(body, "release the window", release_answer, resp);
	if (!cmd)
		return;
	cmd->id = (unsigned int)id;
	if (ops->cma_release)
		ret = ops->cma_release(ops->opaque, cmd->id, cmd->why, sizeof(cmd->why),
				       &cmd->pending);
	command_returned(cmd, ret, resp);
}

struct migrate_request {
	bool has_gpa, has_pool, has_block;
	struct ctl_cma_migrate m;
};

static bool migrate_field(const char *key, json_t *value, void *req, struct http_response *resp)
{
	struct migrate_request *mr = req;

	if (!strcmp(key, "gpa")) {
		mr->has_gpa = true;
		return api_field_bytes(key, value,
				       "{\"gpa\": 2619342848} or {\"gpa\": \"0x9c200000\"}",
				       &mr->m.gpa, resp);
	}
	if (!strcmp(key, "pool")) {
		mr->has_pool = true;
		return api_field_str(key, value, BLOCK_EXAMPLE, &mr->m.pool, resp);
	}
	if (!strcmp(key, "block")) {
		mr->has_block = true;
		return api_field_uint(key, value, UINT64_MAX >> 1, BLOCK_EXAMPLE, &mr->m.block,
				      resp);
	}
	http_response_error(resp, 400,
			    "unknown field '%s'; PUT /v1/cma/migrate takes gpa, or pool and "
			    "block, e.g. " MIGRATE_EXAMPLE,
			    key);
	return false;
}

/* The body as a migration; false with a 400 in @resp. */
static bool migrate_request(json_t *body, struct ctl_cma_migrate *m, struct http_response *resp)
{
	struct migrate_request mr = { 0 };

	if (!api_body_fields(body, "PUT /v1/cma/migrate", MIGRATE_EXAMPLE, migrate_field, &mr,
			     resp))
		return false;
	if (mr.has_gpa && (mr.has_pool || mr.has_block)) {
		http_response_error(resp, 400,
				    "give gpa, or pool and block, not both; e.g. " MIGRATE_EXAMPLE);
		return false;
	}
	if (!mr.has_gpa && mr.has_pool != mr.has_block) {
		http_response_error(resp, 400, "%s needs %s too; e.g. " BLOCK_EXAMPLE,
				    mr.has_pool ? "pool" : "block", mr.has_pool ? "block" : "pool");
		return false;
	}
	if (!mr.has_gpa && !mr.has_pool) {
		http_response_error(resp, 400,
				    "PUT /v1/cma/migrate needs gpa, or pool and block; "
				    "e.g. " MIGRATE_EXAMPLE);
		return false;
	}
	mr.m.by_gpa = mr.has_gpa;
	*m = mr.m;
	return true;
}

static json_t *migrate_answer(const struct cma_command *cmd)
{
	return json_pack("{s:o, s:o}", "gpa", api_u64(cmd->gpa), "pause_ns",
			 api_u64(cmd->pause_ns));
}

void api_put_cma_migrate(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct ctl_cma_migrate m;
	struct cma_command *cmd;
	int ret = -ENOSYS;

	if (!migrate_request(body, &m, resp))
		return;
	cmd = command_new(body, "migrate the pageblock", migrate_answer, resp);
	if (!cmd)
		return;
	cmd->migrate = m;
	if (ops->cma_migrate)
		ret = ops->cma_migrate(ops->opaque, &cmd->migrate, &cmd->gpa, &cmd->pause_ns,
				       cmd->why, sizeof(cmd->why), &cmd->pending);
	command_returned(cmd, ret, resp);
}
