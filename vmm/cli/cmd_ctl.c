// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl`: talk to a running VM through its API socket. Each command
 * is one request; the answer is printed as a table, or as the API's JSON
 * with --json. Exit 0: done; 1: refused or unreachable; 2: usage error.
 */
#include "vmm/cli/commands.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control/client.h"
#include "vmm/util/log.h"
#include "vmm/control/map_render.h"
#include "cma/engine.h"
#include "cma/size.h"

enum { EXIT_DONE = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

static const char ctl_usage[] =
	"Usage: cmavm ctl [--socket PATH] [--json] COMMAND\n"
	"\n"
	"Ask a running VM through its API socket.\n"
	"\n"
	"Commands:\n"
	"  status                   state, vCPUs, memory, pools, uptime\n"
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
	"  raw METHOD PATH [JSON]   any request; prints the answer's body\n"
	"\n"
	"Options:\n"
	"  --socket PATH  the VM's API socket [$CMAVM_SOCKET, else\n"
	"                 ${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock]\n"
	"  --json         print the API's JSON instead of a table\n"
	"  -h, --help     this text\n"
	"\n"
	"The map is drawn in colour on a terminal; with NO_COLOR set, or when stdout\n"
	"is not a terminal, in letters.\n"
	"\n"
	"Exit status: 0 done, 1 the VM refused or cannot be reached, 2 usage error.\n";

/* ---- aligned tables ---- */

#define TABLE_ROWS 64
#define TABLE_COLS 10

struct table {
	unsigned int rows;
	char *cell[TABLE_ROWS][TABLE_COLS];
};

/* Add a row of the NULL-terminated cells; rows past TABLE_ROWS are dropped. */
static void table_row(struct table *t, ...)
{
	const char *text;
	unsigned int col = 0;
	va_list ap;

	if (t->rows == TABLE_ROWS)
		return;
	va_start(ap, t);
	while (col < TABLE_COLS && (text = va_arg(ap, const char *)))
		t->cell[t->rows][col++] = strdup(text);
	va_end(ap);
	t->rows++;
}

static unsigned int row_cells(const struct table *t, unsigned int row)
{
	unsigned int n = 0;

	while (n < TABLE_COLS && t->cell[row][n])
		n++;
	return n;
}

/* Print with every column as wide as its widest cell, then free. */
static void table_print(struct table *t)
{
	size_t width[TABLE_COLS] = { 0 };
	unsigned int row, col, n;

	for (row = 0; row < t->rows; row++)
		for (col = 0; col < row_cells(t, row); col++)
			if (strlen(t->cell[row][col]) > width[col])
				width[col] = strlen(t->cell[row][col]);
	for (row = 0; row < t->rows; row++) {
		n = row_cells(t, row);
		for (col = 0; col < n; col++) {
			/* the last cell unpadded: no trailing blanks */
			if (col + 1 == n)
				fputs(t->cell[row][col], stdout);
			else
				printf("%-*s  ", (int)width[col], t->cell[row][col]);
			free(t->cell[row][col]);
			t->cell[row][col] = NULL;
		}
		putchar('\n');
	}
	t->rows = 0;
}

/* ---- reading the API's JSON ---- */

static const char *get_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "?";
}

static uint64_t as_u64(json_t *v)
{
	return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static uint64_t get_u64(json_t *obj, const char *key)
{
	return as_u64(json_object_get(obj, key));
}

static const char *get_yes_no(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key)) ? "yes" : "no";
}

