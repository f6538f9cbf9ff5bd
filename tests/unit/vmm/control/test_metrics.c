// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metrics (vmm/control/metrics.c) made from the fake VM (fake_vm.h)
 * and a guest agent that answered: every family with its type and its
 * values, the devices' counters named by Prometheus' conventions, label
 * values escaped, a callback missing or failing leaving out its families
 * whole; GET /metrics and /v1/metrics (vmm/control/api/metrics.c) with
 * their content type, through the API and on the wire. Every exposition
 * goes through `promtool check metrics` (Debian package prometheus,
 * tools/deps) when it is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_vm.h"
#include "http_harness.h"
#include "tests/unit/lib/child.h"
#include "vmm/control/metrics.h"

#define MIB (1ULL << 20)

/* ---- promtool ---- */

/* promtool's path, "" when it is not installed. */
static const char *promtool(void)
{
	static char path[PATH_MAX];
	static bool looked;
	const char *dirs = getenv("PATH");
	char copy[4096];

	if (looked)
		return path;
	looked = true;
	snprintf(copy, sizeof(copy), "%s", dirs ? dirs : "/usr/bin:/bin");
	for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
		snprintf(path, sizeof(path), "%s/promtool", dir);
		if (!access(path, X_OK))
			return path;
	}
	path[0] = '\0';
	fprintf(stderr, "promtool is not installed: the expositions are not linted (install the "
			"Debian package prometheus; tools/deps does)\n");
	return path;
}

static void exec_promtool(void *in)
{
	dup2(*(int *)in, STDIN_FILENO);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	execl(promtool(), "promtool", "check", "metrics", (char *)NULL);
	_exit(127);
}

/* `promtool check metrics` of @text: its exit status, what it said in @r. */
static int promtool_check(const char *text, struct child_result *r)
{
	size_t len = strlen(text);
	int in[2];

	/* written whole before promtool reads: a pipe holds 64 KiB */
	assert_true(len < 65536);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], text, len), (ssize_t)len);
	close(in[1]);
	child_run(exec_promtool, &in[0], r);
	close(in[0]);
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* @text passes promtool's parser and its lint, with nothing to say. */
static void lint(const char *text)
{
	struct child_result r;
	int status;

	if (!*promtool())
		return;
	status = promtool_check(text, &r);
	if (status || r.err[0])
		fail_msg("promtool check metrics: status %d: %s\non:\n%s", status, r.err, text);
}

/* ---- the exposition, and reading it ---- */

static struct ctl_guest_cma guest;

static int fake_guest_cma(void *opaque, struct ctl_guest_cma *out)
{
	*out = guest;
	return 0;
}

static struct ctl_ops full; /* the fake VM's ops and the guest agent's */

static int setup(void **state)
{
	reset_vm(state);
	vm.stats_reported = true;
	vm.balloon.target_bytes = 96 * MIB;
	vm.balloon.actual_bytes = 64 * MIB;
	vm.windows[0] = (struct ctl_cma_window){ .id = 1,
						 .pool = "linux,cma",
						 .length = 8 * MIB,
						 .level = "huge",
						 .state = "committed",
						 .commit_ns = 81234567,
						 .pauses = 2,
						 .pause_ns_max = 412345,
						 .stalls = 3,
						 .stall_ns_max = 900000,
						 .migrations = 4 };
	vm.windows[1] = (struct ctl_cma_window){ .id = 2,
						 .pool = "linux,cma",
						 .length = 2 * MIB,
						 .level = "huge",
						 .state = "committed" };
	vm.windows[2] = (struct ctl_cma_window){
		.id = 3, .pool = "fw", .length = 4 * MIB, .level = "resident", .state = "committing"
	};
	vm.nr_windows = 3;
	guest = (struct ctl_guest_cma){
		.agent = true,
		.agent_state = "answering",
		.interval_s = 10,
		.cma_total_bytes = 64 * MIB,
		.cma_free_bytes = 40 * MIB,
		.nr_free_cma_bytes = 39 * MIB,
		.alloc_success = 17,
		.alloc_fail = 2,
		.peak_used_bytes = 30 * MIB,
		.readings = 9,
		.agent_errors = 1,
		.reported_free_bytes = 20 * MIB,
	};
	clock_gettime(CLOCK_MONOTONIC, &guest.updated);
	guest.updated.tv_sec -= 4;
	full = ops;
	full.guest_cma = fake_guest_cma;
	return 0;
}

#define METRICS_TEST(fn) cmocka_unit_test_setup(fn, setup)

