// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the host CMA engine: its pools with their bytes per
 * pageblock state, the pageblock map (on the terminal, or as SVG), the
 * windows (with how far a commit or release under way got, and what each
 * one's moves cost the guest), a release, a migration and the engine's
 * counters.
 */
#include "vmm/cli/ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cma/engine.h"
#include "vmm/cli/cli.h"
#include "vmm/control/map_render.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

/* The keys of a pool's "bytes": the engine's state names. */
#define cma_states(s) cma_state_name((enum cma_block_state)(s))

static const char *const windows_header[] = {
	"id",	  "pool",	 "range",
	"length", "offset",	 "level",
	"state",  "largest run", "pauses / stalls (longest)",
	NULL,
};

static void cma_pool_row(struct table *t, json_t *p)
{
	json_t *by_state = json_object_get(p, "bytes");
	struct cell base, size, bytes[CTL_CMA_STATES];
	unsigned int s;

	for (s = 0; s < CTL_CMA_STATES; s++)
		cell_size(&bytes[s], view_u64(by_state, cma_states(s)));
	table_row(t, view_str(p, "name"), view_str(p, "kind"), view_yes_no(p, "default"),
		  cell_addr(&base, view_u64(p, "base")), cell_size(&size, view_u64(p, "size")),
		  bytes[0].text, bytes[1].text, bytes[2].text, bytes[3].text, bytes[4].text, NULL);
}

void ctl_show_cma_pools(FILE *out, json_t *pools)
{
	const char *const header[] = {
		"pool",	       "kind",	      "default",     "base",	    "size", cma_states(0),
		cma_states(1), cma_states(2), cma_states(3), cma_states(4), NULL,
	};

	view_list(out, pools, header, cma_pool_row, "no CMA pools");
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

		out[i].name = view_str(p, "name");
		out[i].base = view_u64(p, "base");
		out[i].blocks = blocks ? blocks : "";
	}
	if (!out)
		*n = 0;
	return out;
}

void ctl_show_cma_map(FILE *out, json_t *map)
{
	unsigned int n;
	struct ctl_cma_map *pools = map_pools(map, &n);

	ctl_map_text(out, pools, n, view_u64(map, "pageblock_size"), ctl_map_want_colour(out));
	free(pools);
}

int ctl_write_svg(const char *path, json_t *map, FILE *said)
{
	unsigned int n;
	struct ctl_cma_map *pools = map_pools(map, &n);
	FILE *f = fopen(path, "w");
	int err;

	if (!f) {
		pr_err("cannot write the SVG map to %s: %s", path, strerror(errno));
		free(pools);
		return CLI_EXIT_FAILED;
	}
	err = ctl_map_svg(f, pools, n, view_u64(map, "pageblock_size"));
	free(pools);
	if (fclose(f) || err) {
		pr_err("writing the SVG map to %s failed: %s", path, strerror(errno));
		return CLI_EXIT_FAILED;
	}
	fprintf(said, "wrote %s\n", path);
	return CLI_EXIT_OK;
}

/* "0x9c000000-0x9dffffff": the window's guest-physical range, inclusive */
static const char *range_str(json_t *w, struct cell *c)
{
	uint64_t gpa = view_u64(w, "gpa"), length = view_u64(w, "length");

	cell_addr(c, gpa);
	if (!length)
		return str_appendf(c->text, sizeof(c->text), " (empty)");
	return str_appendf(c->text, sizeof(c->text), "-0x%08llx",
			   (unsigned long long)(gpa + length - 1));
}

/* The largest host-physically contiguous run, with the 2 MiB pieces if @pieces. */
static const char *run_str(json_t *w, bool pieces, struct cell *c)
{
	uint64_t run = view_u64(w, "largest_run");

	if (!run)
		return "unknown (needs root)";
	cell_size(c, run);
	if (!pieces)
		return c->text;
	return str_appendf(c->text, sizeof(c->text), " (%llu of %llu 2 MiB pieces contiguous)",
			   (unsigned long long)view_u64(w, "contiguous_2m"),
			   (unsigned long long)(view_u64(w, "length") >> 21));
}

/*
 * "2, longest 85.3 µs" (@terse: "2 (85.3 µs)", for a list): how many
 * pauses (or stalls) the window's moves took and the longest; "0"; "-"
 * from a VM that does not count them.
 */
