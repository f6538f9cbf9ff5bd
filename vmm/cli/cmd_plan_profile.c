// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM class's profile (docs/sizing.md, "The profile"): JSON words into
 * struct plan_input. Every error names the key, says what it holds and
 * what to write instead; an unknown key is an error, so that a typo does
 * not silently size a pool without the buffers it meant.
 */
#include "vmm/cli/cmd_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma/size.h"
#include "fdt/guest_rules.h"

int plan_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- what the readers share ---- */

int plan_json_keys(json_t *obj, const char *where, const char *const *keys, char *err,
		   size_t errlen)
{
	const char *key;
	json_t *v;
	char list[512] = "";

	if (!json_is_object(obj))
		return plan_fail(err, errlen, "%s must be an object ({...})", where);
	json_object_foreach (obj, key, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (keys[i])
			continue;
		for (i = 0; keys[i]; i++)
			str_appendf(list, sizeof(list), "%s%s", i ? ", " : "", keys[i]);
		return plan_fail(err, errlen, "%s: unknown key '%s'; the keys are %s", where, key,
				 list);
	}
	return 0;
}

/* 0 with @out set, 1 when @key is absent, -1 on a bad value. */
int plan_json_size(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	char why[160];

	if (!v)
		return 1;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return plan_fail(err, errlen, "%s must be a size: bytes, or a string like \"64M\"",
				 key);
	if (size_parse(json_string_value(v), out, why, sizeof(why)))
		return plan_fail(err, errlen, "%s \"%s\": %s", key, json_string_value(v), why);
	return 0;
}

