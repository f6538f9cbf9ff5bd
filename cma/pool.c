// SPDX-License-Identifier: GPL-2.0-only
#include "cma/pool.h"
#include "cma/size.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* SIZE[@ADDR] */
static int parse_size_at(const char *text, struct pool_spec *out, char *err, size_t errlen)
{
	char buf[POOL_FLAG_MAX], why[160];
	char *at;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is too long", text);
		return -1;
	}
	strcpy(buf, text);
	at = strchr(buf, '@');
	if (at)
		*at++ = '\0';
	if (size_parse(buf, &out->size, why, sizeof(why))) {
		snprintf(err, errlen, "size %s", why);
		return -1;
	}
	if (at) {
		if (size_parse(at, &out->fixed_base, why, sizeof(why))) {
			snprintf(err, errlen, "address %s", why);
			return -1;
		}
		if (!out->fixed_base) {
			snprintf(err, errlen,
				 "address 0 is not in guest RAM; omit '@ADDR' to let "
				 "cmavm choose");
			return -1;
		}
	}
	return 0;
}

int pool_parse_default(const char *arg, struct pool_spec *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->flag, sizeof(out->flag), "--cma %s", arg);
	if (parse_size_at(arg, out, err, errlen))
		return -1;
	if (!out->size) {
		if (out->fixed_base) {
			snprintf(err, errlen, "a pool of size 0 cannot have an address");
			return -1;
		}
		return 1;
	}
	strcpy(out->name, POOL_DEFAULT_NAME);
	out->kind = POOL_CMA;
	out->is_default = true;
	return 0;
}

/*
 * Pool names become DT node names and, later, control API keys: keep them
 * to a portable subset of what the DT spec allows for node names.
 */
static int check_name(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (!len) {
		snprintf(err, errlen, "missing pool name; write NAME:SIZE, e.g. gpu:32M");
		return -1;
	}
	if (len >= POOL_NAME_MAX) {
		snprintf(err, errlen, "pool name '%s' is longer than %d characters", name,
			 POOL_NAME_MAX - 1);
		return -1;
	}
	if (!islower((unsigned char)name[0])) {
		snprintf(err, errlen, "pool name '%s' must start with a lower-case letter", name);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (!islower(c) && !isdigit(c) && c != '-' && c != '_') {
			snprintf(err, errlen,
				 "pool name '%s' has '%c'; use lower-case letters, digits, '-' and "
				 "'_'",
				 name, c);
			return -1;
		}
	}
	return 0;
}

int pool_parse_named(const char *arg, struct pool_spec *out, char *err, size_t errlen)
{
	char buf[POOL_FLAG_MAX];
	char *size, *kind;

	memset(out, 0, sizeof(*out));
	snprintf(out->flag, sizeof(out->flag), "--dma-pool %s", arg);
	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is too long", arg);
		return -1;
	}
	strcpy(buf, arg);
	size = strchr(buf, ':');
	if (!size) {
		snprintf(err, errlen, "'%s' has no size; write NAME:SIZE[@ADDR][:reusable|:no-map]",
			 arg);
		return -1;
	}
	*size++ = '\0';
	kind = strchr(size, ':');
	if (kind)
		*kind++ = '\0';
	if (check_name(buf, err, errlen))
		return -1;
	strcpy(out->name, buf);
	if (parse_size_at(size, out, err, errlen))
		return -1;
	if (!out->size) {
		snprintf(err, errlen, "pool '%s' has size 0; give it a size like 16M", out->name);
		return -1;
	}
	if (!kind || !strcmp(kind, "reusable")) {
		out->kind = POOL_CMA;
	} else if (!strcmp(kind, "no-map")) {
		out->kind = POOL_COHERENT;
	} else {
		snprintf(err, errlen,
			 "unknown pool kind '%s'; use 'reusable' (CMA) or 'no-map' "
			 "(coherent)",
			 kind);
		return -1;
	}
	return 0;
}

const char *pool_kind_str(const struct pool_spec *pool)
{
	if (pool->kind == POOL_COHERENT)
		return "no-map coherent DMA pool";
	return pool->is_default ? "reusable CMA pool, default" : "reusable CMA pool";
}
