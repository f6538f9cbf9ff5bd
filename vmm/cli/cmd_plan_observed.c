// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm plan --observed SOURCE...: what running VMs of a class saw, from
 * their control sockets (GET /v1/guest/cma, struct ctl_guest_cma) or
 * from saved metrics files (the exposition vmm/control/metrics.c writes,
 * one VM per label set), and the CMA size that calls for.
 */
#include "vmm/cli/cmd_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cma/size.h"
#include "fdt/guest_rules.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/table.h"
#include "vmm/control/client.h"
#include "vmm/util/log.h"

/* ---- a control socket ---- */

static uint64_t member(json_t *o, const char *key, bool *missing)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*missing = true;
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static int guest_cma_json(const char *source, json_t *o, struct plan_observation *obs, char *err,
			  size_t errlen)
{
	json_t *agent = json_object_get(o, "agent");
	json_t *state = json_object_get(o, "agent_state");
	bool missing = false;

	if (!json_is_true(agent))
		return plan_fail(
			err, errlen,
			"%s: no guest agent has answered (%s): the guest's CMA figures are "
			"unknown; run qemu-guest-agent in the guest",
			source, json_is_string(state) ? json_string_value(state) : "no agent");
	obs->total = member(o, "cma_total_bytes", &missing);
	obs->free = member(o, "cma_free_bytes", &missing);
	obs->peak_used = member(o, "peak_used_bytes", &missing);
	obs->alloc_fail = member(o, "alloc_fail", &missing);
	if (missing)
		return plan_fail(
			err, errlen,
			"%s: the answer to GET " PLAN_GUEST_CMA_PATH " lacks cma_total_bytes, "
			"cma_free_bytes, peak_used_bytes or alloc_fail; is cmavm older than "
			"this command?",
			source);
	return 0;
}

static int observe_socket(const char *path, struct plan_observation *obs, char *err, size_t errlen)
{
	struct ctl_reply reply = { .fd = -1 };
	char why[256];
	json_t *o;
	int ret;

	if (ctl_request(path, "GET", PLAN_GUEST_CMA_PATH, NULL, &reply))
		return plan_fail(err, errlen, "%s: the VM did not answer (see above)", path);
	if (reply.status / 100 != 2) {
		plan_fail(err, errlen, "%s: GET " PLAN_GUEST_CMA_PATH ": %s", path,
			  ctl_reply_error(&reply, why, sizeof(why)));
		ctl_reply_free(&reply);
		return -1;
	}
	o = json_loadb(reply.body, reply.body_len, 0, NULL);
	ctl_reply_free(&reply);
	if (!json_is_object(o)) {
		json_decref(o);
		return plan_fail(
			err, errlen,
			"%s: the answer to GET " PLAN_GUEST_CMA_PATH " is not a JSON object", path);
	}
	ret = guest_cma_json(path, o, obs, err, errlen);
	json_decref(o);
	return ret;
}

/* ---- a metrics file ---- */

struct series {
	char labels[PLAN_SOURCE_MAX];
	bool has_size, agent_down;
	struct plan_observation obs;
};

/* "name{labels} value": 0 with the parts cut out of @line, -1 for anything else. */
static int sample_parts(char *line, char **name, char **labels, double *value)
{
	char *p = line, *end;
	bool quoted = false;

	*name = p;
	p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
	*labels = "";
	if (*p == '{') {
		*p++ = '\0';
		*labels = p;
		for (; *p && (quoted || *p != '}'); p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = !quoted;
		}
		if (*p != '}')
			return -1;
		*p++ = '\0';
	}
	if (*p != ' ' && *p != '\t')
		return -1;
	*p++ = '\0';
	errno = 0;
	*value = strtod(p, &end);
	/* NaN fails both comparisons; a counter past 2^64 is no byte count */
	return p == end || errno || !(*value >= 0 && *value < 1.8e19) ? -1 : 0;
}

static struct series *series_for(struct series *s, size_t max, size_t *n, const char *labels)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(s[i].labels, labels))
			return &s[i];
	if (*n == max)
		return NULL;
	memset(&s[*n], 0, sizeof(s[*n]));
	snprintf(s[*n].labels, sizeof(s[*n].labels), "%s", labels);
	return &s[(*n)++];
}

static void take_sample(struct series *s, const char *name, double value)
{
	uint64_t v = (uint64_t)value;

	if (!strcmp(name, PLAN_METRIC_CMA_SIZE)) {
		s->obs.total = v;
		s->has_size = true;
	} else if (!strcmp(name, PLAN_METRIC_CMA_FREE)) {
		s->obs.free = v;
	} else if (!strcmp(name, PLAN_METRIC_CMA_PEAK)) {
		s->obs.peak_used = v;
	} else if (!strcmp(name, PLAN_METRIC_ALLOC_FAIL)) {
		s->obs.alloc_fail = v;
	} else if (!strcmp(name, PLAN_METRIC_AGENT_UP)) {
		s->agent_down = v == 0;
	}
}

