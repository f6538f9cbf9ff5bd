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
#include <unistd.h>

#include "cma/size.h"
#include "vmm/cli/cli.h"
#include "vmm/glue/vmm.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/guest.h"
#include "vmm/machine/memory_map.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"
#include "vmm/virtio/devices.h"

#define usage_error(...) cli_usage_error("run", __VA_ARGS__)

/* Where the demo guest lives: tools/guest/build puts it in .cache/guest. */
static const char *const guest_dirs[] = { ".cache/guest", "/usr/share/cmavm/guest" };

static const char run_usage[] =
	"Usage: cmavm run [OPTIONS]\n"
	"\n"
	"Boot an arm64 Linux guest on KVM with DMA pools placed by cmavm.\n"
	"\n"
	"  --kernel FILE        arm64 kernel Image (raw or gzip)      [demo guest]\n"
	"  --initrd FILE        initial ramdisk                      [demo guest's]\n"
	"  --cmdline TEXT       kernel command line      [" DEFAULT_CMDLINE "]\n"
	"  --memory SIZE        guest RAM                             [512M]\n"
	"  --cpus N             vCPUs, started by the guest via PSCI  [2]\n"
	"  --cma SIZE[@ADDR][,window=LEVEL]\n"
	"                       the default CMA pool (linux,cma-default); 0 for none [64M]\n"
	"  --dma-pool NAME:SIZE[@ADDR][:reusable|:no-map][,window=LEVEL]\n"
	"                       a named per-device pool: reusable (CMA, the default)\n"
	"                       or no-map (coherent); repeatable\n"
	"                       ,window=LEVEL: a boot window over the whole pool\n"
	"  --window POOL:LEVEL[:OFFSET:LENGTH]\n"
	"                       a boot window over part of a pool (whole guest\n"
	"                       pageblocks; without OFFSET:LENGTH the whole pool);\n"
	"                       repeatable, windows may not overlap\n"
	"  --pool-align SIZE    base alignment of pools cmavm places  [4M, and at\n"
	"                       least the guest's pageblock]\n"
	"  --guest-page-size 4K|16K|64K\n"
	"                       the guest kernel's page size, for a kernel whose Image\n"
	"                       header does not say it  [from the header, else 4K]\n"
	"  --disk FILE[,ro][,pool=NAME]\n"
	"                       a raw image as virtio-blk (the first is /dev/vda);\n"
	"                       repeatable; pool= puts memory-region on its node\n"
	"  --net tap=NAME[,mac=MAC]\n"
	"                       a virtio-net device on an existing tap (ip tuntap add\n"
	"                       dev NAME mode tap user $USER); repeatable, up to 4\n"
	"  --gpu [WIDTHxHEIGHT][,mem=SIZE][,backing=huge|contiguous|memfd]\n"
	"                       a virtio-gpu display [1024x768]; its resources live in\n"
	"                       a region of mem= bytes [4 frames] on 2 MiB huge pages,\n"
	"                       1 GiB pages (contiguous) or ordinary memory (memfd)\n"
	"  --no-access-platform do not offer VIRTIO_F_ACCESS_PLATFORM (for comparison)\n"
	"  --balloon-stats SECONDS\n"
	"                       guest memory statistics interval; 0 for none  [5]\n"
	"  --agent-interval SECONDS\n"
	"                       how often cmavm reads the guest's CMA figures through\n"
	"                       the QEMU guest agent in the guest (a virtio-console\n"
	"                       port, org.qemu.guest_agent.0); 0: no port  [5]\n"
	"  --api-socket PATH    the control socket  [$CMAVM_SOCKET or\n"
	"                       ${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock]\n"
	"  --metrics-file PATH  write the VM's Prometheus metrics to PATH every 5 s\n"
	"                       (for node-exporter's textfile collector: *.prom)\n"
	"  --seccomp on|log|off system call filters per thread  [on]; log: let\n"
	"                       forbidden calls through, logged by the host kernel\n"
	"                       (dmesg); off: none (docs/security.md)\n"
	"  --dump-dtb FILE      write the guest's device tree to FILE\n"
	"  --dry-run            plan and write the DTB, then stop before KVM\n"
	"  -h, --help           this text\n"
	"\n"
	"SIZE is a number with a unit: K, M, G, T (powers of 1024), e.g. 512M, 2G;\n"
	"addresses may be hex (0x90000000).\n"
	"A boot window is on its backing before the guest's first instruction, with no\n"
	"pause and no move; LEVEL is resident (populated and locked), huge (2 MiB huge\n"
	"pages: echo N > /proc/sys/vm/nr_hugepages) or contiguous (a 1 GiB page: boot\n"
	"the host with hugepagesz=1G hugepages=N). Once the guest runs, they are\n"
	"ordinary windows (cmavm ctl window list, window release ID).\n"
	"The guest's pageblock is 2 MiB with 4 KiB pages, 32 MiB with 16 KiB and 512 MiB\n"
	"with 64 KiB: pool sizes, bases and windows are whole pageblocks.\n"
	"Pools go where the guest kernel accepts them: aligned, inside RAM, inside one\n"
	"zone, clear of kernel, initrd and DTB. The demo guest is looked for in\n"
	"$CMAVM_GUEST_DIR, ./.cache/guest and /usr/share/cmavm/guest (tools/demo builds it).\n"
	"On a terminal, Ctrl-a x stops the VM.\n";