static const char *most_str(json_t *w, const char *count, const char *longest, bool terse,
			    struct cell *c)
{
	uint64_t n = view_u64(w, count);
	struct cell ns;

	c->text[0] = '\0';
	if (!json_object_get(w, count))
		return str_appendf(c->text, sizeof(c->text), "-");
	if (!n)
		return str_appendf(c->text, sizeof(c->text), "0");
	return str_appendf(c->text, sizeof(c->text), terse ? "%llu (%s)" : "%llu, longest %s",
			   (unsigned long long)n, cell_ns(&ns, view_u64(w, longest)));
}

/* "81.23 ms, guest paused 412.3 µs": its commit (or last level change) */
static const char *commit_str(json_t *w, struct cell *c)
{
	uint64_t paused = view_u64(w, "commit_pause_ns");
	struct cell ns;

	cell_ns(c, view_u64(w, "commit_ns"));
	if (!json_object_get(w, "commit_pause_ns"))
		return c->text;
	if (!paused)
		return str_appendf(c->text, sizeof(c->text), ", no guest pause");
	return str_appendf(c->text, sizeof(c->text), ", guest paused %s", cell_ns(&ns, paused));
}

/* What the window's moves cost the guest, over its life. */
static void moves_rows(struct table *t, json_t *w)
{
	struct cell c;

	table_row(t, "commit", commit_str(w, &c), NULL);
	table_row(t, "pauses", most_str(w, "pauses", "pause_ns_max", false, &c), NULL);
	table_row(t, "writer stalls", most_str(w, "stalls", "stall_ns_max", false, &c), NULL);
	table_row(t, "migrations",
		  json_object_get(w, "migrations") ? cell_u64(&c, view_u64(w, "migrations")) : "-",
		  NULL);
}

void ctl_show_window(FILE *out, json_t *w)
{
	struct cell c, range, length, offset;
	struct table t = { 0 };
	char where[64] = "";

	str_appendf(where, sizeof(where), "%s (%s at offset %s)", range_str(w, &range),
		    cell_size(&length, view_u64(w, "length")),
		    cell_size(&offset, view_u64(w, "offset")));
	table_row(&t, "window", cell_u64(&c, view_u64(w, "id")), NULL);
	table_row(&t, "pool", view_str(w, "pool"), NULL);
	table_row(&t, "range", where, NULL);
	table_row(&t, "level", view_str(w, "level"), NULL);
	table_row(&t, "largest contiguous run", run_str(w, true, &c), NULL);
	moves_rows(&t, w);
	table_print(&t, out);
}

/* "committed", or a move under way and how far it got: "committing 37%" */
static const char *state_str(json_t *w, struct cell *c)
{
	const char *state = json_string_value(json_object_get(w, "state"));
	uint64_t done = view_u64(w, "done_bytes"), length = view_u64(w, "length");

	if (!state || !strcmp(state, "committed")) /* a VM before moves had states */
		return "committed";
	c->text[0] = '\0';
	if (!length)
		return str_appendf(c->text, sizeof(c->text), "%s", state);
	return str_appendf(c->text, sizeof(c->text), "%s %u%%", state,
			   done >= length ? 100 : (unsigned int)(done * 100.0 / length));
}

/*
 * "3 (412.3 µs) / 0": pauses and stalls in one cell, the row's last: the
 * table pads by bytes, and "µ" is two.
 */
static const char *waits_str(json_t *w, struct cell *c)
{
	struct cell stalls;

	if (!json_object_get(w, "pauses"))
		return "-";
	most_str(w, "pauses", "pause_ns_max", true, c);
	return str_appendf(c->text, sizeof(c->text), " / %s",
			   most_str(w, "stalls", "stall_ns_max", true, &stalls));
}

static void window_row(struct table *t, json_t *w)
{
	struct cell id, range, length, offset, state, run, waits;

	table_row(t, cell_u64(&id, view_u64(w, "id")), view_str(w, "pool"), range_str(w, &range),
		  cell_size(&length, view_u64(w, "length")),
		  cell_size(&offset, view_u64(w, "offset")), view_str(w, "level"),
		  state_str(w, &state), run_str(w, false, &run), waits_str(w, &waits), NULL);
}

