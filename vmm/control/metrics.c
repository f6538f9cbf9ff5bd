// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exposition: each reading callback of struct ctl_ops called once, and
 * what it filled written out as metric families in the text format 0.0.4.
 * A callback that is NULL or fails leaves out its families; nothing is
 * written of a family before its callback has answered, so none is ever
 * cut in half. A scraper sees the families of one VM in one order.
 *
 * The names follow Prometheus' conventions: the prefix cmavm_, the unit
 * last and in base units (bytes, seconds: the engine's nanoseconds are
 * written as exact decimals), _total on counters, labels of few values
 * (pool, state, level, device, kind). docs/metrics.md lists them all.
 *
 * The devices' counters become one family per counter,
 * cmavm_device_<counter>_total{device="virtio-blk0"}, not one family with
 * a counter label: a family's samples are the same quantity, so that
 * sum() or rate() over a label means something; reads and bytes_read do
 * not add up (node-exporter's node_disk_reads_completed_total and
 * node_disk_read_bytes_total are separate for that reason).
 */
#include "vmm/control/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cma/engine.h"

#define NS_PER_S UINT64_C(1000000000)
#define GAUGE	 "gauge"
#define COUNTER	 "counter"

struct expo {
	struct strbuf *out;
	const char *vm; /* the label every sample carries first; NULL: none */
	int err;	/* the first append that failed; nothing is added after it */
};

struct label {
	const char *name, *value;
};

/* A number as the exposition writes it. */
struct num {
	char text[32];
};

static struct num u64_num(uint64_t v)
{
	struct num n;

	snprintf(n.text, sizeof(n.text), "%" PRIu64, v);
	return n;
}

/* @ns in seconds, exactly: 10000 is "0.00001", 1500000000 is "1.5". */
static struct num seconds_num(uint64_t ns)
{
	struct num n;
	size_t len;

	len = (size_t)snprintf(n.text, sizeof(n.text), "%" PRIu64 ".%09" PRIu64, ns / NS_PER_S,
			       ns % NS_PER_S);
	while (n.text[len - 1] == '0')
		n.text[--len] = '\0';
	if (n.text[len - 1] == '.')
		n.text[len - 1] = '\0';
	return n;
}

static void put_bytes(struct expo *e, const char *s, size_t len)
{
	if (!e->err && len)
		e->err = strbuf_add(e->out, s, len);
}

static void put(struct expo *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct expo *e, const char *fmt, ...)
{
	va_list ap;

	if (e->err)
		return;
	va_start(ap, fmt);
	e->err = strbuf_vaddf(e->out, fmt, ap);
	va_end(ap);
}