static const char *fmt(char *buf, size_t len, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static const char *fmt(char *buf, size_t len, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(buf, len, format, ap);
	va_end(ap);
	return buf;
}

static const char *duration_str(uint64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		return fmt(buf, len, "%lluh %02llum %02llus", (unsigned long long)s / 3600,
			   (unsigned long long)s / 60 % 60, (unsigned long long)s % 60);
	if (s >= 60)
		return fmt(buf, len, "%llum %02llus", (unsigned long long)s / 60,
			   (unsigned long long)s % 60);
	return fmt(buf, len, "%llu s", (unsigned long long)s);
}

/* ---- the human views ---- */

static void pool_row(struct table *t, json_t *p)
{
	char base[32], size[32];

	table_row(t, get_str(p, "name"), get_str(p, "kind"), get_yes_no(p, "default"),
		  fmt(base, sizeof(base), "0x%08llx", (unsigned long long)get_u64(p, "base")),
		  size_str(get_u64(p, "size"), size), get_str(p, "why"), NULL);
}

static void show_pools(json_t *pools)
{
	struct table t = { 0 };
	size_t i;

	if (!json_array_size(pools))
		return;
	putchar('\n');
	table_row(&t, "pool", "kind", "default", "base", "size", "why", NULL);
	for (i = 0; i < json_array_size(pools); i++)
		pool_row(&t, json_array_get(pools, i));
	table_print(&t);
}

static void show_status(json_t *vm)
{
	struct table t = { 0 };
	char vcpus[16], memory[32], resident[32], uptime[32];

	table_row(&t, "state", get_str(vm, "state"), NULL);
	table_row(&t, "vcpus",
		  fmt(vcpus, sizeof(vcpus), "%llu", (unsigned long long)get_u64(vm, "vcpus")),
		  NULL);
	table_row(&t, "memory", size_str(get_u64(vm, "memory_bytes"), memory), NULL);
	table_row(&t, "resident", size_str(get_u64(vm, "memory_resident_bytes"), resident), NULL);
	table_row(&t, "uptime", duration_str(get_u64(vm, "uptime_s"), uptime, sizeof(uptime)),
		  NULL);
	table_row(&t, "cmdline", get_str(vm, "cmdline"), NULL);
	table_print(&t);
	show_pools(json_object_get(vm, "pools"));
}

static void show_state(json_t *answer)
{
	struct table t = { 0 };

	table_row(&t, "state", get_str(answer, "state"), NULL);
	table_print(&t);
}

static void show_balloon(json_t *b)
{
	struct table t = { 0 };
	char target[32], actual[32], interval[32];
	uint64_t every = get_u64(b, "stats_interval_s");

	table_row(&t, "target", size_str(get_u64(b, "target_bytes"), target), NULL);
	table_row(&t, "actual", size_str(get_u64(b, "actual_bytes"), actual), NULL);
	table_row(&t, "deflate_on_oom", get_yes_no(b, "deflate_on_oom"), NULL);
	table_row(&t, "free_page_reporting", get_yes_no(b, "free_page_reporting"), NULL);
	table_row(&t, "statistics",
		  every ? fmt(interval, sizeof(interval), "every %llu s", (unsigned long long)every)
			: "off",
		  NULL);
	table_print(&t);
}

/* The virtio statistics that are amounts of memory rather than counts. */
static bool stat_is_bytes(const char *name)
{
	static const char *const bytes[] = { "swap_in", "swap_out", "memfree",
					     "memtot",	"avail",    "caches" };
	size_t i;

	for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		if (!strcmp(name, bytes[i]))
			return true;
	return false;
}

static void show_balloon_stats(json_t *stats)
{
	struct table t = { 0 };
	const char *key;
	char value[48];
	void *it;

	for (it = json_object_iter(stats); it; it = json_object_iter_next(stats, it)) {
		uint64_t n = as_u64(json_object_iter_value(it));

		key = json_object_iter_key(it);
		if (!strcmp(key, "updated_s_ago"))
			continue;
		if (stat_is_bytes(key))
			size_str(n, value);
		else
			fmt(value, sizeof(value), "%llu", (unsigned long long)n);
		table_row(&t, key, value, NULL);
	}
	table_row(&t, "updated",
		  fmt(value, sizeof(value), "%llu s ago",
		      (unsigned long long)get_u64(stats, "updated_s_ago")),
		  NULL);
	table_print(&t);
}

/* The furthest step of virtio's device status (virtio 1.2, 2.1). */
static const char *virtio_status_str(uint64_t status)
{
	if (status & 0x80)
		return "failed";
	if (status & 0x40)
		return "needs_reset";
	if (status & 0x04)
		return "driver_ok";
	if (status & 0x08)
		return "features_ok";
	if (status & 0x02)
		return "driver";
	if (status & 0x01)
		return "acknowledge";
	return "reset";
}

/* "reads 12, bytes_read 48 KiB": counters named *bytes* are sizes. */
static const char *counters_str(json_t *counters, char *buf, size_t len)
{
	char value[32];
	void *it;

	buf[0] = '\0';
	for (it = json_object_iter(counters); it; it = json_object_iter_next(counters, it)) {
		const char *key = json_object_iter_key(it);
		uint64_t n = as_u64(json_object_iter_value(it));
		size_t used = strlen(buf);

		if (strstr(key, "bytes"))
			size_str(n, value);
		else
			fmt(value, sizeof(value), "%llu", (unsigned long long)n);
		snprintf(buf + used, len - used, "%s%s %s", used ? ", " : "", key, value);
	}
	return buf[0] ? buf : "-";
}

/* "256 256": each queue's size; "-" for one not enabled, "!" after a broken one */
static const char *queues_str(json_t *queues, char *buf, size_t len)
{
	size_t i, used;
	json_t *q;

	buf[0] = '\0';
	for (i = 0; i < json_array_size(queues); i++) {
		q = json_array_get(queues, i);
		used = strlen(buf);
		if (json_is_true(json_object_get(q, "enabled")))
			snprintf(buf + used, len - used, "%s%llu%s", i ? " " : "",
				 (unsigned long long)get_u64(q, "size"),
				 json_is_true(json_object_get(q, "broken")) ? "!" : "");
		else
			snprintf(buf + used, len - used, "%s-", i ? " " : "");
	}
	return buf[0] ? buf : "-";
}

static void device_row(struct table *t, json_t *d)
{
	char mmio[32], irq[16], status[48], features[64], queues[96], counters[512];
	uint64_t st = get_u64(d, "status");

	fmt(mmio, sizeof(mmio), "0x%08llx", (unsigned long long)get_u64(d, "mmio_base"));
	fmt(irq, sizeof(irq), "%llu", (unsigned long long)get_u64(d, "irq"));
	fmt(status, sizeof(status), "0x%llx %s", (unsigned long long)st, virtio_status_str(st));
	fmt(features, sizeof(features), "0x%llx/0x%llx",
	    (unsigned long long)get_u64(d, "features_acked"),
	    (unsigned long long)get_u64(d, "features_offered"));
	table_row(t, get_str(d, "name"), get_str(d, "type"), mmio, irq, status, features,
		  queues_str(json_object_get(d, "queues"), queues, sizeof(queues)),
		  counters_str(json_object_get(d, "counters"), counters, sizeof(counters)), NULL);
}

static void show_devices(json_t *devices)
{
	struct table t = { 0 };
	size_t i;

	if (!json_array_size(devices)) {
		printf("no devices\n");
		return;
	}
	table_row(&t, "name", "type", "mmio_base", "irq", "status", "features acked/offered",
		  "queues", "counters", NULL);
	for (i = 0; i < json_array_size(devices); i++)
		device_row(&t, json_array_get(devices, i));
	table_print(&t);
}

/* ---- the host CMA engine ---- */

/* The keys of a pool's "bytes": the engine's state names. */
#define cma_states(s) cma_state_name((enum cma_block_state)(s))

/* "85.3 µs", "12.50 ms", "1.20 s" */
static const char *ns_str(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000000)
		return fmt(buf, len, "%.1f µs", ns / 1e3);
	if (ns < 1000000000)
		return fmt(buf, len, "%.2f ms", ns / 1e6);
	return fmt(buf, len, "%.2f s", ns / 1e9);
}

