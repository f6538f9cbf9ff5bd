/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sandbox: what each of cmavm's threads may still do once the machine
 * is built.
 *
 * Owns: the thread kinds and the system calls each may make (a seccomp
 * filter per kind, ioctl limited to its request numbers, the writer's
 * files to one directory, with Landlock too), no_new_privs, giving up
 * capabilities, the line printed when a thread makes a call it may not,
 * and the switch that turns the filters off for debugging
 * (docs/security.md).
 *
 * A thread enters the sandbox once, before it runs anything that reads
 * input from the guest, a client or a file: threads made with
 * sandbox_thread_create() enter it before their function runs, and the
 * creator learns whether they could. The filters of a thread and of the
 * thread that made it stack, so a thread is made by one whose filter allows
 * everything its own allows (in practice: made before its maker entered).
 */
#ifndef VMM_SANDBOX_SANDBOX_H
#define VMM_SANDBOX_SANDBOX_H

#include <fcntl.h>
#include <pthread.h>

enum sandbox_kind {
	SANDBOX_MAIN,	 /* waits for the stop, then tears down */
	SANDBOX_VCPU,	 /* KVM_RUN and the MMIO exits it handles */
	SANDBOX_LOOP,	 /* the event loop: devices, the control socket */
	SANDBOX_MOVER,	 /* the CMA engine's moves */
	SANDBOX_HELPER,	 /* the CMA engine's copy helper: a subset of the mover's */
	SANDBOX_CONSOLE, /* reads the terminal into the UART */
	SANDBOX_SIGNALS, /* waits for SIGINT, SIGTERM, SIGHUP */
	SANDBOX_CHECK,	 /* cmavm dtb check, once the file is read: judge and print */
	SANDBOX_WRITER,	 /* writes --metrics-file: files in one directory, nothing else */
	NR_SANDBOX_KINDS,
};

enum sandbox_mode {
	SANDBOX_OFF, /* no filters: for debugging (--seccomp off) */
	SANDBOX_LOG, /* filters that let a call through and have the kernel log it */
	SANDBOX_ON,  /* a call outside its filter ends cmavm with a line naming it */
};

/*
 * The mode for threads that enter from now on; SANDBOX_OFF until set, so
 * code under unit test runs unfiltered. Call once, before any thread is
 * made. 0, or -1 with the reason printed.
 */
int sandbox_set_mode(enum sandbox_mode mode);
enum sandbox_mode sandbox_mode(void);
/* "on", "log", "off" to a mode; -1 for anything else. */
int sandbox_parse_mode(const char *text, enum sandbox_mode *mode);
const char *sandbox_kind_name(enum sandbox_kind kind);

/*
 * The calling thread enters the sandbox as @kind, named @name in /proc
 * and in a violation's line (at most 15 characters): no_new_privs, every
 * capability given up, then the kind's filter. 0, or -1 with the reason
 * printed (the thread must then not go on).
 */
int sandbox_enter(enum sandbox_kind kind, const char *name);

/*
 * The directory, an open descriptor, in which SANDBOX_WRITER threads made
 * from now on may create, write, rename and remove files, and nowhere else
 * (rules.c, landlock.c); -1: none. Kept open by the caller while they run.
 */
void sandbox_set_writer_dir(int dirfd);
/* The flags a SANDBOX_WRITER thread opens a file with; its filter allows no others. */
#define SANDBOX_WRITER_OPEN_FLAGS (O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)

/* pthread_create() whose thread enters the sandbox before @fn runs. */
int sandbox_thread_create(pthread_t *thread, enum sandbox_kind kind, const char *name,
			  void *(*fn)(void *), void *arg);

/* Run @fn (async-signal-safe) before a violation ends cmavm: the terminal. */
void sandbox_on_violation(void (*fn)(void));

/*
 * Before the first thread is made: one malloc heap for every thread (a
 * thread's own heap, when glibc shrinks it, first opens
 * /proc/sys/vm/overcommit_memory, which no filter allows; one heap also
 * keeps cmavm's memory small), and, started as root, RLIMIT_MEMLOCK
 * raised so that resident windows can be locked once the capabilities
 * are gone.
 */
void sandbox_prepare(void);

#endif
