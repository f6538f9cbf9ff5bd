// SPDX-License-Identifier: GPL-2.0-only
/*
 * --metrics-file's writer (vmm/control/metrics_file.c): a reader that
 * reads the file all the while it is rewritten sees only whole versions,
 * the last one posted is the one left, PATH.tmp never stays; a write that
 * fails is said once per way it failed and once when it works again; and
 * the writer's sandbox (vmm/sandbox: SANDBOX_WRITER) on this machine's
 * kernel: the writer works inside it, and a thread of its kind that opens,
 * renames or removes anything but files in its directory ends the process
 * (seccomp) or is refused (Landlock, for a path that leaves it). Every
 * case that can end the process runs in a child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/lib/capture.h"
#include "tests/unit/lib/child.h"
#include "tests/unit/lib/sanitizer.h"
#include "vmm/control/metrics.h"
#include "vmm/sandbox/sandbox.h"

#define VIOLATION_STATUS 159

static char dir[64];   /* a new directory per test */
static char path[128]; /* dir/cmavm.prom */
static char tmp[160];  /* dir/cmavm.prom.tmp */

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/cmavm-metrics-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cmavm.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	return 0;
}

static void remove_tree(const char *at)
{
	DIR *d = opendir(at);
	struct dirent *e;
	char sub[512];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", at, e->d_name);
		if (unlink(sub))
			remove_tree(sub);
	}
	if (d)
		closedir(d);
	rmdir(at);
}

static int remove_dir(void **state)
{
	remove_tree(dir);
	return 0;
}

#define FILE_TEST(fn) cmocka_unit_test_setup_teardown(fn, make_dir, remove_dir)

/* The file at @p whole, malloc()ed; NULL if there is none. */
static char *read_file(const char *p)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);
	char buf[65536];
	ssize_t n;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(strbuf_add(&sb, buf, (size_t)n), 0);
	close(fd);
	return sb.data ? sb.data : strdup(""); /* the buffer's own storage, malloc()ed */
}

static bool exists(const char *p)
{
	struct stat st;

	return !lstat(p, &st);
}

static void post_text(struct metrics_file *f, const char *text)
{
	struct strbuf sb = STRBUF_INIT(METRICS_MAX);

	assert_int_equal(strbuf_add(&sb, text, strlen(text)), 0);
	metrics_file_post(f, &sb);
	assert_int_equal(strbuf_len(&sb), 0); /* the writer has its storage */
	strbuf_release(&sb);
}

