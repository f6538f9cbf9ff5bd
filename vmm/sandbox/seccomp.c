// SPDX-License-Identifier: GPL-2.0-only
/*
 * The filters (one per thread kind, built with libseccomp from rules.c)
 * and the line a violation prints. A call outside a thread's filter traps
 * (SIGSYS) rather than killing at once, so that cmavm can say which thread
 * made which call, give the terminal back and end with one clear line;
 * under --seccomp log the kernel logs the call and lets it through.
 */
#include "vmm/sandbox/internal.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define NR_CALL_NAMES	   1024		 /* above every arm64 and x86-64 system call number */
#define VIOLATION_EXIT	   159		 /* as if killed by SIGSYS: 128 + 31 */
#define IOCTL_REQUEST_BITS 0xffffffffULL /* the kernel reads the request as 32 bits */

/* Resolved before any filter: the handler may not allocate. */
static char *call_names[NR_CALL_NAMES];
static __thread char thread_name[16];
static __thread const char *thread_kind;

/* SCMP_A1() and the like leave a field out, which -Werror refuses. */
static struct scmp_arg_cmp arg_is(unsigned int arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = value };
}

static struct scmp_arg_cmp arg_masked(unsigned int arg, scmp_datum_t mask, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value
	};
}

static int allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr < 0) /* not a system call of this architecture */
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int allow_all(scmp_filter_ctx ctx, const char *const *names)
{
	int err = 0;

	for (; names && *names && !err; names++)
		err = allow(ctx, *names);
	return err;
}

static int allow_ioctl(scmp_filter_ctx ctx, unsigned long request)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				arg_masked(1, IOCTL_REQUEST_BITS, request));
}

/* Memory may be mapped and protected, never made executable. */
static int allow_no_exec(scmp_filter_ctx ctx)
{
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				   arg_masked(2, PROT_EXEC, 0));

	return err
		       ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
					   arg_masked(2, PROT_EXEC, 0));
}

/*
 * Every kind may give the terminal back before it ends cmavm: tcsetattr()
 * sets (TCSETS) and reads back (TCGETS), on stdin only.
 */
static int allow_terminal_restore(scmp_filter_ctx ctx)
{
	static const unsigned long requests[] = { TCSETS, TCGETS };
	int err = 0;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				       arg_is(0, STDIN_FILENO),
				       arg_masked(1, IOCTL_REQUEST_BITS, requests[i]));
	return err;
}

static int add_rules(scmp_filter_ctx ctx, const struct sandbox_rules *r)
{
	int err = allow_all(ctx, sandbox_common_calls) ?: allow_all(ctx, r->calls);

	err = err ?: allow_all(ctx, r->more);

	err = err ?: allow_no_exec(ctx);
	err = err ?: allow_terminal_restore(ctx);
	for (size_t i = 0; i < r->nr_ioctls && !err; i++)
		err = allow_ioctl(ctx, r->ioctls[i]);
	if (r->args && !err)
		err = r->args(ctx);
	return err;
}

int sandbox_load_filter(enum sandbox_kind kind, enum sandbox_mode mode)
{
	scmp_filter_ctx ctx = seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	int err;

	if (!ctx)
		return -ENOMEM;
	thread_kind = sandbox_kind_name(kind);
	err = add_rules(ctx, sandbox_rules_of(kind));
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

void sandbox_set_thread_name(const char *name)
{
	strncpy(thread_name, name, sizeof(thread_name) - 1);
}

/* ---- the violation: async-signal-safe from here on ---- */

static void (*last_words)(void);

void sandbox_on_violation(void (*fn)(void))
{
	last_words = fn;
}

static void put(char *buf, size_t len, size_t *at, const char *s)
{
	while (*s && *at + 1 < len)
		buf[(*at)++] = *s++;
	buf[*at] = '\0';
}

static void put_number(char *buf, size_t len, size_t *at, unsigned int n)
{
	char digits[12];
	int i = (int)sizeof(digits) - 1;

	digits[i] = '\0';
	do
		digits[--i] = (char)('0' + n % 10);
	while ((n /= 10) && i > 0);
	put(buf, len, at, digits + i);
}

static void put_hex(char *buf, size_t len, size_t *at, uintptr_t n)
{
	char digits[2 + 2 * sizeof(n) + 1];
	int i = (int)sizeof(digits) - 1;

	digits[i] = '\0';
	do
		digits[--i] = "0123456789abcdef"[n & 15];
	while ((n >>= 4) && i > 2);
	digits[--i] = 'x';
	digits[--i] = '0';
	put(buf, len, at, digits + i);
}

static void violation(int sig, siginfo_t *info, void *uctx)
{
	unsigned int nr = (unsigned int)info->si_syscall;
	char line[320];
	size_t at = 0;

	(void)sig;
	(void)uctx;
	put(line, sizeof(line), &at, "cmavm: error: sandbox: the ");
	put(line, sizeof(line), &at, thread_kind ? thread_kind : "unknown");
	put(line, sizeof(line), &at, " thread '");
	put(line, sizeof(line), &at, thread_name);
	put(line, sizeof(line), &at, "' made the system call ");
	put(line, sizeof(line), &at, nr < NR_CALL_NAMES && call_names[nr] ? call_names[nr] : "?");
	put(line, sizeof(line), &at, " (");
	put_number(line, sizeof(line), &at, nr);
	put(line, sizeof(line), &at, ") at ");
	put_hex(line, sizeof(line), &at, (uintptr_t)info->si_call_addr);
	put(line, sizeof(line), &at,
	    ", which its seccomp filter forbids; cmavm stops. "
	    "Report it (docs/security.md); --seccomp log or off "
	    "runs without the filter for debugging\r\n");
	if (last_words)
		last_words();
	if (write(STDERR_FILENO, line, at) < 0)
		_exit(VIOLATION_EXIT);
	_exit(VIOLATION_EXIT);
}

int sandbox_violation_setup(void)
{
	struct sigaction sa = { .sa_sigaction = violation, .sa_flags = SA_SIGINFO };

	for (int nr = 0; nr < NR_CALL_NAMES; nr++)
		call_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		pr_errno("sandbox: installing the SIGSYS handler");
		return -1;
	}
	return 0;
}
