// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host CMA engine inside the VMM: created over guest RAM with the
 * plan's pools and the boot windows committed, given a way to stop what
 * must stop around a move (mover.c), handed the balloon's discards, and
 * served through the control API. Before the guest starts it is called
 * from the boot sequence; after, its readers and discards run on the loop
 * thread and its moves on the mover thread (the engine takes its own lock).
 */
#include "cma/size.h"
#include "vmm/glue/glue.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/vm.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t discard(void *opaque, uint64_t gpa, uint64_t len, bool reported)
{
	struct vmm *m = opaque;

	return (int64_t)cma_discard(m->engine, gpa, len,
				    reported ? CMA_DISCARD_REPORTED : CMA_DISCARD_BALLOON);
}

static void deflated(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vmm *m = opaque;

	cma_deflated(m->engine, gpa, len);
}

struct memory_hooks vmm_engine_memory_hooks(struct vmm *m)
{
	return (struct memory_hooks){ .opaque = m, .discard = discard, .deflated = deflated };
}

/* Commits of 256 MiB and more say how far they are, every quarter. */
#define PROGRESS_MIN (256ULL << 20)

static void engine_progress(void *opaque, uint64_t done, uint64_t total)
{
	uint64_t step = cma_engine_pageblock_size(((struct vmm *)opaque)->engine);
	char a[32], b[32];

	/* Called once a pageblock: say so when this one crossed a quarter. */
	if (total < PROGRESS_MIN ||
	    (done * 4 / total == (done - step) * 4 / total && done != total))
		return;
	pr_info("window: %s of %s moved (%llu%%)", size_str(done, a), size_str(total, b),
		(unsigned long long)(done * 100 / total));
}

static const char *const window_states[] = {
	[CMA_WINDOW_COMMITTED] = "committed",
	[CMA_WINDOW_COMMITTING] = "committing",
	[CMA_WINDOW_RELEASING] = "releasing",
};

/* A window as the control API describes it (vmm/control/api.h). */
static void describe_window(struct cma_engine *e, const struct cma_window_info *w,
			    struct ctl_cma_window *out)
{
	struct cma_pool_info p;

	cma_pool_info(e, w->pool, &p);
	*out = (struct ctl_cma_window){
		.id = w->id,
		.pool = p.name,
		.offset = w->offset,
		.length = w->length,
		.gpa = w->gpa,
		.level = cma_level_name(w->level),
		.largest_run = w->largest_run,
		.contiguous_2m = w->contiguous_2m,
		.commit_ns = w->moves.commit_ns,
		.commit_pause_ns = w->moves.commit_pause_ns,
		.pauses = w->moves.pauses,
		.pause_ns_max = w->moves.pause_ns_max,
		.stalls = w->moves.stalls,
		.stall_ns_max = w->moves.stall_ns_max,
		.migrations = w->moves.migrations,
		.state = window_states[w->state],
		.done_bytes = w->done_bytes,
	};
}

/* Window @slot, just committed, described in @out and for the operator; @when: "" or when. */
static void log_committed(struct cma_engine *e, int slot, const char *when,
			  struct ctl_cma_window *out)
{
	struct cma_window_info w;
	char a[32], b[32];

	cma_window_info(e, slot, &w);
	describe_window(e, &w, out);
	pr_info("window %u: pool %s [0x%llx, +%s) committed at %s%s; largest host-contiguous run "
		"%s",
		out->id, out->pool, (unsigned long long)out->gpa, size_str(out->length, a),
		out->level, when,
		out->largest_run ? size_str(out->largest_run, b) : "unknown (needs root)");
}

/*
 * The boot windows, with the guest not yet running: no pause, and each is
 * on its backing before the guest's first instruction. The host's huge
 * pages are counted for all of them and the GPU before the first moves.
 */
