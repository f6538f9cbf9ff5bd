// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DTB checker's access to the blob, which it never trusts.
 *
 * Owns: copying the blob into an aligned buffer and validating all of it
 * with libfdt before anything walks it, and reading properties within
 * their bounds the way the kernel's flat-tree helpers do: drivers/of/fdt.c
 * of_fdt_device_is_available() and of_fdt_is_compatible(), and
 * of_read_number() of include/linux/of.h.
 */
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fdt/dtb_check_internal.h"

/*
 * Copy the blob into an aligned buffer of its own and validate all of it
 * before anything walks it: header, sizes, and every tag and name.
 */
void *load_blob(const void *blob, size_t size, struct dtb_report *rep)
{
	struct fdt_header hdr;
	uint32_t total;
	void *copy;
	int err;

	if (!blob || size < sizeof(hdr)) {
		fail(rep, "the blob is %zu bytes, less than the %zu-byte DTB header: not a DTB",
		     blob ? size : 0, sizeof(hdr));
		return NULL;
	}
	memcpy(&hdr, blob, sizeof(hdr));
	if (fdt32_to_cpu(hdr.magic) != FDT_MAGIC) {
		fail(rep, "not a DTB: the magic is 0x%08x, a DTB starts with 0xd00dfeed",
		     fdt32_to_cpu(hdr.magic));
		return NULL;
	}
	total = fdt32_to_cpu(hdr.totalsize);
	if (total > size) {
		fail(rep, "the header says the DTB is %u bytes but only %zu are there: truncated",
		     total, size);
		return NULL;
	}
	if (total < sizeof(hdr)) {
		fail(rep, "the header says the DTB is %u bytes, less than its own header", total);
		return NULL;
	}
	/* libfdt's full check reads fields older versions lack (it crashed on them) */
	if (fdt32_to_cpu(hdr.version) < 16) {
		fail(rep,
		     "the DTB is format version %u; the checker reads versions 16 and 17 (what dtc "
		     "writes): convert it with 'dtc -I dtb -O dtb -o new.dtb old.dtb'",
		     fdt32_to_cpu(hdr.version));
		return NULL;
	}
	copy = malloc(total);
	if (!copy) {
		fail(rep, "out of memory reading a %u-byte DTB", total);
		return NULL;
	}
	memcpy(copy, blob, total);
	err = fdt_check_header(copy);
	if (!err)
		err = fdt_check_full(copy, total);
	if (err) {
		fail(rep, "the DTB is malformed: %s (libfdt)", fdt_strerror(err));
		free(copy);
		return NULL;
	}
	return copy;
}

const void *prop(const struct ctx *c, int node, const char *name, int *len)
{
	int l = 0;
	const void *p = fdt_getprop(c->fdt, node, name, &l);

	*len = p && l > 0 ? l : 0;
	return p;
}

bool has_prop(const struct ctx *c, int node, const char *name)
{
	int len;

	return prop(c, node, name, &len) != NULL;
}

/* The kernel strcmp()s string properties; only a terminated match counts. */
bool prop_str_is(const char *p, int len, const char *want)
{
	size_t n = strlen(want) + 1;

	return p && (size_t)len >= n && !memcmp(p, want, n);
}

/* drivers/of/fdt.c of_fdt_device_is_available() */
bool node_available(const struct ctx *c, int node, const char **status)
{
	int len;
	const char *p = prop(c, node, "status", &len);

	*status = p && len && memchr(p, '\0', (size_t)len) ? p : "(unterminated)";
	return !p || prop_str_is(p, len, "okay") || prop_str_is(p, len, "ok");
}

/* of_fdt_is_compatible(): any string of the list, compared case-blind */
bool node_compatible(const struct ctx *c, int node, const char *compat)
{
	int len;
	const char *p = prop(c, node, "compatible", &len);
	const char *end = p ? p + len : NULL; /* no arithmetic on NULL: a node without one */

	while (p && p < end) {
		size_t l = strnlen(p, (size_t)(end - p));

		if (l < (size_t)(end - p) && !strcasecmp(p, compat))
			return true;
		p += l + 1;
	}
	return false;
}

/* The first compatible string, for messages; NULL when there is none. */
const char *first_compatible(const struct ctx *c, int node)
{
	int len;
	const char *p = prop(c, node, "compatible", &len);

	return p && len && memchr(p, '\0', (size_t)len) ? p : NULL;
}

/* of_read_number(): big-endian cells, keeping the low 64 bits */
uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < cells; i++, p += 4)
		v = (v << 32) |
		    ((uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3]);
	return v;
}

size_t entry_bytes(const struct dtb_report *rep)
{
	return 4 * (size_t)(rep->addr_cells + rep->size_cells);
}
