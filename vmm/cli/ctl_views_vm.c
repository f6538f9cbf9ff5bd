// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the VM: its status (its name first, when it has one) with
 * its pools, its run state, the balloon and the guest's memory
 * statistics, the devices.
 */
#include "vmm/cli/ctl.h"

#include <stdbool.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/util/strbuf.h"

static const char *const pools_header[] = {
	"pool", "kind", "default", "base", "size", "why", NULL,
};

static const char *const devices_header[] = {
	"name",	  "type",     "mmio_base", "irq", "status", "features acked/offered",
	"queues", "counters", NULL,
};

static void pool_row(struct table *t, json_t *p)
{
	struct cell base, size;

	table_row(t, view_str(p, "name"), view_str(p, "kind"), view_yes_no(p, "default"),
		  cell_addr(&base, view_u64(p, "base")), cell_size(&size, view_u64(p, "size")),
		  view_str(p, "why"), NULL);
}

/*
 * The guest's own CMA figures (its agent's), or why there are none, and
 * what free page reporting told the host either way.
 */
static void guest_cma_rows(struct table *t, json_t *g)
{
	char line[160] = "", a[32], b[32], d[32];

	if (!g)
		return;
	if (json_is_true(json_object_get(g, "agent")))
		str_appendf(line, sizeof(line),
			    "%s free of %s, peak use %s, %llu failed allocations",
			    size_str(view_u64(g, "cma_free_bytes"), a),
			    size_str(view_u64(g, "cma_total_bytes"), b),
			    size_str(view_u64(g, "peak_used_bytes"), d),
			    (unsigned long long)view_u64(g, "alloc_fail"));
	else
		str_appendf(line, sizeof(line), "no figures: guest agent %s",
			    view_str(g, "agent_state"));
	table_row(t, "guest CMA", line, NULL);
	line[0] = '\0';
	str_appendf(line, sizeof(line), "%s of pool pageblocks (free page reporting)",
		    size_str(view_u64(g, "reported_free_bytes"), a));
	table_row(t, "reported free", line, NULL);
}

/* "16 KiB pages, 32 MiB pageblocks" (a VM older than the field: no row). */
static void guest_pages_row(struct table *t, json_t *vm)
{
	char line[96], a[32], b[32];

	if (!view_u64(vm, "guest_page_size"))
		return;
	snprintf(line, sizeof(line), "%s pages, %s pageblocks",
		 size_str(view_u64(vm, "guest_page_size"), a),
		 size_str(view_u64(vm, "pageblock_size"), b));
	table_row(t, "guest", line, NULL);
}

void ctl_show_status(FILE *out, json_t *vm)
{
	json_t *pools = json_object_get(vm, "pools");
	const char *name = json_string_value(json_object_get(vm, "name"));
	struct table t = { 0 };
	struct cell c;

	/* a VM run without --name (null), or older than the field: no row */
	if (name && *name)
		table_row(&t, "name", name, NULL);
	table_row(&t, "state", view_str(vm, "state"), NULL);
	table_row(&t, "vcpus", cell_u64(&c, view_u64(vm, "vcpus")), NULL);
	table_row(&t, "memory", cell_size(&c, view_u64(vm, "memory_bytes")), NULL);
	table_row(&t, "resident", cell_size(&c, view_u64(vm, "memory_resident_bytes")), NULL);
	guest_pages_row(&t, vm);
	table_row(&t, "uptime", cell_duration(&c, view_u64(vm, "uptime_s")), NULL);
	table_row(&t, "cmdline", view_str(vm, "cmdline"), NULL);
	guest_cma_rows(&t, json_object_get(vm, "guest_cma"));
	table_print(&t, out);
	/* the pools, if any, as a second table below */
	if (json_array_size(pools))
		fputc('\n', out);
	view_list(out, pools, pools_header, pool_row, NULL);
}

void ctl_show_state(FILE *out, json_t *answer)
{
	struct table t = { 0 };

	table_row(&t, "state", view_str(answer, "state"), NULL);
	table_print(&t, out);
}