/* The exposition of @o labelled with @vm_label, linted; free it. */
static char *expose_as(const struct ctl_ops *o, const char *vm_label)
{
	struct strbuf sb = STRBUF_INIT(METRICS_MAX);
	char *text;

	assert_int_equal(metrics_expose(o, vm_label, &sb), 0);
	text = strdup(strbuf_str(&sb));
	assert_non_null(text);
	strbuf_release(&sb);
	lint(text);
	return text;
}

static char *expose(const struct ctl_ops *o)
{
	return expose_as(o, NULL);
}

/* The line of @text that starts with @start, or NULL. */
static const char *line_starting(const char *text, const char *start)
{
	size_t n = strlen(start);

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (!strncmp(line, start, n))
			return line;
		if (!strchr(line, '\n'))
			break;
	}
	return NULL;
}

/* The value of @series ("name{labels}" as written) is @want. */
static void expect_sample(const char *text, const char *series, const char *want)
{
	char start[256], value[64];
	const char *line;

	snprintf(start, sizeof(start), "%s ", series);
	line = line_starting(text, start);
	if (!line)
		fail_msg("no series %s in:\n%s", series, text);
	snprintf(value, sizeof(value), "%.*s", (int)strcspn(line + strlen(start), "\n"),
		 line + strlen(start));
	if (strcmp(value, want))
		fail_msg("%s is %s, not %s", series, value, want);
}

static double value_number(const char *text, const char *series)
{
	char start[256];
	const char *line;

	snprintf(start, sizeof(start), "%s ", series);
	line = line_starting(text, start);
	assert_non_null(line);
	return strtod(line + strlen(start), NULL);
}

static unsigned int occurrences(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static unsigned int families(const char *text)
{
	return occurrences(text, "# TYPE ");
}

/* @name is a family of @type with its HELP, and samples right after. */
static void expect_family(const char *text, const char *name, const char *type)
{
	char help[160], want[160];
	const char *at;

	snprintf(help, sizeof(help), "# HELP %s ", name);
	snprintf(want, sizeof(want), "# TYPE %s %s\n%s", name, type, name);
	at = line_starting(text, help);
	if (!at)
		fail_msg("no family %s in:\n%s", name, text);
	if (strncmp(strchr(at, '\n') + 1, want, strlen(want)))
		fail_msg("%s is not a %s with samples:\n%s", name, type, text);
}

/* Not a line of @text is of the family @name. */
static void expect_no_family(const char *text, const char *name)
{
	char start[160];

	snprintf(start, sizeof(start), "# TYPE %s ", name);
	if (line_starting(text, start))
		fail_msg("family %s is there:\n%s", name, text);
	snprintf(start, sizeof(start), "%s", name);
	for (const char *line = line_starting(text, start); line;
	     line = line_starting(strchr(line, '\n') + 1, start))
		if (strchr(" {_", line[strlen(name)]))
			fail_msg("a sample of %s is there:\n%s", name, text);
}

/* ---- every family ---- */

struct family {
	const char *name, *type;
};

static const struct family vm_families[] = {
	{ "cmavm_vm_state", "gauge" },		{ "cmavm_vm_vcpus", "gauge" },
	{ "cmavm_vm_memory_bytes", "gauge" },	{ "cmavm_vm_memory_resident_bytes", "gauge" },
	{ "cmavm_vm_uptime_seconds", "gauge" },
};
static const struct family pool_families[] = {
	{ "cmavm_cma_pool_size_bytes", "gauge" },
	{ "cmavm_cma_pool_bytes", "gauge" },
};
static const struct family window_families[] = {
	{ "cmavm_cma_windows", "gauge" },
	{ "cmavm_cma_window_bytes", "gauge" },
	{ "cmavm_cma_window_commit_seconds", "gauge" },
	{ "cmavm_cma_window_pauses_total", "counter" },
	{ "cmavm_cma_window_pause_max_seconds", "gauge" },
	{ "cmavm_cma_window_stalls_total", "counter" },
	{ "cmavm_cma_window_stall_max_seconds", "gauge" },
	{ "cmavm_cma_window_migrations_total", "counter" },
};
static const struct family engine_families[] = {
	{ "cmavm_cma_pageblock_bytes", "gauge" },
	{ "cmavm_cma_commits_total", "counter" },
	{ "cmavm_cma_boot_commits_total", "counter" },
	{ "cmavm_cma_releases_total", "counter" },
	{ "cmavm_cma_migrations_total", "counter" },
	{ "cmavm_cma_rollbacks_total", "counter" },
	{ "cmavm_cma_refused_discards_total", "counter" },
	{ "cmavm_cma_refused_discard_bytes_total", "counter" },
	{ "cmavm_cma_pause_seconds", "histogram" },
	{ "cmavm_cma_stall_seconds", "histogram" },
	{ "cmavm_cma_pause_max_seconds", "gauge" },
	{ "cmavm_cma_stall_max_seconds", "gauge" },
	{ "cmavm_cma_live_moves", "gauge" },
};
static const struct family balloon_families[] = {
	{ "cmavm_balloon_target_bytes", "gauge" },
	{ "cmavm_balloon_actual_bytes", "gauge" },
};
/* the fake guest reports three statistics */
static const struct family balloon_stat_families[] = {
	{ "cmavm_balloon_guest_major_faults_total", "counter" },
	{ "cmavm_balloon_guest_free_bytes", "gauge" },
	{ "cmavm_balloon_guest_memory_bytes", "gauge" },
	{ "cmavm_balloon_stats_age_seconds", "gauge" },
};
static const struct family device_families[] = {
	{ "cmavm_device_reads_total", "counter" },
	{ "cmavm_device_read_bytes_total", "counter" },
};
static const struct family gpu_families[] = {
	{ "cmavm_gpu_region_bytes", "gauge" },
	{ "cmavm_gpu_used_bytes", "gauge" },
	{ "cmavm_gpu_resources", "gauge" },
};
static const struct family guest_families[] = {
	{ "cmavm_guest_agent_up", "gauge" },
	{ "cmavm_guest_agent_readings_total", "counter" },
	{ "cmavm_guest_agent_errors_total", "counter" },
	{ "cmavm_guest_cma_reported_free_bytes", "gauge" },
};
/* only once the agent has answered */
static const struct family agent_families[] = {
	{ "cmavm_guest_cma_size_bytes", "gauge" },
	{ "cmavm_guest_cma_free_bytes", "gauge" },
	{ "cmavm_guest_cma_nr_free_bytes", "gauge" },
	{ "cmavm_guest_cma_alloc_success_total", "counter" },
	{ "cmavm_guest_cma_alloc_fail_total", "counter" },
	{ "cmavm_guest_cma_peak_used_bytes", "gauge" },
	{ "cmavm_guest_agent_reading_age_seconds", "gauge" },
};

struct group {
	const struct family *f;
	size_t n;
};

#define GROUP(a)                                                                                   \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0])                                                        \
	}

