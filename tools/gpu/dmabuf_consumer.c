// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmavm-dmabuf: the program end of `cmavm ctl gpu export -- cmavm-dmabuf
 * ...`. It takes the scanout's dma-buf as cmavm ctl hands it over (fd 3,
 * described in CMAVM_DMABUF_*; options override), reads the visible
 * pixels once, between DMA_BUF_IOCTL_SYNC start and end, and saves them
 * as PNG, compares them with raw pixels, or prints their CRC32. Exit 0:
 * done (the pixels as expected); 1: the pixels differ; 2: a usage error,
 * or the buffer could not be read.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/gpu/dmabuf.h"

enum { EXIT_SAME = 0, EXIT_DIFFER = 1, EXIT_TROUBLE = 2 };

#define GO_ON -1

static const char usage[] =
	"Usage: cmavm-dmabuf [--save FILE.png] [--expect FILE] [--checksum] [BUFFER OPTIONS]\n"
	"\n"
	"Read a GPU scanout that cmavm exported as a dma-buf:\n"
	"  cmavm ctl gpu export [--scanout N] -- cmavm-dmabuf --save shot.png\n"
	"\n"
	"Actions (any together; none: describe the buffer):\n"
	"  --save FILE.png   write the visible pixels as a PNG file\n"
	"  --expect FILE     compare the visible pixels with FILE: width*height*4 bytes,\n"
	"                    rows packed, in the buffer's format (an X byte is not\n"
	"                    compared); print the first differences and exit 1 if any\n"
	"  --checksum        print zlib's CRC32 of the visible pixels, row after row\n"
	"\n"
	"The buffer, as cmavm ctl describes it in CMAVM_DMABUF_FD, _WIDTH, _HEIGHT,\n"
	"_STRIDE, _FORMAT, _FOURCC, _OFFSET and _SIZE; these options override them:\n"
	"  --fd N, --width PIXELS, --height PIXELS, --stride BYTES, --offset BYTES,\n"
	"  --size BYTES (default: the descriptor's), --fourcc XR24|AR24|XB24|AB24|RX24|\n"
	"  RA24|BX24|BA24 or --format B8G8R8X8|... (virtio's name)\n"
	"\n"
	"Exit status: 0 done, 1 the pixels differ from --expect, 2 usage error or the\n"
	"buffer could not be read.\n";

/* What describes the buffer: CMAVM_DMABUF_<NAME>, or --<name>. */
enum field { F_FD, F_WIDTH, F_HEIGHT, F_STRIDE, F_OFFSET, F_SIZE, F_FORMAT, F_FOURCC, NR_FIELDS };

static const char *const field_names[NR_FIELDS] = {
	"FD", "WIDTH", "HEIGHT", "STRIDE", "OFFSET", "SIZE", "FORMAT", "FOURCC",
};

#define OPT_FIELD 256 /* getopt's value for field F: OPT_FIELD + F */

static const struct option options[] = {
	{ "fd", required_argument, NULL, OPT_FIELD + F_FD },
	{ "width", required_argument, NULL, OPT_FIELD + F_WIDTH },
	{ "height", required_argument, NULL, OPT_FIELD + F_HEIGHT },
	{ "stride", required_argument, NULL, OPT_FIELD + F_STRIDE },
	{ "offset", required_argument, NULL, OPT_FIELD + F_OFFSET },
	{ "size", required_argument, NULL, OPT_FIELD + F_SIZE },
	{ "format", required_argument, NULL, OPT_FIELD + F_FORMAT },
	{ "fourcc", required_argument, NULL, OPT_FIELD + F_FOURCC },
	{ "save", required_argument, NULL, 's' },
	{ "expect", required_argument, NULL, 'e' },
	{ "checksum", no_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct job {
	const char *value[NR_FIELDS]; /* the environment's, then the options' */
	const char *save, *expect;
	bool checksum;
};

static int trouble(const char *what)
{
	fprintf(stderr, "cmavm-dmabuf: %s\n", what);
	return EXIT_TROUBLE;
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "cmavm-dmabuf: %s%s; see 'cmavm-dmabuf --help'\n", what, arg);
	return EXIT_TROUBLE;
}

static int parse_args(int argc, char **argv, struct job *job)
{
	char name[64];
	int opt, f;

	for (f = 0; f < NR_FIELDS; f++) {
		snprintf(name, sizeof(name), "CMAVM_DMABUF_%s", field_names[f]);
		job->value[f] = getenv(name);
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt >= OPT_FIELD)
			job->value[opt - OPT_FIELD] = optarg;
		else if (opt == 's')
			job->save = optarg;
		else if (opt == 'e')
			job->expect = optarg;
		else if (opt == 'c')
			job->checksum = true;
		else if (opt == 'h')
			return fputs(usage, stdout) == EOF ? EXIT_TROUBLE : EXIT_SAME;
		else if (optopt)
			return usage_error("an option lacks its value: ", argv[optind - 1]);
		else
			return usage_error("no such option: ", argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("takes no arguments, only options: ", argv[optind]);
	return GO_ON;
}

/* Field @f as a number up to @max; its default @dflt when nobody gave it. */
static bool field_number(const struct job *job, enum field f, uint64_t max, uint64_t dflt,
			 uint64_t *out, char *err, size_t errlen)
{
	const char *text = job->value[f];
	char *end;

	*out = dflt;
	if (!text)
		return true;
	errno = 0;
	*out = isdigit((unsigned char)text[0]) ? strtoull(text, &end, 0) : UINT64_MAX;
	if (isdigit((unsigned char)text[0]) && !errno && !*end && *out <= max)
		return true;
	snprintf(err, errlen, "%s '%s' is not a number from 0 to %llu (CMAVM_DMABUF_%s, or --%s)",
		 field_names[f], text, (unsigned long long)max, field_names[f], options[f].name);
	return false;
}

/* The buffer as @job describes it, checked against its descriptor; 0, or -1 with @err. */
static int describe(const struct job *job, struct dmabuf *b, char *err, size_t errlen)
{
	uint64_t v[F_SIZE + 1];
	const uint64_t max[F_SIZE + 1] = { INT32_MAX,  UINT32_MAX, UINT32_MAX,
					   UINT32_MAX, INT64_MAX,  INT64_MAX };
	int f;

	if (!job->value[F_FD]) {
		snprintf(err, errlen,
			 "no dma-buf: run me as 'cmavm ctl gpu export -- cmavm-dmabuf ...', or "
			 "give --fd N with --width, --height, --stride and --fourcc");
		return -1;
	}
	for (f = 0; f <= F_SIZE; f++)
		if (!field_number(job, f, max[f], 0, &v[f], err, errlen))
			return -1;
	*b = (struct dmabuf){ .fd = (int)v[F_FD],
			      .width = (uint32_t)v[F_WIDTH],
			      .height = (uint32_t)v[F_HEIGHT],
			      .stride = (uint32_t)v[F_STRIDE],
			      .offset = v[F_OFFSET],
			      .size = v[F_SIZE] };
	if (!b->stride) /* rows packed, unless said otherwise */
		b->stride = b->width * DMABUF_BPP;
	if (dmabuf_layout(b, job->value[F_FOURCC], job->value[F_FORMAT], err, errlen))
		return -1;
	return dmabuf_check(b, err, errlen);
}

/* The whole of @path, which must be @len bytes long; NULL with @err. */
static uint8_t *read_expected(const char *path, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(len + 1);
	size_t got = f && buf ? fread(buf, 1, len + 1, f) : 0;

	if (!f)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	else if (!buf)
		snprintf(err, errlen, "out of memory for %zu bytes of %s", len, path);
	else if (got != len)
		snprintf(err, errlen,
			 "%s has %s%zu bytes; the visible pixels are %zu (width * height * 4, "
			 "rows packed)",
			 path, got > len ? "more than " : "", got, len);
	if (f)
		fclose(f);
	if (f && buf && got == len)
		return buf;
	free(buf);
	return NULL;
}

static void print_differences(const struct dmabuf *b, const struct dmabuf_diff *d, const char *path)
{
	unsigned int i;

	for (i = 0; i < d->nr_shown; i++)
		printf("pixel (%u, %u): 0x%08x, %s has 0x%08x\n", d->shown[i].x, d->shown[i].y,
		       d->shown[i].got, path, d->shown[i].want);
	printf("%llu of %llu pixels differ from %s\n", (unsigned long long)d->pixels,
	       (unsigned long long)b->width * b->height, path);
}

/* The actions on the mapped pixels; a PNG to write afterwards in *@png. */
static int look(const struct job *job, const struct dmabuf *b, const uint8_t *want, uint8_t **png,
		size_t *png_len, char *err, size_t errlen)
{
	struct dmabuf_diff d;
	int ret = EXIT_SAME;

	if (job->checksum)
		printf("crc32 %08x\n", dmabuf_crc32(b));
	if (want) {
		dmabuf_compare(b, want, &d);
		if (d.pixels)
			print_differences(b, &d, job->expect);
		else
			printf("all %llu pixels match %s\n",
			       (unsigned long long)b->width * b->height, job->expect);
		ret = d.pixels ? EXIT_DIFFER : EXIT_SAME;
	}
	if (job->save && dmabuf_png(b, png, png_len, err, errlen))
		return EXIT_TROUBLE;
	if (!job->checksum && !want && !job->save)
		printf("fd %d: %ux%u pixels, stride %u, at offset %llu of %llu bytes (%s)\n", b->fd,
		       b->width, b->height, b->stride, (unsigned long long)b->offset,
		       (unsigned long long)b->size, b->is_dmabuf ? "a dma-buf" : "not a dma-buf");
	return ret;
}

static int write_png(const char *path, const uint8_t *png, size_t len, const struct dmabuf *b)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(png, 1, len, f) == len;
	char err[DMABUF_ERR_MAX];

	if (f && fclose(f))
		ok = false;
	if (!ok) {
		snprintf(err, sizeof(err), "cannot write %s: %s", path, strerror(errno));
		return trouble(err);
	}
	printf("wrote %s: %ux%u PNG, %zu bytes\n", path, b->width, b->height, len);
	return EXIT_SAME;
}

int main(int argc, char **argv)
{
	struct job job = { 0 };
	struct dmabuf b;
	char err[DMABUF_ERR_MAX], unmap_err[DMABUF_ERR_MAX];
	uint8_t *want = NULL, *png = NULL;
	size_t png_len = 0;
	int ret = parse_args(argc, argv, &job);

	if (ret != GO_ON)
		return ret;
	if (describe(&job, &b, err, sizeof(err)))
		return trouble(err);
	if (job.expect) {
		want = read_expected(job.expect, (size_t)b.width * b.height * DMABUF_BPP, err,
				     sizeof(err));
		if (!want)
			return trouble(err);
	}
	if (dmabuf_map(&b, err, sizeof(err))) {
		free(want);
		return trouble(err);
	}
	ret = look(&job, &b, want, &png, &png_len, err, sizeof(err));
	if (dmabuf_unmap(&b, unmap_err, sizeof(unmap_err)) && ret != EXIT_TROUBLE) {
		memcpy(err, unmap_err, sizeof(err));
		ret = EXIT_TROUBLE;
	}
	free(want);
	if (ret == EXIT_TROUBLE)
		ret = trouble(err);
	else if (png && write_png(job.save, png, png_len, &b))
		ret = EXIT_TROUBLE;
	free(png);
	return ret;
}