void ctl_show_balloon(FILE *out, json_t *b)
{
	uint64_t every = view_u64(b, "stats_interval_s");
	char interval[32] = "";
	struct table t = { 0 };
	struct cell c;

	table_row(&t, "target", cell_size(&c, view_u64(b, "target_bytes")), NULL);
	table_row(&t, "actual", cell_size(&c, view_u64(b, "actual_bytes")), NULL);
	table_row(&t, "deflate_on_oom", view_yes_no(b, "deflate_on_oom"), NULL);
	table_row(&t, "free_page_reporting", view_yes_no(b, "free_page_reporting"), NULL);
	if (every)
		str_appendf(interval, sizeof(interval), "every %llu s", (unsigned long long)every);
	table_row(&t, "statistics", every ? interval : "off", NULL);
	table_print(&t, out);
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

void ctl_show_balloon_stats(FILE *out, json_t *stats)
{
	char updated[48] = "";
	struct table t = { 0 };
	const char *key;
	struct cell c;
	json_t *value;

	json_object_foreach (stats, key, value) {
		uint64_t n = view_u64_of(value);

		if (strcmp(key, "updated_s_ago"))
			table_row(&t, key, stat_is_bytes(key) ? cell_size(&c, n) : cell_u64(&c, n),
				  NULL);
	}
	str_appendf(updated, sizeof(updated), "%llu s ago",
		    (unsigned long long)view_u64(stats, "updated_s_ago"));
	table_row(&t, "updated", updated, NULL);
	table_print(&t, out);
}

/* The furthest step of virtio's device status (virtio 1.2, 2.1). */
static const char *virtio_status_str(uint64_t status)
{
	/* the latest step first: DRIVER_OK (0x04) comes after FEATURES_OK (0x08) */
	static const struct {
		uint64_t bit;
		const char *name;
	} steps[] = {
		{ 0x80, "failed" },	 { 0x40, "needs_reset" }, { 0x04, "driver_ok" },
		{ 0x08, "features_ok" }, { 0x02, "driver" },	  { 0x01, "acknowledge" },
	};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (status & steps[i].bit)
			return steps[i].name;
	return "reset";
}

/* "reads 12, bytes_read 48 KiB": counters named *bytes* are sizes; "-" for none. */
static const char *counters_str(json_t *counters, char *buf, size_t len)
{
	const char *key;
	struct strbuf sb;
	struct cell c;
	json_t *value;

	buf[0] = '\0';
	strbuf_attach(&sb, buf, len);
	json_object_foreach (counters, key, value) {
		uint64_t n = view_u64_of(value);

		strbuf_addf(&sb, "%s%s %s", strbuf_len(&sb) ? ", " : "", key,
			    strstr(key, "bytes") ? cell_size(&c, n) : cell_u64(&c, n));
	}
	return strbuf_len(&sb) ? buf : "-";
}

/* "256 256": each queue's size; "-" for one not enabled, "!" after a broken one */
static const char *queues_str(json_t *queues, char *buf, size_t len)
{
	struct strbuf sb;
	size_t i;
	json_t *q;

	buf[0] = '\0';
	strbuf_attach(&sb, buf, len);
	json_array_foreach (queues, i, q) {
		if (i)
			strbuf_add(&sb, " ", 1);
		if (json_is_true(json_object_get(q, "enabled")))
			strbuf_addf(&sb, "%llu%s", (unsigned long long)view_u64(q, "size"),
				    json_is_true(json_object_get(q, "broken")) ? "!" : "");
		else
			strbuf_add(&sb, "-", 1);
	}
	return strbuf_len(&sb) ? buf : "-";
}

static void device_row(struct table *t, json_t *d)
{
	char status[48] = "", features[64] = "", queues[96], counters[512];
	uint64_t st = view_u64(d, "status");
	struct cell mmio, irq;

	str_appendf(status, sizeof(status), "0x%llx %s", (unsigned long long)st,
		    virtio_status_str(st));
	str_appendf(features, sizeof(features), "0x%llx/0x%llx",
		    (unsigned long long)view_u64(d, "features_acked"),
		    (unsigned long long)view_u64(d, "features_offered"));
	table_row(t, view_str(d, "name"), view_str(d, "type"),
		  cell_addr(&mmio, view_u64(d, "mmio_base")), cell_u64(&irq, view_u64(d, "irq")),
		  status, features,
		  queues_str(json_object_get(d, "queues"), queues, sizeof(queues)),
		  counters_str(json_object_get(d, "counters"), counters, sizeof(counters)), NULL);
}

void ctl_show_devices(FILE *out, json_t *devices)
{
	view_list(out, devices, devices_header, device_row, "no devices");
}