static const struct group all_groups[] = {
	GROUP(vm_families),	GROUP(pool_families),	 GROUP(window_families),
	GROUP(engine_families), GROUP(balloon_families), GROUP(balloon_stat_families),
	GROUP(device_families), GROUP(gpu_families),	 GROUP(guest_families),
	GROUP(agent_families),
};

#define NR_GROUPS (sizeof(all_groups) / sizeof(all_groups[0]))

static unsigned int families_in(const struct group *g, size_t n)
{
	unsigned int total = 0;

	for (size_t i = 0; i < n; i++)
		total += (unsigned int)g[i].n;
	return total;
}

static void expect_group(const char *text, const struct group *g, bool present)
{
	for (size_t i = 0; i < g->n; i++) {
		if (present)
			expect_family(text, g->f[i].name, g->f[i].type);
		else
			expect_no_family(text, g->f[i].name);
	}
}

static void test_every_family(void **state)
{
	char *text = expose(&full);

	for (size_t i = 0; i < NR_GROUPS; i++)
		expect_group(text, &all_groups[i], true);
	assert_int_equal(families(text), families_in(all_groups, NR_GROUPS));
	free(text);
}

/* ---- the values ---- */

struct sample {
	const char *series, *value;
};

static void expect_samples(const char *text, const struct sample *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_sample(text, want[i].series, want[i].value);
}

#define EXPECT_SAMPLES(text, want) expect_samples(text, want, sizeof(want) / sizeof(want[0]))

/* @series is a number in [@low, @high): a time measured from now */
static void expect_between(const char *text, const char *series, double low, double high)
{
	double v = value_number(text, series);

	if (v < low || v >= high)
		fail_msg("%s is %f, not in [%f, %f)", series, v, low, high);
}