/* 0 with @out set, 1 when @key is absent, -1 on a bad value. */
int plan_json_count(json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return plan_fail(err, errlen, "%s must be a whole number of at least 0, not %s",
				 key, json_is_string(v) ? "a string" : "that");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A string @key into @buf[@size]: 0, 1 when absent, -1 when not a string or too long. */
static int json_text(json_t *obj, const char *key, char *buf, size_t size, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 1;
	if (!json_is_string(v))
		return plan_fail(err, errlen, "%s must be a string", key);
	if (strlen(json_string_value(v)) >= size)
		return plan_fail(err, errlen, "%s \"%s\" is longer than %zu characters", key,
				 json_string_value(v), size - 1);
	strcpy(buf, json_string_value(v));
	return 0;
}

/* @err is "KEY ...": make it "WHERE: KEY ..." */
static int in_where(const char *where, char *err, size_t errlen)
{
	char inner[512];

	snprintf(inner, sizeof(inner), "%s", err);
	snprintf(err, errlen, "%s: %s", where, inner);
	return -1;
}

/*
 * O_NONBLOCK: opening a FIFO for reading would wait for a writer forever
 * (vmm/util/file.h says the same for the files `cmavm run` reads); it is
 * refused once open, as anything but a regular file is.
 */
char *plan_file_text(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n = 0;
	char *text;

	if (fd < 0) {
		plan_fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > PLAN_FILE_MAX) {
		close(fd);
		plan_fail(err, errlen, "'%s' is not a regular file of at most 1 MiB", path);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	for (*len = 0; text && *len < (size_t)st.st_size; *len += (size_t)n) {
		n = read(fd, text + *len, (size_t)st.st_size - *len);
		if (n <= 0)
			break;
	}
	close(fd);
	if (!text) {
		plan_fail(err, errlen, "out of memory reading '%s'", path);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* ---- the host ---- */

static int node_from_json(json_t *obj, const char *where, struct plan_pages *n, char *err,
			  size_t errlen)
{
	static const char *const keys[] = { "hugepages_2m", "hugepages_1g", NULL };

	if (plan_json_keys(obj, where, keys, err, errlen))
		return -1;
	if (plan_json_count(obj, "hugepages_2m", &n->pages_2m, err, errlen) < 0 ||
	    plan_json_count(obj, "hugepages_1g", &n->pages_1g, err, errlen) < 0)
		return in_where(where, err, errlen);
	return 0;
}

static int nodes_from_json(json_t *nodes, const char *where, struct plan_host *h, char *err,
			   size_t errlen)
{
	char at[96];
	size_t i;
	json_t *v;

	if (!json_is_array(nodes) || !json_array_size(nodes) ||
	    json_array_size(nodes) > PLAN_NODES_MAX)
		return plan_fail(err, errlen,
				 "%s.nodes must be a list of 1 to %d NUMA nodes, each "
				 "{\"hugepages_2m\": N, \"hugepages_1g\": N}",
				 where, PLAN_NODES_MAX);
	json_array_foreach (nodes, i, v) {
		snprintf(at, sizeof(at), "%s.nodes[%zu]", where, i);
		if (node_from_json(v, at, &h->nodes[i], err, errlen))
			return -1;
	}
	h->nr_nodes = (unsigned int)json_array_size(nodes);
	return 0;
}

static int host_words(json_t *obj, const char *where, struct plan_host *h, char *err, size_t errlen)
{
	static const char *const keys[] = { "name",	    "ram",	    "reserved", "nodes",
					    "hugepages_2m", "hugepages_1g", NULL };
	json_t *nodes = json_object_get(obj, "nodes");

	memset(h, 0, sizeof(*h));
	if (plan_json_keys(obj, where, keys, err, errlen))
		return -1;
	if (json_text(obj, "name", h->name, sizeof(h->name), err, errlen) < 0 ||
	    plan_json_size(obj, "reserved", &h->reserved, err, errlen) < 0)
		return in_where(where, err, errlen);
	if (plan_json_size(obj, "ram", &h->ram, err, errlen))
		return h->ram ? in_where(where, err, errlen)
			      : plan_fail(err, errlen,
					  "%s needs ram: the host's memory, like \"64G\"", where);
	if (!nodes) {
		h->nr_nodes = 1;
		if (plan_json_count(obj, "hugepages_2m", &h->nodes[0].pages_2m, err, errlen) < 0 ||
		    plan_json_count(obj, "hugepages_1g", &h->nodes[0].pages_1g, err, errlen) < 0)
			return in_where(where, err, errlen);
		return 0;
	}
	if (json_object_get(obj, "hugepages_2m") || json_object_get(obj, "hugepages_1g"))
		return plan_fail(
			err, errlen,
			"%s: give huge pages either per node (nodes) or for the host, not both",
			where);
	return nodes_from_json(nodes, where, h, err, errlen);
}

/* No host has this many huge pages: the products below stay in 64 bits. */
#define PLAN_HOST_PAGES_MAX (1ULL << 24)

static int check_host(const char *where, const struct plan_host *h, char *err, size_t errlen)
{
	for (unsigned int n = 0; n < h->nr_nodes; n++)
		if (h->nodes[n].pages_2m > PLAN_HOST_PAGES_MAX ||
		    h->nodes[n].pages_1g > PLAN_HOST_PAGES_MAX)
			return plan_fail(err, errlen, "%s: more huge pages than any host has",
					 where);
	if (h->ram > (1ULL << 50) || h->reserved > h->ram)
		return plan_fail(err, errlen,
				 "%s: ram must be at most 1 PiB, and reserved at most ram", where);
	return 0;
}

int plan_host_from_json(json_t *obj, const char *where, struct plan_host *h, char *err,
			size_t errlen)
{
	int ret = host_words(obj, where, h, err, errlen);

	return ret ? ret : check_host(where, h, err, errlen);
}

/* ---- a device ---- */

static const struct {
	const char *name;
	unsigned int bits;
} formats[] = {
	{ "nv12", 12 },	    { "nv21", 12 },	{ "yuv420", 12 },   { "i420", 12 },
	{ "yv12", 12 },	    { "nv16", 16 },	{ "yuyv", 16 },	    { "uyvy", 16 },
	{ "yuv422", 16 },   { "rgb565", 16 },	{ "p010", 24 },	    { "rgb888", 24 },
	{ "bgr888", 24 },   { "rgb24", 24 },	{ "xrgb8888", 32 }, { "argb8888", 32 },
	{ "abgr8888", 32 }, { "xbgr8888", 32 }, { "rgba", 32 },	    { "bgra", 32 },
	{ "raw8", 8 },	    { "raw10", 10 },	{ "raw12", 12 },    { "raw16", 16 },
};

static int format_bits(json_t *v, uint64_t *bits, char *err, size_t errlen)
{
	char list[400] = "";

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (json_is_string(v) && !strcasecmp(json_string_value(v), formats[i].name)) {
			*bits = formats[i].bits;
			return 0;
		}
		str_appendf(list, sizeof(list), "%s%s", i ? ", " : "", formats[i].name);
	}
	return plan_fail(err, errlen, "format must be one of %s (or give bytes_per_pixel)", list);
}

static int pixel_bits(json_t *obj, struct plan_device *d, char *err, size_t errlen)
{
	json_t *bpp = json_object_get(obj, "bytes_per_pixel");
	json_t *format = json_object_get(obj, "format");
	double eighths;

	if (bpp && format)
		return plan_fail(err, errlen, "give format or bytes_per_pixel, not both");
	if (format)
		return format_bits(format, &d->bits_per_pixel, err, errlen);
	if (!bpp)
		return 0;
	eighths = json_is_number(bpp) ? json_number_value(bpp) * 8 : -1;
	if (!(eighths >= 1 && eighths <= 1024) ||
	    eighths - (double)(uint64_t)(eighths + 0.5) > 1e-9 ||
	    (double)(uint64_t)(eighths + 0.5) - eighths > 1e-9)
		return plan_fail(
			err, errlen,
			"bytes_per_pixel must be a number of eighths from 0.125 to 128, like 4 "
			"or 1.5");
	d->bits_per_pixel = (uint64_t)(eighths + 0.5);
	return 0;
}

static const char *const frame_keys[] = {
	"name",	   "type",  "pool",	   "width",	  "height",    "format", "bytes_per_pixel",
	"buffers", "count", "buffer_size", "stream_size", "alignment", NULL
};
static const char *const custom_keys[] = { "name",  "type",	 "pool", "size",
					   "count", "alignment", NULL };

static int device_kind(json_t *obj, const char *where, struct plan_device *d, char *err,
		       size_t errlen)
{
	static const char *const kinds[] = { "display", "camera", "codec", "custom" };
	char type[16] = "";

	if (json_text(obj, "type", type, sizeof(type), err, errlen) < 0)
		return in_where(where, err, errlen);
	for (unsigned int k = 0; k < 4; k++) {
		if (!strcmp(type, kinds[k])) {
			d->kind = (enum plan_kind)k;
			return plan_json_keys(obj, where,
					      k == PLAN_CUSTOM ? custom_keys : frame_keys, err,
					      errlen);
		}
	}
	return plan_fail(err, errlen, "%s: type must be display, camera, codec or custom", where);
}

static int device_pool(json_t *obj, struct plan_device *d, char *err, size_t errlen)
{
	struct pool_spec spec;
	char flag[POOL_FLAG_MAX], why[200];

	if (json_text(obj, "pool", d->pool, sizeof(d->pool), err, errlen) ||
	    !strcmp(d->pool, POOL_DEFAULT_NAME))
		return 0;
	snprintf(flag, sizeof(flag), "%s:2M", d->pool);
	if (pool_parse_named(flag, &spec, why, sizeof(why)))
		return plan_fail(err, errlen, "pool: %s", why);
	return 0;
}

/* The sizes and counts of a device, by kind. */
static int device_numbers(json_t *obj, struct plan_device *d, char *err, size_t errlen)
{
	bool custom = d->kind == PLAN_CUSTOM;

	d->buffers = 1;
	d->streams = 1;
	if (plan_json_size(obj, custom ? "size" : "buffer_size", &d->buffer_size, err, errlen) <
		    0 ||
	    plan_json_size(obj, "alignment", &d->align, err, errlen) < 0 ||
	    plan_json_count(obj, custom ? "count" : "buffers", &d->buffers, err, errlen) < 0)
		return -1;
	if (custom)
		return d->buffer_size ? 0
				      : plan_fail(err, errlen, "a custom allocation needs a size");
	if (plan_json_count(obj, "count", &d->streams, err, errlen) < 0 ||
	    plan_json_size(obj, "stream_size", &d->stream_size, err, errlen) < 0 ||
	    plan_json_count(obj, "width", &d->width, err, errlen) < 0 ||
	    plan_json_count(obj, "height", &d->height, err, errlen) < 0 ||
	    pixel_bits(obj, d, err, errlen))
		return -1;
	if (d->stream_size && d->kind == PLAN_DISPLAY)
		return plan_fail(err, errlen, "stream_size is for camera and codec streams");
	return 0;
}

static int device_from_json(json_t *obj, size_t i, struct plan_device *d, char *err, size_t errlen)
{
	char where[64];

	snprintf(where, sizeof(where), "devices[%zu]", i);
	memset(d, 0, sizeof(*d));
	if (!json_is_object(obj))
		return plan_fail(err, errlen,
				 "%s must be an object ({\"name\": ..., \"type\": ...})", where);
	if (json_text(obj, "name", d->name, sizeof(d->name), err, errlen))
		return json_object_get(obj, "name")
			       ? in_where(where, err, errlen)
			       : plan_fail(err, errlen, "%s needs a name (groups refer to it)",
					   where);
	snprintf(where, sizeof(where), "devices[%zu] '%s'", i, d->name);
	if (device_kind(obj, where, d, err, errlen))
		return -1;
	if (device_pool(obj, d, err, errlen) || device_numbers(obj, d, err, errlen))
		return in_where(where, err, errlen);
	if (!d->buffers)
		return plan_fail(err, errlen,
				 "%s: %s is 0; a device with no buffers needs no entry", where,
				 d->kind == PLAN_CUSTOM ? "count" : "buffers");
	if (!d->streams)
		return plan_fail(err, errlen, "%s: count is 0; a device of none needs no entry",
				 where);
	return 0;
}

static int devices_from_json(json_t *list, struct plan_profile *p, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list) || json_array_size(list) > PLAN_DEVICES_MAX)
		return plan_fail(err, errlen, "devices must be a list of at most %d devices",
				 PLAN_DEVICES_MAX);
	json_array_foreach (list, i, v) {
		if (device_from_json(v, i, &p->devices[i], err, errlen))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->devices[j].name, p->devices[i].name))
				return plan_fail(
					err, errlen,
					"devices[%zu]: the name '%s' is taken by devices[%zu]; "
					"give each device its own",
					i, p->devices[i].name, j);
	}
	p->nr_devices = json_array_size(list);
	return 0;
}

