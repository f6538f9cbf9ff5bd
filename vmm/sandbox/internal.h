/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/sandbox/: the rules of each thread kind (rules.c), the
 * filter built from them and the violation line (seccomp.c), the writer's
 * Landlock ruleset (landlock.c), and the rest of entering (sandbox.c).
 */
#ifndef VMM_SANDBOX_INTERNAL_H
#define VMM_SANDBOX_INTERNAL_H

#include <seccomp.h>
#include <stddef.h>

#include "vmm/sandbox/sandbox.h"

/* What one thread kind may do, besides what every kind may (rules.c). */
struct sandbox_rules {
	const char *const *calls;    /* system calls by name, NULL-terminated */
	const char *const *more;     /* more of them, or NULL */
	const unsigned long *ioctls; /* ioctl request numbers */
	size_t nr_ioctls;
	/* calls allowed only with some arguments, known at run time; or NULL */
	int (*args)(scmp_filter_ctx ctx);
};

extern const char *const sandbox_common_calls[];
const struct sandbox_rules *sandbox_rules_of(enum sandbox_kind kind);
/* sandbox_set_writer_dir()'s descriptor, -1 for none (rules.c). */
int sandbox_writer_dir(void);

/*
 * Landlock (landlock.c): the calling SANDBOX_WRITER thread may write in
 * its directory only, whatever path it names. 0 (also where the kernel has
 * no Landlock: its seccomp filter alone holds), or -errno.
 */
int sandbox_landlock_writer(void);

/* Build @kind's filter and load it into the calling thread. 0 or -errno. */
int sandbox_load_filter(enum sandbox_kind kind, enum sandbox_mode mode);
/* The SIGSYS handler and the names it prints; before the first filter. */
int sandbox_violation_setup(void);
/* The name a violation's line gives the calling thread. */
void sandbox_set_thread_name(const char *name);

#endif
