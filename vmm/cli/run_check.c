// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run`'s looks at the host before anything starts: whether the VM
 * named with --name runs already, and, for --dry-run, every --disk and
 * --net as its device would open it, through the devices' own checks so
 * that the dry run says what the real run would. Nothing is created or
 * attached; every problem is told, not only the first.
 */
#include "vmm/cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/control/http_server.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"
#include "vmm/virtio/devices.h"

int run_check_name(const struct vm_config *cfg)
{
	/* the server refuses a live socket too: this words it in terms of the name */
	if (!cfg->api_socket_named || http_socket_answers(cfg->api_socket) <= 0)
		return 0;
	pr_err("a VM named %s is already running (socket %s); pick another --name, or stop it "
	       "with 'cmavm ctl --name %s shutdown'",
	       cfg->name, cfg->api_socket, cfg->name);
	return -1;
}

static int check_disk(const struct disk_config *d, unsigned int index)
{
	const struct blk_options opts = { .path = d->path,
					  .readonly = d->readonly,
					  .index = index };

	if (virtio_blk_check_image(&opts))
		return -1;
	pr_debug("%s: opens %s, as its device would", d->flag,
		 d->readonly ? "read-only" : "read-write");
	return 0;
}

static int check_net(const struct net_config *n)
{
	char err[512];

	if (net_tap_check(n->tap, err, sizeof(err))) {
		pr_err("%s: %s", n->flag, err);
		return -1;
	}
	pr_debug("%s: a tap this user may attach to", n->flag);
	return 0;
}

unsigned int run_check_inputs(const struct vm_config *cfg)
{
	unsigned int problems = 0;

	for (size_t i = 0; i < cfg->nr_disks; i++)
		problems += check_disk(&cfg->disks[i], (unsigned int)i) ? 1 : 0;
	for (size_t i = 0; i < cfg->nr_nets; i++)
		problems += check_net(&cfg->nets[i]) ? 1 : 0;
	return problems;
}