static const struct sample vm_running[] = {
	{ "cmavm_vm_state{state=\"running\"}", "1" },
	{ "cmavm_vm_state{state=\"paused\"}", "0" },
	{ "cmavm_vm_state{state=\"stopping\"}", "0" },
	{ "cmavm_vm_vcpus", "2" },
	{ "cmavm_vm_memory_bytes", "536870912" },
	{ "cmavm_vm_memory_resident_bytes", "73400320" },
};

static const struct sample vm_paused[] = {
	{ "cmavm_vm_state{state=\"running\"}", "0" },
	{ "cmavm_vm_state{state=\"paused\"}", "1" },
	{ "cmavm_vm_state{state=\"stopping\"}", "0" },
};

static void test_the_vm(void **state)
{
	char *text = expose(&full);

	EXPECT_SAMPLES(text, vm_running);
	expect_between(text, "cmavm_vm_uptime_seconds", 65, 70);
	free(text);
	vm.state = CTL_VM_PAUSED;
	text = expose(&full);
	EXPECT_SAMPLES(text, vm_paused);
	free(text);
}

static const struct sample pools_and_windows[] = {
	{ "cmavm_cma_pool_size_bytes{pool=\"linux,cma\",kind=\"cma\"}", "67108864" },
	{ "cmavm_cma_pool_size_bytes{pool=\"fw\",kind=\"coherent\"}", "4194304" },
	{ "cmavm_cma_pool_bytes{pool=\"linux,cma\",state=\"unbacked\"}", "41943040" },
	{ "cmavm_cma_pool_bytes{pool=\"linux,cma\",state=\"backed\"}", "8388608" },
	{ "cmavm_cma_pool_bytes{pool=\"linux,cma\",state=\"reported\"}", "4194304" },
	{ "cmavm_cma_pool_bytes{pool=\"linux,cma\",state=\"ballooned\"}", "4194304" },
	{ "cmavm_cma_pool_bytes{pool=\"linux,cma\",state=\"window\"}", "8388608" },
	{ "cmavm_cma_pool_bytes{pool=\"fw\",state=\"backed\"}", "4194304" },
	{ "cmavm_cma_pool_bytes{pool=\"fw\",state=\"window\"}", "0" },
	/* two huge windows of linux,cma, one resident of fw being committed */
	{ "cmavm_cma_windows{level=\"huge\"}", "2" },
	{ "cmavm_cma_windows{level=\"resident\"}", "1" },
	{ "cmavm_cma_windows{level=\"contiguous\"}", "0" },
	{ "cmavm_cma_window_bytes{level=\"huge\"}", "10485760" },
	{ "cmavm_cma_window_bytes{level=\"resident\"}", "4194304" },
	{ "cmavm_cma_window_bytes{level=\"contiguous\"}", "0" },
	/* each window's own figures: window 1's, and window 2's zeroes beside them */
	{ "cmavm_cma_window_commit_seconds{window=\"1\",pool=\"linux,cma\",level=\"huge\"}",
	  "0.081234567" },
	{ "cmavm_cma_window_pauses_total{window=\"1\",pool=\"linux,cma\",level=\"huge\"}", "2" },
	{ "cmavm_cma_window_pause_max_seconds{window=\"1\",pool=\"linux,cma\",level=\"huge\"}",
	  "0.000412345" },
	{ "cmavm_cma_window_stalls_total{window=\"1\",pool=\"linux,cma\",level=\"huge\"}", "3" },
	{ "cmavm_cma_window_stall_max_seconds{window=\"1\",pool=\"linux,cma\",level=\"huge\"}",
	  "0.0009" },
	{ "cmavm_cma_window_migrations_total{window=\"1\",pool=\"linux,cma\",level=\"huge\"}",
	  "4" },
	{ "cmavm_cma_window_pauses_total{window=\"2\",pool=\"linux,cma\",level=\"huge\"}", "0" },
	{ "cmavm_cma_window_stalls_total{window=\"3\",pool=\"fw\",level=\"resident\"}", "0" },
};

