// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm plan: size a VM class's DMA pools from a profile of its buffers,
 * pack a fleet, or size from what running VMs saw (docs/sizing.md). Exit
 * 0: planned; 1: the profile cannot be met (it says what to change) or a
 * source cannot be read; 2: usage error or a malformed file.
 */
#include "vmm/cli/commands.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/layout.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cmd_plan.h"
#include "vmm/machine/memory_map.h"
#include "vmm/util/log.h"

_Static_assert(PLAN_GUEST_MIN_FREE == LAYOUT_MIN_FREE_RAM,
	       "cma/plan.h must keep the guest's free RAM as the layout does");

static const char plan_usage[] =
	"Usage: cmavm plan PROFILE.json [--json | --alerts]\n"
	"       cmavm plan --fleet FLEET.json [--json]\n"
	"       cmavm plan --observed SOURCE... [--profile PROFILE.json | --largest SIZE\n"
	"                  --page-size SIZE --headroom PERCENT] [--json]\n"
	"\n"
	"Size a VM class's CMA from a profile of its buffers (displays, camera and\n"
	"codec streams, custom allocations, which run at once): each pool's size\n"
	"(the concurrent peak, one largest allocation and a percentage of the peak\n"
	"for fragmentation, rounded up to the guest's pageblock), the cmavm run\n"
	"flags, the /reserved-memory fragment, the window level the host's huge\n"
	"pages allow, the CmaTotal the guest will show, Kubernetes resources for\n"
	"a pod of one VM and Prometheus alerting rules. docs/sizing.md describes\n"
	"the profile and the rules.\n"
	"\n"
	"Options:\n"
	"  --json             the plan as JSON (every size in bytes)\n"
	"  --alerts           only the Prometheus alerting rules (YAML)\n"
	"  --fleet FILE       how many VMs of each class fit each host, first-fit\n"
	"                     decreasing\n"
	"  --observed         the arguments are sources: control sockets (GET\n"
	"                     /v1/guest/cma) or saved metrics files; recommend a size\n"
	"                     from the peak they saw and any allocation failures\n"
	"  --profile FILE     with --observed: the class's profile (largest\n"
	"                     allocation, page size, headroom, planned size)\n"
	"  --largest SIZE     with --observed: the largest allocation (default: one\n"
	"                     pageblock)\n"
	"  --page-size SIZE   with --observed: 4K, 16K or 64K (default 4K)\n"
	"  --headroom PERCENT  with --observed: default 15\n"
	"  -h, --help         show this help\n"
	"\n"
	"Sizes are bytes, or numbers with K, M, G (powers of 1024).\n"
	"\n"
	"Exit status: 0 planned, 1 the profile cannot be met or a source cannot be\n"
	"read, 2 usage error or a malformed file.\n";

#define usage_error(...) cli_usage_error("plan", __VA_ARGS__)

/* ---- one class ---- */

/* Place @r's pools as cmavm run would, for the DTS and the 1 GiB spans. */
static int place(const struct plan_input *in, struct plan_result *r, char *err, size_t errlen)
{
	struct pool_spec specs[PLAN_POOLS_MAX];
	uint64_t bases[PLAN_POOLS_MAX];
	struct layout_request req = {
		.ram_base = MMAP_RAM_BASE,
		.ram_size = in->p.ram,
		.image_size = PLAN_BOOT_IMAGE,
		.initrd_size = PLAN_BOOT_INITRD,
		.pool_align = r->pool_align,
		.pools = specs,
		.nr_pools = r->nr_pools,
	};
	struct layout l;
	char why[400];

	memset(specs, 0, sizeof(specs));
	for (size_t i = 0; i < r->nr_pools; i++) {
		snprintf(specs[i].name, sizeof(specs[i].name), "%s", r->pools[i].name);
		specs[i].size = r->pools[i].size;
		specs[i].kind = r->pools[i].no_map ? POOL_COHERENT : POOL_CMA;
		specs[i].is_default = r->pools[i].is_default;
		snprintf(specs[i].flag, sizeof(specs[i].flag), "pool %s", r->pools[i].name);
	}
	if (layout_plan(&req, &l, why, sizeof(why))) {
		snprintf(err, errlen,
			 "cmavm run could not place these pools in the guest's RAM: %s", why);
		return -1;
	}
	for (size_t i = 0; i < r->nr_pools; i++)
		bases[i] = l.pools[i].r.base;
	plan_place(r, bases);
	return 0;
}

int plan_make(const struct plan_input *in, struct plan_result *r, char *err, size_t errlen)
{
	if (plan_size(&in->p, r, err, errlen) || place(in, r, err, errlen))
		return -1;
	plan_fit_host(r, in->p.has_host ? &in->p.host : NULL);
	return 0;
}