static unsigned int occurrences(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* ---- whole versions only ---- */

/* Version @v: thousands of lines, a length of its own, its number last. */
static void version_text(unsigned int v, struct strbuf *sb)
{
	unsigned int lines = 2000 + (v % 7) * 500;

	strbuf_addf(sb, "# HELP cmavm_test_line A line.\n# TYPE cmavm_test_line gauge\n");
	for (unsigned int i = 0; i < lines; i++)
		strbuf_addf(sb, "cmavm_test_line{line=\"%u\"} %u\n", i, v);
	strbuf_addf(sb,
		    "# HELP cmavm_test_version The version.\n"
		    "# TYPE cmavm_test_version gauge\ncmavm_test_version %u\n",
		    v);
}

/* @text is some version whole: its number, or 0 if it is none. */
static unsigned int whole_version(const char *text)
{
	const char *last = strstr(text, "\ncmavm_test_version ");
	struct strbuf want = STRBUF_INIT(SIZE_MAX);
	unsigned int v = last ? (unsigned int)strtoul(last + 20, NULL, 10) : 0;

	if (v)
		version_text(v, &want);
	if (v && strcmp(strbuf_str(&want), text))
		v = 0;
	strbuf_release(&want);
	return v;
}

struct reader {
	pthread_t thread;
	volatile bool stop;
	unsigned int reads, versions, partial, last;
};

static void *read_all_the_while(void *arg)
{
	struct reader *r = arg;

	while (!r->stop) {
		char *text = read_file(path);
		unsigned int v = text ? whole_version(text) : 0;

		if (text) {
			r->reads++;
			r->partial += !v;
			r->versions += v && v != r->last;
			r->last = v ? v : r->last;
		}
		free(text);
	}
	return NULL;
}

static void test_a_reader_sees_whole_versions(void **state)
{
	struct metrics_file *f = metrics_file_start(path);
	struct reader r = { .stop = false };
	char *text;

	assert_non_null(f);
	assert_int_equal(pthread_create(&r.thread, NULL, read_all_the_while, &r), 0);
	for (unsigned int v = 1; v <= 100; v++) {
		struct strbuf sb = STRBUF_INIT(METRICS_MAX);

		version_text(v, &sb);
		metrics_file_post(f, &sb);
		if (v % 10 == 0)
			metrics_file_flush(f); /* at least ten are written, not all dropped */
	}
	metrics_file_stop(f);
	r.stop = true;
	pthread_join(r.thread, NULL);
	assert_int_equal(r.partial, 0);
	assert_true(r.reads > 0);
	if (r.versions < 2)
		fail_msg("the reader saw %u versions in %u reads", r.versions, r.reads);
	text = read_file(path);
	assert_int_equal(whole_version(text), 100);
	free(text);
	assert_false(exists(tmp));
}

/* What was posted last, even unflushed, is written before the thread ends. */
static void test_stop_writes_the_last(void **state)
{
	struct metrics_file *f;
	struct stat st;
	char *text;

	umask(022);
	f = metrics_file_start(path);
	assert_non_null(f);
	post_text(f, "# HELP cmavm_a A.\n# TYPE cmavm_a gauge\ncmavm_a 1\n");
	post_text(f, "# HELP cmavm_a A.\n# TYPE cmavm_a gauge\ncmavm_a 2\n");
	metrics_file_stop(f);
	text = read_file(path);
	assert_string_equal(text, "# HELP cmavm_a A.\n# TYPE cmavm_a gauge\ncmavm_a 2\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* for a collector of another user */
	assert_false(exists(tmp));
	metrics_file_stop(NULL);
}

/* ---- failures ---- */

static void post_and_flush(struct metrics_file *f, const char *text, unsigned int times)
{
	while (times--) {
		post_text(f, text);
		metrics_file_flush(f);
	}
}

static void test_a_failure_is_said_once_per_kind(void **state)
{
	struct metrics_file *f = metrics_file_start(path);
	struct capture cap;
	char *err, *text;

	assert_non_null(f);
	capture_start(&cap, stderr);
	/* a directory where the file goes: the rename fails, PATH.tmp is removed */
	assert_int_equal(mkdir(path, 0755), 0);
	post_and_flush(f, "cmavm_a 1\n", 3);
	assert_false(exists(tmp));
	assert_int_equal(rmdir(path), 0);
	post_and_flush(f, "cmavm_a 2\n", 2);
	/* a directory where PATH.tmp goes: it cannot be made; the file stays */
	assert_int_equal(mkdir(tmp, 0755), 0);
	post_and_flush(f, "cmavm_a 3\n", 3);
	text = read_file(path);
	assert_string_equal(text, "cmavm_a 2\n");
	free(text);
	assert_int_equal(rmdir(tmp), 0);
	post_and_flush(f, "cmavm_a 4\n", 1);
	metrics_file_stop(f);
	err = captured(&cap, stderr);
	assert_int_equal(occurrences(err, "cmavm: warning: --metrics-file "), 2);
	assert_int_equal(occurrences(err, "renaming cmavm.prom.tmp over it failed: Is a "
					  "directory; the VM goes on"),
			 1);
	assert_int_equal(occurrences(err, "creating cmavm.prom.tmp in its directory failed: Is "
					  "a directory"),
			 1);
	assert_int_equal(occurrences(err, "cmavm.prom: written again\r\n"), 2);
	free(err);
	text = read_file(path);
	assert_string_equal(text, "cmavm_a 4\n");
	free(text);
}

static void test_start_refuses_what_it_cannot_write(void **state)
{
	struct capture cap;
	char *err;

	capture_start(&cap, stderr);
	assert_null(metrics_file_start("/nonexistent-cmavm-dir/cmavm.prom"));
	assert_null(metrics_file_start("/tmp/"));
	err = captured(&cap, stderr);
	assert_non_null(strstr(err, "cmavm: error: --metrics-file /nonexistent-cmavm-dir/"
				    "cmavm.prom: opening its directory /nonexistent-cmavm-dir "
				    "(it must exist): No such file or directory"));
	assert_non_null(strstr(err, "--metrics-file /tmp/: give a file"));
	free(err);
}

/* A PATH without a directory is in the current one; one in / is in /. */
static void test_a_relative_path(void **state)
{
	char here[512], *text;
	struct metrics_file *f;

	assert_non_null(getcwd(here, sizeof(here)));
	assert_int_equal(chdir(dir), 0);
	f = metrics_file_start("here.prom");
	assert_int_equal(chdir(here), 0);
	assert_non_null(f);
	post_text(f, "cmavm_a 1\n");
	metrics_file_stop(f);
	snprintf(here, sizeof(here), "%s/here.prom", dir);
	text = read_file(here);
	assert_string_equal(text, "cmavm_a 1\n");
	free(text);
}

/* ---- the sandbox ---- */

struct in_child {
	void (*fn)(void);
};

/* In the child: the sandbox on, as cmavm runs, then @c->fn. */
static void sandboxed(void *arg)
{
	const struct in_child *c = arg;

	sandbox_prepare();
	if (sandbox_set_mode(SANDBOX_ON))
		_exit(2);
	c->fn();
}

static void run_child(void (*fn)(void), struct child_result *r)
{
	struct in_child c = { fn };

	child_run(sandboxed, &c, r);
}

static void expect_clean_exit(const struct child_result *r)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status))
		fail_msg("child status 0x%x: %s", r->status, r->err);
	assert_null(strstr(r->err, "sandbox: the"));
}

