// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file behind a virtio-blk device (see blk.h): a raw image or a block
 * device, nothing else. A FIFO would block the open until a writer came,
 * a directory or a character device is no disk: each is refused at once,
 * by name, before anything waits on it.
 */
#include "vmm/virtio/blk.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* What @mode is when it cannot back a disk; NULL when it can. */
static const char *unusable_kind(mode_t mode)
{
	if (S_ISREG(mode) || S_ISBLK(mode))
		return NULL;
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO (named pipe)";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static int check_kind(const char *path, mode_t mode)
{
	const char *kind = unusable_kind(mode);

	if (!kind)
		return 0;
	pr_err("--disk %s: this is %s, not a disk image; give a raw image file (e.g. one made "
	       "with 'truncate -s 1G disk.img') or a block device",
	       path, kind);
	return -1;
}

/*
 * Look before opening (a character device may act on open), then open
 * O_NONBLOCK (what is opened may not be what was looked at) and look again
 * at what is open. Blocking I/O from then on: io_uring may not punt
 * O_NONBLOCK files to a worker, and would fail I/O that has to wait.
 */
static int open_nonblocking(const char *path, bool readonly)
{
	struct stat st;
	int fd, flags;

	if (stat(path, &st)) {
		pr_errno("--disk %s: cannot find the image", path);
		return -1;
	}
	if (check_kind(path, st.st_mode))
		return -1;
	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		pr_errno("--disk %s: cannot open the image%s", path,
			 readonly ? "" : " for writing (add ,ro for read-only)");
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) || check_kind(path, st.st_mode) || flags < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int image_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st)) {
		pr_errno("--disk %s: fstat", path);
		return -1;
	}
	if (!S_ISBLK(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, size)) {
		pr_errno("--disk %s: cannot read the block device's size", path);
		return -1;
	}
	return 0;
}

/* Two VMs writing one image corrupt it: take a lock as QEMU does. */
static int lock_image(int fd, const char *path, bool readonly)
{
	if (!flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB))
		return 0;
	pr_err("--disk %s: the image is in use by another process (locked); stop it, or add "
	       ",ro to share it read-only",
	       path);
	return -1;
}

static int check_size(const char *path, uint64_t size)
{
	if (size < SECTOR_SIZE) {
		pr_err("--disk %s: the image is smaller than one 512-byte sector", path);
		return -1;
	}
	if (size % SECTOR_SIZE)
		pr_warn("--disk %s: the last %llu bytes are not a whole sector; the guest will "
			"not see them",
			path, (unsigned long long)(size % SECTOR_SIZE));
	return 0;
}

/* The image open and locked, its size in @size: the descriptor, or -1 said why. */
static int image_open(const struct blk_options *opts, uint64_t *size)
{
	int fd = open_nonblocking(opts->path, opts->readonly);

	if (fd < 0)
		return -1;
	if (image_size(fd, opts->path, size) || lock_image(fd, opts->path, opts->readonly) ||
	    check_size(opts->path, *size)) {
		close(fd);
		return -1;
	}
	return fd;
}

int blk_image_open(struct blk *blk, const struct blk_options *opts)
{
	uint64_t size;

	blk->fd = image_open(opts, &size);
	if (blk->fd < 0)
		return -1;
	blk->capacity = size / SECTOR_SIZE;
	return 0;
}

int virtio_blk_check_image(const struct blk_options *opts)
{
	uint64_t size;
	int fd = image_open(opts, &size);

	if (fd < 0)
		return -1;
	close(fd); /* and with it the lock */
	return 0;
}