void plan_print_json(json_t *json)
{
	if (!json) {
		pr_err("out of memory");
		return;
	}
	json_dumpf(json, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(json);
}

int plan_file(const char *path, struct plan_input *in, struct plan_result *r)
{
	char err[1024];

	if (plan_profile_read(path, in, err, sizeof(err))) {
		pr_err("%s", err);
		return CLI_EXIT_USAGE;
	}
	if (plan_make(in, r, err, sizeof(err))) {
		pr_err("%s: %s", path, err);
		return CLI_EXIT_FAILED;
	}
	return 0;
}

static int plan_one(const char *path, bool json, bool alerts)
{
	static struct plan_input in;
	static struct plan_result r;
	int ret = plan_file(path, &in, &r);

	if (ret)
		return ret;
	if (alerts) {
		struct strbuf sb = STRBUF_INIT(SIZE_MAX);

		plan_alert_rules(&sb, &in, &r);
		fputs(strbuf_str(&sb), stdout);
		strbuf_release(&sb);
	} else if (json) {
		plan_print_json(plan_to_json(&in, &r));
	} else {
		plan_show(stdout, &in, &r);
	}
	return CLI_EXIT_OK;
}

/* ---- a fleet ---- */

static int plan_fleet_file(const char *path, bool json)
{
	static struct plan_fleet_in f;
	static struct plan_fleet res;
	char err[1024];
	int ret = plan_fleet_read(path, &f, err, sizeof(err));

	if (ret) {
		pr_err("%s", err);
		return ret < 0 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
	}
	plan_fleet(f.hosts, f.nr_hosts, f.sized, f.nr_classes, &res);
	if (json)
		plan_print_json(plan_fleet_json(&f, &res));
	else
		plan_fleet_show(stdout, &f, &res);
	return CLI_EXIT_OK;
}

/* ---- the options ---- */

struct plan_opts {
	bool json, alerts, observed;
	const char *fleet, *profile;
	struct plan_observed_opts obs;
};

static int size_opt(const char *flag, const char *arg, uint64_t *out)
{
	char why[160];

	if (size_parse(arg, out, why, sizeof(why)))
		return usage_error("%s %s: %s", flag, arg, why);
	return 0;
}

static int headroom_opt(const char *arg, struct plan_opts *o)
{
	char *end;
	unsigned long pct = strtoul(arg, &end, 10);

	if (!*arg || *end || pct > 400)
		return usage_error("--headroom %s: give a whole percentage from 0 to 400", arg);
	o->obs.headroom_pct = (unsigned int)pct;
	return 0;
}

static int one_opt(int opt, struct plan_opts *o)
{
	switch (opt) {
	case 'j':
		o->json = true;
		return 0;
	case 'a':
		o->alerts = true;
		return 0;
	case 'f':
		o->fleet = optarg;
		return 0;
	case 'o':
		o->observed = true;
		return 0;
	case 'p':
		o->profile = optarg;
		return 0;
	case 'l':
		return size_opt("--largest", optarg, &o->obs.largest);
	case 's':
		return size_opt("--page-size", optarg, &o->obs.page_size);
	case 'r':
		return headroom_opt(optarg, o);
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct plan_opts *o)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "alerts", no_argument, NULL, 'a' },
		{ "fleet", required_argument, NULL, 'f' },
		{ "observed", no_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, 'p' },
		{ "largest", required_argument, NULL, 'l' },
		{ "page-size", required_argument, NULL, 's' },
		{ "headroom", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0; /* glibc: start afresh, whatever parsed argv before */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(plan_usage, stdout);
			return 1;
		}
		if (opt == ':' || opt == '?') {
			usage_error(opt == ':' ? "%s needs a value" : "'plan' has no option '%s'",
				    argv[optind - 1]);
			return -1;
		}
		if (one_opt(opt, o))
			return -1;
	}
	return 0;
}

/* Options that belong to another mode than the one asked for. */
static int check_modes(const struct plan_opts *o, int sources)
{
	bool obs_opts = o->profile || o->obs.largest || o->obs.page_size ||
			o->obs.headroom_pct != PLAN_HEADROOM_PCT;

	if (o->fleet && o->observed)
		return usage_error("--fleet and --observed are two different plans; give one");
	if (o->alerts && (o->json || o->fleet || o->observed))
		return usage_error("--alerts prints one profile's rules; drop --json, --fleet, "
				   "--observed");
	if (obs_opts && !o->observed)
		return usage_error("--profile, --largest, --page-size and --headroom go with "
				   "--observed");
	if (o->observed && o->profile && (o->obs.largest || o->obs.page_size))
		return usage_error("with --profile, the profile says the largest allocation and "
				   "page size; drop --largest and --page-size");
	if (o->observed)
		return sources ? 0 : usage_error("--observed needs at least one source");
	if (o->fleet)
		return sources ? usage_error("--fleet takes no profile; classes name theirs") : 0;
	if (sources != 1)
		return usage_error(sources ? "'plan' takes one profile (or --fleet FILE)"
					   : "'plan' needs a profile (or --fleet or --observed)");
	return 0;
}

int cmd_plan(int argc, char **argv)
{
	struct plan_opts o = { .obs.headroom_pct = PLAN_HEADROOM_PCT };
	int ret = parse_opts(argc, argv, &o);

	if (ret)
		return ret > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (argc > 1 && cli_is_help(argv[1])) {
		fputs(plan_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (check_modes(&o, argc - optind))
		return CLI_EXIT_USAGE;
	if (o.observed) {
		o.obs.profile = o.profile;
		o.obs.json = o.json;
		return plan_observed_cmd(&o.obs, argv + optind, (size_t)(argc - optind));
	}
	if (o.fleet)
		return plan_fleet_file(o.fleet, o.json);
	return plan_one(argv[optind], o.json, o.alerts);
}