/* As the format wants a label value: backslash, double quote and newline escaped. */
static void put_label_value(struct expo *e, const char *v)
{
	while (*v) {
		size_t plain = strcspn(v, "\\\"\n");

		put_bytes(e, v, plain);
		v += plain;
		if (!*v)
			break;
		put_bytes(e, *v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\", 2);
		v++;
	}
}

static void family(struct expo *e, const char *name, const char *type, const char *help)
{
	put(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{a="x",b="y"} value */
static void put_label(struct expo *e, bool first, const char *name, const char *value)
{
	put(e, "%c%s=\"", first ? '{' : ',', name);
	put_label_value(e, value ? value : "");
	put_bytes(e, "\"", 1);
}

/* name{vm="x",a="y",b="z"} value */
static void sample(struct expo *e, const char *name, const struct label *labels, unsigned int nr,
		   const char *value)
{
	put(e, "%s", name);
	if (e->vm)
		put_label(e, true, "vm", e->vm);
	for (unsigned int i = 0; i < nr; i++)
		put_label(e, !e->vm && !i, labels[i].name, labels[i].value);
	put(e, "%s %s\n", e->vm || nr ? "}" : "", value);
}

/* A family of one sample (with the same labels for each of a table's). */
struct scalar {
	const char *name, *type, *help;
	size_t offset; /* of a uint64_t in the callback's struct */
	bool ns;       /* it counts nanoseconds: written in seconds */
};

#define AT(type, field) offsetof(type, field)

static void scalar(struct expo *e, const void *from, const struct scalar *s,
		   const struct label *labels, unsigned int nr)
{
	uint64_t v;

	memcpy(&v, (const char *)from + s->offset, sizeof(v));
	family(e, s->name, s->type, s->help);
	sample(e, s->name, labels, nr, s->ns ? seconds_num(v).text : u64_num(v).text);
}

static void scalars(struct expo *e, const void *from, const struct scalar *s, size_t n,
		    const struct label *labels, unsigned int nr)
{
	for (size_t i = 0; i < n; i++)
		scalar(e, from, &s[i], labels, nr);
}

#define SCALARS(e, from, table, labels, nr)                                                        \
	scalars(e, from, table, sizeof(table) / sizeof(table[0]), labels, nr)

static void single(struct expo *e, const char *name, const char *type, const char *help,
		   const char *value)
{
	family(e, name, type, help);
	sample(e, name, NULL, 0, value);
}

/* Nanoseconds from @then (CLOCK_MONOTONIC) to now; 0 for a time in the future. */
static uint64_t ns_since(const struct timespec *then)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(now.tv_sec - then->tv_sec) * (int64_t)NS_PER_S +
	     (now.tv_nsec - then->tv_nsec);
	return ns > 0 ? (uint64_t)ns : 0;
}

static bool time_set(const struct timespec *t)
{
	return t->tv_sec || t->tv_nsec;
}

/* ---- the VM ---- */

static const struct scalar vm_memory[] = {
	{ "cmavm_vm_memory_bytes", GAUGE, "Guest RAM.", AT(struct ctl_vm_status, memory_bytes),
	  false },
	{ "cmavm_vm_memory_resident_bytes", GAUGE,
	  "Guest RAM the host backs now (measured; huge-page windows included).",
	  AT(struct ctl_vm_status, memory_resident_bytes), false },
};

static void expose_vm(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_vm_status st;

	memset(&st, 0, sizeof(st));
	if (!ops->status || ops->status(ops->opaque, &st))
		return;
	family(e, "cmavm_vm_state", GAUGE, "1 for the state the VM is in, 0 for the others.");
	for (int s = CTL_VM_RUNNING; s <= CTL_VM_STOPPING; s++) {
		struct label l = { "state", ctl_vm_state_str((enum ctl_vm_state)s) };

		sample(e, "cmavm_vm_state", &l, 1, (int)st.state == s ? "1" : "0");
	}
	single(e, "cmavm_vm_vcpus", GAUGE, "vCPUs of the guest.", u64_num(st.vcpus).text);
	SCALARS(e, &st, vm_memory, NULL, 0);
	if (time_set(&st.started))
		single(e, "cmavm_vm_uptime_seconds", GAUGE, "Time since the guest started.",
		       seconds_num(ns_since(&st.started)).text);
}

/* ---- the host CMA engine ---- */

static void expose_cma_pools(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_cma_pool pools[POOL_MAX];
	int n, i;

	memset(pools, 0, sizeof(pools));
	n = ops->cma_pools ? ops->cma_pools(ops->opaque, pools, POOL_MAX) : -ENOSYS;
	if (n <= 0)
		return;
	n = n < POOL_MAX ? n : POOL_MAX;
	family(e, "cmavm_cma_pool_size_bytes", GAUGE,
	       "Size of each DMA pool; kind is cma (reusable) or coherent (no-map).");
	for (i = 0; i < n; i++) {
		struct label l[] = { { "pool", pools[i].name },
				     { "kind",
				       pools[i].kind == POOL_COHERENT ? "coherent" : "cma" } };

		sample(e, "cmavm_cma_pool_size_bytes", l, 2, u64_num(pools[i].size).text);
	}
	family(e, "cmavm_cma_pool_bytes", GAUGE,
	       "Bytes of each pool per pageblock state (unbacked, backed, reported, ballooned, "
	       "window); they add up to the pool's size.");
	for (i = 0; i < n; i++) {
		for (int s = 0; s < CTL_CMA_STATES; s++) {
			struct label l[] = { { "pool", pools[i].name },
					     { "state", cma_state_name((enum cma_block_state)s) } };

			sample(e, "cmavm_cma_pool_bytes", l, 2, u64_num(pools[i].bytes[s]).text);
		}
	}
}

/* Windows counted per level: the engine's three, then any other it names. */
struct level_sum {
	const char *level;
	uint64_t windows, bytes;
};

#define NR_LEVELS (CMA_CONTIGUOUS + 1)

static unsigned int sum_levels(const struct ctl_cma_window *w, int n, struct level_sum *sums)
{
	unsigned int nr = NR_LEVELS, j;

	for (j = 0; j < NR_LEVELS; j++)
		sums[j] = (struct level_sum){ cma_level_name((enum cma_level)j), 0, 0 };
	for (int i = 0; i < n; i++) {
		const char *level = w[i].level ? w[i].level : "";

		for (j = 0; j < nr && strcmp(sums[j].level, level); j++)
			;
		if (j == nr)
			sums[nr++] = (struct level_sum){ level, 0, 0 };
		sums[j].windows++;
		sums[j].bytes += w[i].length;
	}
	return nr;
}

/*
 * Each window's own move figures (cma/engine.h struct cma_window_moves),
 * labelled window (its id), pool and level: a VM has few windows, so few
 * series; a released window's go with it.
 */
#define WINDOW_STAT(name, type, help, field, ns)                                                   \
	{                                                                                          \
		name, type, help, AT(struct ctl_cma_window, field), ns                             \
	}

static const struct scalar window_moves[] = {
	WINDOW_STAT("cmavm_cma_window_commit_seconds", GAUGE,
		    "How long the window's commit (or its last level change) took.", commit_ns,
		    true),
	WINDOW_STAT("cmavm_cma_window_pauses_total", COUNTER,
		    "Whole-guest pauses taken for the window over its life.", pauses, false),
	WINDOW_STAT("cmavm_cma_window_pause_max_seconds", GAUGE,
		    "The longest whole-guest pause taken for the window.", pause_ns_max, true),
	WINDOW_STAT("cmavm_cma_window_stalls_total", COUNTER,
		    "Guest writers that waited on a range of the window's live moves.", stalls,
		    false),
	WINDOW_STAT("cmavm_cma_window_stall_max_seconds", GAUGE,
		    "The longest wait of a guest writer on the window's moves.", stall_ns_max,
		    true),
	WINDOW_STAT("cmavm_cma_window_migrations_total", COUNTER,
		    "Migrations of the window's pageblocks.", migrations, false),
};

static void expose_window_moves(struct expo *e, const struct ctl_cma_window *w, int n)
{
	struct label labels[3] = { { "window", NULL }, { "pool", NULL }, { "level", NULL } };
	char id[16];
	uint64_t v;

	for (size_t i = 0; i < sizeof(window_moves) / sizeof(window_moves[0]); i++) {
		const struct scalar *s = &window_moves[i];

		family(e, s->name, s->type, s->help);
		for (int j = 0; j < n; j++) {
			snprintf(id, sizeof(id), "%u", w[j].id);
			labels[0].value = id;
			labels[1].value = w[j].pool;
			labels[2].value = w[j].level;
			memcpy(&v, (const char *)&w[j] + s->offset, sizeof(v));
			sample(e, s->name, labels, 3,
			       s->ns ? seconds_num(v).text : u64_num(v).text);
		}
	}
}

static void expose_cma_windows(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_cma_window windows[CTL_CMA_WINDOWS_MAX];
	struct level_sum sums[NR_LEVELS + CTL_CMA_WINDOWS_MAX];
	unsigned int nr, j;
	int n;

	memset(windows, 0, sizeof(windows));
	n = ops->cma_windows ? ops->cma_windows(ops->opaque, windows, CTL_CMA_WINDOWS_MAX)
			     : -ENOSYS;
	if (n < 0)
		return;
	nr = sum_levels(windows, n < CTL_CMA_WINDOWS_MAX ? n : CTL_CMA_WINDOWS_MAX, sums);
	family(e, "cmavm_cma_windows", GAUGE,
	       "Windows per level (resident, huge, contiguous), committed or being moved.");
	for (j = 0; j < nr; j++)
		sample(e, "cmavm_cma_windows", &(struct label){ "level", sums[j].level }, 1,
		       u64_num(sums[j].windows).text);
	family(e, "cmavm_cma_window_bytes", GAUGE, "Bytes of the windows per level.");
	for (j = 0; j < nr; j++)
		sample(e, "cmavm_cma_window_bytes", &(struct label){ "level", sums[j].level }, 1,
		       u64_num(sums[j].bytes).text);
	expose_window_moves(e, windows, n < CTL_CMA_WINDOWS_MAX ? n : CTL_CMA_WINDOWS_MAX);
}

#define CMA_STAT(name, type, help, field)                                                          \
	{                                                                                          \
		name, type, help, AT(struct ctl_cma_stats, field), false                           \
	}

static const struct scalar cma_counts[] = {
	CMA_STAT("cmavm_cma_pageblock_bytes", GAUGE,
		 "The engine's pageblock: the unit of its states.", pageblock_size),
	CMA_STAT("cmavm_cma_commits_total", COUNTER, "Windows committed, boot windows included.",
		 commits),
	CMA_STAT("cmavm_cma_boot_commits_total", COUNTER,
		 "Of the commits, the boot windows: before the guest ran, without a pause.",
		 boot_commits),
	CMA_STAT("cmavm_cma_releases_total", COUNTER, "Windows released to lazy backing.",
		 releases),
	CMA_STAT("cmavm_cma_migrations_total", COUNTER, "Pageblocks migrated onto new host pages.",
		 migrations),
	CMA_STAT("cmavm_cma_rollbacks_total", COUNTER,
		 "Moves that failed part way and were undone.", rollbacks),
	CMA_STAT("cmavm_cma_refused_discards_total", COUNTER,
		 "Discards of guest memory refused because the range lies in a window.",
		 refused_discards),
	CMA_STAT("cmavm_cma_refused_discard_bytes_total", COUNTER, "Bytes of the refused discards.",
		 refused_discard_bytes),
};

static const struct scalar cma_longest[] = {
	{ "cmavm_cma_pause_max_seconds", GAUGE, "The longest whole-guest pause of a move.",
	  AT(struct ctl_cma_stats, pause_ns_max), true },
	{ "cmavm_cma_stall_max_seconds", GAUGE,
	  "The longest a guest writer waited for a range being moved.",
	  AT(struct ctl_cma_stats, stall_ns_max), true },
};

/* The engine's buckets, cumulative as Prometheus counts them; +Inf is the last. */
static void histogram(struct expo *e, const char *name, const char *help, const uint64_t *bound_ns,
		      const uint64_t *hist, uint64_t sum_ns)
{
	char bucket[96], sum[96], count[96];
	uint64_t total = 0;

	family(e, name, "histogram", help);
	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	snprintf(sum, sizeof(sum), "%s_sum", name);
	snprintf(count, sizeof(count), "%s_count", name);
	for (int i = 0; i < CTL_HIST_BUCKETS; i++) {
		struct num le = seconds_num(i < CTL_HIST_BUCKETS - 1 ? bound_ns[i] : 0);
		struct label l = { "le", i < CTL_HIST_BUCKETS - 1 ? le.text : "+Inf" };

		total += hist[i];
		sample(e, bucket, &l, 1, u64_num(total).text);
	}
	sample(e, sum, NULL, 0, seconds_num(sum_ns).text);
	sample(e, count, NULL, 0, u64_num(total).text);
}

static void expose_cma_stats(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_cma_stats st;

	memset(&st, 0, sizeof(st));
	if (!ops->cma_stats || ops->cma_stats(ops->opaque, &st))
		return;
	SCALARS(e, &st, cma_counts, NULL, 0);
	histogram(e, "cmavm_cma_pause_seconds",
		  "Whole-guest pauses of moves (every vCPU parked), by length.", st.hist_bound_ns,
		  st.pause_hist, st.pause_ns_total);
	histogram(e, "cmavm_cma_stall_seconds",
		  "Waits of a guest writer (vCPU or device) for a range being moved, by length.",
		  st.hist_bound_ns, st.stall_hist, st.stall_ns_total);
	SCALARS(e, &st, cma_longest, NULL, 0);
	single(e, "cmavm_cma_live_moves", GAUGE,
	       "1 when moves write-protect the range instead of pausing the guest.",
	       st.live ? "1" : "0");
}

/* ---- the balloon ---- */

static const struct scalar balloon_sizes[] = {
	{ "cmavm_balloon_target_bytes", GAUGE, "What the guest is asked to give back.",
	  AT(struct ctl_balloon, target_bytes), false },
	{ "cmavm_balloon_actual_bytes", GAUGE, "What the guest has given back.",
	  AT(struct ctl_balloon, actual_bytes), false },
};

#define BALLOON_STAT(tag, name, type, help)                                                        \
	[tag] = { name, type, help, AT(struct ctl_balloon_stats, value[tag]), false }

static const struct scalar balloon_stats[CTL_BALLOON_S_NR] = {
	BALLOON_STAT(CTL_BALLOON_S_SWAP_IN, "cmavm_balloon_guest_swap_in_bytes_total", COUNTER,
		     "Bytes the guest swapped in (its balloon statistics)."),
	BALLOON_STAT(CTL_BALLOON_S_SWAP_OUT, "cmavm_balloon_guest_swap_out_bytes_total", COUNTER,
		     "Bytes the guest swapped out."),
	BALLOON_STAT(CTL_BALLOON_S_MAJFLT, "cmavm_balloon_guest_major_faults_total", COUNTER,
		     "Major page faults in the guest."),
	BALLOON_STAT(CTL_BALLOON_S_MINFLT, "cmavm_balloon_guest_minor_faults_total", COUNTER,
		     "Minor page faults in the guest."),
	BALLOON_STAT(CTL_BALLOON_S_MEMFREE, "cmavm_balloon_guest_free_bytes", GAUGE,
		     "Memory the guest has free."),
	BALLOON_STAT(CTL_BALLOON_S_MEMTOT, "cmavm_balloon_guest_memory_bytes", GAUGE,
		     "Memory the guest has in all (its MemTotal)."),
	BALLOON_STAT(CTL_BALLOON_S_AVAIL, "cmavm_balloon_guest_available_bytes", GAUGE,
		     "Memory the guest can use without swapping."),
	BALLOON_STAT(CTL_BALLOON_S_CACHES, "cmavm_balloon_guest_caches_bytes", GAUGE,
		     "Memory of the guest's disk caches."),
	BALLOON_STAT(CTL_BALLOON_S_HTLB_PGALLOC, "cmavm_balloon_guest_hugetlb_allocations_total",
		     COUNTER, "Huge page allocations in the guest."),
	BALLOON_STAT(CTL_BALLOON_S_HTLB_PGFAIL, "cmavm_balloon_guest_hugetlb_failures_total",
		     COUNTER, "Huge page allocations that failed in the guest."),
};

static void expose_balloon(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_balloon b;

	memset(&b, 0, sizeof(b));
	if (ops->balloon_get && !ops->balloon_get(ops->opaque, &b))
		SCALARS(e, &b, balloon_sizes, NULL, 0);
}

/* Only what the guest reported: a statistic it never sent is no zero. */
static void expose_balloon_stats(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_balloon_stats st;

	memset(&st, 0, sizeof(st));
	if (!ops->balloon_stats || ops->balloon_stats(ops->opaque, &st))
		return;
	for (int tag = 0; tag < CTL_BALLOON_S_NR; tag++)
		if (st.reported & (1u << tag))
			scalar(e, &st, &balloon_stats[tag], NULL, 0);
	if (time_set(&st.updated))
		single(e, "cmavm_balloon_stats_age_seconds", GAUGE,
		       "Time since the guest last reported its statistics.",
		       seconds_num(ns_since(&st.updated)).text);
}

/* ---- the devices ---- */

struct dev_metric {
	char counter[64]; /* the counter's name, as a metric name may have it; "": none */
	char name[96];
	bool gauge, ns;
};

#define DEV_SLOTS (CTL_DEVICES_MAX * CTL_COUNTERS_MAX)

/* As a metric name may have it: snake_case, anything else an underscore. */
static char metric_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
}

/*
 * A device counter's metric: cmavm_device_<counter>_total, the unit last
 * (bytes_read: read_bytes) and in base units (transfer_ns: seconds).
 * The few that tell a level rather than count are gauges.
 */
static void device_metric(const char *counter, struct dev_metric *m)
{
	static const char *const levels[] = { "capacity_bytes", "readonly" };
	char base[64];
	size_t len = 0;

	for (const char *p = counter; *p && len < sizeof(base) - 1; p++)
		base[len++] = metric_char(*p);
	base[len] = '\0';
	snprintf(m->counter, sizeof(m->counter), "%s", base);
	if (!strncmp(base, "bytes_", 6))
		snprintf(base, sizeof(base), "%s_bytes", m->counter + 6);
	len = strlen(base);
	m->ns = len > 3 && !strcmp(base + len - 3, "_ns");
	if (m->ns)
		snprintf(base + len - 3, sizeof(base) - (len - 3), "_seconds");
	m->gauge = false;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		m->gauge |= !strcmp(m->counter, levels[i]);
	snprintf(m->name, sizeof(m->name), "cmavm_device_%s%s", base, m->gauge ? "" : "_total");
}

/* The family of m[first], with every device's sample of it (one each). */
static void device_family(struct expo *e, const struct ctl_device *devs, const struct dev_metric *m,
			  size_t first)
{
	char help[160];
	size_t last_dev = SIZE_MAX;

	snprintf(help, sizeof(help), "The virtio devices' counter %s (GET /v1/devices).",
		 m[first].counter);
	family(e, m[first].name, m[first].gauge ? GAUGE : COUNTER, help);
	for (size_t k = first; k < DEV_SLOTS; k++) {
		const struct ctl_device *d = &devs[k / CTL_COUNTERS_MAX];
		uint64_t v = d->counters[k % CTL_COUNTERS_MAX].value;

		if (k / CTL_COUNTERS_MAX == last_dev || strcmp(m[k].name, m[first].name))
			continue;
		last_dev = k / CTL_COUNTERS_MAX;
		sample(e, m[first].name, &(struct label){ "device", d->name }, 1,
		       m[k].ns ? seconds_num(v).text : u64_num(v).text);
	}
}

static void name_device_metrics(const struct ctl_device *devs, int n, struct dev_metric *m)
{
	for (int i = 0; i < n; i++)
		for (unsigned int c = 0; c < devs[i].nr_counters && c < CTL_COUNTERS_MAX; c++)
			if (devs[i].counters[c].name)
				device_metric(devs[i].counters[c].name,
					      &m[(size_t)i * CTL_COUNTERS_MAX + c]);
}

static bool named_before(const struct dev_metric *m, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (!strcmp(m[j].name, m[k].name))
			return true;
	return false;
}

static void expose_devices(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_device *devs = calloc(CTL_DEVICES_MAX, sizeof(*devs));
	struct dev_metric *m = calloc(DEV_SLOTS, sizeof(*m));
	int n = -ENOSYS;

	if (!devs || !m)
		e->err = -ENOMEM;
	else if (ops->devices)
		n = ops->devices(ops->opaque, devs, CTL_DEVICES_MAX);
	if (n > 0)
		name_device_metrics(devs, n < CTL_DEVICES_MAX ? n : CTL_DEVICES_MAX, m);
	for (size_t k = 0; n > 0 && k < DEV_SLOTS; k++)
		if (m[k].name[0] && !named_before(m, k))
			device_family(e, devs, m, k);
	free(m);
	free(devs);
}

/* ---- the GPU ---- */

static const struct scalar gpu_sizes[] = {
	{ "cmavm_gpu_region_bytes", GAUGE, "The GPU memory region its resources live in.",
	  AT(struct ctl_gpu, region_bytes), false },
	{ "cmavm_gpu_used_bytes", GAUGE, "Bytes of the GPU memory region the resources take.",
	  AT(struct ctl_gpu, used_bytes), false },
};

static void expose_gpu(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_gpu *g = calloc(1, sizeof(*g));
	struct label l;

	if (!g)
		e->err = -ENOMEM;
	if (g && ops->gpu_get && !ops->gpu_get(ops->opaque, g)) {
		l = (struct label){ "device", g->name };
		SCALARS(e, g, gpu_sizes, &l, 1);
		family(e, "cmavm_gpu_resources", GAUGE, "The guest's 2D resources on the GPU.");
		sample(e, "cmavm_gpu_resources", &l, 1, u64_num(g->nr_resources_total).text);
	}
	free(g);
}

/* ---- the guest's own CMA figures ---- */

#define GUEST(name, type, help, field)                                                             \
	{                                                                                          \
		name, type, help, AT(struct ctl_guest_cma, field), false                           \
	}

static const struct scalar guest_always[] = {
	GUEST("cmavm_guest_agent_readings_total", COUNTER,
	      "Readings of the guest's CMA figures taken through its agent.", readings),
	GUEST("cmavm_guest_agent_errors_total", COUNTER,
	      "Replies of the guest agent refused (garbled, too long, late).", agent_errors),
	GUEST("cmavm_guest_cma_reported_free_bytes", GAUGE,
	      "Pool pageblocks the guest reported free (free page reporting; no agent needed).",
	      reported_free_bytes),
};

static const struct scalar guest_agent[] = {
	GUEST("cmavm_guest_cma_size_bytes", GAUGE, "CmaTotal in the guest's /proc/meminfo.",
	      cma_total_bytes),
	GUEST("cmavm_guest_cma_free_bytes", GAUGE, "CmaFree in the guest's /proc/meminfo.",
	      cma_free_bytes),
	GUEST("cmavm_guest_cma_nr_free_bytes", GAUGE,
	      "nr_free_cma in the guest's /proc/vmstat, in bytes.", nr_free_cma_bytes),
	GUEST("cmavm_guest_cma_alloc_success_total", COUNTER,
	      "cma_alloc() calls that succeeded in the guest (cma_alloc_success).", alloc_success),
	GUEST("cmavm_guest_cma_alloc_fail_total", COUNTER,
	      "cma_alloc() calls that failed in the guest (cma_alloc_fail).", alloc_fail),
	GUEST("cmavm_guest_cma_peak_used_bytes", GAUGE,
	      "The most CMA the guest was seen using (CmaTotal - CmaFree).", peak_used_bytes),
};

/* The agent's figures only once it has answered: before, they are no zeros. */
static void expose_guest_cma(struct expo *e, const struct ctl_ops *ops)
{
	struct ctl_guest_cma g;

	memset(&g, 0, sizeof(g));
	if (!ops->guest_cma || ops->guest_cma(ops->opaque, &g))
		return;
	single(e, "cmavm_guest_agent_up", GAUGE, "1 while the guest agent answers.",
	       g.agent ? "1" : "0");
	SCALARS(e, &g, guest_always, NULL, 0);
	if (!g.agent)
		return;
	SCALARS(e, &g, guest_agent, NULL, 0);
	if (time_set(&g.updated))
		single(e, "cmavm_guest_agent_reading_age_seconds", GAUGE,
		       "Time since the last reading of the guest's CMA figures.",
		       seconds_num(ns_since(&g.updated)).text);
}

int metrics_expose(const struct ctl_ops *ops, const char *vm, struct strbuf *out)
{
	struct expo e = { out, vm, 0 };

	expose_vm(&e, ops);
	expose_cma_pools(&e, ops);
	expose_cma_windows(&e, ops);
	expose_cma_stats(&e, ops);
	expose_balloon(&e, ops);
	expose_balloon_stats(&e, ops);
	expose_devices(&e, ops);
	expose_gpu(&e, ops);
	expose_guest_cma(&e, ops);
	return e.err;
}
