// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm plan --fleet FILE: hosts with their inventory, VM classes with a
 * profile (a file beside the fleet file, or inline) and a count. Each
 * class is planned alone (its best levels), then cma/plan.h packs them;
 * this file reads the fleet and prints what came of it.
 */
#include "vmm/cli/cmd_plan.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "vmm/cli/table.h"

static int hosts_from_json(json_t *list, struct plan_fleet_in *f, char *err, size_t errlen)
{
	char where[48];
	size_t i;
	json_t *v;

	if (!json_is_array(list) || !json_array_size(list) ||
	    json_array_size(list) > PLAN_HOSTS_MAX)
		return plan_fail(
			err, errlen,
			"hosts must be a list of 1 to %d hosts, each {\"name\": ..., \"ram\": "
			"..., \"nodes\": [...]}",
			PLAN_HOSTS_MAX);
	json_array_foreach (list, i, v) {
		snprintf(where, sizeof(where), "hosts[%zu]", i);
		if (plan_host_from_json(v, where, &f->hosts[i], err, errlen))
			return -1;
		if (!*f->hosts[i].name)
			snprintf(f->hosts[i].name, sizeof(f->hosts[i].name), "host%zu", i);
	}
	f->nr_hosts = json_array_size(list);
	return 0;
}

/* The class's profile: a path relative to the fleet file's directory, or inline. */
static int class_profile(json_t *v, const char *dir, struct plan_input *in, char *err,
			 size_t errlen)
{
	char path[PLAN_SOURCE_MAX + 64];

	if (json_is_object(v))
		return plan_profile_from_json(v, in, err, errlen);
	if (!json_is_string(v))
		return plan_fail(
			err, errlen,
			"profile must be a file name (beside the fleet file) or a profile {...}");
	if (json_string_value(v)[0] == '/')
		snprintf(path, sizeof(path), "%s", json_string_value(v));
	else
		snprintf(path, sizeof(path), "%s/%s", dir, json_string_value(v));
	return plan_profile_read(path, in, err, errlen);
}

static int class_floor(json_t *obj, struct plan_class *c, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "window");

	c->floor = CMA_RESIDENT;
	if (!v)
		return 0;
	if (!json_is_string(v) || cma_level_parse(json_string_value(v), &c->floor))
		return plan_fail(err, errlen,
				 "window is the lowest level the class accepts: resident, huge or "
				 "contiguous");
	return 0;
}

static int class_from_json(json_t *obj, size_t i, const char *dir, struct plan_fleet_in *f,
			   char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "profile", "count", "window", NULL };
	struct plan_fleet_class *fc = &f->classes[i];
	struct plan_class *c = &f->sized[i];
	char where[64], why[900];
	json_t *name = json_object_get(obj, "name");

	snprintf(where, sizeof(where), "classes[%zu]", i);
	if (plan_json_keys(obj, where, keys, err, errlen))
		return -1;
	if (!json_is_string(name) || !*json_string_value(name) ||
	    strlen(json_string_value(name)) >= sizeof(c->name))
		return plan_fail(err, errlen, "%s needs a name of 1 to %d characters", where,
				 PLAN_NAME_MAX - 1);
	snprintf(c->name, sizeof(c->name), "%s", json_string_value(name));
	if (plan_json_count(obj, "count", &c->count, why, sizeof(why)) < 0 ||
	    class_floor(obj, c, why, sizeof(why)) ||
	    class_profile(json_object_get(obj, "profile"), dir, &fc->in, why, sizeof(why)))
		return plan_fail(err, errlen, "%s '%s': %s", where, c->name, why);
	if (c->count > PLAN_FLEET_VMS_MAX)
		return plan_fail(err, errlen,
				 "%s '%s': count %llu is more than %d VMs of one class", where,
				 c->name, (unsigned long long)c->count, PLAN_FLEET_VMS_MAX);
	if (!*fc->in.source)
		snprintf(fc->in.source, sizeof(fc->in.source), "%s", where);
	/* The fleet's hosts decide the levels, not a host in the class's profile. */
	fc->in.p.has_host = false;
	if (plan_make(&fc->in, &fc->r, why, sizeof(why))) {
		plan_fail(err, errlen, "%s '%s': %s", where, c->name, why);
		return 1; /* the class cannot be met, though the words are right */
	}
	c->r = &fc->r;
	return 0;
}

