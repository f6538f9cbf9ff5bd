// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm run --net tap=NAME[,mac=MAC]`: a virtio-net device on a tap the
 * operator made. The MAC, when not given, is a locally administered one
 * derived from the tap's name, so a guest keeps its address from one run
 * to the next.
 */
#include "vmm/cli/cli.h"

#include <ctype.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/machine/config.h"
#include "vmm/util/log.h"

#define NET_FORMAT "tap=NAME[,mac=MAC], e.g. tap=tap0 or tap=tap0,mac=02:00:00:00:00:01"

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/*
 * 02:cb:xx:xx:xx:xx from an FNV-1a hash of the host's name and @name:
 * locally administered, unicast, the same on every run, and not the same
 * for two hosts' tap0 bridged onto one network.
 */
static void mac_of_name(const char *name, uint8_t mac[6])
{
	char host[256] = "";
	uint32_t h;

	gethostname(host, sizeof(host) - 1);
	h = fnv1a(fnv1a(2166136261u, host), name);
	mac[0] = 0x02;
	mac[1] = 0xcb; /* "cmavm", so that its guests stand out in a neighbour table */
	for (int i = 2; i < 6; i++, h >>= 8)
		mac[i] = (uint8_t)h;
}

static int hex_digit(char c)
{
	return isdigit((unsigned char)c)    ? c - '0'
	       : isxdigit((unsigned char)c) ? (c | 0x20) - 'a' + 10
					    : -1;
}

/* Exactly "aa:bb:cc:dd:ee:ff" (hex digits, either case); 0, or -1. */
static int mac_parse(const char *text, uint8_t mac[6])
{
	if (strlen(text) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int net_option(struct net_config *n, const char *opt)
{
	if (!strncmp(opt, "tap=", 4)) {
		if (!opt[4] || strlen(opt + 4) >= IFNAMSIZ) {
			pr_err("%s: a tap's name has 1 to %d characters", n->flag, IFNAMSIZ - 1);
			return -1;
		}
		snprintf(n->tap, sizeof(n->tap), "%s", opt + 4);
		return 0;
	}
	if (!strncmp(opt, "mac=", 4)) {
		if (mac_parse(opt + 4, n->mac)) {
			pr_err("%s: mac=%s: give six hex bytes, aa:bb:cc:dd:ee:ff", n->flag,
			       opt + 4);
			return -1;
		}
		if (n->mac[0] & 1) {
			pr_err("%s: mac=%s is a multicast address; a device needs a unicast one "
			       "(an "
			       "even first byte, e.g. 02:...)",
			       n->flag, opt + 4);
			return -1;
		}
		n->has_mac = true;
		return 0;
	}
	pr_err("%s: unknown option '%s'; write " NET_FORMAT, n->flag, opt);
	return -1;
}

int run_flag_net(struct vm_config *cfg, char *arg)
{
	struct net_config *n = &cfg->nets[cfg->nr_nets];
	char *opt, *save;

	if (cfg->nr_nets == MAX_NETS) {
		pr_err("--net %s: at most %d network devices", arg, MAX_NETS);
		return -1;
	}
	memset(n, 0, sizeof(*n));
	snprintf(n->flag, sizeof(n->flag), "--net %s", arg);
	for (opt = strtok_r(arg, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (net_option(n, opt))
			return -1;
	if (!n->tap[0]) {
		pr_err("%s: name the tap: write " NET_FORMAT, n->flag);
		return -1;
	}
	for (size_t i = 0; i < cfg->nr_nets; i++) {
		if (!strcmp(cfg->nets[i].tap, n->tap)) {
			pr_err("%s: tap %s is already %s's; one device a tap", n->flag, n->tap,
			       cfg->nets[i].flag);
			return -1;
		}
	}
	if (!n->has_mac)
		mac_of_name(n->tap, n->mac);
	cfg->nr_nets++;
	return 0;
}