static const struct sample engine[] = {
	{ "cmavm_cma_pageblock_bytes", "2097152" },
	{ "cmavm_cma_commits_total", "3" },
	{ "cmavm_cma_boot_commits_total", "1" },
	{ "cmavm_cma_releases_total", "1" },
	{ "cmavm_cma_migrations_total", "5" },
	{ "cmavm_cma_rollbacks_total", "2" },
	{ "cmavm_cma_refused_discards_total", "7" },
	{ "cmavm_cma_refused_discard_bytes_total", "28672" },
	{ "cmavm_cma_pause_max_seconds", "0.000412345" },
	{ "cmavm_cma_stall_max_seconds", "0.0009" },
	{ "cmavm_cma_live_moves", "1" },
	/* the fake engine's bounds are 10 us << i: bucket i is le="0.00001" << i, cumulative */
	{ "cmavm_cma_pause_seconds_bucket{le=\"0.00001\"}", "8" },
	{ "cmavm_cma_pause_seconds_bucket{le=\"0.04096\"}", "8" },
	{ "cmavm_cma_pause_seconds_bucket{le=\"+Inf\"}", "8" },
	{ "cmavm_cma_pause_seconds_sum", "0.001234567" },
	{ "cmavm_cma_pause_seconds_count", "8" },
	{ "cmavm_cma_stall_seconds_bucket{le=\"0.00001\"}", "0" },
	{ "cmavm_cma_stall_seconds_bucket{le=\"0.00004\"}", "0" },
	{ "cmavm_cma_stall_seconds_bucket{le=\"0.00008\"}", "10" },
	{ "cmavm_cma_stall_seconds_bucket{le=\"0.04096\"}", "10" },
	{ "cmavm_cma_stall_seconds_bucket{le=\"+Inf\"}", "11" },
	{ "cmavm_cma_stall_seconds_sum", "0.0022" },
	{ "cmavm_cma_stall_seconds_count", "11" },
};

static void test_pools_windows_and_the_engine(void **state)
{
	char *text = expose(&full);

	EXPECT_SAMPLES(text, pools_and_windows);
	EXPECT_SAMPLES(text, engine);
	/* 13 bounds and +Inf: one line each, in order */
	assert_non_null(strstr(text, "cmavm_cma_stall_seconds_bucket{le=\"0.02048\"} 10\n"
				     "cmavm_cma_stall_seconds_bucket{le=\"0.04096\"} 10\n"
				     "cmavm_cma_stall_seconds_bucket{le=\"+Inf\"} 11\n"));
	free(text);
}

static const struct sample balloon_devices_gpu[] = {
	{ "cmavm_balloon_target_bytes", "100663296" },
	{ "cmavm_balloon_actual_bytes", "67108864" },
	{ "cmavm_balloon_guest_free_bytes", "314572800" },
	{ "cmavm_balloon_guest_memory_bytes", "503316480" },
	{ "cmavm_balloon_guest_major_faults_total", "12" },
	{ "cmavm_device_reads_total{device=\"virtio-blk0\"}", "120" },
	{ "cmavm_device_read_bytes_total{device=\"virtio-blk0\"}", "491520" },
	{ "cmavm_gpu_region_bytes{device=\"virtio-gpu0\"}", "67108864" },
	{ "cmavm_gpu_used_bytes{device=\"virtio-gpu0\"}", "6291456" },
	{ "cmavm_gpu_resources{device=\"virtio-gpu0\"}", "2" },
};

static void test_balloon_devices_gpu(void **state)
{
	char *text = expose(&full);

	EXPECT_SAMPLES(text, balloon_devices_gpu);
	/* not reported: absent, not zero */
	expect_no_family(text, "cmavm_balloon_guest_swap_in_bytes_total");
	expect_no_family(text, "cmavm_balloon_guest_available_bytes");
	expect_between(text, "cmavm_balloon_stats_age_seconds", 3, 8);
	free(text);
}

static const struct sample guests_cma[] = {
	{ "cmavm_guest_agent_up", "1" },
	{ "cmavm_guest_agent_readings_total", "9" },
	{ "cmavm_guest_agent_errors_total", "1" },
	{ "cmavm_guest_cma_reported_free_bytes", "20971520" },
	{ "cmavm_guest_cma_size_bytes", "67108864" },
	{ "cmavm_guest_cma_free_bytes", "41943040" },
	{ "cmavm_guest_cma_nr_free_bytes", "40894464" },
	{ "cmavm_guest_cma_alloc_success_total", "17" },
	{ "cmavm_guest_cma_alloc_fail_total", "2" },
	{ "cmavm_guest_cma_peak_used_bytes", "31457280" },
};

static void test_the_guests_cma(void **state)
{
	char *text = expose(&full);

	EXPECT_SAMPLES(text, guests_cma);
	expect_between(text, "cmavm_guest_agent_reading_age_seconds", 4, 9);
	free(text);
}

