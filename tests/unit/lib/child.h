/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by unit tests: a function run in a child process, for what may
 * end the process (a sandbox violation) or replace it (exec), with what
 * it printed on stderr and how it ended.
 */
#ifndef TESTS_UNIT_LIB_CHILD_H
#define TESTS_UNIT_LIB_CHILD_H

#define CHILD_ERR_MAX 8192

struct child_result {
	int status;		 /* as waitpid() gives it */
	char err[CHILD_ERR_MAX]; /* its stderr, NUL-terminated (cut at the end) */
};

/* Run @fn(@arg) in a child, which exits 0 when it returns. */
void child_run(void (*fn)(void *arg), void *arg, struct child_result *r);

#endif
