// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run`: flags to a vm_config, then plan, check, and boot.
 */
#include "vmm/cli/commands.h"

#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/control/client.h"
#include "vmm/glue/vmm.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/memory_map.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#define usage_error(...) cli_usage_error("run", __VA_ARGS__)

/* Where the demo guest lives: tools/guest/build puts it in .cache/guest. */
static const char *const guest_dirs[] = { ".cache/guest", "/usr/share/cmavm/guest" };

/* A decimal count from @min to @max; false if @arg is not one. */
static bool parse_count(const char *arg, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*arg == '-' || !*arg || *end || n < min || n > max)
		return false;
	*out = (unsigned int)n;
	return true;
}

static int flag_size(const char *flag, const char *arg, uint64_t *out)
{
	char err[256];

	if (size_parse(arg, out, err, sizeof(err))) {
		pr_err("%s: %s", flag, err);
		return -1;
	}
	return 0;
}

static int flag_memory(struct vm_config *cfg, char *arg)
{
	char a[32];

	if (flag_size("--memory", arg, &cfg->memory))
		return -1;
	if (cfg->memory < 128 * SZ_1M) {
		bool bare = arg[strspn(arg, "0123456789")] == '\0';

		pr_err("--memory %s is %s; the guest needs at least 128 MiB%s%s%s", arg,
		       size_str(cfg->memory, a), bare ? " (did you mean " : "", bare ? arg : "",
		       bare ? "M?)" : "");
		return -1;
	}
	if (cfg->memory > MAX_MEMORY) {
		pr_err("--memory %s is more than cmavm supports (%s: a 48-bit guest-physical "
		       "space from 0x%llx)",
		       arg, size_str(MAX_MEMORY, a), MMAP_RAM_BASE);
		return -1;
	}
	if (!is_aligned(cfg->memory, SZ_2M)) {
		pr_err("--memory %s is not a multiple of 2 MiB; use %lluM", arg,
		       (unsigned long long)(align_up(cfg->memory, SZ_2M) >> 20));
		return -1;
	}
	return 0;
}

static int flag_cpus(struct vm_config *cfg, char *arg)
{
	if (!parse_count(arg, 1, MMAP_MAX_CPUS, &cfg->cpus)) {
		pr_err("--cpus %s: give a number from 1 to %llu", arg, MMAP_MAX_CPUS);
		return -1;
	}
	return 0;
}

/* Room for one more pool, for @flag @arg; NULL, with the error printed, when full. */
static struct pool_spec *new_pool(struct vm_config *cfg, const char *flag, const char *arg)
{
	bool has_default = cfg->nr_pools && cfg->pools[0].is_default;

	if (cfg->nr_pools < POOL_MAX)
		return &cfg->pools[cfg->nr_pools];
	if (has_default)
		pr_err("%s %s would be pool %d: cmavm takes at most %d, and the default pool "
		       "(--cma, " DEFAULT_CMA " unless given) counts among them; drop a "
		       "--dma-pool, or give --cma 0 to go without the default pool",
		       flag, arg, POOL_MAX + 1, POOL_MAX);
	else
		pr_err("%s %s would be pool %d: cmavm takes at most %d, counting the default "
		       "pool (--cma); drop a --dma-pool",
		       flag, arg, POOL_MAX + 1, POOL_MAX);
	return NULL;
}

/* --cma replaces the default pool; the last one given wins. */
static int flag_cma(struct vm_config *cfg, char *arg)
{
	struct pool_spec spec;
	char err[256];
	int ret = pool_parse_default(arg, &spec, err, sizeof(err));
	size_t i;

	if (ret < 0) {
		pr_err("--cma %s: %s", arg, err);
		return -1;
	}
	for (i = 0; i < cfg->nr_pools && !cfg->pools[i].is_default; i++)
		;
	if (i < cfg->nr_pools)
		memmove(&cfg->pools[i], &cfg->pools[i + 1],
			(--cfg->nr_pools - i) * sizeof(cfg->pools[0]));
	if (ret == 1)
		return 0;
	if (!new_pool(cfg, "--cma", arg))
		return -1;
	/* The default pool is listed first, as the guest's node order puts it. */
	memmove(&cfg->pools[1], &cfg->pools[0], cfg->nr_pools * sizeof(cfg->pools[0]));
	cfg->pools[0] = spec;
	cfg->nr_pools++;
	return 0;
}

