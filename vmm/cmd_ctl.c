// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm ctl`: talk to a running VM through its API socket. Each command
 * is one request; the answer is printed as a table, or as the API's JSON
 * with --json. Exit 0: done; 1: refused or unreachable; 2: usage error.
 */
#include "commands.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "size.h"

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
	"  raw METHOD PATH [JSON]   any request; prints the answer's body\n"
	"\n"
	"Options:\n"
	"  --socket PATH  the VM's API socket [$CMAVM_SOCKET, else\n"
	"                 ${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock]\n"
	"  --json         print the API's JSON instead of a table\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status: 0 done, 1 the VM refused or cannot be reached, 2 usage error.\n";

/* ---- aligned tables ---- */

#define TABLE_ROWS 64
#define TABLE_COLS 8

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
	fmt(status, sizeof(status), "%#llx %s", (unsigned long long)st, virtio_status_str(st));
	fmt(features, sizeof(features), "%#llx/%#llx",
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

/* ---- commands ---- */

typedef void (*show_fn)(json_t *answer);

struct request {
	const char *method;
	const char *path;
	char *json; /* the body, malloc()ed, or NULL */
	show_fn show;
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
	};
	size_t i;

	if (argc >= 2 && !strcmp(argv[0], "balloon") && !strcmp(argv[1], "set"))
		return argc == 3 ? balloon_set_request(argv[2], req)
				 : usage_error("'balloon set' takes one SIZE");
	if (!strcmp(argv[0], "raw")) {
		if (argc < 3 || argc > 4)
			return usage_error("'raw' takes METHOD PATH [JSON]");
		*req = (struct request){ argv[1], argv[2], argc == 4 ? strdup(argv[3]) : NULL,
					 NULL };
		return 0;
	}
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		bool with_sub = simple[i].sub && argc == 2 && !strcmp(argv[1], simple[i].sub);

		if (strcmp(argv[0], simple[i].word) || !(with_sub || (!simple[i].sub && argc == 1)))
			continue;
		*req = (struct request){ simple[i].method, simple[i].path, NULL, simple[i].show };
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
	json_t *root;
	char err[1024];

	if (reply->status < 200 || reply->status > 299) {
		pr_err("%s", ctl_reply_error(reply, err, sizeof(err)));
		return EXIT_REFUSED;
	}
	if (as_json || !req->show) {
		print_body(reply->body);
		return EXIT_DONE;
	}
	root = json_loads(reply->body, 0, NULL);
	if (!root) {
		pr_err("the VM's answer is not JSON: %.200s", reply->body);
		return EXIT_REFUSED;
	}
	req->show(root);
	json_decref(root);
	return EXIT_DONE;
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