/* ---- groups ---- */

static int device_bit(const struct plan_profile *p, json_t *name, const char *where, uint32_t *mask,
		      char *err, size_t errlen)
{
	char list[400] = "";

	for (size_t d = 0; d < p->nr_devices; d++) {
		if (json_is_string(name) && !strcmp(json_string_value(name), p->devices[d].name)) {
			*mask |= 1u << d;
			return 0;
		}
		str_appendf(list, sizeof(list), "%s%s", d ? ", " : "", p->devices[d].name);
	}
	if (!json_is_string(name))
		return plan_fail(err, errlen, "%s: name devices by their names (strings)", where);
	return plan_fail(err, errlen, "%s: there is no device '%s'; the devices are %s", where,
			 json_string_value(name), *list ? list : "none");
}

static int group_from_json(const struct plan_profile *p, json_t *names, const char *where,
			   uint32_t *mask, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	*mask = 0;
	if (!json_is_array(names) || !json_array_size(names))
		return plan_fail(err, errlen, "%s must be a list of device names that run at once",
				 where);
	json_array_foreach (names, i, v)
		if (device_bit(p, v, where, mask, err, errlen))
			return -1;
	return 0;
}

static int groups_from_json(json_t *root, struct plan_profile *p, char *err, size_t errlen)
{
	json_t *groups = json_object_get(root, "groups");
	json_t *concurrent = json_object_get(root, "concurrent");
	char where[32];
	size_t i;
	json_t *v;

	if (groups && concurrent)
		return plan_fail(err, errlen,
				 "give groups (several lists) or concurrent (one list), not both");
	if (concurrent) {
		p->nr_groups = 1;
		return group_from_json(p, concurrent, "concurrent", &p->groups[0], err, errlen);
	}
	if (!groups)
		return 0;
	if (!json_is_array(groups) || !json_array_size(groups) ||
	    json_array_size(groups) > PLAN_GROUPS_MAX)
		return plan_fail(err, errlen,
				 "groups must be a list of 1 to %d lists of device names, each the "
				 "devices that run at once",
				 PLAN_GROUPS_MAX);
	json_array_foreach (groups, i, v) {
		snprintf(where, sizeof(where), "groups[%zu]", i);
		if (group_from_json(p, v, where, &p->groups[i], err, errlen))
			return -1;
	}
	p->nr_groups = json_array_size(groups);
	return 0;
}