static int seen_from_series(const struct series *s, size_t nr, const char *source,
			    struct plan_seen *seen, size_t max, size_t *n, char *err, size_t errlen)
{
	size_t before = *n;

	for (size_t i = 0; i < nr; i++) {
		if (!s[i].has_size)
			continue;
		if (*n == max)
			return plan_fail(err, errlen, "more than %d VMs; give fewer sources",
					 PLAN_OBSERVED_MAX);
		seen[*n].source[0] = '\0';
		str_appendf(seen[*n].source, sizeof(seen[*n].source), "%s", source);
		if (*s[i].labels)
			str_appendf(seen[*n].source, sizeof(seen[*n].source), "{%s}", s[i].labels);
		seen[(*n)++].obs = s[i].obs;
	}
	if (*n > before)
		return 0;
	return plan_fail(err, errlen,
			 "%s has no " PLAN_METRIC_CMA_SIZE
			 "%s: cmavm writes the guest's figures once "
			 "its agent answers (qemu-guest-agent in the guest)",
			 source, nr && s[0].agent_down ? " (" PLAN_METRIC_AGENT_UP " is 0)" : "");
}

int plan_observe_metrics(const char *text, const char *source, struct plan_seen *seen, size_t max,
			 size_t *n, char *err, size_t errlen)
{
	static struct series s[PLAN_OBSERVED_MAX];
	char *copy = strdup(text), *save = NULL, *name, *labels;
	size_t nr = 0;
	double value;

	if (!copy)
		return plan_fail(err, errlen, "out of memory");
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct series *one;

		if (*line == '#' || sample_parts(line, &name, &labels, &value))
			continue;
		one = series_for(s, PLAN_OBSERVED_MAX, &nr, labels);
		if (one)
			take_sample(one, name, value);
	}
	free(copy);
	return seen_from_series(s, nr, source, seen, max, n, err, errlen);
}

int plan_observe(const char *source, struct plan_seen *seen, size_t max, size_t *n, char *err,
		 size_t errlen)
{
	struct stat st;
	size_t len;
	char *text;
	int ret;

	if (stat(source, &st))
		return plan_fail(err, errlen,
				 "%s: %s; give a VM's control socket or a metrics file", source,
				 strerror(errno));
	if (S_ISSOCK(st.st_mode)) {
		if (*n == max)
			return plan_fail(err, errlen, "more than %d VMs; give fewer sources",
					 PLAN_OBSERVED_MAX);
		snprintf(seen[*n].source, sizeof(seen[*n].source), "%s", source);
		if (observe_socket(source, &seen[*n].obs, err, errlen))
			return -1;
		(*n)++;
		return 0;
	}
	text = plan_file_text(source, &len, err, errlen);
	if (!text)
		return -1;
	ret = plan_observe_metrics(text, source, seen, max, n, err, errlen);
	free(text);
	return ret;
}

/* ---- the advice ---- */

struct basis {
	uint64_t largest, granule, planned, named_cma;
	unsigned int pct;
	bool assumed_largest;
};

static int basis_from_profile(const char *path, struct basis *b)
{
	static struct plan_input in;
	static struct plan_result r;
	int ret = plan_file(path, &in, &r);

	if (ret)
		return ret;
	for (size_t i = 0; i < r.nr_pools; i++) {
		if (r.pools[i].no_map)
			continue;
		if (r.pools[i].largest > b->largest)
			b->largest = r.pools[i].largest;
		if (!r.pools[i].is_default)
			b->named_cma += r.pools[i].size;
	}
	b->granule = r.granule;
	b->pct = r.headroom_pct;
	b->planned = r.cma_total;
	return 0;
}

static int basis_from_opts(const struct plan_observed_opts *o, struct basis *b)
{
	uint64_t page = o->page_size ? o->page_size : SZ_4K;
	char a[32];

	b->granule = guest_cma_min_align(page);
	if (!b->granule)
		return cli_usage_error("plan",
				       "--page-size %s: arm64 guests have 4K, 16K or 64K "
				       "pages",
				       size_str(page, a));
	b->largest = o->largest ? o->largest : b->granule;
	b->assumed_largest = !o->largest;
	b->pct = o->headroom_pct;
	return 0;
}

static const char *verdict_name(enum plan_verdict v)
{
	return v == PLAN_GROW ? "grow" : v == PLAN_SHRINK ? "shrink" : "keep";
}