static int flag_dma_pool(struct vm_config *cfg, char *arg)
{
	struct pool_spec *spec = new_pool(cfg, "--dma-pool", arg);
	char err[256];

	if (!spec)
		return -1;
	if (pool_parse_named(arg, spec, err, sizeof(err))) {
		pr_err("--dma-pool %s: %s", arg, err);
		return -1;
	}
	cfg->nr_pools++;
	return 0;
}

static int flag_pool_align(struct vm_config *cfg, char *arg)
{
	if (flag_size("--pool-align", arg, &cfg->pool_align))
		return -1;
	if (!is_power_of_2(cfg->pool_align) || cfg->pool_align < SZ_2M) {
		pr_err("--pool-align %s: give a power of two of at least 2M (the guest's CMA "
		       "alignment)",
		       arg);
		return -1;
	}
	return 0;
}

/* FILE[,ro][,pool=NAME] */
static int flag_disk(struct vm_config *cfg, char *arg)
{
	struct disk_config *d;
	char *opt, *save;

	if (cfg->nr_disks == MAX_DISKS) {
		pr_err("--disk %s: at most %d disks", arg, MAX_DISKS);
		return -1;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	snprintf(d->flag, sizeof(d->flag), "--disk %s", arg);
	d->path = strtok_r(arg, ",", &save);
	if (!d->path || !*d->path) {
		pr_err("--disk needs a file: --disk FILE[,ro][,pool=NAME]");
		return -1;
	}
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
			d->readonly = true;
		} else if (!strncmp(opt, "pool=", 5) && opt[5]) {
			d->pool = opt + 5;
		} else {
			pr_err("%s: unknown option '%s'; use ro or pool=NAME", d->flag, opt);
			return -1;
		}
	}
	cfg->nr_disks++;
	return 0;
}

static int flag_stats_interval(struct vm_config *cfg, char *arg)
{
	if (!parse_count(arg, 0, 3600, &cfg->stats_interval_s)) {
		pr_err("--balloon-stats %s: give seconds from 0 (off) to 3600", arg);
		return -1;
	}
	return 0;
}

static int flag_agent_interval(struct vm_config *cfg, char *arg)
{
	if (!parse_count(arg, 0, 3600, &cfg->agent_interval_s)) {
		pr_err("--agent-interval %s: give seconds from 1 to 3600, or 0 for no guest agent "
		       "port",
		       arg);
		return -1;
	}
	return 0;
}

static int flag_no_access_platform(struct vm_config *cfg, char *arg)
{
	cfg->access_platform = false;
	return 0;
}

static int flag_seccomp(struct vm_config *cfg, char *arg)
{
	if (sandbox_parse_mode(arg, &cfg->seccomp)) {
		pr_err("--seccomp %s: give on (the default), log or off", arg);
		return -1;
	}
	return 0;
}

/*
 * A file: PATH.tmp is written beside it and renamed over it, so its name
 * needs room for the suffix. node-exporter reads only *.prom: others are
 * taken with a warning (a file for another reader).
 */
static int flag_metrics_file(struct vm_config *cfg, char *arg)
{
	const char *slash = strrchr(arg, '/');
	const char *name = slash ? slash + 1 : arg;
	size_t len = strlen(name);

	if (!len || !strcmp(name, ".") || !strcmp(name, "..")) {
		pr_err("--metrics-file %s: give a file, e.g. "
		       "/var/lib/prometheus/node-exporter/cmavm.prom",
		       arg);
		return -1;
	}
	if (len + strlen(".tmp") > NAME_MAX || strlen(arg) >= PATH_MAX) {
		pr_err("--metrics-file %s: the name is too long (cmavm writes NAME.tmp beside it)",
		       arg);
		return -1;
	}
	if (len < 6 || strcmp(name + len - 5, ".prom"))
		pr_warn("--metrics-file %s: node-exporter's textfile collector reads only *.prom",
			arg);
	cfg->metrics_file = arg;
	return 0;
}

static int flag_dry_run(struct vm_config *cfg, char *arg)
{
	cfg->dry_run = true;
	return 0;
}

static int flag_name(struct vm_config *cfg, char *arg)
{
	char why[96];

	if (!ctl_name_valid(arg, why, sizeof(why))) {
		pr_err("--name '%s': the name %s; give one like --name web-1", arg, why);
		return -1;
	}
	cfg->name = arg;
	return 0;
}

