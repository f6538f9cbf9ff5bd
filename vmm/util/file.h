/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Opening a file that a user named for cmavm to read (a kernel, an
 * initrd, a DTB to check).
 *
 * Owns: refusing, at once and with a message that says what the path is
 * and what to give instead, anything but a regular file: a FIFO (whose
 * open or read would wait for a writer forever), a device, a directory,
 * a socket.
 */
#ifndef VMM_UTIL_FILE_H
#define VMM_UTIL_FILE_H

#include <sys/stat.h>

/*
 * Open @path read-only; @what names it in messages ("kernel"). Returns the
 * descriptor with @st filled, or -1 with the reason printed.
 */
int file_open_regular(const char *path, const char *what, struct stat *st);

/* "a FIFO", "a directory", ... for messages; "a regular file" for one. */
const char *file_kind(mode_t mode);

#endif
