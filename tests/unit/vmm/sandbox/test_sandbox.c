// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sandbox on this machine's own kernel: a thread made with
 * sandbox_thread_create() is filtered (Seccomp: 2), has no_new_privs and
 * no capabilities while the test's own thread keeps its; a call outside
 * its kind's filter ends the process with status 159 and a line naming
 * the thread, its kind and the call; --seccomp log lets the call through;
 * CMAVM_SECCOMP_PROBE makes a kind's thread show it. Every case that can
 * end the process runs in a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/lib/sanitizer.h"
#include <linux/kvm.h>

#include "tests/unit/lib/child.h"
#include "vmm/sandbox/sandbox.h"

#define VIOLATION_STATUS 159

/* ---- a sandboxed thread that waits, so its /proc entry can be read ---- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t tid;
	bool go;
};

static void *wait_for_go(void *arg)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&w->cond);
	while (!w->go)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The value of @field in /proc/self/task/@tid/status, or "" */
static void task_field(pid_t tid, const char *field, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	out[0] = '\0';
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, strlen(field)) && line[strlen(field)] == ':') {
			snprintf(out, len, "%s",
				 line + strlen(field) + 1 +
					 strspn(line + strlen(field) + 1, "\t "));
			out[strcspn(out, "\n")] = '\0';
		}
	}
	fclose(f);
}

/* Start a @kind thread, read its status fields, let it go. */
static void check_thread_status(enum sandbox_kind kind, const char *seccomp)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
	char value[128], mine[128];
	pthread_t t;

	assert_int_equal(sandbox_thread_create(&t, kind, "waiter", wait_for_go, &w), 0);
	pthread_mutex_lock(&w.lock);
	while (!w.tid)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);

	task_field(w.tid, "Seccomp", value, sizeof(value));
	assert_string_equal(value, seccomp);
	task_field(w.tid, "NoNewPrivs", value, sizeof(value));
	assert_string_equal(value, "1");
	task_field(w.tid, "CapEff", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	task_field(w.tid, "Name", value, sizeof(value));
	assert_string_equal(value, "waiter");
	/* this thread keeps its own (the test runs as root in CI) */
	task_field((pid_t)syscall(SYS_gettid), "Seccomp", mine, sizeof(mine));
	assert_string_equal(mine, "0");

	pthread_mutex_lock(&w.lock);
	w.go = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(t, NULL);
}

/* ---- children: each sets a mode, runs one thread, exits 0 if it returns ---- */

static bool prepare_child = true;

struct victim {
	enum sandbox_mode mode;
	enum sandbox_kind kind;
	void *(*fn)(void *);
	const char *probe;
};

/* In the child (tests/unit/lib/child.h): the mode, then one thread of the kind. */
static void victim_run(void *arg)
{
	const struct victim *v = arg;
	pthread_t t;

	if (prepare_child)
		sandbox_prepare();
	if (v->probe)
		setenv("CMAVM_SECCOMP_PROBE", v->probe, 1);
	if (sandbox_set_mode(v->mode) || sandbox_thread_create(&t, v->kind, "victim", v->fn, NULL))
		_exit(2);
	pthread_join(t, NULL);
}

static void run_child(enum sandbox_mode mode, enum sandbox_kind kind, void *(*fn)(void *),
		      const char *probe, struct child_result *r)
{
	struct victim v = { mode, kind, fn, probe };

	child_run(victim_run, &v, r);
}

static void *make_socket(void *arg)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)arg;
	if (fd < 0)
		_exit(3); /* only --seccomp log gets here with a failure to report */
	close(fd);
	return NULL;
}

static void *map_executable(void *arg)
{
	(void)arg;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return NULL;
}

static void *map_writable(void *arg)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p == MAP_FAILED)
		_exit(4);
	munmap(p, 4096);
	return NULL;
}

static void *create_vm(void *arg)
{
	(void)arg;
	ioctl(-1, KVM_CREATE_VM, 0);
	return NULL;
}

static void *run_vcpu(void *arg)
{
	(void)arg;
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		_exit(5); /* the filter let it through to the kernel, which said EBADF */
	return NULL;
}

/* Enough small blocks, freed, that glibc shrinks the heap they came from. */
static void *churn_heap(void *arg)
{
	enum { N = 512, SIZE = 16 << 10 };
	static void *p[N];

	(void)arg;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++)
			p[i] = malloc(SIZE);
		for (int i = N - 1; i >= 0; i--)
			free(p[i]);
	}
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