static void cma_pool_row(struct table *t, json_t *p)
{
	char base[32], size[32], bytes[CTL_CMA_STATES][32];
	json_t *by_state = json_object_get(p, "bytes");
	unsigned int s;

	for (s = 0; s < CTL_CMA_STATES; s++)
		size_str(get_u64(by_state, cma_states(s)), bytes[s]);
	table_row(t, get_str(p, "name"), get_str(p, "kind"), get_yes_no(p, "default"),
		  fmt(base, sizeof(base), "0x%08llx", (unsigned long long)get_u64(p, "base")),
		  size_str(get_u64(p, "size"), size), bytes[0], bytes[1], bytes[2], bytes[3],
		  bytes[4], NULL);
}

static void show_cma_pools(json_t *pools)
{
	struct table t = { 0 };
	size_t i;

	if (!json_array_size(pools)) {
		printf("no CMA pools\n");
		return;
	}
	table_row(&t, "pool", "kind", "default", "base", "size", cma_states(0), cma_states(1),
		  cma_states(2), cma_states(3), cma_states(4), NULL);
	for (i = 0; i < json_array_size(pools); i++)
		cma_pool_row(&t, json_array_get(pools, i));
	table_print(&t);
}

/* GET /v1/cma/map's pools as the renderer takes them; strings borrowed from @map. */
static struct ctl_cma_map *map_pools(json_t *map, unsigned int *n)
{
	json_t *pools = json_object_get(map, "pools");
	struct ctl_cma_map *out;
	unsigned int i;

