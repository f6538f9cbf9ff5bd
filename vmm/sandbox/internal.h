/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/sandbox/: the rules of each thread kind (rules.c), the
 * filter built from them and the violation line (seccomp.c), and the rest
 * of entering (sandbox.c).
 */
#ifndef VMM_SANDBOX_INTERNAL_H
#define VMM_SANDBOX_INTERNAL_H

#include <stddef.h>

#include "vmm/sandbox/sandbox.h"

/* What one thread kind may do, besides what every kind may (rules.c). */
struct sandbox_rules {
	const char *const *calls;    /* system calls by name, NULL-terminated */
	const char *const *more;     /* more of them, or NULL */
	const unsigned long *ioctls; /* ioctl request numbers */
	size_t nr_ioctls;
};

extern const char *const sandbox_common_calls[];
const struct sandbox_rules *sandbox_rules_of(enum sandbox_kind kind);

/* Build @kind's filter and load it into the calling thread. 0 or -errno. */
int sandbox_load_filter(enum sandbox_kind kind, enum sandbox_mode mode);
/* The SIGSYS handler and the names it prints; before the first filter. */
int sandbox_violation_setup(void);
/* The name a violation's line gives the calling thread. */
void sandbox_set_thread_name(const char *name);

#endif