static int commit_boot_windows(struct vmm *m)
{
	const struct vm_config *cfg = m->cfg;
	struct ctl_cma_window out;
	int pool, slot;

	if (vmm_hugepages_preflight(cfg))
		return -1;
	for (size_t i = 0; i < cfg->nr_windows; i++) {
		const struct boot_window *w = &cfg->windows[i];

		pool = cma_engine_find_pool(m->engine, w->pool);
		slot = pool < 0 ? -1
				: cma_window_commit(m->engine, (size_t)pool, w->offset, w->length,
						    w->level);
		if (slot < 0) {
			pr_err("%s: the boot window was not committed, so the guest does not "
			       "start: %s",
			       w->flag, pool < 0 ? "no such pool" : cma_engine_error(m->engine));
			return -1;
		}
		log_committed(m->engine, slot, ", before the guest starts", &out);
	}
	return 0;
}

static int engine_thread_start(void *opaque, const char *name)
{
	(void)opaque;
	return sandbox_enter(SANDBOX_HELPER, name);
}

int vmm_engine_create(struct vmm *m)
{
	const struct layout *l = &m->plan->layout;
	const struct guest_ram *ram = vm_ram(m->vm);
	struct cma_hooks hooks = { .progress = engine_progress,
				   .thread_start = engine_thread_start };

	vmm_mover_hooks(m, &hooks);
	m->engine = cma_engine_create(ram->host, ram->gpa, ram->size, ram->memfd,
				      guest_ram_map_end(ram), &hooks);
	if (!m->engine) {
		pr_err("host CMA engine: out of memory");
		return -1;
	}
	if (cma_engine_set_pageblock(m->engine, guest_pageblock(&m->plan->guest))) {
		pr_err("host CMA engine: %s", cma_engine_error(m->engine));
		return -1;
	}
	for (size_t i = 0; i < l->nr_pools; i++) {
		if (cma_engine_add_pool(m->engine, l->pools[i].spec, l->pools[i].r.base,
					l->pools[i].r.size)) {
			pr_err("host CMA engine: %s", cma_engine_error(m->engine));
			return -1;
		}
	}
	if (cma_engine_live(m->engine))
		pr_info("host CMA engine: live moves (userfaultfd write-protect): only a "
			"writer of a moving range waits, the guest is never paused");
	else
		pr_info("host CMA engine: a window commit or release pauses the guest once (%s)",
			cma_engine_live_why(m->engine));
	/* The guest's first instruction is still to come: vmm_engine_guest_starts(). */
	cma_engine_set_guest_running(m->engine, false);
	return commit_boot_windows(m);
}

void vmm_engine_guest_starts(struct vmm *m)
{
	cma_engine_set_guest_running(m->engine, true);
}

void vmm_engine_destroy(struct vmm *m)
{
	cma_engine_destroy(m->engine);
	m->engine = NULL;
}

uint64_t vmm_engine_resident_bytes(struct vmm *m)
{
	return cma_resident_bytes(m->engine);
}

/* ---- the control API's view (vmm/control/api.h) ---- */

static int ctl_cma_pools(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	struct cma_engine *e = ((struct vmm *)opaque)->engine;
	unsigned int n = 0;
	struct cma_pool_info p;

	for (size_t i = 0; !cma_pool_info(e, i, &p) && n < max; i++, n++) {
		out[n] = (struct ctl_cma_pool){
			.name = p.name,
			.kind = p.kind,
			.is_default = p.is_default,
			.base = p.base,
			.size = p.size,
		};
		cma_pool_counts(e, i, out[n].bytes);
	}
	return (int)n;
}

static int ctl_cma_map(void *opaque, struct ctl_cma_map *out, unsigned int max,
		       uint64_t *pageblock_size)
{
	struct cma_engine *e = ((struct vmm *)opaque)->engine;
	static char *text[POOL_MAX];
	unsigned int n = 0;
	struct cma_pool_info p;

	*pageblock_size = cma_engine_pageblock_size(e);
	for (size_t i = 0; !cma_pool_info(e, i, &p) && n < max; i++, n++) {
		char *t = realloc(text[i], p.nr_blocks + 1);

		if (!t)
			return -ENOMEM;
		text[i] = t;
		for (size_t b = 0; b < p.nr_blocks; b++)
			t[b] = cma_state_letter(cma_block_state(e, i, b));
		t[p.nr_blocks] = '\0';
		out[n] = (struct ctl_cma_map){ .name = p.name, .base = p.base, .blocks = t };
	}
	return (int)n;
}