	*n = json_array_size(pools);
	out = calloc(*n ? *n : 1, sizeof(*out));
	for (i = 0; out && i < *n; i++) {
		json_t *p = json_array_get(pools, i);
		const char *blocks = json_string_value(json_object_get(p, "blocks"));

		out[i].name = get_str(p, "name");
		out[i].base = get_u64(p, "base");
		out[i].blocks = blocks ? blocks : "";
	}
	if (!out)
		*n = 0;
	return out;
}

static void show_cma_map(json_t *map)
{
	unsigned int n;
	struct ctl_cma_map *pools = map_pools(map, &n);

	ctl_map_text(stdout, pools, n, get_u64(map, "pageblock_size"), ctl_map_want_colour(stdout));
	free(pools);
}

/* --svg FILE: the map as SVG; says where it went on @said. */
static int write_svg(const char *path, json_t *map, FILE *said)
{
	unsigned int n;
	struct ctl_cma_map *pools = map_pools(map, &n);
	FILE *f = fopen(path, "w");
	int err;

	if (!f) {
		pr_err("cannot write the SVG map to %s: %s", path, strerror(errno));
		free(pools);
		return EXIT_REFUSED;
	}
	err = ctl_map_svg(f, pools, n, get_u64(map, "pageblock_size"));
	free(pools);
	if (fclose(f) || err) {
		pr_err("writing the SVG map to %s failed: %s", path, strerror(errno));
		return EXIT_REFUSED;
	}
	fprintf(said, "wrote %s\n", path);
	return EXIT_DONE;
}

/* "0x9c000000-0x9dffffff": the window's guest-physical range, inclusive */
static const char *range_str(json_t *w, char *buf, size_t len)
{
	uint64_t gpa = get_u64(w, "gpa"), length = get_u64(w, "length");

	if (!length)
		return fmt(buf, len, "0x%08llx (empty)", (unsigned long long)gpa);
	return fmt(buf, len, "0x%08llx-0x%08llx", (unsigned long long)gpa,
		   (unsigned long long)(gpa + length - 1));
}

/* The largest host-physically contiguous run, with the 2 MiB pieces if @pieces. */
static const char *run_str(json_t *w, bool pieces, char *buf, size_t len)
{
	uint64_t run = get_u64(w, "largest_run");
	char size[32];

	if (!run)
		return "unknown (needs root)";
	if (!pieces)
		return size_str(run, buf);
	return fmt(buf, len, "%s (%llu of %llu 2 MiB pieces contiguous)", size_str(run, size),
		   (unsigned long long)get_u64(w, "contiguous_2m"),
		   (unsigned long long)(get_u64(w, "length") >> 21));
}

/* PUT /v1/cma/windows: the window committed */
static void show_window(json_t *w)
{
	struct table t = { 0 };
	char id[24], range[64], where[64], length[32], offset[32], run[96], pause[32];

	table_row(&t, "window", fmt(id, sizeof(id), "%llu", (unsigned long long)get_u64(w, "id")),
		  NULL);
	table_row(&t, "pool", get_str(w, "pool"), NULL);
	fmt(where, sizeof(where), "%s (%s at offset %s)", range_str(w, range, sizeof(range)),
	    size_str(get_u64(w, "length"), length), size_str(get_u64(w, "offset"), offset));
	table_row(&t, "range", where, NULL);
	table_row(&t, "level", get_str(w, "level"), NULL);
	table_row(&t, "largest contiguous run", run_str(w, true, run, sizeof(run)), NULL);
	table_row(&t, "longest pause", ns_str(get_u64(w, "pause_ns_max"), pause, sizeof(pause)),
		  NULL);
	table_print(&t);
}

static void window_row(struct table *t, json_t *w)
{
	char id[24], range[64], length[32], offset[32], run[96], pause[32];

	table_row(t, fmt(id, sizeof(id), "%llu", (unsigned long long)get_u64(w, "id")),
		  get_str(w, "pool"), range_str(w, range, sizeof(range)),
		  size_str(get_u64(w, "length"), length), size_str(get_u64(w, "offset"), offset),
		  get_str(w, "level"), run_str(w, false, run, sizeof(run)),
		  ns_str(get_u64(w, "pause_ns_max"), pause, sizeof(pause)), NULL);
}

