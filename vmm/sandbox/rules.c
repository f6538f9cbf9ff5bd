// SPDX-License-Identifier: GPL-2.0-only
/*
 * What each thread kind may do once the machine is built: the system calls
 * its own code makes, and those glibc makes for it (malloc's mmap, brk and
 * madvise; mutexes' futex; the log line's write). Names absent on the
 * building architecture (poll on arm64, ppoll's older twins) are skipped
 * when the filter is built, so one list serves arm64 and x86-64 (where the
 * unit tests run).
 *
 * Nothing here opens a file (but the metrics writer, in its one
 * directory), makes a socket, a process or an executable mapping: what a
 * thread needs of those it got before entering (the KVM, disk and pagemap
 * descriptors, the listening socket, its own thread).
 * mmap and mprotect are allowed only without PROT_EXEC, and every kind may
 * give the terminal back (ioctl TCSETS, TCGETS on fd 0) before it ends cmavm
 * (seccomp.c).
 *
 * To find what a thread needs after a change: run with --seccomp log and
 * read the kernel's log (dmesg: "audit: type=1326 ... syscall=N"), or run
 * as usual and read the line a violation prints (docs/security.md).
 */
#include "vmm/sandbox/internal.h"

#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/udmabuf.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *const sandbox_common_calls[] = {
	"futex",	  "write",	     "exit",	      "exit_group",	 "rt_sigreturn",
	"rt_sigprocmask", "restart_syscall", "clock_gettime", "clock_nanosleep", "nanosleep",
	"gettid",	  "getpid",	     "tgkill",	      "sched_yield",	 "brk",
	"munmap",	  "mremap",	     "madvise",	      "getrandom",	 NULL,
	/* mmap and mprotect: added by seccomp.c, without PROT_EXEC */
};

/*
 * KVM_RUN, and the UART's interrupt line raised by its MMIO exits; poll:
 * a console byte written straight out waits for a full terminal.
 */
static const char *const vcpu_calls[] = { "poll", "ppoll", NULL };
static const unsigned long vcpu_ioctls[] = { KVM_RUN, KVM_IRQ_LINE };

/*
 * io_uring does the devices' and the control socket's I/O; the loop
 * itself reads its eventfds, raises interrupts, hands guest pages back
 * (balloon: madvise, fallocate), checks a client's uid, measures host
 * memory for the API (mincore, pread of the pagemap opened at setup),
 * kicks vCPUs to pause them (tgkill), and hands a GPU scanout out as a
 * dma-buf (UDMABUF_CREATE on the /dev/udmabuf opened at setup). The GPU
 * sorts backing entries with qsort, which asks sysinfo how much memory
 * it may take.
 */
static const char *const loop_calls[] = {
	"io_uring_enter", "read",     "readv",	    "writev",  "pread64", "close",
	"fallocate",	  "mincore",  "getsockopt", "geteuid", "fstat",	  "newfstatat",
	"eventfd2",	  "shutdown", "sysinfo",    NULL,
};
/* TUNSETOFFLOAD: virtio-net sets the tap's offloads to what the driver took. */
static const unsigned long loop_ioctls[] = { KVM_IRQ_LINE, UDMABUF_CREATE, TUNSETOFFLOAD };

/*
 * Moves: new backing (memfd_create, ftruncate, fallocate), mapped over the
 * old in place (mmap MAP_FIXED), populated, locked, write-protected with
 * the userfaultfd opened at setup; measuring (mincore, pagemap).
 */
static const char *const mover_calls[] = {
	"memfd_create", "ftruncate",  "fallocate", "fcntl", "close", "mlock",	  "mlock2",
	"munlock",	"mincore",    "pread64",   "read",  "lseek", "getrlimit", "prlimit64",
	"fstat",	"newfstatat", "poll",	   "ppoll", NULL,
};
static const unsigned long mover_ioctls[] = {
	UFFDIO_REGISTER,
	UFFDIO_UNREGISTER,
	UFFDIO_WRITEPROTECT,
	UFFDIO_WAKE,
};

/* Populates and copies for the mover, at the lowest priority. */
static const char *const helper_calls[] = { "setpriority", NULL };

/* The terminal into the UART: its interrupt, the stop eventfd. */
static const char *const console_calls[] = { "read", "poll", "ppoll", NULL };
static const unsigned long console_ioctls[] = { KVM_IRQ_LINE };

static const char *const signals_calls[] = { "rt_sigtimedwait", NULL };

/*
 * `cmavm dtb check` judges a DTB someone else may have written, once it is
 * read: printing (stdio looks at stdout first: fstat, TCGETS) and
 * qsort (sysinfo, for the memory it may use) are all it does.
 */
