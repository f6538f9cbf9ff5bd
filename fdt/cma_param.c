// SPDX-License-Identifier: GPL-2.0-only
#include "fdt/cma_param.h"

#include <stdio.h>
#include <string.h>

/*
 * isspace() of the kernel's lib/ctype.c: the C locale's six spaces plus
 * 0xA0 (Latin-1 no-break space), which the kernel's table marks _S|_SP.
 */
static bool kernel_isspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xa0;
}

static bool kernel_isxdigit(char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static char *skip_spaces(char *s)
{
	while (kernel_isspace(*s))
		s++;
	return s;
}

/*
 * lib/kstrtox.c _parse_integer_fixup_radix() for base 0: "0x" means hex
 * only when a hex digit follows (else the '0' is read as octal and the
 * 'x' stops the number); any other leading '0' means octal.
 */
static const char *fixup_radix(const char *s, unsigned int *base)
{
	if (s[0] != '0') {
		*base = 10;
		return s;
	}
	if ((s[1] | 0x20) == 'x' && kernel_isxdigit(s[2])) {
		*base = 16;
		return s + 2;
	}
	*base = 8;
	return s;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return 99;
}

/*
 * simple_strtoull(s, &end, 0) of lib/vsprintf.c via _parse_integer_limit()
 * of lib/kstrtox.c: no sign, no leading space, and an overflow is only
 * flagged, never acted on, so the result wraps modulo 2^64.
 */
static uint64_t kernel_strtoull(const char *s, const char **end)
{
	unsigned int base;
	uint64_t res = 0;
	int val;

	s = fixup_radix(s, &base);
	while ((val = digit_value(*s)) < (int)base) {
		res = res * base + (unsigned int)val;
		s++;
	}
	*end = s;
	return res;
}

static int suffix_shift(char c)
{
	static const char suffixes[] = "kmgtpe";
	const char *hit;

	if (!c)
		return 0;
	hit = strchr(suffixes, c | 0x20);
	return hit ? 10 * (int)(hit - suffixes + 1) : 0;
}

uint64_t cma_memparse(const char *text, const char **end)
{
	const char *p;
	uint64_t v = kernel_strtoull(text, &p);
	int shift = suffix_shift(*p);

	/* memparse shifts by 10 per step, so E wraps like the kernel's does */
	for (int i = 0; i < shift; i += 10)
		v <<= 10;
	if (shift)
		p++;
	*end = p;
	return v;
}

static void copy_text(char *dst, const char *src)
{
	snprintf(dst, CMA_PARAM_TEXT_MAX, "%s", src);
}

/*
 * early_cma() of kernel/dma/contiguous.c applied to the state in @st: the
 * size always, base and limit only when the value has '@'.
 */
static void apply_value(struct cma_param *st, const char *value)
{
	const char *p;

	st->present = true;
	st->nr_values++;
	copy_text(st->value, value);
	st->size = cma_memparse(value, &p);
	if (*p != '@') {
		st->range_carried = st->base || st->limit;
		copy_text(st->ignored, p);
		return;
	}
	st->range_carried = false;
	st->base = cma_memparse(p + 1, &p);
	if (*p != '-') {
		st->limit = st->base + st->size;
		copy_text(st->ignored, p);
		return;
	}
	st->limit = cma_memparse(p + 1, &p);
	copy_text(st->ignored, p);
}

static void finish(struct cma_param *st)
{
	/* dma_contiguous_reserve(): "if (base_cmdline + size_cmdline == limit_cmdline)" */
	st->fixed = st->present && st->base + st->size == st->limit;
}

int cma_param_parse(const char *value, struct cma_param *out)
{
	memset(out, 0, sizeof(*out));
	if (!value) {
		/* early_cma(NULL): pr_err("Config string not provided"), -EINVAL */
		out->no_value = true;
		out->nr_bare = 1;
		return -1;
	}
	apply_value(out, value);
	finish(out);
	return 0;
}

/*
 * next_arg() of lib/cmdline.c on the writable copy at @args: one argument
 * up to an unquoted space; a '"' anywhere toggles quoting; the first '='
 * (unless it is the very first byte) splits name from value; a quote
 * opening the argument or the value is dropped together with a quote that
 * ends the argument. Returns where the next argument starts.
 */
static char *next_arg(char *args, char **param, char **val)
{
	size_t i, equals = 0;
	bool in_quote = false, quoted = false;
	char *next;

	if (*args == '"') {
		args++;
		in_quote = quoted = true;
	}
	for (i = 0; args[i]; i++) {
		if (kernel_isspace(args[i]) && !in_quote)
			break;
		if (!equals && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	*val = NULL;
	if (equals) {
		args[equals] = '\0';
		*val = args + equals + 1;
		if (**val == '"') {
			(*val)++;
			if (args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	/*
	 * With i == 0 (a lone quote ends the line) the kernel's args[i - 1]
	 * is the opening quote itself, which nothing reads again: skip it
	 * rather than index with size_t 0 - 1.
	 */
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	next = args + i;
	if (*next)
		*next++ = '\0';
	return skip_spaces(next);
}

/* kernel/params.c parameq(): '-' and '_' are the same in parameter names */
static bool parameq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = *a == '-' ? '_' : *a;
		char cb = *b == '-' ? '_' : *b;

		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
}

static bool is_end_of_options(const char *param, const char *val)
{
	/* parse_args(): "Stop at --", only when it has no value */
	return !val && !strcmp(param, "--");
}

/* Everything after "--" goes to init: note a cma there, which the kernel ignores. */
static void scan_after_dashes(char *args, struct cma_param *st)
{
	char *param, *val;

	while (*args) {
		args = next_arg(args, &param, &val);
		if (parameq(param, "cma"))
			st->after_dashes = true;
	}
}

static void take_early_param(struct cma_param *st, const char *val)
{
	/* do_early_param() calls early_cma() for every "cma", with or without '=' */
	if (!val) {
		st->no_value = true;
		st->nr_bare++;
		return;
	}
	apply_value(st, val);
}

int cma_param_from_cmdline(const char *cmdline, struct cma_param *out)
{
	/* parse_early_param() works on a COMMAND_LINE_SIZE copy (init/main.c) */
	char buf[CMA_PARAM_CMDLINE_SIZE];
	char *args, *param, *val;

	memset(out, 0, sizeof(*out));
	if (!cmdline)
		return 0;
	out->truncated = strlen(cmdline) >= sizeof(buf);
	snprintf(buf, sizeof(buf), "%s", cmdline);

	args = skip_spaces(buf);
	while (*args) {
		args = next_arg(args, &param, &val);
		if (is_end_of_options(param, val)) {
			scan_after_dashes(args, out);
			break;
		}
		if (parameq(param, "cma"))
			take_early_param(out, val);
	}
	finish(out);
	return 0;
}