static void show_windows(json_t *windows)
{
	struct table t = { 0 };
	size_t i;

	if (!json_array_size(windows)) {
		printf("no windows; commit one with 'cmavm ctl window commit POOL LEVEL'\n");
		return;
	}
	table_row(&t, "id", "pool", "range", "length", "offset", "level", "largest run",
		  "longest pause", NULL);
	for (i = 0; i < json_array_size(windows); i++)
		window_row(&t, json_array_get(windows, i));
	table_print(&t);
}

static void show_released(json_t *answer)
{
	printf("released window %llu\n", (unsigned long long)get_u64(answer, "released"));
}

static void show_migrated(json_t *answer)
{
	struct table t = { 0 };
	char gpa[32], pause[32];

	table_row(&t, "gpa",
		  fmt(gpa, sizeof(gpa), "0x%08llx", (unsigned long long)get_u64(answer, "gpa")),
		  NULL);
	table_row(&t, "pause",
		  fmt(pause, sizeof(pause), "%.1f µs", get_u64(answer, "pause_ns") / 1e3), NULL);
	table_print(&t);
}

static void show_cma_stats(json_t *st)
{
	struct table t = { 0 };
	char v[12][48], bytes[32];
	uint64_t pauses = get_u64(st, "pauses");
	unsigned int i = 0;

	table_row(&t, "pageblock size", size_str(get_u64(st, "pageblock_size"), v[i++]), NULL);
	table_row(&t, "resident", size_str(get_u64(st, "resident_bytes"), v[i++]), NULL);
	table_row(&t, "commits",
		  fmt(v[i++], 48, "%llu", (unsigned long long)get_u64(st, "commits")), NULL);
	table_row(&t, "releases",
		  fmt(v[i++], 48, "%llu", (unsigned long long)get_u64(st, "releases")), NULL);
	table_row(&t, "migrations",
		  fmt(v[i++], 48, "%llu", (unsigned long long)get_u64(st, "migrations")), NULL);
	table_row(&t, "rollbacks",
		  fmt(v[i++], 48, "%llu", (unsigned long long)get_u64(st, "rollbacks")), NULL);
	table_row(&t, "refused discards",
		  fmt(v[i++], 48, "%llu (%s)", (unsigned long long)get_u64(st, "refused_discards"),
		      size_str(get_u64(st, "refused_discard_bytes"), bytes)),
		  NULL);
	table_row(&t, "pauses", fmt(v[i++], 48, "%llu", (unsigned long long)pauses), NULL);
	table_row(&t, "pause total", ns_str(get_u64(st, "pause_ns_total"), v[i++], 48), NULL);
	table_row(&t, "pause mean",
		  pauses ? ns_str(get_u64(st, "pause_ns_total") / pauses, v[i++], 48) : "-", NULL);
	table_row(&t, "pause longest", ns_str(get_u64(st, "pause_ns_max"), v[i++], 48), NULL);
	table_row(&t, "pause last", ns_str(get_u64(st, "pause_ns_last"), v[i++], 48), NULL);
	table_print(&t);
}

/* ---- commands ---- */

typedef void (*show_fn)(json_t *answer);

struct request {
	const char *method;
	const char *path;
	char *json; /* the body, malloc()ed, or NULL */
	show_fn show;
	const char *svg; /* map --svg FILE */
};

static int usage_error(const char *fmt_, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt_, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(what, sizeof(what), fmt_, ap);
	va_end(ap);
	pr_err("%s; see 'cmavm ctl --help'", what);
	return EXIT_USAGE;
}

static int balloon_set_request(const char *text, struct request *req)
{
	uint64_t bytes;
	char err[256];

	if (size_parse(text, &bytes, err, sizeof(err)))
		return usage_error("balloon set %s: %s", text, err);
	req->method = "PUT";
	req->path = "/v1/balloon";
	req->show = show_balloon;
	if (asprintf(&req->json, "{\"target_bytes\": %llu}", (unsigned long long)bytes) < 0)
		req->json = NULL;
	return req->json ? 0 : usage_error("out of memory");
}

/* A PUT of @body (consumed) to @path. */
static int put_request(struct request *req, const char *path, show_fn show, json_t *body)
{
	req->method = "PUT";
	req->path = path;
	req->show = show;
	req->json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return req->json ? 0 : usage_error("out of memory");
}