static void assert_violation(const struct child_result *r, const char *kind, const char *call)
{
	char want[128];

	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), VIOLATION_STATUS);
	snprintf(want, sizeof(want), "the %s thread 'victim' made the system call %s (", kind,
		 call);
	if (!strstr(r->err, want))
		fail_msg("expected '%s' in: %s", want, r->err);
	assert_non_null(strstr(r->err, "cmavm: error: sandbox: "));
	assert_non_null(strstr(r->err, "--seccomp log or off"));
}

static void assert_clean_exit(const struct child_result *r)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status))
		fail_msg("child status 0x%x: %s", r->status, r->err);
}

static void test_sandboxed_thread_is_filtered_and_unprivileged(void **state)
{
	(void)state;
	/* in this process, for real: only the new thread is filtered */
	assert_int_equal(sandbox_set_mode(SANDBOX_ON), 0);
	for (int k = 0; k < NR_SANDBOX_KINDS; k++)
		check_thread_status((enum sandbox_kind)k, "2");
}

static void test_forbidden_call_ends_with_a_named_line(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_ON, SANDBOX_CONSOLE, make_socket, NULL, &r);
	assert_violation(&r, "console", "socket");
}

static void test_log_mode_lets_the_call_through(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_LOG, SANDBOX_CONSOLE, make_socket, NULL, &r);
	assert_clean_exit(&r);
	assert_null(strstr(r.err, "sandbox: the"));
}

static void test_no_executable_memory(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_ON, SANDBOX_LOOP, map_writable, NULL, &r);
	assert_clean_exit(&r);
	run_child(SANDBOX_ON, SANDBOX_LOOP, map_executable, NULL, &r);
	assert_violation(&r, "loop", "mmap");
}

static void test_ioctl_limited_to_its_requests(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_ON, SANDBOX_VCPU, run_vcpu, NULL, &r);
	assert_clean_exit(&r);
	run_child(SANDBOX_ON, SANDBOX_VCPU, create_vm, NULL, &r);
	assert_violation(&r, "vcpu", "ioctl");
	run_child(SANDBOX_ON, SANDBOX_LOOP, run_vcpu, NULL, &r);
	assert_violation(&r, "loop", "ioctl");
}

static void test_probe_shows_the_filter_holds(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_ON, SANDBOX_MOVER, nothing, "mover", &r);
	assert_violation(&r, "mover", "openat");
	assert_non_null(strstr(r.err, "CMAVM_SECCOMP_PROBE: the mover thread opens /etc/passwd"));
	/* a probe for another kind leaves this one alone */
	run_child(SANDBOX_ON, SANDBOX_MOVER, nothing, "vcpu", &r);
	assert_clean_exit(&r);
}

/*
 * A thread's own malloc heap, shrunk, makes glibc open
 * /proc/sys/vm/overcommit_memory; sandbox_prepare() gives every thread
 * the one heap, which shrinks without opening anything.
 */
static void test_malloc_churn_stays_inside_the_filter(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_ON, SANDBOX_LOOP, churn_heap, NULL, &r);
	assert_clean_exit(&r);
	prepare_child = false; /* and without it, the case is real */
	run_child(SANDBOX_ON, SANDBOX_LOOP, churn_heap, NULL, &r);
	prepare_child = true;
	assert_violation(&r, "loop", "openat");
}

static void test_off_mode_has_no_filter(void **state)
{
	struct child_result r;

	(void)state;
	run_child(SANDBOX_OFF, SANDBOX_CONSOLE, make_socket, NULL, &r);
	assert_clean_exit(&r);
	assert_non_null(strstr(r.err, "--seccomp off"));
}

static void test_parse_mode(void **state)
{
	enum sandbox_mode m;

	(void)state;
	assert_int_equal(sandbox_parse_mode("on", &m), 0);
	assert_int_equal(m, SANDBOX_ON);
	assert_int_equal(sandbox_parse_mode("log", &m), 0);
	assert_int_equal(m, SANDBOX_LOG);
	assert_int_equal(sandbox_parse_mode("off", &m), 0);
	assert_int_equal(m, SANDBOX_OFF);
	assert_int_equal(sandbox_parse_mode("yes", &m), -1);
	assert_int_equal(sandbox_parse_mode("", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_call_ends_with_a_named_line),
		cmocka_unit_test(test_log_mode_lets_the_call_through),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_ioctl_limited_to_its_requests),
		cmocka_unit_test(test_probe_shows_the_filter_holds),
		cmocka_unit_test(test_malloc_churn_stays_inside_the_filter),
		cmocka_unit_test(test_off_mode_has_no_filter),
		cmocka_unit_test(test_parse_mode),
		/* last: it sets this process's mode */
		cmocka_unit_test(test_sandboxed_thread_is_filtered_and_unprivileged),
	};

	SKIP_UNDER_SANITIZER(); /* the code under test enters its sandbox */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
