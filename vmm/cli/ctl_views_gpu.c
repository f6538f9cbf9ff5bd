// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the GPU: its memory, dma-buf export and cursor, its
 * scanouts, its resources with where their pixels live on the host (how
 * many host-physically contiguous runs, at which address); a scanout
 * after a resize; an exported buffer and how to hand it to a program.
 */
#include "vmm/cli/ctl.h"

#include <stdbool.h>
#include <string.h>

#include "vmm/util/strbuf.h"

static const char *const scanouts_header[] = {
	"scanout", "display", "mode", "shows", "part shown", "flushes", NULL,
};

static const char *const resources_header[] = {
	"resource",   "size",	       "format",	"stride",   "storage",
	"contiguity", "host-physical", "guest backing", "shown on", NULL,
};

/* "1024x768": members @w and @h of @obj */
static const char *dimensions(json_t *obj, const char *w, const char *h, struct cell *c)
{
	c->text[0] = '\0';
	return str_appendf(c->text, sizeof(c->text), "%llux%llu",
			   (unsigned long long)view_u64(obj, w),
			   (unsigned long long)view_u64(obj, h));
}

/* "resource 1", or "nothing" */
static const char *shows_str(json_t *s, struct cell *c)
{
	uint64_t id = view_u64(s, "resource_id");

	if (!id)
		return "nothing";
	c->text[0] = '\0';
	return str_appendf(c->text, sizeof(c->text), "resource %llu", (unsigned long long)id);
}

/* "1024x768 at 0,0": the part of the resource shown; "-" when nothing is */
static const char *part_str(json_t *s, struct cell *c)
{
	json_t *rect = json_object_get(s, "rect");

	if (!view_u64(s, "resource_id"))
		return "-";
	dimensions(rect, "width", "height", c);
	return str_appendf(c->text, sizeof(c->text), " at %llu,%llu",
			   (unsigned long long)view_u64(rect, "x"),
			   (unsigned long long)view_u64(rect, "y"));
}

static const char *connected_str(json_t *s)
{
	return json_is_true(json_object_get(s, "enabled")) ? "connected" : "off";
}

static void scanout_row(struct table *t, json_t *s)
{
	struct cell id, mode, shows, part, flushes;

	table_row(t, cell_u64(&id, view_u64(s, "id")), connected_str(s),
		  dimensions(s, "width", "height", &mode), shows_str(s, &shows), part_str(s, &part),
		  cell_u64(&flushes, view_u64(s, "flushes")), NULL);
}

/* "1 run", "3 runs", "largest run 2 MiB"; "unknown" where cmavm cannot see */
static const char *contiguity_str(json_t *r, struct cell *c)
{
	uint64_t runs = view_u64(r, "runs"), largest = view_u64(r, "largest_run");

	c->text[0] = '\0';
	if (json_is_true(json_object_get(r, "contiguous")) || runs == 1)
		return "1 run";
	if (runs)
		return str_appendf(c->text, sizeof(c->text), "%llu runs", (unsigned long long)runs);
	if (largest)
		return str_appendf(c->text, sizeof(c->text), "largest run %s",
				   cell_size(&(struct cell){ 0 }, largest));
	return "unknown";
}

/* "1 entry", "3 entries", "none" */
static const char *backing_str(json_t *r, struct cell *c)
{
	uint64_t n = view_u64(r, "backing_entries");

	if (!json_is_true(json_object_get(r, "backed")))
		return "none";
	c->text[0] = '\0';
	return str_appendf(c->text, sizeof(c->text), "%llu %s", (unsigned long long)n,
			   n == 1 ? "entry" : "entries");
}

/* "0, 1": the scanouts showing it; "-" for none */
static const char *shown_on_str(json_t *r, struct cell *c)
{
	json_t *ids = json_object_get(r, "scanouts"), *id;
	struct strbuf sb;
	size_t i;

	c->text[0] = '\0';
	strbuf_attach(&sb, c->text, sizeof(c->text));
	json_array_foreach (ids, i, id)
		strbuf_addf(&sb, "%s%llu", i ? ", " : "", (unsigned long long)view_u64_of(id));
	return strbuf_len(&sb) ? c->text : "-";
}

static void resource_row(struct table *t, json_t *r)
{
	struct cell id, size, stride, bytes, runs, phys, backing, shown;
	uint64_t host_phys = view_u64(r, "host_phys");

	table_row(t, cell_u64(&id, view_u64(r, "id")), dimensions(r, "width", "height", &size),
		  view_str(r, "format"), cell_u64(&stride, view_u64(r, "stride")),
		  cell_size(&bytes, view_u64(r, "bytes")), contiguity_str(r, &runs),
		  host_phys ? cell_addr(&phys, host_phys) : "unknown", backing_str(r, &backing),
		  shown_on_str(r, &shown), NULL);
}

/* Whether cmavm could not see where some resource lies on the host. */
static bool any_unknown(json_t *resources)
{
	size_t i;
	json_t *r;

	json_array_foreach (resources, i, r)
		if (!view_u64(r, "host_phys") ||
		    !strcmp(contiguity_str(r, &(struct cell){ 0 }), "unknown"))
			return true;
	return false;
}

/* "6 MiB of 64 MiB in use (huge backing, 2 MiB pages)" */
static const char *memory_str(json_t *g, char *buf, size_t len)
{
	struct cell used, region, page;

	buf[0] = '\0';
	return str_appendf(buf, len, "%s of %s in use (%s backing, %s pages)",
			   cell_size(&used, view_u64(g, "used_bytes")),
			   cell_size(&region, view_u64(g, "region_bytes")), view_str(g, "backing"),
			   cell_size(&page, view_u64(g, "page_size")));
}