static int ctl_cma_windows(void *opaque, struct ctl_cma_window *out, unsigned int max)
{
	struct cma_engine *e = ((struct vmm *)opaque)->engine;
	struct cma_window_info w;
	unsigned int n = 0;

	for (int i = 0; i < CMA_MAX_WINDOWS && n < max; i++) {
		/* Now, not as at commit: the guest may have faulted more in since. */
		cma_window_measure(e, i);
		if (!cma_window_info(e, i, &w))
			describe_window(e, &w, &out[n++]);
	}
	return (int)n;
}

/* A failed engine call: why, and which HTTP answer fits. */
static int engine_failed(struct cma_engine *e, char *err, size_t errlen)
{
	static const int answers[] = {
		[CMA_ERR_HOST] = -EIO,	       /* 500 */
		[CMA_ERR_CONFLICT] = -EBUSY,   /* 409 */
		[CMA_ERR_INVALID] = -EINVAL,   /* 400 */
		[CMA_ERR_NOT_FOUND] = -ENOENT, /* 404 */
	};

	snprintf(err, errlen, "%s", cma_engine_error(e));
	return answers[cma_engine_error_kind(e)];
}

/*
 * A command to the engine, with where its answer goes. The API keeps the
 * request and the out-arguments until it has the answer.
 */
struct cma_call {
	struct mover_job job; /* first: the record is freed as the job */
	int (*fn)(struct cma_engine *e, const struct cma_call *c);
	const struct ctl_cma_commit *commit;
	struct ctl_cma_window *window;
	unsigned int id;
	const struct ctl_cma_migrate *migrate;
	uint64_t *gpa, *pause_ns;
	char *err;
	size_t errlen;
};

static int run_call(struct vmm *m, struct mover_job *job)
{
	const struct cma_call *c = (const struct cma_call *)job;

	return c->fn(m->engine, c);
}

/*
 * On the mover thread, answered later (CTL_PENDING), so the loop serves on
 * while memory moves; without a mover (or memory for the record), now.
 */
static int call_engine(struct vmm *m, const struct cma_call *c, struct ctl_pending *pending)
{
	struct cma_call *queued = malloc(sizeof(*queued));

	if (queued) {
		*queued = *c;
		queued->job.run = run_call;
		if (!vmm_mover_queue(m, &queued->job, pending))
			return CTL_PENDING;
		free(queued);
	}
	return c->fn(m->engine, c);
}

static int commit_now(struct cma_engine *e, const struct cma_call *c)
{
	const struct ctl_cma_commit *req = c->commit;
	int pool = cma_engine_find_pool(e, req->pool), idx;
	enum cma_level level;

	if (pool < 0) {
		snprintf(c->err, c->errlen, "no pool named '%s'; GET /v1/cma/pools lists them",
			 req->pool);
		return -ENOENT;
	}
	if (cma_level_parse(req->level, &level)) {
		snprintf(c->err, c->errlen, "unknown level '%s'; use resident, huge or contiguous",
			 req->level);
		return -EINVAL;
	}
	idx = cma_window_commit(e, (size_t)pool, req->offset, req->length, level);
	if (idx < 0) {
		pr_warn("window commit on pool '%s' failed: %s", req->pool, cma_engine_error(e));
		return engine_failed(e, c->err, c->errlen);
	}
	log_committed(e, idx, "", c->window);
	return 0;
}

static int ctl_cma_commit(void *opaque, const struct ctl_cma_commit *req,
			  struct ctl_cma_window *out, char *err, size_t errlen,
			  struct ctl_pending *pending)
{
	struct cma_call c = {
		.fn = commit_now, .commit = req, .window = out, .err = err, .errlen = errlen
	};

	return call_engine(opaque, &c, pending);
}