static void expect_violation(const struct child_result *r, const char *call)
{
	char want[128];

	snprintf(want, sizeof(want), "the writer thread 'victim' made the system call %s", call);
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != VIOLATION_STATUS ||
	    !strstr(r->err, want))
		fail_msg("child status 0x%x, wanted a violation of %s: %s", r->status, call,
			 r->err);
}

/* The real writer, its failures included, inside its sandbox. */
static void write_in_the_sandbox(void)
{
	struct metrics_file *f = metrics_file_start(path);
	char keep[200];

	if (!f)
		_exit(3);
	post_and_flush(f, "cmavm_a 1\n", 1);
	snprintf(keep, sizeof(keep), "%s.keep", path);
	if (rename(path, keep) || mkdir(path, 0755))
		_exit(4);
	post_and_flush(f, "cmavm_a 2\n", 1); /* its rename fails: unlinkat */
	if (rmdir(path))
		_exit(5);
	post_and_flush(f, "cmavm_a 3\n", 1);
	metrics_file_stop(f);
}

static void test_the_writer_works_in_its_sandbox(void **state)
{
	struct child_result r;
	char *text;

	SKIP_TEST_UNDER_SANITIZER();
	run_child(write_in_the_sandbox, &r);
	expect_clean_exit(&r);
	assert_non_null(strstr(r.err, "renaming cmavm.prom.tmp over it failed"));
	assert_non_null(strstr(r.err, "written again"));
	text = read_file(path);
	assert_string_equal(text, "cmavm_a 3\n");
	free(text);
	assert_false(exists(tmp));
}

/* ---- a thread of the writer's kind, doing one thing ---- */

static int dirfd_of_child;
static void *(*victim)(void *);

static void run_victim(void)
{
	pthread_t t;

	dirfd_of_child = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_of_child < 0)
		_exit(2);
	sandbox_set_writer_dir(dirfd_of_child);
	if (sandbox_thread_create(&t, SANDBOX_WRITER, "victim", victim, NULL))
		_exit(2);
	pthread_join(t, NULL);
}

static void run_as_writer(void *(*fn)(void *), struct child_result *r)
{
	victim = fn;
	run_child(run_victim, r);
}

/* Create, write, sync, close, rename: in its directory, as it should. */
static void *make_and_rename(void *arg)
{
	int fd = openat(dirfd_of_child, "ok.tmp", SANDBOX_WRITER_OPEN_FLAGS, 0644);

	if (fd < 0 || write(fd, "ok\n", 3) != 3 || fsync(fd) || close(fd))
		_exit(6);
	if (renameat(dirfd_of_child, "ok.tmp", dirfd_of_child, "ok"))
		_exit(7);
	fd = openat(dirfd_of_child, "gone", SANDBOX_WRITER_OPEN_FLAGS, 0644);
	if (fd < 0 || close(fd) || unlinkat(dirfd_of_child, "gone", 0))
		_exit(8);
	return arg;
}

