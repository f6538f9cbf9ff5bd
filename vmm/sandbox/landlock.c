// SPDX-License-Identifier: GPL-2.0-only
/*
 * Landlock for the writer thread. Its seccomp filter (rules.c) pins the
 * directory descriptor and the flags of each openat, renameat and
 * unlinkat, but a path is a pointer seccomp cannot follow: an absolute
 * path or ".." would leave the directory. Landlock judges the file
 * itself: the thread may make, write, truncate and remove regular files
 * beneath its directory, and nothing else anywhere (not even read). It
 * binds the calling thread only, like its filter; no_new_privs, which
 * Landlock needs, is set before. A kernel without Landlock (before 5.13,
 * or not among its LSMs) leaves the seccomp filter alone to hold.
 */
#include "vmm/sandbox/internal.h"

#include <errno.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 (6.2); older headers lack it */
#endif

/* Every right of ABI 1: what the first Landlock can refuse. */
#define FS_RIGHTS_V1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)
#define FS_WRITER                                                                                  \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |                             \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE)

static int restrict_to(int dirfd, uint64_t handled, uint64_t allowed)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = handled };
	struct landlock_path_beneath_attr beneath = { .allowed_access = allowed,
						      .parent_fd = dirfd };
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	int err = 0;

	if (ruleset < 0)
		return -errno;
	if (dirfd >= 0 &&
	    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0))
		err = -errno;
	if (!err && syscall(SYS_landlock_restrict_self, ruleset, 0))
		err = -errno;
	close(ruleset);
	return err;
}

int sandbox_landlock_writer(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	/* O_TRUNC is a right of its own from ABI 3: handled there, and granted */
	uint64_t truncate = abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0;

	if (abi < 1)
		return 0;
	return restrict_to(sandbox_writer_dir(), FS_RIGHTS_V1 | truncate, FS_WRITER | truncate);
}