/* Each after a space, whatever --cmdline comes to be: settle_cmdline() puts them together. */
static int flag_cmdline_append(struct vm_config *cfg, char *arg)
{
	if (!*arg)
		return 0;
	str_appendf(cfg->cmdline_append, sizeof(cfg->cmdline_append), " %s", arg);
	cfg->cmdline_append_len += 1 + strlen(arg);
	return 0;
}

/* At once (early_log_level() reads it first): every message after it is shown or not by it. */
static int flag_log_level(struct vm_config *cfg, char *arg)
{
	enum log_level level;

	if (!log_level_parse(arg, &level)) {
		pr_err("--log-level %s: unknown log level '%s'; levels: " LOG_LEVEL_NAMES, arg,
		       arg);
		return -1;
	}
	vmm_log_set_level(level);
	return 0;
}

/* --cmdline's (or the default) and --cmdline-append's, within what the guest reads. */
static int settle_cmdline(struct vm_config *cfg)
{
	bool bare = !*cfg->cmdline; /* --cmdline "": no space before the first */
	size_t len = strlen(cfg->cmdline) + cfg->cmdline_append_len - bare;

	if (!cfg->cmdline_append_len)
		return 0;
	if (len >= CMA_PARAM_CMDLINE_SIZE) {
		pr_err("--cmdline with --cmdline-append: the kernel command line would be %zu "
		       "bytes; an arm64 guest reads only the first %d: shorten --cmdline or "
		       "--cmdline-append",
		       len, CMA_PARAM_CMDLINE_SIZE - 1);
		return -1;
	}
	snprintf(cfg->cmdline_buf, sizeof(cfg->cmdline_buf), "%s%s", cfg->cmdline,
		 cfg->cmdline_append + bare);
	cfg->cmdline = cfg->cmdline_buf;
	return 0;
}

/* --api-socket, else $CMAVM_SOCKET, else --name's, else the default; 0, or -1 said why. */
static int settle_socket(struct vm_config *cfg)
{
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *env = getenv("CMAVM_SOCKET");
	bool from_env = env && *env;

	if (cfg->api_socket) {
		pr_debug("control socket %s (--api-socket)", cfg->api_socket);
		return 0;
	}
	cfg->api_socket_named = cfg->name && !from_env;
	cfg->api_socket = cfg->api_socket_named ? ctl_named_socket(cfg->name, path, sizeof(path))
						: ctl_default_socket(path, sizeof(path));
	if (cfg->api_socket)
		pr_debug("control socket %s (%s)", cfg->api_socket,
			 cfg->api_socket_named ? "--name's"
			 : !from_env	       ? "the default"
			 : cfg->name	       ? "$CMAVM_SOCKET, which --name does not override"
					       : "$CMAVM_SOCKET");
	return cfg->api_socket ? 0 : -1;
}

static const char *find_guest_file(const char *name, char *buf, size_t len)
{
	const char *env = getenv("CMAVM_GUEST_DIR");

	if (env) {
		snprintf(buf, len, "%s/%s", env, name);
		return access(buf, R_OK) ? NULL : buf;
	}
	for (size_t i = 0; i < sizeof(guest_dirs) / sizeof(guest_dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", guest_dirs[i], name);
		if (!access(buf, R_OK))
			return buf;
	}
	return NULL;
}

static int default_guest(struct vm_config *cfg)
{
	static char kernel[4096], initrd[4096];

	if (cfg->kernel)
		return 0;
	cfg->kernel = find_guest_file("Image", kernel, sizeof(kernel));
	if (!cfg->kernel) {
		pr_err("no --kernel given and no demo guest found in $CMAVM_GUEST_DIR, "
		       "./.cache/guest or /usr/share/cmavm/guest; pass --kernel FILE, or run "
		       "tools/guest/build to fetch the demo guest");
		return -1;
	}
	if (!cfg->initrd)
		cfg->initrd = find_guest_file("initrd.img", initrd, sizeof(initrd));
	return 0;
}

/*
 * The guest's page size, from its Image header or --guest-page-size: the
 * pageblock every pool and window is measured in. Its series is left at
 * the default: cmavm's own pools suit both (the boot plan checks them by
 * each), and reading the banner would cost every boot a scan of the Image.
 */
static int settle_guest(struct vm_config *cfg)
{
	struct kernel_image k;
	int ret;

	if (kernel_image_probe(cfg->kernel, &k))
		return -1;
	cfg->guest = GUEST_KERNEL_DEFAULT;
	ret = guest_page_size_settle(&k, "--guest-page-size", cfg->guest_page_size,
				     &cfg->guest.page_size);
	boot_file_free(&k.file);
	return ret;
}

static int flag_guest_page_size(struct vm_config *cfg, char *arg)
{
	if (guest_page_size_from_text(arg, &cfg->guest_page_size)) {
		pr_err("--guest-page-size %s: give 4K, 16K or 64K (the page size the guest "
		       "kernel was built with)",
		       arg);
		return -1;
	}
	return 0;
}

static void config_defaults(struct vm_config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof(*cfg));
	cfg->memory = DEFAULT_MEMORY;
	cfg->cpus = DEFAULT_CPUS;
	cfg->pool_align = DEFAULT_POOL_ALIGN;
	cfg->cmdline = DEFAULT_CMDLINE;
	cfg->access_platform = true;
	cfg->seccomp = SANDBOX_ON;
	cfg->stats_interval_s = DEFAULT_STATS_INTERVAL;
	cfg->agent_interval_s = DEFAULT_AGENT_INTERVAL;
	pool_parse_default(DEFAULT_CMA, &cfg->pools[0], err, sizeof(err));
	cfg->nr_pools = 1;
	vmm_log_level_from_env(); /* until --log-level says otherwise */
}