/* A decimal index (a window id, a block number). */
static bool parse_index(const char *text, uint64_t max, uint64_t *out)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || *end || n > max)
		return false;
	*out = n;
	return true;
}

/* map, map --svg FILE, map --svg=FILE */
static int map_request(int argc, char **argv, struct request *req)
{
	const char *svg = NULL;

	if (argc == 3 && !strcmp(argv[1], "--svg"))
		svg = argv[2];
	else if (argc == 2 && !strncmp(argv[1], "--svg=", 6))
		svg = argv[1] + 6;
	else if (argc != 1)
		return usage_error("'map' takes only --svg FILE");
	if (svg && !*svg)
		return usage_error("--svg needs a FILE");
	*req = (struct request){ "GET", "/v1/cma/map", NULL, show_cma_map, svg };
	return 0;
}

static bool is_level(const char *word)
{
	enum cma_level level;

	return !cma_level_parse(word, &level);
}

/* window commit POOL [OFFSET LENGTH] LEVEL, or POOL LEVEL [OFFSET LENGTH] */
static int window_commit_request(int argc, char **argv, struct request *req)
{
	uint64_t offset = 0, length = 0;
	const char *level, *off_text = NULL, *len_text = NULL;
	char err[256];

	if (argc != 4 && argc != 6)
		return usage_error("'window commit' takes POOL [OFFSET LENGTH] LEVEL");
	level = is_level(argv[argc - 1]) ? argv[argc - 1] : argv[3];
	if (argc == 6) {
		off_text = level == argv[3] ? argv[4] : argv[3];
		len_text = level == argv[3] ? argv[5] : argv[4];
	}
	if (off_text && size_parse(off_text, &offset, err, sizeof(err)))
		return usage_error("window commit: OFFSET %s", err);
	if (len_text && size_parse(len_text, &length, err, sizeof(err)))
		return usage_error("window commit: LENGTH %s", err);
	if (offset > INT64_MAX || length > INT64_MAX)
		return usage_error("window commit: OFFSET or LENGTH is too large");
	return put_request(req, "/v1/cma/windows", show_window,
			   json_pack("{s:s, s:s, s:I, s:I}", "pool", argv[2], "level", level,
				     "offset", (json_int_t)offset, "length", (json_int_t)length));
}

static int window_release_request(const char *text, struct request *req)
{
	uint64_t id;

	if (!parse_index(text, UINT32_MAX, &id))
		return usage_error("window release: '%s' is not a window id; 'cmavm ctl window "
				   "list' shows them",
				   text);
	return put_request(req, "/v1/cma/windows/release", show_released,
			   json_pack("{s:I}", "id", (json_int_t)id));
}

/* migrate GPA, migrate POOL BLOCK */
static int migrate_request(int argc, char **argv, struct request *req)
{
	uint64_t n;
	char err[256];

	if (argc == 2) {
		if (size_parse(argv[1], &n, err, sizeof(err)))
			return usage_error("migrate: GPA %s (e.g. 0x9c200000)", err);
		if (n > INT64_MAX)
			return usage_error("migrate: GPA %s is too large", argv[1]);
		return put_request(req, "/v1/cma/migrate", show_migrated,
				   json_pack("{s:I}", "gpa", (json_int_t)n));
	}
	if (argc != 3)
		return usage_error("'migrate' takes GPA, or POOL BLOCK");
	if (!parse_index(argv[2], INT64_MAX, &n))
		return usage_error("migrate: BLOCK '%s' is not a pageblock number (0, 1, ...)",
				   argv[2]);
	return put_request(req, "/v1/cma/migrate", show_migrated,
			   json_pack("{s:s, s:I}", "pool", argv[1], "block", (json_int_t)n));
}