/* Before the agent answers, its figures are unknown, not zero. */
static void test_no_agent_figures_before_it_answers(void **state)
{
	const struct group agent = GROUP(agent_families), always = GROUP(guest_families);
	char *text;

	guest = (struct ctl_guest_cma){ .agent_state = "waiting", .reported_free_bytes = 6 * MIB };
	text = expose(&full);
	expect_sample(text, "cmavm_guest_agent_up", "0");
	expect_sample(text, "cmavm_guest_agent_readings_total", "0");
	expect_sample(text, "cmavm_guest_cma_reported_free_bytes", "6291456");
	expect_group(text, &always, true);
	expect_group(text, &agent, false);
	assert_int_equal(families(text), families_in(all_groups, NR_GROUPS) - agent.n);
	free(text);
}

/* ---- the devices' counters ---- */

static int named_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	devs[0] = (struct ctl_device){
		.name = "virtio-blk0",
		.nr_counters = 5,
		.counters = { { "bytes_written", 4096 },
			      { "capacity_bytes", 1 << 30 },
			      { "readonly", 1 },
			      { "errors", 3 },
			      { "written_bytes", 99 } }, /* the same metric again: once */
	};
	devs[1] = (struct ctl_device){
		.name = "virtio-gpu0",
		.nr_counters = 3,
		.counters = { { "transfer_ns", 1500000000 }, { "errors", 0 }, { "Odd-Name", 5 } },
	};
	return 2;
}

static void test_device_counters_by_convention(void **state)
{
	struct ctl_ops o = { .opaque = &vm, .devices = named_devices };
	char *text = expose(&o);

	expect_family(text, "cmavm_device_written_bytes_total", "counter");
	expect_sample(text, "cmavm_device_written_bytes_total{device=\"virtio-blk0\"}", "4096");
	expect_family(text, "cmavm_device_capacity_bytes", "gauge");
	expect_sample(text, "cmavm_device_capacity_bytes{device=\"virtio-blk0\"}", "1073741824");
	expect_family(text, "cmavm_device_readonly", "gauge");
	expect_family(text, "cmavm_device_transfer_seconds_total", "counter");
	expect_sample(text, "cmavm_device_transfer_seconds_total{device=\"virtio-gpu0\"}", "1.5");
	expect_sample(text, "cmavm_device_odd_name_total{device=\"virtio-gpu0\"}", "5");
	/* one family, a sample per device */
	expect_family(text, "cmavm_device_errors_total", "counter");
	assert_non_null(strstr(text, "cmavm_device_errors_total{device=\"virtio-blk0\"} 3\n"
				     "cmavm_device_errors_total{device=\"virtio-gpu0\"} 0\n"));
	assert_int_equal(families(text), 6);
	free(text);
}

/* ---- label values ---- */

static int odd_pools(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	out[0] = (struct ctl_cma_pool){ .name = "a\"b\\c\nd", .kind = POOL_CMA, .size = 4096 };
	return 1;
}

static int odd_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	devs[0] = (struct ctl_device){ .name = "dev\"0\\",
				       .nr_counters = 1,
				       .counters = { { "reads", 1 } } };
	return 1;
}

static void test_label_values_are_escaped(void **state)
{
	struct ctl_ops o = { .opaque = &vm, .cma_pools = odd_pools, .devices = odd_devices };
	char *text = expose(&o);

	expect_sample(text, "cmavm_cma_pool_size_bytes{pool=\"a\\\"b\\\\c\\nd\",kind=\"cma\"}",
		      "4096");
	expect_sample(text, "cmavm_cma_pool_bytes{pool=\"a\\\"b\\\\c\\nd\",state=\"window\"}", "0");
	expect_sample(text, "cmavm_device_reads_total{device=\"dev\\\"0\\\\\"}", "1");
	free(text);
}

/* ---- the vm label, for the files of several VMs ---- */

static const struct sample labelled[] = {
	{ "cmavm_vm_vcpus{vm=\"web\\\"1\"}", "2" },
	{ "cmavm_vm_state{vm=\"web\\\"1\",state=\"running\"}", "1" },
	{ "cmavm_cma_pool_bytes{vm=\"web\\\"1\",pool=\"fw\",state=\"backed\"}", "4194304" },
	{ "cmavm_cma_pause_seconds_bucket{vm=\"web\\\"1\",le=\"+Inf\"}", "8" },
	{ "cmavm_cma_pause_seconds_sum{vm=\"web\\\"1\"}", "0.001234567" },
	{ "cmavm_cma_pause_seconds_count{vm=\"web\\\"1\"}", "8" },
	{ "cmavm_device_reads_total{vm=\"web\\\"1\",device=\"virtio-blk0\"}", "120" },
};