/* The default pool's flag: what the guest needs less the named CMA pools. */
static const char *cma_flag(const struct plan_advice *a, const struct basis *b, char buf[32])
{
	uint64_t size = a->size > b->named_cma + b->granule ? a->size - b->named_cma : b->granule;

	return plan_size_flag(size, buf);
}

static void show_sources(const struct plan_seen *seen, size_t n)
{
	struct table t = { 0 };
	struct cell c[4];

	table_row(&t, "SOURCE", "CMATOTAL", "CMAFREE", "PEAK USED", "ALLOC FAIL", NULL);
	for (size_t i = 0; i < n; i++)
		table_row(&t, seen[i].source, plan_bytes(seen[i].obs.total, c[0].text),
			  plan_bytes(seen[i].obs.free, c[1].text),
			  plan_bytes(seen[i].obs.peak_used, c[2].text),
			  cell_u64(&c[3], seen[i].obs.alloc_fail), NULL);
	table_print(&t, stdout);
}

static void show_advice(const struct plan_seen *seen, size_t n, const struct plan_advice *a,
			const struct basis *b)
{
	char x[64], y[64], z[64], flag[32];

	printf("cmavm plan --observed: %zu VM%s\n\n", n, n == 1 ? "" : "s");
	show_sources(seen, n);
	printf("\nPeak in use: %s; allocation failures: %" PRIu64 "\n", plan_bytes(a->peak, x),
	       a->fails);
	printf("Recommended CMA: %s: the peak, one largest allocation (%s%s) and %u%% of the "
	       "peak, rounded up to %s%s\n",
	       plan_bytes(a->size, x), plan_bytes(b->largest, y),
	       b->assumed_largest ? ", assumed: give --largest or --profile" : "", b->pct,
	       plan_bytes(b->granule, z),
	       a->fails ? "; after failures at least CmaTotal and that headroom over it" : "");
	printf("Verdict: %s (CmaTotal %s now)\n", verdict_name(a->verdict),
	       plan_bytes(a->total, x));
	if (b->planned)
		printf("The profile plans %s of CMA\n", plan_bytes(b->planned, x));
	printf("cmavm run flag: --cma %s%s\n", cma_flag(a, b, flag),
	       b->named_cma ? " (the named CMA pools as the profile plans them)" : "");
}

static json_t *advice_json(const struct plan_seen *seen, size_t n, const struct plan_advice *a,
			   const struct basis *b)
{
	json_t *list = json_array();
	char flag[32], arg[48];

	snprintf(arg, sizeof(arg), "--cma %s", cma_flag(a, b, flag));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			list, json_pack("{s:s, s:I, s:I, s:I, s:I}", "source", seen[i].source,
					"cma_total_bytes", (json_int_t)seen[i].obs.total,
					"cma_free_bytes", (json_int_t)seen[i].obs.free,
					"peak_used_bytes", (json_int_t)seen[i].obs.peak_used,
					"alloc_fail", (json_int_t)seen[i].obs.alloc_fail));
	return json_pack(
		"{s:o, s:I, s:I, s:I, s:I, s:b, s:i, s:I, s:I, s:s, s:I, s:s}", "sources", list,
		"peak_used_bytes", (json_int_t)a->peak, "alloc_fail", (json_int_t)a->fails,
		"cma_total_bytes", (json_int_t)a->total, "largest", (json_int_t)b->largest,
		"largest_assumed", b->assumed_largest, "headroom_percent", (int)b->pct, "headroom",
		(json_int_t)a->headroom, "recommended_bytes", (json_int_t)a->size, "verdict",
		verdict_name(a->verdict), "planned_bytes", (json_int_t)b->planned, "flag", arg);
}

int plan_observed_cmd(const struct plan_observed_opts *o, char **sources, size_t n)
{
	static struct plan_seen seen[PLAN_OBSERVED_MAX];
	static struct plan_observation obs[PLAN_OBSERVED_MAX];
	struct basis b = { 0 };
	struct plan_advice a;
	size_t nr = 0;
	char err[1024];
	int ret = o->profile ? basis_from_profile(o->profile, &b) : basis_from_opts(o, &b);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (plan_observe(sources[i], seen, PLAN_OBSERVED_MAX, &nr, err, sizeof(err))) {
			pr_err("%s", err);
			return CLI_EXIT_FAILED;
		}
	}
	for (size_t i = 0; i < nr; i++)
		obs[i] = seen[i].obs;
	plan_observed(obs, nr, b.largest, b.pct, b.granule, &a);
	if (o->json)
		plan_print_json(advice_json(seen, nr, &a, &b));
	else
		show_advice(seen, nr, &a, &b);
	return CLI_EXIT_OK;
}
