// SPDX-License-Identifier: GPL-2.0-only
#include "cma/size.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int unit_shift(const char *suffix)
{
	static const struct {
		const char *name;
		int shift;
	} units[] = {
		{ "", 0 },     { "b", 0 },   { "k", 10 },   { "kb", 10 },  { "kib", 10 },
		{ "m", 20 },   { "mb", 20 }, { "mib", 20 }, { "g", 30 },   { "gb", 30 },
		{ "gib", 30 }, { "t", 40 },  { "tb", 40 },  { "tib", 40 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(suffix, units[i].name))
			return units[i].shift;
	return -1;
}

int size_parse(const char *text, uint64_t *out, char *err, size_t errlen)
{
	const char *p = text;
	char *end;
	unsigned long long n;
	int shift, base = 10;

	if (!text || !*text) {
		snprintf(err, errlen, "empty size; write a number with a unit, like 64M or 2G");
		return -1;
	}
	if (!isdigit((unsigned char)*p)) {
		snprintf(err, errlen,
			 "'%s' is not a size; write a number with a unit, like 64M or 2G", text);
		return -1;
	}
	/* Decimal, or hex after 0x; never octal (a leading 0 is just a 0). */
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!isxdigit((unsigned char)*p)) {
			snprintf(err, errlen, "'%s' has no hex digits after 0x", text);
			return -1;
		}
		/* strtoull() in base 16 would take a second "0x" as well */
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			snprintf(err, errlen, "'%s' has 0x twice; write one, like 0x80000000",
				 text);
			return -1;
		}
	}
	errno = 0;
	n = strtoull(p, &end, base);
	if (errno == ERANGE) {
		snprintf(err, errlen, "'%s' is too large", text);
		return -1;
	}
	if (*end == '.') {
		snprintf(err, errlen,
			 "'%s': fractions are not accepted; use a smaller unit (1536M, not 1.5G)",
			 text);
		return -1;
	}
	shift = unit_shift(end);
	if (shift < 0) {
		snprintf(err, errlen, "'%s': unknown unit '%s'; use K, M, G or T (powers of 1024)",
			 text, end);
		return -1;
	}
	if (shift && n > (UINT64_MAX >> shift)) {
		snprintf(err, errlen, "'%s' is too large", text);
		return -1;
	}
	*out = (uint64_t)n << shift;
	return 0;
}

const char *size_str(uint64_t bytes, char buf[static 32])
{
	static const char *const names[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (i < 4 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	snprintf(buf, 32, "%" PRIu64 " %s", bytes, names[i]);
	return buf;
}