/* Every sample carries it, first, escaped like any label value. */
static void test_every_sample_carries_the_vm(void **state)
{
	char *text = expose_as(&full, "web\"1"), *plain = expose(&full);
	unsigned int samples = 0;

	EXPECT_SAMPLES(text, labelled);
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (*line == '#')
			continue;
		samples++;
		if (!strstr(line, "{vm=\"web\\\"1\"") ||
		    strstr(line, "{vm=\"web\\\"1\"") > strchr(line, '\n'))
			fail_msg("a sample without the vm label: %.*s", (int)strcspn(line, "\n"),
				 line);
	}
	assert_int_equal(samples, occurrences(plain, "\ncmavm_"));
	assert_int_equal(families(text), families(plain));
	assert_null(strstr(plain, "vm=\""));
	free(plain);
	free(text);
}

/* ---- what is missing, or fails ---- */

static int fail_status(void *opaque, struct ctl_vm_status *out)
{
	return -EIO;
}

static int fail_pools(void *opaque, struct ctl_cma_pool *out, unsigned int max)
{
	return -EIO;
}

static int fail_windows(void *opaque, struct ctl_cma_window *out, unsigned int max)
{
	return -EIO;
}

static int fail_stats(void *opaque, struct ctl_cma_stats *out)
{
	return -EIO;
}

static int fail_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	return -EIO;
}

static int fail_guest(void *opaque, struct ctl_guest_cma *out)
{
	return -EIO;
}

/* @o with its families of @drop left out, the others all there. */
static void expect_without(const struct ctl_ops *o, const struct group *drop, size_t n)
{
	char *text = expose(o);

	for (size_t i = 0; i < NR_GROUPS; i++) {
		bool dropped = false;

		for (size_t j = 0; j < n; j++)
			dropped |= all_groups[i].f == drop[j].f;
		expect_group(text, &all_groups[i], !dropped);
	}
	assert_int_equal(families(text), families_in(all_groups, NR_GROUPS) - families_in(drop, n));
	free(text);
}

#define EXPECT_WITHOUT(o, ...)                                                                     \
	do {                                                                                       \
		const struct group drop[] = { __VA_ARGS__ };                                       \
		expect_without(o, drop, sizeof(drop) / sizeof(drop[0]));                           \
	} while (0)

static void test_a_missing_callback_leaves_out_its_families(void **state)
{
	struct ctl_ops o;

	o = full, o.status = NULL;
	EXPECT_WITHOUT(&o, GROUP(vm_families));
	o = full, o.cma_pools = NULL;
	EXPECT_WITHOUT(&o, GROUP(pool_families));
	o = full, o.cma_windows = NULL;
	EXPECT_WITHOUT(&o, GROUP(window_families));
	o = full, o.cma_stats = NULL;
	EXPECT_WITHOUT(&o, GROUP(engine_families));
	o = full, o.balloon_get = NULL;
	EXPECT_WITHOUT(&o, GROUP(balloon_families));
	o = full, o.balloon_stats = NULL;
	EXPECT_WITHOUT(&o, GROUP(balloon_stat_families));
	o = full, o.devices = NULL;
	EXPECT_WITHOUT(&o, GROUP(device_families));
	o = full, o.gpu_get = NULL;
	EXPECT_WITHOUT(&o, GROUP(gpu_families));
	o = full, o.guest_cma = NULL;
	EXPECT_WITHOUT(&o, GROUP(guest_families), GROUP(agent_families));
}

static void test_a_failing_callback_leaves_out_its_families(void **state)
{
	struct ctl_ops o;

	o = full, o.status = fail_status;
	EXPECT_WITHOUT(&o, GROUP(vm_families));
	o = full, o.cma_pools = fail_pools;
	EXPECT_WITHOUT(&o, GROUP(pool_families));
	o = full, o.cma_windows = fail_windows;
	EXPECT_WITHOUT(&o, GROUP(window_families));
	o = full, o.cma_stats = fail_stats;
	EXPECT_WITHOUT(&o, GROUP(engine_families));
	o = full, o.devices = fail_devices;
	EXPECT_WITHOUT(&o, GROUP(device_families));
	o = full, o.guest_cma = fail_guest;
	EXPECT_WITHOUT(&o, GROUP(guest_families), GROUP(agent_families));
	/* the fake VM's own refusals: no statistics yet (-ENODATA), no GPU, no balloon */
	vm.stats_reported = false;
	EXPECT_WITHOUT(&full, GROUP(balloon_stat_families));
	vm.has_gpu = false;
	EXPECT_WITHOUT(&full, GROUP(balloon_stat_families), GROUP(gpu_families));
	vm.has_balloon = false;
	EXPECT_WITHOUT(&full, GROUP(balloon_stat_families), GROUP(gpu_families),
		       GROUP(balloon_families));
}