/* ---- pools ---- */

static int pool_from_json(const char *name, json_t *obj, struct plan_pool_req *req, char *err,
			  size_t errlen)
{
	static const char *const keys[] = { "size", "no_map", NULL };
	json_t *no_map = json_object_get(obj, "no_map");
	char where[64];

	snprintf(where, sizeof(where), "pools.%s", name);
	snprintf(req->name, sizeof(req->name), "%s", name);
	if (plan_json_keys(obj, where, keys, err, errlen))
		return -1;
	if (plan_json_size(obj, "size", &req->size, err, errlen) < 0)
		return in_where(where, err, errlen);
	if (no_map && !json_is_boolean(no_map))
		return plan_fail(err, errlen, "%s.no_map must be true or false", where);
	req->no_map = json_is_true(no_map);
	if (req->no_map && !strcmp(name, POOL_DEFAULT_NAME))
		return plan_fail(err, errlen,
				 "%s: the default pool is CMA (reusable); only a named pool can be "
				 "no_map",
				 where);
	return 0;
}

static int pools_from_json(json_t *pools, struct plan_profile *p, char *err, size_t errlen)
{
	const char *name;
	json_t *v;

	if (!pools)
		return 0;
	if (!json_is_object(pools) || json_object_size(pools) > PLAN_POOLS_MAX)
		return plan_fail(err, errlen,
				 "pools must be an object of at most %d pools by name: {\"cam\": "
				 "{\"size\": \"64M\"}}",
				 PLAN_POOLS_MAX);
	json_object_foreach (pools, name, v) {
		if (strlen(name) >= PLAN_NAME_MAX)
			return plan_fail(err, errlen,
					 "pools: the name '%s' is longer than %d characters", name,
					 PLAN_NAME_MAX - 1);
		if (pool_from_json(name, v, &p->pools[p->nr_pools++], err, errlen))
			return -1;
	}
	return 0;
}