#define TEXT(field) offsetof(struct vm_config, field)

/*
 * Every flag of `cmavm run` and what becomes of its value: a flag with a
 * @parse function checks it into the config; one without is kept as it
 * is given, in the config's string at @text. getopt's table is made from
 * this one, so that each flag is named once.
 */
static const struct run_flag {
	const char *name;
	int has_arg;
	int (*parse)(struct vm_config *cfg, char *arg);
	size_t text; /* offsetof(struct vm_config, a const char *) */
} run_flags[] = {
	{ "kernel", required_argument, NULL, TEXT(kernel) },
	{ "initrd", required_argument, NULL, TEXT(initrd) },
	{ "cmdline", required_argument, NULL, TEXT(cmdline) },
	{ "cmdline-append", required_argument, flag_cmdline_append, 0 },
	{ "name", required_argument, flag_name, 0 },
	{ "memory", required_argument, flag_memory, 0 },
	{ "cpus", required_argument, flag_cpus, 0 },
	{ "cma", required_argument, flag_cma, 0 },
	{ "dma-pool", required_argument, flag_dma_pool, 0 },
	{ "window", required_argument, run_flag_window, 0 },
	{ "pool-align", required_argument, flag_pool_align, 0 },
	{ "guest-page-size", required_argument, flag_guest_page_size, 0 },
	{ "dump-dtb", required_argument, NULL, TEXT(dump_dtb) },
	{ "dry-run", no_argument, flag_dry_run, 0 },
	{ "disk", required_argument, flag_disk, 0 },
	{ "net", required_argument, run_flag_net, 0 },
	{ "no-access-platform", no_argument, flag_no_access_platform, 0 },
	{ "balloon-stats", required_argument, flag_stats_interval, 0 },
	{ "agent-interval", required_argument, flag_agent_interval, 0 },
	{ "api-socket", required_argument, NULL, TEXT(api_socket) },
	{ "metrics-file", required_argument, flag_metrics_file, 0 },
	{ "seccomp", required_argument, flag_seccomp, 0 },
	{ "log-level", required_argument, flag_log_level, 0 },
	{ "gpu", optional_argument, run_flag_gpu, 0 },
};

#undef TEXT
#define NR_RUN_FLAGS (sizeof(run_flags) / sizeof(run_flags[0]))
#define FLAG_VAL     0x100 /* what getopt_long() returns for run_flags[i]: FLAG_VAL + i */

