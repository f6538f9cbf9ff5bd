/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/cli/cmd_plan*.c: `cmavm plan`'s pieces.
 *
 * Owns: the profile and fleet files' words (cmd_plan_profile.c,
 * cmd_plan_fleet.c), where the pools go and what that makes of them
 * (cmd_plan.c), the plan's texts: run flags, DTS, huge pages, Kubernetes
 * resources, alerting rules (cmd_plan_text.c), its two outputs
 * (cmd_plan_show.c, cmd_plan_json.c), and reading what running VMs say
 * (cmd_plan_observed.c). The arithmetic is cma/plan.h's.
 */
#ifndef VMM_CLI_CMD_PLAN_H
#define VMM_CLI_CMD_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "cma/plan.h"
#include "vmm/util/strbuf.h"

/*
 * The metrics the alerting rules and --observed read, as
 * vmm/control/metrics.c names them (docs/metrics.md): here only, so that
 * a rename is one edit.
 */
#define PLAN_METRIC_CMA_SIZE   "cmavm_guest_cma_size_bytes"
#define PLAN_METRIC_CMA_FREE   "cmavm_guest_cma_free_bytes"
#define PLAN_METRIC_CMA_PEAK   "cmavm_guest_cma_peak_used_bytes"
#define PLAN_METRIC_ALLOC_FAIL "cmavm_guest_cma_alloc_fail_total"
#define PLAN_METRIC_AGENT_UP   "cmavm_guest_agent_up"
#define PLAN_METRIC_REFUSED    "cmavm_cma_refused_discard_bytes_total"
/* The control API's answer with the guest's own figures (struct ctl_guest_cma) */
#define PLAN_GUEST_CMA_PATH "/v1/guest/cma"

#define PLAN_FILE_MAX	  (1u << 20) /* a profile or fleet file; real ones are a few KiB */
#define PLAN_SELECTOR_MAX 160
#define PLAN_SOURCE_MAX	  256

/* A profile as read, with what the texts need besides the arithmetic. */
struct plan_input {
	struct plan_profile p;
	char source[PLAN_SOURCE_MAX];	  /* the file, for messages */
	char selector[PLAN_SELECTOR_MAX]; /* PromQL label matchers for the alerts; "": all */
};

/* ---- cmd_plan_profile.c ---- */

/* @root (a profile's JSON) into @in; 0, or -1 with @err naming the key and what to write. */
int plan_profile_from_json(json_t *root, struct plan_input *in, char *err, size_t errlen);
/* The same from @len bytes of text. */
int plan_profile_parse(const char *text, size_t len, struct plan_input *in, char *err,
		       size_t errlen);
/* A profile file; -1 with @err saying why (the file, or its words). */
int plan_profile_read(const char *path, struct plan_input *in, char *err, size_t errlen);

/* What the profile readers share with the fleet reader. */
/* @fmt into @err[@errlen]; returns -1. */
int plan_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int plan_json_size(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen);
int plan_json_count(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen);
int plan_json_keys(json_t *obj, const char *where, const char *const *keys, char *err,
		   size_t errlen);
int plan_host_from_json(json_t *obj, const char *where, struct plan_host *h, char *err,
			size_t errlen);
/* A file's text, NUL-terminated, malloc()ed; NULL with @err saying why. */
char *plan_file_text(const char *path, size_t *len, char *err, size_t errlen);

/* ---- cmd_plan.c ---- */

/* Size @in's pools, place them as cmavm run would, pick levels for its host. */
int plan_make(const struct plan_input *in, struct plan_result *r, char *err, size_t errlen);
/*
 * The profile at @path read and planned into @in and @r: 0, or the exit
 * status (CLI_EXIT_USAGE for a profile that does not read, CLI_EXIT_FAILED
 * for one that cannot be planned) with the error printed.
 */
int plan_file(const char *path, struct plan_input *in, struct plan_result *r);
/* @json to stdout, indented, and released; NULL (out of memory) is said on stderr. */
void plan_print_json(json_t *json);

/* ---- cmd_plan_text.c: each piece of a plan as text, appended to @sb ---- */

/* "64M", "1G", "3072K", "4097": as cmavm run's size flags read them */
const char *plan_size_flag(uint64_t bytes, char buf[static 32]);
/* "8294400 (8100 KiB)": bytes, then what people read */
const char *plan_bytes(uint64_t bytes, char buf[static 64]);
void plan_run_flags(struct strbuf *sb, const struct plan_input *in, const struct plan_result *r);
void plan_dts(struct strbuf *sb, const struct plan_result *r);
void plan_k8s(struct strbuf *sb, const struct plan_result *r, const char *indent);
void plan_alert_rules(struct strbuf *sb, const struct plan_input *in, const struct plan_result *r);
/*
 * The huge pages of @pages a VM needs free, on @node (-1: anywhere), and
 * how to set them aside where @have (the node's, NULL: unknown) falls short.
 */
void plan_hugepage_advice(struct strbuf *sb, struct plan_pages pages, int node,
			  const struct plan_pages *have, const char *indent);

/* ---- cmd_plan_show.c and cmd_plan_json.c ---- */

const char *plan_kind_name(enum plan_kind kind);
/* The devices of group @group ("every device at once" for -1), comma-separated. */
const char *plan_group_names(const struct plan_profile *p, int group, char *buf, size_t len);

void plan_show(FILE *out, const struct plan_input *in, const struct plan_result *r);
json_t *plan_to_json(const struct plan_input *in, const struct plan_result *r);

/* ---- cmd_plan_fleet.c ---- */

struct plan_fleet_class {
	struct plan_input in;
	struct plan_result r;
};

struct plan_fleet_in {
	size_t nr_hosts, nr_classes;
	struct plan_host hosts[PLAN_HOSTS_MAX];
	struct plan_fleet_class classes[PLAN_CLASSES_MAX];
	struct plan_class sized[PLAN_CLASSES_MAX]; /* @classes as cma/plan.h takes them */
};

/* A fleet file, its classes' profiles read and planned (relative to the file). */
int plan_fleet_read(const char *path, struct plan_fleet_in *f, char *err, size_t errlen);
void plan_fleet_show(FILE *out, const struct plan_fleet_in *f, const struct plan_fleet *res);
json_t *plan_fleet_json(const struct plan_fleet_in *f, const struct plan_fleet *res);

/* ---- cmd_plan_observed.c ---- */

struct plan_observed_opts {
	const char *profile; /* NULL: @largest, @page_size and @headroom_pct say it */
	uint64_t largest, page_size;
	unsigned int headroom_pct;
	bool json;
};

/* cmavm plan --observed SOURCE...: a CLI exit status. */
int plan_observed_cmd(const struct plan_observed_opts *o, char **sources, size_t n);

#define PLAN_OBSERVED_MAX 256

struct plan_seen {
	char source[PLAN_SOURCE_MAX]; /* the socket or file, and the series' labels */
	struct plan_observation obs;
};

/*
 * What @source says: a control socket (GET /v1/guest/cma) or a saved
 * metrics file (one VM per label set), appended to @seen. 0, or -1 with
 * @err saying why.
 */
int plan_observe(const char *source, struct plan_seen *seen, size_t max, size_t *n, char *err,
		 size_t errlen);
/* The same for the text of a metrics file. */
int plan_observe_metrics(const char *text, const char *source, struct plan_seen *seen, size_t max,
			 size_t *n, char *err, size_t errlen);

#endif