static void *open_elsewhere(void *arg)
{
	char other[200];

	snprintf(other, sizeof(other), "%s/other", dir);
	openat(AT_FDCWD, other, SANDBOX_WRITER_OPEN_FLAGS, 0644);
	return arg;
}

static void *open_to_read(void *arg)
{
	openat(dirfd_of_child, "ok", O_RDONLY | O_CLOEXEC);
	return arg;
}

static void *open_following_links(void *arg)
{
	openat(dirfd_of_child, "x", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return arg;
}

static void *rename_out(void *arg)
{
	renameat(dirfd_of_child, "ok", AT_FDCWD, "/tmp/cmavm-metrics-escaped");
	return arg;
}

static void *remove_a_directory(void *arg)
{
	unlinkat(dirfd_of_child, "sub", AT_REMOVEDIR);
	return arg;
}

static void *make_a_socket(void *arg)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
	return arg;
}

static void test_a_writer_thread_writes_in_its_directory(void **state)
{
	struct child_result r;
	char ok[200], *text;

	SKIP_TEST_UNDER_SANITIZER();
	run_as_writer(make_and_rename, &r);
	expect_clean_exit(&r);
	snprintf(ok, sizeof(ok), "%s/ok", dir);
	text = read_file(ok);
	assert_string_equal(text, "ok\n");
	free(text);
	snprintf(ok, sizeof(ok), "%s/gone", dir);
	assert_false(exists(ok));
}

static void test_a_writer_thread_is_refused_elsewhere(void **state)
{
	struct child_result r;

	SKIP_TEST_UNDER_SANITIZER();
	run_as_writer(open_elsewhere, &r);
	expect_violation(&r, "openat");
	run_as_writer(open_to_read, &r);
	expect_violation(&r, "openat");
	run_as_writer(open_following_links, &r);
	expect_violation(&r, "openat");
	run_as_writer(rename_out, &r);
	expect_violation(&r, "renameat");
	run_as_writer(remove_a_directory, &r);
	expect_violation(&r, "unlinkat");
	run_as_writer(make_a_socket, &r);
	expect_violation(&r, "socket");
	assert_false(exists("/tmp/cmavm-metrics-escaped"));
}

/* seccomp cannot read a path: an absolute one, or "..", is Landlock's to refuse. */
static void *open_by_path_out(void *arg)
{
	char outside[200];
	int fd;

	snprintf(outside, sizeof(outside), "%s-escaped", dir);
	fd = openat(dirfd_of_child, outside, SANDBOX_WRITER_OPEN_FLAGS, 0644);
	if (fd >= 0 || errno != EACCES)
		_exit(9);
	fd = openat(dirfd_of_child, "../cmavm-metrics-escaped", SANDBOX_WRITER_OPEN_FLAGS, 0644);
	if (fd >= 0 || errno != EACCES)
		_exit(10);
	return arg;
}

static void test_landlock_keeps_paths_in_the_directory(void **state)
{
	struct child_result r;
	char outside[200];

	SKIP_TEST_UNDER_SANITIZER();
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 1) {
		fprintf(stderr, "this kernel has no Landlock: the writer's paths are kept only "
				"by its seccomp filter\n");
		skip();
	}
	run_as_writer(open_by_path_out, &r);
	expect_clean_exit(&r);
	snprintf(outside, sizeof(outside), "%s-escaped", dir);
	assert_false(exists(outside));
	assert_false(exists("/tmp/cmavm-metrics-escaped"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FILE_TEST(test_a_reader_sees_whole_versions),
		FILE_TEST(test_stop_writes_the_last),
		FILE_TEST(test_a_failure_is_said_once_per_kind),
		FILE_TEST(test_start_refuses_what_it_cannot_write),
		FILE_TEST(test_a_relative_path),
		FILE_TEST(test_the_writer_works_in_its_sandbox),
		FILE_TEST(test_a_writer_thread_writes_in_its_directory),
		FILE_TEST(test_a_writer_thread_is_refused_elsewhere),
		FILE_TEST(test_landlock_keeps_paths_in_the_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