/* The request for COMMAND ARGS...; 0, or EXIT_USAGE with the error printed. */
static int build_request(int argc, char **argv, struct request *req)
{
	static const struct {
		const char *word, *sub, *method, *path;
		show_fn show;
	} simple[] = {
		{ "status", NULL, "GET", "/v1/vm", show_status },
		{ "pause", NULL, "PUT", "/v1/vm/pause", show_state },
		{ "resume", NULL, "PUT", "/v1/vm/resume", show_state },
		{ "shutdown", NULL, "PUT", "/v1/vm/shutdown", show_state },
		{ "balloon", NULL, "GET", "/v1/balloon", show_balloon },
		{ "balloon", "stats", "GET", "/v1/balloon/statistics", show_balloon_stats },
		{ "devices", NULL, "GET", "/v1/devices", show_devices },
		{ "pools", NULL, "GET", "/v1/cma/pools", show_cma_pools },
		{ "window", "list", "GET", "/v1/cma/windows", show_windows },
		{ "cma-stats", NULL, "GET", "/v1/cma/stats", show_cma_stats },
	};
	size_t i;

	if (argc >= 2 && !strcmp(argv[0], "balloon") && !strcmp(argv[1], "set"))
		return argc == 3 ? balloon_set_request(argv[2], req)
				 : usage_error("'balloon set' takes one SIZE");
	if (!strcmp(argv[0], "map"))
		return map_request(argc, argv, req);
	if (argc >= 2 && !strcmp(argv[0], "window") && !strcmp(argv[1], "commit"))
		return window_commit_request(argc, argv, req);
	if (argc >= 2 && !strcmp(argv[0], "window") && !strcmp(argv[1], "release"))
		return argc == 3 ? window_release_request(argv[2], req)
				 : usage_error("'window release' takes one ID");
	if (!strcmp(argv[0], "migrate"))
		return migrate_request(argc, argv, req);
	if (!strcmp(argv[0], "raw")) {
		if (argc < 3 || argc > 4)
			return usage_error("'raw' takes METHOD PATH [JSON]");
		*req = (struct request){ argv[1], argv[2], argc == 4 ? strdup(argv[3]) : NULL, NULL,
					 NULL };
		return 0;
	}
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		bool with_sub = simple[i].sub && argc == 2 && !strcmp(argv[1], simple[i].sub);

		if (strcmp(argv[0], simple[i].word) || !(with_sub || (!simple[i].sub && argc == 1)))
			continue;
		*req = (struct request){ simple[i].method, simple[i].path, NULL, simple[i].show,
					 NULL };
		return 0;
	}
	return usage_error("unknown command '%s%s%s'", argv[0], argc > 1 ? " " : "",
			   argc > 1 ? argv[1] : "");
}

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

static int show_reply(const struct request *req, const struct ctl_reply *reply, bool as_json)
{
	bool as_table = !as_json && req->show;
	json_t *root = NULL;
	char err[1024];
	int ret = EXIT_DONE;

	if (reply->status < 200 || reply->status > 299) {
		pr_err("%s", ctl_reply_error(reply, err, sizeof(err)));
		return EXIT_REFUSED;
	}
	if (!as_table)
		print_body(reply->body);
	if (!as_table && !req->svg)
		return EXIT_DONE;
	root = json_loads(reply->body, 0, NULL);
	if (!root) {
		pr_err("the VM's answer is not JSON: %.200s", reply->body);
		return EXIT_REFUSED;
	}
	if (as_table)
		req->show(root);
	/* with --json, stdout stays the JSON alone */
	if (req->svg)
		ret = write_svg(req->svg, root, as_json ? stderr : stdout);
	json_decref(root);
	return ret;
}

static const struct option ctl_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_ctl(int argc, char **argv)
{
	char default_socket[128];
	const char *socket_path = NULL;
	struct request req = { 0 };
	struct ctl_reply reply;
	bool as_json = false;
	int opt, ret;

	opterr = 0;
	/* '+': stop at COMMAND, so that raw's JSON is never taken for an option */
	while ((opt = getopt_long(argc, argv, "+h", ctl_options, NULL)) != -1) {
		if (opt == 's') {
			socket_path = optarg;
		} else if (opt == 'j') {
			as_json = true;
		} else if (opt == 'h') {
			fputs(ctl_usage, stdout);
			return EXIT_DONE;
		} else if (optopt == 's') {
			return usage_error("--socket needs a PATH");
		} else {
			return usage_error("'ctl' has no option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("which command? e.g. 'cmavm ctl status'");
	ret = build_request(argc - optind, argv + optind, &req);
	if (ret)
		return ret;
	if (!socket_path)
		socket_path = ctl_default_socket(default_socket, sizeof(default_socket));
	ret = EXIT_REFUSED;
	if (socket_path && !ctl_request(socket_path, req.method, req.path, req.json, &reply)) {
		ret = show_reply(&req, &reply, as_json);
		ctl_reply_free(&reply);
	}
	free(req.json);
	return ret;
}
