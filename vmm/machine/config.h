/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the operator asked for: `cmavm run`'s flags, parsed and checked.
 *
 * Owns: struct vm_config and the defaults of every flag. vmm/cli/cmd_run.c
 * fills it; the boot plan and the glue read it. It lives with the machine
 * because it describes the machine to build, and the machine must not
 * depend on the command line.
 */
#ifndef VMM_MACHINE_CONFIG_H
#define VMM_MACHINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cma/engine.h"
#include "cma/pool.h"
#include "cma/region.h"
#include "fdt/cma_param.h"
#include "fdt/guest_rules.h"
#include "vmm/sandbox/sandbox.h"

#define DEFAULT_MEMORY	       (512ULL << 20)
#define DEFAULT_CPUS	       2
#define DEFAULT_CMA	       "64M"	    /* as --cma takes it, so messages quote a flag */
#define DEFAULT_POOL_ALIGN     (4ULL << 20) /* suits guests older than 5.18 too */
#define DEFAULT_CMDLINE	       "console=ttyS0 quiet"
#define DEFAULT_STATS_INTERVAL 5 /* seconds between balloon statistics */
#define DEFAULT_AGENT_INTERVAL 5 /* seconds between the guest agent's CMA readings */
#define MAX_DISKS	       8
#define MAX_NETS	       4

struct disk_config {
	const char *path;
	bool readonly;
	const char *pool; /* --disk ...,pool=NAME: memory-region on its node */
	char flag[160];	  /* for messages */
};

/*
 * A window committed before the guest's first instruction: from --window,
 * or from ,window= on a pool's flag (the whole pool). Once `cmavm run` has
 * checked its flags, every one names a pool of the config and lies inside
 * it in whole pageblocks, and no two overlap.
 */
struct boot_window {
	char pool[POOL_NAME_MAX];
	enum cma_level level;
	uint64_t offset, length;       /* within the pool; length 0 until checked: the whole pool */
	char flag[POOL_FLAG_MAX + 16]; /* the flag it came from, for messages */
};

/* --net tap=NAME[,mac=MAC] */
struct net_config {
	char tap[16]; /* IFNAMSIZ: the kernel's limit on an interface's name, NUL included */
	uint8_t mac[6];
	bool has_mac;  /* given; else derived from the tap's name */
	char flag[96]; /* for messages */
};

#define DEFAULT_GPU_WIDTH  1024
#define DEFAULT_GPU_HEIGHT 768
#define GPU_FRAMES	   4 /* full-screen resources the default mem= holds */

/* --gpu [WIDTHxHEIGHT][,mem=SIZE][,backing=huge|contiguous|memfd] */
struct gpu_config {
	bool enabled;
	uint32_t width, height;
	uint64_t mem; /* the GPU memory region, in whole pages of its backing */
	enum cma_region_backing backing;
	char flag[128]; /* for messages */
};

struct vm_config {
	const char *name; /* --name: NULL for none */
	const char *kernel;
	const char *initrd; /* NULL: none */
	/*
	 * The guest's command line: --cmdline's (or the default), then each
	 * --cmdline-append's after a space, in @cmdline_buf once the flags
	 * are read.
	 */
	const char *cmdline;
	/*
	 * --cmdline-append's, each after a space: room for a whole command
	 * line and the first space, so that one cut here is one too long.
	 */
	char cmdline_append[CMA_PARAM_CMDLINE_SIZE + 1];
	size_t cmdline_append_len; /* their whole length, cut or not */
	char cmdline_buf[CMA_PARAM_CMDLINE_SIZE];
	const char *dump_dtb; /* NULL: don't */
	uint64_t memory;
	uint64_t pool_align;
	uint64_t guest_page_size;  /* --guest-page-size: 0 to read it from the Image */
	struct guest_kernel guest; /* settled once the kernel is read: its page size */
	unsigned int cpus;
	bool dry_run;
	bool access_platform; /* offer VIRTIO_F_ACCESS_PLATFORM (default) */
	/*
	 * Where the API is served, once the flags are read: --api-socket,
	 * else $CMAVM_SOCKET, else --name's, else the default.
	 */
	const char *api_socket;
	bool api_socket_named;	   /* it is --name's: a VM of that name answers there */
	const char *metrics_file;  /* --metrics-file: NULL for none */
	enum sandbox_mode seccomp; /* --seccomp: on unless turned off for debugging */
	unsigned int stats_interval_s;
	unsigned int agent_interval_s; /* --agent-interval: 0 for no guest agent port */
	size_t nr_disks;
	struct disk_config disks[MAX_DISKS];
	size_t nr_nets;
	struct net_config nets[MAX_NETS];
	size_t nr_pools;
	struct pool_spec pools[POOL_MAX];
	size_t nr_windows;
	struct boot_window windows[CMA_MAX_WINDOWS];
	struct gpu_config gpu;
};

#endif