/* "available: cmavm ctl gpu export -- PROGRAM", or why not */
static const char *export_str(json_t *g, char *buf, size_t len)
{
	json_t *ex = json_object_get(g, "export");

	if (json_is_true(json_object_get(ex, "available")))
		return "available: cmavm ctl gpu export -- PROGRAM";
	buf[0] = '\0';
	return str_appendf(buf, len, "unavailable: %s", view_str(ex, "why"));
}

/* "resource 2 on scanout 0 at 100,200", or "none" */
static const char *cursor_str(json_t *g, char *buf, size_t len)
{
	json_t *cur = json_object_get(g, "cursor");

	if (!json_is_object(cur))
		return "none";
	buf[0] = '\0';
	return str_appendf(buf, len, "resource %llu on scanout %llu at %llu,%llu",
			   (unsigned long long)view_u64(cur, "resource_id"),
			   (unsigned long long)view_u64(cur, "scanout"),
			   (unsigned long long)view_u64(cur, "x"),
			   (unsigned long long)view_u64(cur, "y"));
}

/* What the tables leave out: resources past the listed ones, what needs root. */
static void resource_notes(FILE *out, json_t *g)
{
	json_t *resources = json_object_get(g, "resources");
	uint64_t total = view_u64(g, "resources_total");

	if (total > json_array_size(resources))
		fprintf(out, "%llu resources in all; the first %zu are listed\n",
			(unsigned long long)total, json_array_size(resources));
	if (any_unknown(resources))
		fputs("unknown: cmavm sees where host memory lies only when it runs as root\n",
		      out);
}

void ctl_show_gpu(FILE *out, json_t *g)
{
	char memory[160], export[320], cursor[128];
	struct table t = { 0 };

	table_row(&t, "gpu", view_str(g, "name"), NULL);
	table_row(&t, "memory", memory_str(g, memory, sizeof(memory)), NULL);
	table_row(&t, "dma-buf export", export_str(g, export, sizeof(export)), NULL);
	table_row(&t, "cursor", cursor_str(g, cursor, sizeof(cursor)), NULL);
	table_print(&t, out);
	fputc('\n', out);
	view_list(out, json_object_get(g, "scanouts"), scanouts_header, scanout_row, "no scanouts");
	fputc('\n', out);
	view_list(out, json_object_get(g, "resources"), resources_header, resource_row,
		  "no resources: the guest has created none yet");
	resource_notes(out, g);
}

void ctl_show_gpu_scanout(FILE *out, json_t *s)
{
	struct cell c, shows, part;
	struct table t = { 0 };
	char display[64] = "";

	str_appendf(display, sizeof(display), "%s, %s", connected_str(s),
		    dimensions(s, "width", "height", &c));
	table_row(&t, "scanout", cell_u64(&c, view_u64(s, "id")), NULL);
	table_row(&t, "display", display, NULL);
	table_row(&t, "shows", shows_str(s, &shows), NULL);
	table_row(&t, "part shown", part_str(s, &part), NULL);
	table_print(&t, out);
}

/* "0x8a2000000, contiguous", or what is known of it */
static const char *placement_str(json_t *ex, struct cell *c)
{
	uint64_t phys = view_u64(ex, "host_phys");
	bool contiguous = json_is_true(json_object_get(ex, "contiguous"));

	if (!phys)
		return contiguous ? "unknown (needs root), contiguous" : "unknown (needs root)";
	cell_addr(c, phys);
	return str_appendf(c->text, sizeof(c->text), "%s",
			   contiguous ? ", contiguous" : ", in more than one run");
}

void ctl_show_exported(FILE *out, json_t *ex)
{
	char pixels[160] = "", buffer[96] = "";
	unsigned long long scanout = view_u64(ex, "scanout");
	struct cell c, size, offset;
	struct table t = { 0 };

	str_appendf(pixels, sizeof(pixels), "%s, stride %llu bytes, %s (DRM fourcc %s)",
		    dimensions(ex, "width", "height", &c),
		    (unsigned long long)view_u64(ex, "stride"), view_str(ex, "format"),
		    view_str(ex, "fourcc"));
	str_appendf(buffer, sizeof(buffer), "%s, first pixel at offset %s",
		    cell_size(&size, view_u64(ex, "size")),
		    cell_size(&offset, view_u64(ex, "offset")));
	table_row(&t, "scanout", cell_u64(&c, scanout), NULL);
	table_row(&t, "resource", cell_u64(&c, view_u64(ex, "resource_id")), NULL);
	table_row(&t, "pixels", pixels, NULL);
	table_row(&t, "dma-buf", buffer, NULL);
	table_row(&t, "host-physical", placement_str(ex, &c), NULL);
	table_print(&t, out);
	fprintf(out,
		"\nThe dma-buf lives only as long as a process holds it: hand it to a program\n"
		"with 'cmavm ctl gpu export --scanout %llu -- PROGRAM [ARGS...]', which runs\n"
		"PROGRAM with it as fd 3 and CMAVM_DMABUF_FD, _WIDTH, _HEIGHT, _STRIDE,\n"
		"_FORMAT, _FOURCC, _OFFSET and _SIZE in its environment, e.g.\n"
		"  cmavm ctl gpu export --scanout %llu -- cmavm-dmabuf --save scanout%llu.png\n",
		scanout, scanout, scanout);
}
