// SPDX-License-Identifier: GPL-2.0-only
/*
 * Entering the sandbox: a thread names itself, sets no_new_privs, gives up
 * every capability it holds and loads its kind's filter (seccomp.c).
 * Capabilities belong to threads, not to the process, so each thread gives
 * up its own; once every thread has entered, cmavm holds none (it keeps
 * what it opened while it had them: /dev/kvm, the pagemap, a userfaultfd).
 */
#include "vmm/sandbox/internal.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static enum sandbox_mode mode = SANDBOX_OFF;
static bool configured; /* sandbox_set_mode() was called: enter for real */
static int probe_kind = -1;

static const char *const kind_names[NR_SANDBOX_KINDS] = {
	[SANDBOX_MAIN] = "main",       [SANDBOX_VCPU] = "vcpu",	    [SANDBOX_LOOP] = "loop",
	[SANDBOX_MOVER] = "mover",     [SANDBOX_HELPER] = "helper", [SANDBOX_CONSOLE] = "console",
	[SANDBOX_SIGNALS] = "signals", [SANDBOX_CHECK] = "check",   [SANDBOX_WRITER] = "writer",
};

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return kind < NR_SANDBOX_KINDS ? kind_names[kind] : "unknown";
}

int sandbox_parse_mode(const char *text, enum sandbox_mode *out)
{
	static const char *const names[] = {
		[SANDBOX_OFF] = "off", [SANDBOX_LOG] = "log", [SANDBOX_ON] = "on"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(text, names[i])) {
			*out = (enum sandbox_mode)i;
			return 0;
		}
	}
	return -1;
}

/*
 * CMAVM_SECCOMP_PROBE=KIND: the first thread of that kind makes a call its
 * filter forbids right after entering, to show that the filter holds
 * (tests/integration/test_sandbox.py, docs/security.md).
 */
static void read_probe(void)
{
	const char *want = getenv("CMAVM_SECCOMP_PROBE");

	for (int k = 0; want && k < NR_SANDBOX_KINDS; k++)
		if (!strcmp(want, kind_names[k]))
			probe_kind = k;
}

int sandbox_set_mode(enum sandbox_mode m)
{
	mode = m;
	configured = true;
	read_probe();
	if (m == SANDBOX_OFF)
		pr_warn("--seccomp off: cmavm's threads run without system call filters");
	return m == SANDBOX_OFF ? 0 : sandbox_violation_setup();
}

enum sandbox_mode sandbox_mode(void)
{
	return mode;
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = { 0 };

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return (int)syscall(SYS_capset, &hdr, none);
}

static void probe(enum sandbox_kind kind)
{
	if ((int)kind != probe_kind)
		return;
	probe_kind = -1;
	pr_info("CMAVM_SECCOMP_PROBE: the %s thread opens /etc/passwd, which it may not",
		kind_names[kind]);
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
}

int sandbox_enter(enum sandbox_kind kind, const char *name)
{
	int err;

	prctl(PR_SET_NAME, name, 0, 0, 0);
	sandbox_set_thread_name(name);
	if (!configured)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || drop_capabilities()) {
		pr_errno("sandbox: the %s thread '%s' could not give up its privileges",
			 kind_names[kind], name);
		return -1;
	}
	if (mode == SANDBOX_OFF) {
		pr_debug("sandbox: the %s thread '%s' runs without privileges, unfiltered "
			 "(--seccomp off)",
			 kind_names[kind], name);
		return 0;
	}
	err = kind == SANDBOX_WRITER ? sandbox_landlock_writer() : 0;
	if (err) {
		errno = -err;
		pr_errno("sandbox: confining the writer thread '%s' to its directory (Landlock)",
			 name);
		return -1;
	}
	err = sandbox_load_filter(kind, mode);
	if (err) {
		errno = -err;
		pr_errno("sandbox: loading the seccomp filter of the %s thread '%s' (the host "
			 "kernel needs CONFIG_SECCOMP_FILTER; --seccomp off runs without it)",
			 kind_names[kind], name);
		return -1;
	}
	probe(kind);
	pr_debug("sandbox: the %s thread '%s' runs without privileges, under its seccomp "
		 "filter%s%s",
		 kind_names[kind], name, kind == SANDBOX_WRITER ? " and Landlock" : "",
		 mode == SANDBOX_LOG ? " (--seccomp log: forbidden calls logged, not stopped)"
				     : "");
	return 0;
}

struct start {
	enum sandbox_kind kind;
	const char *name;
	void *(*fn)(void *);
	void *arg;
	sem_t entered;
	int err;
};

static void *trampoline(void *p)
{
	struct start *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	int err = sandbox_enter(s->kind, s->name);

	s->err = err;
	sem_post(&s->entered); /* @s is gone from here on */
	return err ? NULL : fn(arg);
}

int sandbox_thread_create(pthread_t *thread, enum sandbox_kind kind, const char *name,
			  void *(*fn)(void *), void *arg)
{
	struct start s = { kind, name, fn, arg, .err = 0 };
	int err;

	sem_init(&s.entered, 0, 0);
	err = pthread_create(thread, NULL, trampoline, &s);
	if (!err) {
		while (sem_wait(&s.entered) && errno == EINTR)
			;
		if (s.err) {
			pthread_join(*thread, NULL);
			err = EPERM;
		}
	}
	sem_destroy(&s.entered);
	return err;
}

void sandbox_prepare(void)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	mallopt(M_ARENA_MAX, 1);
	/* Without CAP_SYS_RESOURCE this fails, and the user's own limit holds. */
	if (geteuid() == 0)
		setrlimit(RLIMIT_MEMLOCK, &unlimited);
}