static const char *const check_calls[] = { "fstat", "newfstatat", "sysinfo", NULL };
static const unsigned long check_ioctls[] = { TCGETS };

/*
 * Waits for the stop, then takes everything down: joins threads (kicking
 * vCPUs out of KVM_RUN), closes descriptors, unmaps guest RAM, removes
 * the control socket, gives the terminal back.
 */
static const char *const main_calls[] = {
	"close",      "munlock", "io_uring_enter", "io_uring_register", "lstat",
	"newfstatat", "fstat",	 "unlink",	   "unlinkat",		"read",
	NULL,
};

/*
 * --metrics-file's writer (vmm/control/metrics_file.c) writes NAME.tmp and
 * renames it over NAME, both in the directory opened before it started
 * (sandbox_set_writer_dir()), then closes; a write that failed removes
 * NAME.tmp. So it may, besides the common set:
 *   openat    relative to that directory's descriptor only, and only with
 *             SANDBOX_WRITER_OPEN_FLAGS: write-only, created or truncated,
 *             no symbolic link as the last component; it reads nothing;
 *   renameat  from that directory into it (arm64 has only renameat2, its
 *             flags must be 0: no exchange, no whiteout);
 *   unlinkat  a file (flags 0, not AT_REMOVEDIR) in that directory;
 *   fsync, close.
 * The descriptor and the flags are compared (SCMP_CMP_EQ); the path is a
 * pointer, which seccomp cannot read: openat ignores the descriptor for an
 * absolute path, and ".." climbs out. Landlock (landlock.c) closes that
 * where the host has it: the writer may make, write and remove files
 * beneath its directory only. With no directory set, none of these rules
 * is added.
 */
static const char *const writer_calls[] = { "fsync", "close", NULL };
static int writer_dirfd = -1;

void sandbox_set_writer_dir(int dirfd)
{
	writer_dirfd = dirfd;
}

int sandbox_writer_dir(void)
{
	return writer_dirfd;
}

static struct scmp_arg_cmp arg_eq(unsigned int arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = value };
}

static int writer_args(scmp_filter_ctx ctx)
{
	const scmp_datum_t dir = (scmp_datum_t)writer_dirfd;
	const struct {
		const char *call;
		unsigned int nr_args;
		struct scmp_arg_cmp args[3];
	} calls[] = {
		{ "openat", 2, { arg_eq(0, dir), arg_eq(2, SANDBOX_WRITER_OPEN_FLAGS) } },
		{ "renameat", 2, { arg_eq(0, dir), arg_eq(2, dir) } },
		{ "renameat2", 3, { arg_eq(0, dir), arg_eq(2, dir), arg_eq(4, 0) } },
		{ "unlinkat", 2, { arg_eq(0, dir), arg_eq(2, 0) } },
	};
	int err = 0;

	for (size_t i = 0; writer_dirfd >= 0 && i < ARRAY_SIZE(calls) && !err; i++) {
		int nr = seccomp_syscall_resolve_name(calls[i].call);

		if (nr >= 0) /* else not a system call of this architecture */
			err = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, calls[i].nr_args,
						     calls[i].args);
	}
	return err;
}

static const struct sandbox_rules rules[NR_SANDBOX_KINDS] = {
	[SANDBOX_MAIN] = { main_calls, NULL, NULL, 0, NULL },
	[SANDBOX_VCPU] = { vcpu_calls, NULL, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls), NULL },
	[SANDBOX_LOOP] = { loop_calls, NULL, loop_ioctls, ARRAY_SIZE(loop_ioctls), NULL },
	[SANDBOX_MOVER] = { mover_calls, NULL, mover_ioctls, ARRAY_SIZE(mover_ioctls), NULL },
	[SANDBOX_HELPER] = { mover_calls, helper_calls, mover_ioctls, ARRAY_SIZE(mover_ioctls),
			     NULL },
	[SANDBOX_CONSOLE] = { console_calls, NULL, console_ioctls, ARRAY_SIZE(console_ioctls),
			      NULL },
	[SANDBOX_SIGNALS] = { signals_calls, NULL, NULL, 0, NULL },
	[SANDBOX_CHECK] = { check_calls, NULL, check_ioctls, ARRAY_SIZE(check_ioctls), NULL },
	[SANDBOX_WRITER] = { writer_calls, NULL, NULL, 0, writer_args },
};

const struct sandbox_rules *sandbox_rules_of(enum sandbox_kind kind)
{
	return &rules[kind];
}