void ctl_show_windows(FILE *out, json_t *windows)
{
	view_list(out, windows, windows_header, window_row,
		  "no windows; commit one with 'cmavm ctl window commit POOL LEVEL'");
}

void ctl_show_released(FILE *out, json_t *answer)
{
	fprintf(out, "released window %llu\n", (unsigned long long)view_u64(answer, "released"));
}

void ctl_show_migrated(FILE *out, json_t *answer)
{
	struct table t = { 0 };
	char pause[32] = "";
	struct cell gpa;

	str_appendf(pause, sizeof(pause), "%.1f µs", view_u64(answer, "pause_ns") / 1e3);
	table_row(&t, "gpa", cell_addr(&gpa, view_u64(answer, "gpa")), NULL);
	table_row(&t, "pause", pause, NULL);
	table_print(&t, out);
}

/* "5 (10 MiB)": the discards the engine refused, and their bytes */
static const char *refused_str(json_t *st, char *buf, size_t len)
{
	struct cell bytes;

	buf[0] = '\0';
	return str_appendf(buf, len, "%llu (%s)",
			   (unsigned long long)view_u64(st, "refused_discards"),
			   cell_size(&bytes, view_u64(st, "refused_discard_bytes")));
}

/* "live (userfaultfd write-protect)", or "one pause a commit: why" */
static const char *moves_str(json_t *st, char *buf, size_t len)
{
	const char *moves = json_string_value(json_object_get(st, "moves"));
	const char *why = json_string_value(json_object_get(st, "live_why"));

	if (!moves)
		return "-";
	if (!strcmp(moves, "live"))
		return "live (only writers of a moving range wait)";
	snprintf(buf, len, "one guest pause a commit (%s)", why && *why ? why : "no live moves");
	return buf;
}

/* The guest's writers that waited for a moving range (live moves). */
static void stall_rows(struct table *t, json_t *st)
{
	uint64_t stalls = view_u64(st, "stalls"), total = view_u64(st, "stall_ns_total");
	struct cell c;

	if (!json_object_get(st, "stalls"))
		return;
	table_row(t, "writer stalls", cell_u64(&c, stalls), NULL);
	table_row(t, "stall mean", stalls ? cell_ns(&c, total / stalls) : "-", NULL);
	table_row(t, "stall longest", cell_ns(&c, view_u64(st, "stall_ns_max")), NULL);
}

void ctl_show_cma_stats(FILE *out, json_t *st)
{
	uint64_t pauses = view_u64(st, "pauses"), total = view_u64(st, "pause_ns_total");
	struct table t = { 0 };
	char refused[48], moves[256];
	struct cell c;

	table_row(&t, "pageblock size", cell_size(&c, view_u64(st, "pageblock_size")), NULL);
	table_row(&t, "resident", cell_size(&c, view_u64(st, "resident_bytes")), NULL);
	table_row(&t, "commits", cell_u64(&c, view_u64(st, "commits")), NULL);
	if (json_object_get(st, "boot_commits"))
		table_row(&t, "  before boot", cell_u64(&c, view_u64(st, "boot_commits")), NULL);
	table_row(&t, "releases", cell_u64(&c, view_u64(st, "releases")), NULL);
	table_row(&t, "migrations", cell_u64(&c, view_u64(st, "migrations")), NULL);
	table_row(&t, "rollbacks", cell_u64(&c, view_u64(st, "rollbacks")), NULL);
	table_row(&t, "refused discards", refused_str(st, refused, sizeof(refused)), NULL);
	table_row(&t, "pauses", cell_u64(&c, pauses), NULL);
	table_row(&t, "pause total", cell_ns(&c, total), NULL);
	table_row(&t, "pause mean", pauses ? cell_ns(&c, total / pauses) : "-", NULL);
	table_row(&t, "pause longest", cell_ns(&c, view_u64(st, "pause_ns_max")), NULL);
	table_row(&t, "pause last", cell_ns(&c, view_u64(st, "pause_ns_last")), NULL);
	stall_rows(&t, st);
	if (json_object_get(st, "moves"))
		table_row(&t, "moves", moves_str(st, moves, sizeof(moves)), NULL);
	table_print(&t, out);
}