static int classes_from_json(json_t *list, const char *dir, struct plan_fleet_in *f, char *err,
			     size_t errlen)
{
	size_t i;
	json_t *v;
	int ret;

	if (!json_is_array(list) || !json_array_size(list) ||
	    json_array_size(list) > PLAN_CLASSES_MAX)
		return plan_fail(
			err, errlen,
			"classes must be a list of 1 to %d VM classes, each {\"name\": ..., "
			"\"profile\": ..., \"count\": N}",
			PLAN_CLASSES_MAX);
	json_array_foreach (list, i, v) {
		if (!json_is_object(v))
			return plan_fail(err, errlen, "classes[%zu] must be an object", i);
		ret = class_from_json(v, i, dir, f, err, errlen);
		if (ret)
			return ret;
	}
	f->nr_classes = json_array_size(list);
	return 0;
}

/* 0; -1: the file or its words are wrong; 1: a class cannot be planned. */
static int fleet_from_json(json_t *root, const char *dir, struct plan_fleet_in *f, char *err,
			   size_t errlen)
{
	static const char *const keys[] = { "description", "hosts", "classes", NULL };
	int ret;

	memset(f, 0, sizeof(*f));
	if (plan_json_keys(root, "the fleet", keys, err, errlen) ||
	    hosts_from_json(json_object_get(root, "hosts"), f, err, errlen))
		return -1;
	ret = classes_from_json(json_object_get(root, "classes"), dir, f, err, errlen);
	return ret;
}

int plan_fleet_read(const char *path, struct plan_fleet_in *f, char *err, size_t errlen)
{
	char why[1024], dir[PLAN_SOURCE_MAX];
	json_error_t jerr;
	json_t *root;
	size_t len;
	char *text = plan_file_text(path, &len, err, errlen);
	int ret;

	if (!text)
		return -1;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		return plan_fail(err, errlen, "%s: line %d, column %d: %s", path, jerr.line,
				 jerr.column, jerr.text);
	snprintf(dir, sizeof(dir), "%s", path);
	ret = fleet_from_json(root, dirname(dir), f, why, sizeof(why));
	json_decref(root);
	if (ret)
		plan_fail(err, errlen, "%s: %s", path, why);
	return ret;
}

/* ---- what came of it ---- */

static uint64_t placed_on(const struct plan_fleet *res, size_t h, size_t c)
{
	return res->placed[h][c][CMA_RESIDENT] + res->placed[h][c][CMA_HUGE] +
	       res->placed[h][c][CMA_CONTIGUOUS];
}

static void show_classes(FILE *out, const struct plan_fleet_in *f)
{
	struct table t = { 0 };
	struct cell c[5];

	table_row(&t, "CLASS", "VMS", "MEMORY EACH", "CMA EACH", "2 MiB PAGES", "1 GiB PAGES",
		  NULL);
	for (size_t i = 0; i < f->nr_classes; i++) {
		const struct plan_result *r = &f->classes[i].r;

		table_row(&t, f->sized[i].name, cell_u64(&c[0], f->sized[i].count),
			  plan_bytes(r->host_memory, c[1].text),
			  plan_bytes(r->cma_total, c[2].text), cell_u64(&c[3], r->best.pages_2m),
			  cell_u64(&c[4], r->best.pages_1g), NULL);
	}
	fprintf(out, "Classes (huge pages for each VM's best windows)\n");
	table_print(&t, out);
}

static void show_capacity(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	const char *cells[TABLE_COLS + 1] = { "HOST" };
	struct table t = { 0 };
	struct cell c[TABLE_COLS];
	size_t n = f->nr_classes < TABLE_COLS - 1 ? f->nr_classes : TABLE_COLS - 1;

	for (size_t i = 0; i < n; i++)
		cells[i + 1] = f->sized[i].name;
	cells[n + 1] = NULL;
	table_row_of(&t, cells);
	for (size_t h = 0; h < f->nr_hosts; h++) {
		cells[0] = f->hosts[h].name;
		for (size_t i = 0; i < n; i++)
			cells[i + 1] = cell_u64(&c[i], res->capacity[h][i]);
		table_row_of(&t, cells);
	}
	fprintf(out, "\nVMs of one class alone that fit each host\n");
	table_print(&t, out);
}

static void show_placement(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	struct table t = { 0 };
	struct cell c[6];

	table_row(&t, "HOST", "CLASS", "VMS", "CONTIGUOUS", "HUGE", "RESIDENT", NULL);
	for (size_t h = 0; h < f->nr_hosts; h++)
		for (size_t i = 0; i < f->nr_classes; i++)
			if (placed_on(res, h, i))
				table_row(&t, f->hosts[h].name, f->sized[i].name,
					  cell_u64(&c[0], placed_on(res, h, i)),
					  cell_u64(&c[1], res->placed[h][i][CMA_CONTIGUOUS]),
					  cell_u64(&c[2], res->placed[h][i][CMA_HUGE]),
					  cell_u64(&c[3], res->placed[h][i][CMA_RESIDENT]), NULL);
	fprintf(out,
		"\nPlacement, first-fit decreasing: the classes that take the most memory first, "
		"each VM on the first host with its memory and, on one NUMA node, its huge pages "
		"(counted by each VM's lowest window level)\n");
	table_print(&t, out);
}