/* ---- the guest ---- */

static int guest_kernel(json_t *root, struct plan_profile *p, char *err, size_t errlen)
{
	char text[16] = "6.1", tail;

	if (json_text(root, "kernel", text, sizeof(text), err, errlen) < 0)
		return -1;
	if (sscanf(text, "%u.%u%c", &p->kernel[0], &p->kernel[1], &tail) != 2 || p->kernel[0] < 3 ||
	    p->kernel[0] > 99)
		return plan_fail(err, errlen,
				 "kernel \"%s\": write the guest's version as MAJOR.MINOR, "
				 "like \"6.1\"",
				 text);
	return 0;
}

static int guest_from_json(json_t *root, struct plan_profile *p, char *err, size_t errlen)
{
	char a[32];
	int r;

	p->page_size = SZ_4K;
	if (plan_json_size(root, "page_size", &p->page_size, err, errlen) < 0 ||
	    guest_kernel(root, p, err, errlen))
		return -1;
	if (!guest_cma_min_align(p->page_size))
		return plan_fail(err, errlen,
				 "page_size %s: arm64 guests have 4K, 16K or 64K pages",
				 size_str(p->page_size, a));
	r = plan_json_size(root, "ram", &p->ram, err, errlen);
	if (r)
		return r < 0 ? -1
			     : plan_fail(err, errlen,
					 "ram is missing: the guest's RAM, like \"2G\"");
	if (!p->ram || !is_aligned(p->ram, SZ_2M))
		return plan_fail(
			err, errlen,
			"ram %s is not a whole number of 2 MiB (cmavm run --memory); use %s",
			size_str(p->ram, a), size_str(align_up(p->ram ? p->ram : 1, SZ_2M), a));
	p->rules.pageblock = guest_cma_min_align(p->page_size);
	p->rules.granule = p->kernel[0] < 5 || (p->kernel[0] == 5 && p->kernel[1] < 18)
				   ? guest_cma_old_align(p->page_size)
				   : p->rules.pageblock;
	p->rules.cma_align_order = GUEST_CMA_ALIGNMENT_ORDER;
	return 0;
}

