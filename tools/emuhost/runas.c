// SPDX-License-Identifier: GPL-2.0-only
/*
 * runas UID GID PROGRAM [ARG...]: run PROGRAM as an unprivileged user with
 * no supplementary groups. The emulated host's busybox has no setpriv
 * --reuid or su; tests/integration/test_sandbox.py needs one.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t uid;
	gid_t gid;

	if (argc < 4) {
		fprintf(stderr, "usage: runas UID GID PROGRAM [ARG...]\n");
		return 2;
	}
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid = (gid_t)strtoul(argv[2], NULL, 10);
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
		perror("runas");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