static void test_nothing_to_tell(void **state)
{
	struct ctl_ops none = { .opaque = &vm };
	char *text = expose(&none);

	assert_string_equal(text, "");
	free(text);
}

/* Past the buffer's limit the exposition fails whole: its caller sends none. */
static void test_too_large_fails(void **state)
{
	struct strbuf sb = STRBUF_INIT(1000);

	assert_int_equal(metrics_expose(&full, NULL, &sb), -ENOSPC);
	strbuf_release(&sb);
}

/* promtool is there and refuses what it should: the lint above can fail. */
static void test_promtool_refuses_a_bad_exposition(void **state)
{
	struct child_result r;

	if (!*promtool())
		skip();
	assert_int_not_equal(promtool_check("# TYPE cmavm_x counter\ncmavm_x 1\n", &r), 0);
	assert_non_null(strstr(r.err, "cmavm_x"));
	assert_int_not_equal(promtool_check("cmavm_y{pool=\"a} 1\n", &r), 0);
}

/* ---- GET /metrics ---- */

/* The TYPE lines of @text, in order: what two expositions a moment apart share. */
static char *type_lines(const char *text, size_t len)
{
	char *out = calloc(1, len + 1);
	size_t at = 0;

	assert_non_null(out);
	for (const char *p = text; (p = strstr(p, "# TYPE ")); p += 7) {
		size_t n = strcspn(p, "\n") + 1;

		memcpy(out + at, p, n);
		at += n;
	}
	return out;
}

static void expect_metrics_answer(const char *path)
{
	struct answer a = call_ops(&full, "GET", path, NULL, NULL);
	char *text = expose(&full), *body, *types, *want;

	assert_int_equal(a.status, 200);
	assert_string_equal(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
	assert_null(a.json);
	body = strndup(a.data, a.data_len);
	assert_non_null(body);
	lint(body);
	types = type_lines(body, a.data_len);
	want = type_lines(text, strlen(text));
	assert_string_equal(types, want);
	assert_non_null(strstr(body, "\ncmavm_vm_memory_bytes 536870912\n"));
	free(types);
	free(want);
	free(body);
	free(text);
	done(&a);
}

static void test_the_endpoint_and_its_alias(void **state)
{
	expect_metrics_answer("/metrics");
	expect_metrics_answer("/v1/metrics");
	expect_405(put("/metrics", "{}"), "GET");
	expect_error(call("GET", "/metrics", "application/json", "{}"), 400, "takes no body");
}

static void test_the_server_sends_text(void **state)
{
	struct fixture *f = fixture_open(ctl_api_handle, &full);
	struct client *c = client_open(f->path);
	struct response r;

	send_str(c, "GET /metrics HTTP/1.1\r\n\r\n");
	r = read_response(c);
	assert_int_equal(r.status, 200);
	if (!strcasestr(r.headers, "\ncontent-type: text/plain; version=0.0.4; charset=utf-8"))
		fail_msg("headers:%s", r.headers);
	assert_non_null(r.body);
	assert_true(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
	assert_non_null(strstr(r.body, "# TYPE cmavm_cma_pause_seconds histogram\n"));
	free(r.body);
	client_close(c);
	fixture_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		METRICS_TEST(test_every_family),
		METRICS_TEST(test_the_vm),
		METRICS_TEST(test_pools_windows_and_the_engine),
		METRICS_TEST(test_balloon_devices_gpu),
		METRICS_TEST(test_the_guests_cma),
		METRICS_TEST(test_no_agent_figures_before_it_answers),
		METRICS_TEST(test_device_counters_by_convention),
		METRICS_TEST(test_label_values_are_escaped),
		METRICS_TEST(test_every_sample_carries_the_vm),
		METRICS_TEST(test_a_missing_callback_leaves_out_its_families),
		METRICS_TEST(test_a_failing_callback_leaves_out_its_families),
		METRICS_TEST(test_nothing_to_tell),
		METRICS_TEST(test_too_large_fails),
		METRICS_TEST(test_promtool_refuses_a_bad_exposition),
		METRICS_TEST(test_the_endpoint_and_its_alias),
		METRICS_TEST(test_the_server_sends_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