static int tuning_from_json(json_t *root, struct plan_input *in, char *err, size_t errlen)
{
	struct plan_profile *p = &in->p;
	uint64_t pct = PLAN_HEADROOM_PCT;
	json_t *alerts = json_object_get(root, "alerts");
	static const char *const alert_keys[] = { "selector", NULL };

	p->vmm_overhead = PLAN_VMM_OVERHEAD;
	if (plan_json_count(root, "headroom_percent", &pct, err, errlen) < 0 ||
	    plan_json_size(root, "largest_allocation", &p->largest_given, err, errlen) < 0 ||
	    plan_json_size(root, "vmm_overhead", &p->vmm_overhead, err, errlen) < 0)
		return -1;
	if (pct > 400)
		return plan_fail(err, errlen, "headroom_percent %llu is more than 400",
				 (unsigned long long)pct);
	p->headroom_pct = (unsigned int)pct;
	if (!alerts)
		return 0;
	if (plan_json_keys(alerts, "alerts", alert_keys, err, errlen) ||
	    json_text(alerts, "selector", in->selector, sizeof(in->selector), err, errlen) < 0)
		return -1;
	if (strpbrk(in->selector, "{}\n"))
		return plan_fail(err, errlen,
				 "alerts.selector holds label matchers without braces, like "
				 "job=\"cmavm\", instance=~\"kiosk-.*\"");
	return 0;
}

int plan_profile_from_json(json_t *root, struct plan_input *in, char *err, size_t errlen)
{
	static const char *const keys[] = { "name",
					    "description",
					    "ram",
					    "page_size",
					    "kernel",
					    "headroom_percent",
					    "largest_allocation",
					    "vmm_overhead",
					    "devices",
					    "groups",
					    "concurrent",
					    "pools",
					    "host",
					    "alerts",
					    NULL };
	struct plan_profile *p = &in->p;
	json_t *host = json_object_get(root, "host");

	memset(p, 0, sizeof(*p));
	in->selector[0] = '\0';
	if (plan_json_keys(root, "the profile", keys, err, errlen) ||
	    json_text(root, "name", p->name, sizeof(p->name), err, errlen) < 0 ||
	    guest_from_json(root, p, err, errlen) || tuning_from_json(root, in, err, errlen))
		return -1;
	if (!json_object_get(root, "devices") && !p->largest_given)
		return plan_fail(
			err, errlen,
			"devices is missing: list the buffers the guest allocates (or give "
			"largest_allocation alone)");
	if (json_object_get(root, "devices") &&
	    devices_from_json(json_object_get(root, "devices"), p, err, errlen))
		return -1;
	if (groups_from_json(root, p, err, errlen) ||
	    pools_from_json(json_object_get(root, "pools"), p, err, errlen))
		return -1;
	p->has_host = host != NULL;
	return host ? plan_host_from_json(host, "host", &p->host, err, errlen) : 0;
}

int plan_profile_parse(const char *text, size_t len, struct plan_input *in, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int ret;

	if (!root)
		return plan_fail(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column,
				 jerr.text);
	ret = plan_profile_from_json(root, in, err, errlen);
	json_decref(root);
	return ret;
}

int plan_profile_read(const char *path, struct plan_input *in, char *err, size_t errlen)
{
	char why[512];
	size_t len;
	char *text = plan_file_text(path, &len, err, errlen);
	int ret;

	if (!text)
		return -1;
	ret = plan_profile_parse(text, len, in, why, sizeof(why));
	free(text);
	if (ret)
		return plan_fail(err, errlen, "%s: %s", path, why);
	snprintf(in->source, sizeof(in->source), "%s", path);
	return 0;
}
