// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/machine/test_pools.h"

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma/size.h"
#include "fdt/dtb_check.h"
#include "vmm/util/log.h"

#define POOL_FORMAT "NAME@ADDRESS+SIZE[:reusable][:no-map][:default]"
/* What a node name may hold (devicetree specification 2.2.1), '@' aside. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-"
#define NODE_BYTES 256 /* room a child node takes, generously */

static int pool_flag(const char *word, unsigned int *flags)
{
	static const struct {
		const char *word;
		unsigned int flag;
	} words[] = { { "reusable", DTB_F_REUSABLE },
		      { "no-map", DTB_F_NO_MAP },
		      { "default", DTB_F_CMA_DEFAULT } };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcmp(word, words[i].word)) {
			*flags |= words[i].flag;
			return 0;
		}
	}
	return -1;
}

/* One NAME@ADDRESS+SIZE[:FLAG]... (@word is cut up); 0, or -1 with @err. */
static int parse_pool(char *word, struct raw_pool *p, char *err, size_t errlen)
{
	char *at = strchr(word, '@'), *plus, *flag, *save;
	char why[128];

	memset(p, 0, sizeof(*p));
	plus = at ? strchr(at, '+') : NULL;
	if (!at || !plus || at == word) {
		snprintf(err, errlen, "'%s': write " POOL_FORMAT, word);
		return -1;
	}
	if ((size_t)(at - word) >= sizeof(p->name)) {
		snprintf(err, errlen, "'%s': a name of at most %zu characters", word,
			 sizeof(p->name) - 1);
		return -1;
	}
	memcpy(p->name, word, (size_t)(at - word));
	if (strspn(p->name, NAME_CHARS) != strlen(p->name)) {
		snprintf(err, errlen,
			 "pool '%s': a node name holds letters, digits and , . _ + - only",
			 p->name);
		return -1;
	}
	*plus++ = '\0';
	plus = strtok_r(plus, ":", &save);
	if (size_parse(at + 1, &p->base, why, sizeof(why)) ||
	    size_parse(plus ? plus : "", &p->size, why, sizeof(why))) {
		snprintf(err, errlen, "pool '%s': %s", p->name, why);
		return -1;
	}
	while ((flag = strtok_r(NULL, ":", &save))) {
		if (pool_flag(flag, &p->flags)) {
			snprintf(err, errlen,
				 "pool '%s': unknown '%s'; use reusable, no-map or default",
				 p->name, flag);
			return -1;
		}
	}
	return 0;
}

/* Pool @n against those before it: one node name (NAME@BASE) each. */
static int duplicate(const struct raw_pool *pools, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(pools[i].name, pools[n].name) && pools[i].base == pools[n].base) {
			snprintf(err, errlen, "two pools named '%s' at 0x%llx: one node each",
				 pools[n].name, (unsigned long long)pools[n].base);
			return -1;
		}
	}
	return 0;
}

int test_pools_parse(const char *text, struct raw_pool *out, char *err, size_t errlen)
{
	char *copy = strdup(text), *word, *save;
	int n = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		if (n == TEST_POOLS_MAX) {
			snprintf(err, errlen, "more than %d pools", TEST_POOLS_MAX);
			n = -1;
			break;
		}
		if (parse_pool(word, &out[n], err, errlen) || duplicate(out, n, err, errlen)) {
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	return n;
}

static int add_pool(void *fdt, int parent, const struct raw_pool *p)
{
	fdt64_t reg[2] = { cpu_to_fdt64(p->base), cpu_to_fdt64(p->size) };
	char name[sizeof(p->name) + 20];
	int node, err;

	snprintf(name, sizeof(name), "%.31s@%llx", p->name, (unsigned long long)p->base);
	node = fdt_add_subnode(fdt, parent, name);
	if (node < 0)
		return node;
	err = fdt_setprop_string(fdt, node, "compatible", "shared-dma-pool");
	err = err ?: fdt_setprop(fdt, node, "reg", reg, sizeof(reg));
	if (!err && (p->flags & DTB_F_REUSABLE))
		err = fdt_setprop_empty(fdt, node, "reusable");
	if (!err && (p->flags & DTB_F_NO_MAP))
		err = fdt_setprop_empty(fdt, node, "no-map");
	if (!err && (p->flags & DTB_F_CMA_DEFAULT))
		err = fdt_setprop_empty(fdt, node, "linux,cma-default");
	return err;
}

/* /reserved-memory as the guest wants it (cells as the root's, ranges), made if missing. */
static int reserved_memory(void *fdt)
{
	int node = fdt_path_offset(fdt, "/reserved-memory"), err;

	if (node >= 0)
		return node;
	node = fdt_add_subnode(fdt, 0, "reserved-memory");
	if (node < 0)
		return node;
	err = fdt_setprop_u32(fdt, node, "#address-cells", 2);
	err = err ?: fdt_setprop_u32(fdt, node, "#size-cells", 2);
	err = err ?: fdt_setprop_empty(fdt, node, "ranges");
	return err ? err : node;
}

/* fdt_add_subnode() puts a node first among its siblings: add the last first. */
static int write_pools(void *fdt, const struct raw_pool *pools, int n)
{
	int parent = reserved_memory(fdt), err = parent < 0 ? parent : 0;

	for (int i = n - 1; i >= 0 && !err; i--)
		err = add_pool(fdt, parent, &pools[i]);
	return err ?: fdt_pack(fdt);
}

int test_pools_add(uint8_t **dtb, size_t *size, size_t max)
{
	const char *text = getenv(TEST_POOLS_ENV);
	static struct raw_pool pools[TEST_POOLS_MAX];
	size_t room;
	uint8_t *out;
	char err[256];
	int n, ret;

	if (!text || !*text)
		return 0;
	n = test_pools_parse(text, pools, err, sizeof(err));
	if (n < 0) {
		pr_err("$%s: %s", TEST_POOLS_ENV, err);
		return -1;
	}
	room = *size + (size_t)(n + 1) * NODE_BYTES;
	out = room <= max ? malloc(room) : NULL;
	ret = out ? fdt_open_into(*dtb, out, (int)room) : -FDT_ERR_NOSPACE;
	ret = ret ?: write_pools(out, pools, n);
	if (ret) {
		pr_err("$%s: cannot add its pools to the device tree: %s", TEST_POOLS_ENV,
		       fdt_strerror(ret));
		free(out);
		return -1;
	}
	free(*dtb);
	*dtb = out;
	*size = fdt_totalsize(out);
	pr_warn("test only: $%s added %d pool%s to the device tree, unchecked; the guest's "
		"verdict on them is its own",
		TEST_POOLS_ENV, n, n == 1 ? "" : "s");
	return n;
}
