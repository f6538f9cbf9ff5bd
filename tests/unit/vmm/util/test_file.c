// SPDX-License-Identifier: GPL-2.0-only
/*
 * file_open_regular(): a regular file opens; a FIFO (with no writer, which
 * a plain open() would wait for forever), a directory, a character device
 * and a missing path are refused at once, each with a message that says
 * what the path is. An alarm turns a hang into a failure.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/util/file.h"

static char dir[64];
static char err[4096];

/* stderr into err[] for the length of one call */
static int capture_open(const char *path, struct stat *st)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), fd;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	alarm(5);
	fd = file_open_regular(path, "kernel", st);
	alarm(0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(err, 1, sizeof(err) - 1, f);
	err[n] = '\0';
	fclose(f);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cmavm-file-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void test_regular_file_opens(void **state)
{
	char path[128];
	struct stat st;
	FILE *f;
	int fd;

	(void)state;
	path_in(path, sizeof(path), "Image");
	f = fopen(path, "w");
	fputs("kernel", f);
	fclose(f);
	fd = capture_open(path, &st);
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 6);
	assert_string_equal(err, "");
	close(fd);
}

static void test_fifo_refused_at_once(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	path_in(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(capture_open(path, &st), -1);
	assert_non_null(strstr(err, "is a FIFO, which cmavm does not read; give the path of"));
	assert_non_null(strstr(err, "the kernel '"));
}

static void test_directory_and_device_refused(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(capture_open(dir, &st), -1);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(capture_open("/dev/null", &st), -1);
	assert_non_null(strstr(err, "is a character device"));
}

static void test_missing_file_names_the_error(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	path_in(path, sizeof(path), "absent");
	assert_int_equal(capture_open(path, &st), -1);
	assert_non_null(strstr(err, "cannot open the kernel"));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void test_kinds(void **state)
{
	(void)state;
	assert_string_equal(file_kind(S_IFREG | 0644), "a regular file");
	assert_string_equal(file_kind(S_IFSOCK | 0644), "a socket");
	assert_string_equal(file_kind(S_IFBLK | 0644), "a block device");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_opens),
		cmocka_unit_test(test_fifo_refused_at_once),
		cmocka_unit_test(test_directory_and_device_refused),
		cmocka_unit_test(test_missing_file_names_the_error),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