/* The rest of run's --help: its figures are the limits the flags are checked against. */
static const char run_usage_limits[] =
	"\n"
	"Limits:\n"
	"  --memory      128 MiB to %s, a multiple of 2 MiB\n"
	"  --cpus        1 to %llu\n"
	"  --cma, --dma-pool\n"
	"                %d pools in all, the default pool counted; names up to %d\n"
	"                characters\n"
	"  --window      %d windows in all, ,window= counted\n"
	"  --disk        %d disks\n"
	"  --net         %d network devices\n"
	"  --gpu         %d to %d pixels a side\n"
	"  --balloon-stats, --agent-interval\n"
	"                0 to 3600 seconds\n"
	"\n"
	"Environment:\n"
	"  CMAVM_SOCKET     the control socket without --api-socket\n"
	"  XDG_RUNTIME_DIR  the socket's directory without either  [/tmp]\n"
	"  CMAVM_GUEST_DIR  where the demo guest is looked for first\n"
	"  CMAVM_TEST_RAW_POOLS  for cmavm's own tests only\n"
	"  CMAVM_SECCOMP_PROBE   for cmavm's own tests only\n"
	"\n"
	"Exit status: 0 the guest ran and stopped (or --dry-run planned), 1 cmavm or the\n"
	"VM failed (a pool that does not fit, KVM, a device), 2 usage error.\n";

static int print_run_usage(void)
{
	char max_memory[32];

	fputs(run_usage, stdout);
	printf(run_usage_limits, size_str(MAX_MEMORY, max_memory), MMAP_MAX_CPUS, POOL_MAX,
	       POOL_NAME_MAX - 1, CMA_MAX_WINDOWS, MAX_DISKS, MAX_NETS, GPU_MIN_DIM, GPU_MAX_DIM);
	return CLI_EXIT_OK;
}

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
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h')
			return print_run_usage();
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
	if (default_guest(cfg) || settle_guest(cfg))
		return CLI_EXIT_FAILED;
	return run_check_windows(cfg) ? CLI_EXIT_USAGE : GO_ON;
}

int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct boot_plan *plan;
	int ret = parse_run_flags(&cfg, argc, argv);

	if (ret != GO_ON)
		return ret;
	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return CLI_EXIT_FAILED;
	ret = CLI_EXIT_FAILED;
	if (boot_plan_build(&cfg, plan))
		goto out;
	boot_plan_print(&cfg, plan);
	if (cfg.dump_dtb && boot_plan_dump_dtb(plan, cfg.dump_dtb))
		goto out;
	if (cfg.dry_run) {
		pr_info("--dry-run: not starting the guest");
		ret = CLI_EXIT_OK;
	} else {
		ret = vmm_run(&cfg, plan);
	}
out:
	boot_plan_free(plan);
	free(plan);
	return ret;
}
