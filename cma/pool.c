// SPDX-License-Identifier: GPL-2.0-only
#include "cma/pool.h"
#include "cma/engine.h"
#include "cma/size.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* SIZE[@ADDR], cut at the '@' */
static int parse_size_at(char *text, struct pool_spec *out, char *err, size_t errlen)
{
	char *at = strchr(text, '@'), why[160];

	if (at)
		*at++ = '\0';
	if (size_parse(text, &out->size, why, sizeof(why))) {
		snprintf(err, errlen, "size %s", why);
		return -1;
	}
	/* every guest's pageblock is 2 MiB at least: 16 bytes was meant as 16M */
	if (!is_aligned(out->size, SZ_2M) && !text[strspn(text, "0123456789")]) {
		snprintf(err, errlen,
			 "size %s has no unit, so it is %s, not whole 2 MiB pageblocks; "
			 "did you mean %sM?",
			 text, size_str(out->size, why), text);
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

/* @arg into @buf[POOL_FLAG_MAX], to be cut into its parts. */
static int copy_flag(const char *arg, char *buf, char *err, size_t errlen)
{
	if (strlen(arg) >= POOL_FLAG_MAX) {
		snprintf(err, errlen, "'%s' is too long", arg);
		return -1;
	}
	strcpy(buf, arg);
	return 0;
}

/*
 * ",window=LEVEL" after the rest of a pool's flag, the one option a pool
 * takes: @buf is cut at the first comma.
 */
static int parse_options(char *buf, struct pool_spec *out, char *err, size_t errlen)
{
	char *opt = strchr(buf, ','), *next;
	enum cma_level level;

	if (opt)
		*opt++ = '\0';
	for (; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (strncmp(opt, "window=", 7)) {
			snprintf(
				err, errlen,
				"unknown option '%s'; a pool takes window=LEVEL (resident, huge or "
				"contiguous)",
				opt);
			return -1;
		}
		if (out->window) {
			snprintf(err, errlen, "window= is given twice; give one level");
			return -1;
		}
		if (strchr(opt, ':')) {
			snprintf(err, errlen,
				 "',%s': the option comes last, after the pool's kind (e.g. "
				 "gpu:16M:no-map,window=huge)",
				 opt);
			return -1;
		}
		if (cma_level_parse(opt + 7, &level)) {
			snprintf(err, errlen,
				 "unknown window level '%s'; use resident, huge or contiguous",
				 opt + 7);
			return -1;
		}
		out->window = true;
		out->window_level = (int)level;
	}
	return 0;
}

int pool_parse_default(const char *arg, struct pool_spec *out, char *err, size_t errlen)
{
	char buf[POOL_FLAG_MAX];

	memset(out, 0, sizeof(*out));
	snprintf(out->flag, sizeof(out->flag), "--cma %s", arg);
	if (copy_flag(arg, buf, err, errlen) || parse_options(buf, out, err, errlen) ||
	    parse_size_at(buf, out, err, errlen))
		return -1;
	if (!out->size) {
		if (out->fixed_base) {
			snprintf(err, errlen, "a pool of size 0 cannot have an address");
			return -1;
		}
		if (out->window) {
			snprintf(err, errlen,
				 "a pool of size 0 has no memory for a window; give --cma a size, "
				 "or drop ,window=");
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
	if (copy_flag(arg, buf, err, errlen) || parse_options(buf, out, err, errlen))
		return -1;
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