/* getopt_long()'s table: run_flags[], then --help. */
static void run_options(struct option options[NR_RUN_FLAGS + 2])
{
	size_t i;

	for (i = 0; i < NR_RUN_FLAGS; i++)
		options[i] = (struct option){ run_flags[i].name, run_flags[i].has_arg, NULL,
					      FLAG_VAL + (int)i };
	options[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	options[i] = (struct option){ NULL, 0, NULL, 0 };
}

static int apply_flag(struct vm_config *cfg, const struct run_flag *flag, char *arg)
{
	if (flag->parse)
		return flag->parse(cfg, arg);
	*(const char **)((char *)cfg + flag->text) = arg;
	return 0;
}

/*
 * A flag whose value may be left out takes the next word too (--gpu
 * 1280x800), unless that word is a flag itself.
 */
static char *flag_value(const struct run_flag *flag, int argc, char **argv)
{
	if (optarg || flag->has_arg != optional_argument || optind >= argc ||
	    argv[optind][0] == '-')
		return optarg;
	return argv[optind++];
}

#define GO_ON (-1)

/*
 * --log-level ahead of the other flags, wherever it is on the line, so
 * that it rules their messages too; the main pass reads it again. 0, or -1
 * said why. "-": words that are not flags come as 1, in place: permuted,
 * they would no longer follow the flag whose value may be left out.
 */
static int early_log_level(struct vm_config *cfg, int argc, char **argv,
			   const struct option *options)
{
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "-:h", options, NULL)) != -1)
		if (opt >= FLAG_VAL && run_flags[opt - FLAG_VAL].parse == flag_log_level &&
		    flag_log_level(cfg, optarg))
			ret = -1;
	optind = 1;
	return ret;
}

/* The flags into @cfg; GO_ON, or the exit code. */
static int parse_run_flags(struct vm_config *cfg, int argc, char **argv)
{
	struct option options[NR_RUN_FLAGS + 2];
	const struct run_flag *flag;
	int opt;

	config_defaults(cfg);
	run_options(options);
	optind = 1;
	opterr = 0;
	if (early_log_level(cfg, argc, argv, options))
		return CLI_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h')
			return run_print_usage();
		if (opt == '?')
			return usage_error("unknown flag '%s'", argv[optind - 1]);
		if (opt == ':')
			return usage_error("this flag needs a value: '%s'", argv[optind - 1]);
		flag = &run_flags[opt - FLAG_VAL];
		if (apply_flag(cfg, flag, flag_value(flag, argc, argv)))
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (settle_cmdline(cfg))
		return CLI_EXIT_USAGE;
	return settle_socket(cfg) ? CLI_EXIT_FAILED : GO_ON;
}

/* The guest's kernel read, and the windows checked in its pageblocks; GO_ON, or the exit code. */
static int settle_kernel(struct vm_config *cfg)
{
	if (default_guest(cfg) || settle_guest(cfg))
		return CLI_EXIT_FAILED;
	return run_check_windows(cfg) ? CLI_EXIT_USAGE : GO_ON;
}

/* A dry run's end: the @problems found before the plan, or that all is well. */
static int end_dry_run(const struct vm_config *cfg, unsigned int problems)
{
	if (problems) {
		pr_err("--dry-run: %u problem%s above; a real run would stop at the first",
		       problems, problems == 1 ? "" : "s");
		return CLI_EXIT_FAILED;
	}
	pr_info("--dry-run: not starting the guest (its control socket would be %s)",
		cfg->api_socket);
	return CLI_EXIT_OK;
}

/* Plan, print and boot; with --dry-run, stop before KVM with what was found. */
static int plan_and_run(struct vm_config *cfg, unsigned int problems)
{
	struct boot_plan *plan = calloc(1, sizeof(*plan));
	int ret = CLI_EXIT_FAILED;

	if (!plan)
		return CLI_EXIT_FAILED;
	if (boot_plan_build(cfg, plan))
		goto out;
	boot_plan_print(cfg, plan);
	if (cfg->dump_dtb && boot_plan_dump_dtb(plan, cfg->dump_dtb))
		goto out;
	ret = cfg->dry_run ? end_dry_run(cfg, problems) : vmm_run(cfg, plan);
out:
	boot_plan_free(plan);
	free(plan);
	return ret;
}

/*
 * A VM of the same name stops a run at once; a dry run looks at every
 * file and tap too, and goes on to the plan whatever it found, so that
 * one run tells every problem.
 */
int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	unsigned int problems;
	int ret = parse_run_flags(&cfg, argc, argv);

	if (ret != GO_ON)
		return ret;
	problems = run_check_name(&cfg) ? 1 : 0;
	if (problems && !cfg.dry_run)
		return CLI_EXIT_FAILED;
	if (cfg.dry_run)
		problems += run_check_inputs(&cfg);
	ret = settle_kernel(&cfg);
	return ret == GO_ON ? plan_and_run(&cfg, problems) : ret;
}
