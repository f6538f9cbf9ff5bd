// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm dtb check` (vmm/cli/cmd_dtb.c) whole, each run in a child (it
 * enters a sandbox): the guest named by --guest and --page-size or read
 * from an Image with --kernel, their contradictions and what an Image
 * cannot tell, and --json on a DTB whose names are not text.
 */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "tests/unit/lib/sanitizer.h"

#include "tests/unit/fdt/dtb_builder.h"
#include "tests/unit/lib/child.h"
#include "vmm/cli/commands.h"

#define IMAGE_SIZE (1u << 20)
#define FLAGS_4K   0xa
#define FLAGS_16K  0xc
#define FLAGS_NONE 0x8

static char dtb[64], kernel[64], out[64];

static void write_file(char path[64], const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/cmavm-dtb-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* An Image whose header says @flags and whose banner says @version (NULL: none). */
static uint8_t *image(uint64_t flags, const char *version)
{
	static uint8_t img[IMAGE_SIZE];
	uint64_t size = IMAGE_SIZE;

	memset(img, 0, sizeof(img));
	memcpy(img + 16, &size, 8);
	memcpy(img + 24, &flags, 8);
	memcpy(img + 56, "ARM\x64", 4);
	if (version)
		snprintf((char *)img + 300000, 200, "Linux version %s (someone@somewhere) #1",
			 version);
	return img;
}

static void write_kernel(uint64_t flags, const char *version)
{
	write_file(kernel, image(flags, version), IMAGE_SIZE);
}

/* The same, gzip-compressed, as some distributions ship it. */
static void write_gzip_kernel(uint64_t flags, const char *version)
{
	gzFile gz;

	write_file(kernel, "", 0);
	gz = gzopen(kernel, "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, image(flags, version), IMAGE_SIZE), IMAGE_SIZE);
	assert_int_equal(gzclose(gz), Z_OK);
}

/* RAM at 1 GiB and a 2 MiB CMA pool at a 2 MiB (not 32 MiB) boundary, named @name. */
static void write_dtb(const char *name)
{
	static struct dtb_builder b;
	struct test_pool pool = {
		.name = name, .base = 0x48200000, .size = 2 << 20, .reusable = true
	};
	size_t size;

	dtb_builder_standard(&b, 512 << 20);
	assert_true(dtb_builder_add_pool(&b, &pool) >= 0);
	size = dtb_builder_finish(&b);
	write_file(dtb, b.blob, size);
}

struct args {
	const char *argv[12];
};

static void run_dtb(void *arg)
{
	struct args *a = arg;
	int argc = 0, fd = open(out, O_WRONLY | O_TRUNC), rc;

	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	while (a->argv[argc])
		argc++;
	rc = cmd_dtb(argc, (char **)a->argv);
	fflush(stdout);
	_exit(rc);
}

/* cmavm dtb check ARGS... DTB: its exit code, stderr in @r, stdout in a malloc()ed string. */
static int dtb_check(struct child_result *r, char **stdout_text, ...)
{
	struct args a = { { "dtb", "check" } };
	int n = 2;
	va_list ap;
	FILE *f;
	long len;

	write_file(out, "", 0);
	va_start(ap, stdout_text);
	while (n < 10 && (a.argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	a.argv[n] = dtb;
	child_run(run_dtb, &a, r);
	f = fopen(out, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	*stdout_text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(*stdout_text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(out);
	assert_true(WIFEXITED(r->status));
	return WEXITSTATUS(r->status);
}

static void expect(int got, int want, const char *text, const struct child_result *r, char *o)
{
	if (got != want || (!strstr(r->err, text) && !strstr(o, text)))
		fail_msg("expected exit %d and \"%s\"; got %d:\n%s%s", want, text, got, o, r->err);
	free(o);
}

/* cmavm dtb check ARGS... (into r): exit @want, and @text in its output. */
#define EXPECT(want, text, ...)                                                                    \
	do {                                                                                       \
		char *o_;                                                                          \
		int rc_ = dtb_check(&r, &o_, __VA_ARGS__, NULL);                                   \
		expect(rc_, want, text, &r, o_);                                                   \
	} while (0)

static void test_series_and_page_size_from_the_image(void **state)
{
	static struct child_result r;

	(void)state;
	write_dtb("pool@48200000");
	write_kernel(FLAGS_16K, "6.12.117+deb12-arm64-16k");
	EXPECT(1,
	       "Linux 6.12, 16 KiB pages will see it (series from the Image, page size from the "
	       "Image)",
	       "--kernel", kernel);
	write_kernel(FLAGS_4K, "6.1.0-57-arm64");
	EXPECT(0,
	       "Linux 6.1, 4 KiB pages will see it (series from the Image, page size from the "
	       "Image)",
	       "--kernel", kernel);
	/* a silent header: the flag, with no word about 4 KiB */
	write_kernel(FLAGS_NONE, "6.12.1");
	EXPECT(1, "page size from --page-size", "--kernel", kernel, "--page-size", "16K");
	assert_null(strstr(r.err, "assuming 4 KiB"));
	EXPECT(0, "4 KiB assumed", "--kernel", kernel);
	unlink(kernel);
	unlink(dtb);
}

static void test_what_an_image_cannot_tell(void **state)
{
	static struct child_result r;

	(void)state;
	write_dtb("pool@48200000");
	write_kernel(FLAGS_16K, "6.12.1");
	EXPECT(2, "--page-size 4 KiB: the kernel", "--kernel", kernel, "--page-size", "4K");
	unlink(kernel);
	write_kernel(FLAGS_4K, NULL);
	EXPECT(2, "no \"Linux version\" banner in it (none found)", "--kernel", kernel);
	unlink(kernel);
	write_kernel(FLAGS_4K, "5.10.209-1");
	EXPECT(2, "Linux 5.10.209-1 is older than 5.18", "--kernel", kernel);
	/* named: judged, whatever the banner says */
	EXPECT(0, "series from --guest", "--kernel", kernel, "--guest", "6.1");
	unlink(kernel);
	write_gzip_kernel(FLAGS_16K, "6.12.1");
	EXPECT(2, "(a gzip Image hides it); name the series with --guest", "--kernel", kernel);
	EXPECT(1, "Linux 6.1, 16 KiB pages", "--kernel", kernel, "--guest", "6.1");
	unlink(kernel);
	EXPECT(2, "/nonexistent/Image", "--kernel", "/nonexistent/Image", "--guest", "6.1",
	       "--page-size", "4K");
	EXPECT(2, "--guest '6.6': give 6.1 or 6.12", "--guest", "6.6");
	unlink(dtb);
}

static void test_json_of_names_that_are_not_text(void **state)
{
	static struct child_result r;
	json_t *doc, *e;
	char *o;

	(void)state;
	write_dtb("p\xff\x01@48200000");
	assert_int_equal(dtb_check(&r, &o, "--guest", "6.12", "--page-size", "16K", "--json", NULL),
			 1);
	doc = json_loads(o, 0, NULL);
	assert_non_null(doc);
	e = json_array_get(json_object_get(doc, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
			    "/reserved-memory/p??@48200000");
	assert_string_equal(json_string_value(json_object_get(e, "verdict")), "rejected");
	assert_string_equal(json_string_value(json_object_get(e, "base")), "0x48200000");
	assert_non_null(strstr(json_string_value(json_object_get(e, "reason")), "32 MiB"));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(doc, "guest"), "pageblock")),
		32 << 20);
	json_decref(doc);
	free(o);
	unlink(dtb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_and_page_size_from_the_image),
		cmocka_unit_test(test_what_an_image_cannot_tell),
		cmocka_unit_test(test_json_of_names_that_are_not_text),
	};

	SKIP_UNDER_SANITIZER(); /* the code under test enters its sandbox */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
