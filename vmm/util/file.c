// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/util/file.h"
#include "vmm/util/log.h"

#include <fcntl.h>
#include <unistd.h>

const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "not a regular file";
	}
}

int file_open_regular(const char *path, const char *what, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO would wait for a writer that never comes */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		pr_errno("cannot open the %s '%s'", what, path);
		return -1;
	}
	if (fstat(fd, st)) {
		pr_errno("cannot read what the %s '%s' is", what, path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		pr_err("the %s '%s' is %s, which cmavm does not read; give the path of the "
		       "file itself",
		       what, path, file_kind(st->st_mode));
		close(fd);
		return -1;
	}
	return fd;
}
