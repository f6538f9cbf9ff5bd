// SPDX-License-Identifier: GPL-2.0-only
#include "tests/unit/lib/child.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

void child_run(void (*fn)(void *arg), void *arg, struct child_result *r)
{
	int fds[2];
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	/* past the room, read on and drop: the child never waits on a full pipe */
	for (;;) {
		char scratch[512];
		size_t room = sizeof(r->err) - 1 - got;

		n = read(fds[0], room ? r->err + got : scratch, room ? room : sizeof(scratch));
		if (n <= 0)
			break;
		got += room ? (size_t)n : 0;
	}
	r->err[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
}
