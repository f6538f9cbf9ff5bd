// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's CMA figures from /proc text: see cma_figures.h. The text
 * is the guest's to choose, so nothing here trusts it to be terminated,
 * short, or made of lines.
 */
#include "vmm/agent/cma_figures.h"

#include <stdbool.h>
#include <string.h>

struct line {
	const char *p;
	size_t len;
};

/* One key this parser knows: where its value goes, and what it is multiplied by. */
struct key {
	const char *name;
	unsigned int have;
	size_t field; /* offset of the uint64_t in struct cma_figures */
	uint64_t unit;
};

#define FIELD(name) offsetof(struct cma_figures, name)

static bool take(struct line *l, const char *s, size_t n)
{
	if (l->len < n || memcmp(l->p, s, n))
		return false;
	l->p += n;
	l->len -= n;
	return true;
}

static void skip_spaces(struct line *l)
{
	while (l->len && (*l->p == ' ' || *l->p == '\t')) {
		l->p++;
		l->len--;
	}
}

/* A decimal number of at least one digit, without overflow. */
static bool number(struct line *l, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	while (n < l->len && l->p[n] >= '0' && l->p[n] <= '9') {
		unsigned int d = (unsigned int)(l->p[n] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		n++;
	}
	if (!n)
		return false;
	l->p += n;
	l->len -= n;
	*out = v;
	return true;
}

/* "@name@sep <number>@suffix" and nothing else: the number times @k->unit. */
static bool value_of(struct line l, const struct key *k, const char *sep, const char *suffix,
		     uint64_t *out)
{
	uint64_t v;

	if (!take(&l, k->name, strlen(k->name)) || !take(&l, sep, strlen(sep)))
		return false;
	skip_spaces(&l);
	if (!number(&l, &v) || !take(&l, suffix, strlen(suffix)) || l.len)
		return false;
	if (k->unit && v > UINT64_MAX / k->unit)
		return false;
	*out = v * k->unit;
	return true;
}

static void parse_line(struct cma_figures *f, struct line l, const struct key *keys, size_t nr,
		       const char *sep, const char *suffix)
{
	uint64_t v;

	for (size_t i = 0; i < nr; i++) {
		if (f->have & keys[i].have || !value_of(l, &keys[i], sep, suffix, &v))
			continue;
		*(uint64_t *)((char *)f + keys[i].field) = v;
		f->have |= keys[i].have;
		return;
	}
}

static void parse_lines(struct cma_figures *f, const char *text, size_t len, const struct key *keys,
			size_t nr, const char *sep, const char *suffix)
{
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		parse_line(f, (struct line){ text, n }, keys, nr, sep, suffix);
		if (!nl)
			break;
		text += n + 1;
		len -= n + 1;
	}
}

void cma_figures_meminfo(struct cma_figures *f, const char *text, size_t len)
{
	static const struct key keys[] = {
		{ "CmaTotal", CMA_HAVE_TOTAL, FIELD(total_bytes), 1024 },
		{ "CmaFree", CMA_HAVE_FREE, FIELD(free_bytes), 1024 },
	};

	parse_lines(f, text, len, keys, 2, ":", " kB");
}

void cma_figures_vmstat(struct cma_figures *f, const char *text, size_t len, unsigned int page_size)
{
	const struct key keys[] = {
		{ "nr_free_cma", CMA_HAVE_NR_FREE, FIELD(nr_free_bytes), page_size },
		{ "cma_alloc_success", CMA_HAVE_ALLOC_SUCCESS, FIELD(alloc_success), 1 },
		{ "cma_alloc_fail", CMA_HAVE_ALLOC_FAIL, FIELD(alloc_fail), 1 },
	};

	parse_lines(f, text, len, keys, 3, " ", "");
}

uint64_t cma_figures_used(const struct cma_figures *f)
{
	unsigned int both = CMA_HAVE_TOTAL | CMA_HAVE_FREE;

	if ((f->have & both) != both || f->free_bytes > f->total_bytes)
		return 0;
	return f->total_bytes - f->free_bytes;
}