static void show_left(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	struct table t = { 0 };
	struct cell c[4];

	table_row(&t, "HOST", "MEMORY LEFT", "NODE", "2 MiB PAGES LEFT", "1 GiB PAGES LEFT", NULL);
	for (size_t h = 0; h < f->nr_hosts; h++)
		for (unsigned int n = 0; n < (f->hosts[h].nr_nodes ? f->hosts[h].nr_nodes : 1); n++)
			table_row(&t, n ? "" : f->hosts[h].name,
				  n ? "" : plan_bytes(res->memory_left[h], c[0].text),
				  cell_u64(&c[1], n),
				  cell_u64(&c[2], res->pages_left[h][n].pages_2m),
				  cell_u64(&c[3], res->pages_left[h][n].pages_1g), NULL);
	fprintf(out, "\nLeft on each host\n");
	table_print(&t, out);
}

static void show_unplaced(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	for (size_t i = 0; i < f->nr_classes; i++)
		if (res->unplaced[i])
			fprintf(out,
				"\nNOT PLACED: %" PRIu64 " of %" PRIu64 " VMs of %s: no host has "
				"the memory (%" PRIu64 " bytes each) and, at window %s or better, "
				"the huge pages left; add hosts or huge pages, or lower the "
				"class's "
				"window\n",
				res->unplaced[i], f->sized[i].count, f->sized[i].name,
				f->classes[i].r.host_memory, cma_level_name(f->sized[i].floor));
}

void plan_fleet_show(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);

	fprintf(out, "cmavm plan --fleet: %zu host%s, %zu class%s\n\n", f->nr_hosts,
		f->nr_hosts == 1 ? "" : "s", f->nr_classes, f->nr_classes == 1 ? "" : "es");
	show_classes(out, f);
	show_capacity(out, f, res);
	show_placement(out, f, res);
	show_left(out, f, res);
	show_unplaced(out, f, res);
	fprintf(out, "\nKubernetes, a pod that runs one VM of each class (at its best windows; "
		     "a host that gives less needs fewer huge pages):\n");
	for (size_t i = 0; i < f->nr_classes; i++) {
		strbuf_reset(&sb);
		plan_k8s(&sb, &f->classes[i].r, "  ");
		fprintf(out, "%s:\n%s", f->sized[i].name, strbuf_str(&sb));
	}
	strbuf_release(&sb);
}

static json_t *host_result_json(const struct plan_fleet_in *f, const struct plan_fleet *res,
				size_t h)
{
	json_t *placed = json_object(), *nodes = json_array();

	for (size_t i = 0; i < f->nr_classes; i++)
		json_object_set_new(placed, f->sized[i].name,
				    json_pack("{s:I, s:I, s:I, s:I, s:I}", "vms",
					      (json_int_t)placed_on(res, h, i), "contiguous",
					      (json_int_t)res->placed[h][i][CMA_CONTIGUOUS], "huge",
					      (json_int_t)res->placed[h][i][CMA_HUGE], "resident",
					      (json_int_t)res->placed[h][i][CMA_RESIDENT],
					      "fit_alone", (json_int_t)res->capacity[h][i]));
	for (unsigned int n = 0; n < (f->hosts[h].nr_nodes ? f->hosts[h].nr_nodes : 1); n++)
		json_array_append_new(nodes, json_pack("{s:I, s:I}", "hugepages_2m_left",
						       (json_int_t)res->pages_left[h][n].pages_2m,
						       "hugepages_1g_left",
						       (json_int_t)res->pages_left[h][n].pages_1g));
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "name", f->hosts[h].name, "memory_for_vms",
			 (json_int_t)plan_host_memory(&f->hosts[h]), "memory_left",
			 (json_int_t)res->memory_left[h], "classes", placed, "nodes", nodes);
}

json_t *plan_fleet_json(const struct plan_fleet_in *f, const struct plan_fleet *res)
{
	json_t *hosts = json_array(), *classes = json_array();

	for (size_t h = 0; h < f->nr_hosts; h++)
		json_array_append_new(hosts, host_result_json(f, res, h));
	for (size_t i = 0; i < f->nr_classes; i++)
		json_array_append_new(classes,
				      json_pack("{s:s, s:I, s:I, s:o}", "name", f->sized[i].name,
						"count", (json_int_t)f->sized[i].count, "unplaced",
						(json_int_t)res->unplaced[i], "plan",
						plan_to_json(&f->classes[i].in, &f->classes[i].r)));
	return json_pack("{s:o, s:o}", "hosts", hosts, "classes", classes);
}