static int release_now(struct cma_engine *e, const struct cma_call *c)
{
	if (cma_window_release(e, c->id))
		return engine_failed(e, c->err, c->errlen);
	pr_info("window %u released", c->id);
	return 0;
}

static int ctl_cma_release(void *opaque, unsigned int id, char *err, size_t errlen,
			   struct ctl_pending *pending)
{
	struct cma_call c = { .fn = release_now, .id = id, .err = err, .errlen = errlen };

	return call_engine(opaque, &c, pending);
}

static int migrate_now(struct cma_engine *e, const struct cma_call *c)
{
	const struct ctl_cma_migrate *req = c->migrate;
	uint64_t gpa = req->gpa;

	if (!req->by_gpa) {
		int pool = cma_engine_find_pool(e, req->pool);
		struct cma_pool_info p;

		if (pool < 0 || cma_pool_info(e, (size_t)pool, &p) || req->block >= p.nr_blocks) {
			snprintf(c->err, c->errlen, "no pageblock %llu in pool '%s'",
				 (unsigned long long)req->block, req->pool);
			return -ENOENT;
		}
		gpa = p.base + req->block * cma_engine_pageblock_size(e);
	}
	*c->gpa = gpa & ~(cma_engine_pageblock_size(e) - 1);
	if (cma_migrate_block(e, gpa, c->pause_ns))
		return engine_failed(e, c->err, c->errlen);
	return 0;
}

static int ctl_cma_migrate(void *opaque, const struct ctl_cma_migrate *req, uint64_t *gpa,
			   uint64_t *pause_ns, char *err, size_t errlen,
			   struct ctl_pending *pending)
{
	struct cma_call c = { .fn = migrate_now,
			      .migrate = req,
			      .gpa = gpa,
			      .pause_ns = pause_ns,
			      .err = err,
			      .errlen = errlen };

	return call_engine(opaque, &c, pending);
}

/* The API's histograms are the engine's, bucket for bucket. */
_Static_assert(CTL_HIST_BUCKETS == CMA_HIST_BUCKETS, "histogram buckets differ");

static int ctl_cma_stats(void *opaque, struct ctl_cma_stats *out)
{
	struct cma_engine *e = ((struct vmm *)opaque)->engine;
	const struct cma_stats st = cma_engine_stats(e), *s = &st;

	*out = (struct ctl_cma_stats){
		.pageblock_size = cma_engine_pageblock_size(e),
		.commits = s->commits,
		.releases = s->releases,
		.migrations = s->migrations,
		.rollbacks = s->rollbacks,
		.boot_commits = s->boot_commits,
		.refused_discards = s->refused_discards,
		.refused_discard_bytes = s->refused_discard_bytes,
		.pauses = s->pauses,
		.pause_ns_total = s->pause_ns_total,
		.pause_ns_max = s->pause_ns_max,
		.pause_ns_last = s->pause_ns_last,
		.stalls = s->stalls,
		.stall_ns_total = s->stall_ns_total,
		.stall_ns_max = s->stall_ns_max,
		.stall_ns_last = s->stall_ns_last,
		.resident_bytes = cma_resident_bytes(e),
		.live = cma_engine_live(e),
		.live_why = cma_engine_live_why(e),
	};
	memcpy(out->pause_hist, s->pause_hist, sizeof(out->pause_hist));
	memcpy(out->stall_hist, s->stall_hist, sizeof(out->stall_hist));
	memcpy(out->hist_bound_ns, cma_hist_bound_ns, sizeof(out->hist_bound_ns));
	return 0;
}

void vmm_engine_ctl_ops(struct ctl_ops *ops)
{
	ops->cma_pools = ctl_cma_pools;
	ops->cma_map = ctl_cma_map;
	ops->cma_windows = ctl_cma_windows;
	ops->cma_commit = ctl_cma_commit;
	ops->cma_release = ctl_cma_release;
	ops->cma_migrate = ctl_cma_migrate;
	ops->cma_stats = ctl_cma_stats;
}
