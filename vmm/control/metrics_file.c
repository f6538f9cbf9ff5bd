// SPDX-License-Identifier: GPL-2.0-only
/*
 * --metrics-file PATH: the writer thread. The loop thread makes each
 * exposition (the ctl_ops callbacks run there) and posts it; this thread
 * writes it to PATH.tmp in PATH's directory, syncs it and renames it over
 * PATH, so that a reader sees the old file or the new one, never a part
 * (node-exporter's textfile collector reads only *.prom: PATH.tmp is
 * never read). A disk that is slow or full delays only this thread; the
 * loop never waits for it, and a newer exposition replaces one not yet
 * written.
 *
 * The thread is a SANDBOX_WRITER: it may open, rename and remove files
 * only relative to the directory opened here, before it starts (rules.c).
 * A write that fails is said once for each way it failed (creating,
 * writing, renaming) until a write works again, which is said too; the
 * VM goes on either way.
 */
#include "vmm/control/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#define TMP_SUFFIX ".tmp"
#define FILE_MODE  0644 /* the collector runs as another user */

enum failure {
	FAIL_CREATE,
	FAIL_WRITE,
	FAIL_RENAME,
};

struct metrics_file {
	char *path; /* as given, for messages */
	int dirfd;
	char name[NAME_MAX + 1], tmp[NAME_MAX + sizeof(TMP_SUFFIX)];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct strbuf next; /* posted, not yet taken (under @lock) */
	bool posted, stopping;
	uint64_t nr_posted, nr_done; /* texts posted, and done with (under @lock) */
	pthread_cond_t done_cond;    /* @nr_done grew */
	unsigned int failing;	     /* bit per enum failure said since the last file written */
};

/* Where PATH's file name starts. */
static const char *file_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* ---- the thread ---- */

static void failed(struct metrics_file *f, enum failure what, int err)
{
	static const char *const doing[] = {
		[FAIL_CREATE] = "creating %s" TMP_SUFFIX " in its directory",
		[FAIL_WRITE] = "writing %s" TMP_SUFFIX,
		[FAIL_RENAME] = "renaming %s" TMP_SUFFIX " over it",
	};
	char how[NAME_MAX + 64];

	if (f->failing & (1u << what))
		return;
	f->failing |= 1u << what;
	snprintf(how, sizeof(how), doing[what], f->name);
	pr_warn("--metrics-file %s: %s failed: %s; the VM goes on, and cmavm says when a "
		"write works again",
		f->path, how, strerror(err));
}

static void written(struct metrics_file *f)
{
	if (f->failing)
		pr_info("--metrics-file %s: written again", f->path);
	f->failing = 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* PATH.tmp, whole and on disk, then renamed over PATH; a failure removes PATH.tmp. */
static void write_file(struct metrics_file *f, const char *data, size_t len)
{
	int fd = openat(f->dirfd, f->tmp, SANDBOX_WRITER_OPEN_FLAGS, FILE_MODE);
	int err;

	if (fd < 0) {
		failed(f, FAIL_CREATE, errno);
		return;
	}
	err = write_all(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err) /* NFS reports a lost write here */
		err = -errno;
	if (err) {
		unlinkat(f->dirfd, f->tmp, 0);
		failed(f, FAIL_WRITE, -err);
	} else if (renameat(f->dirfd, f->tmp, f->dirfd, f->name)) {
		err = errno;
		unlinkat(f->dirfd, f->tmp, 0);
		failed(f, FAIL_RENAME, err);
	} else {
		written(f);
	}
}

/* The newest text posted (the @upto th), or false once stopping with none left. */
static bool take(struct metrics_file *f, struct strbuf *text, uint64_t *upto)
{
	bool got;

	pthread_mutex_lock(&f->lock);
	while (!f->posted && !f->stopping)
		pthread_cond_wait(&f->cond, &f->lock);
	got = f->posted;
	if (got) {
		*text = f->next;
		*upto = f->nr_posted;
		f->next = STRBUF_INIT(METRICS_MAX);
		f->posted = false;
	}
	pthread_mutex_unlock(&f->lock);
	return got;
}

/* Done with every text posted up to @upto: one written or failed, the rest dropped. */
static void done_upto(struct metrics_file *f, uint64_t upto)
{
	pthread_mutex_lock(&f->lock);
	f->nr_done = upto;
	pthread_cond_broadcast(&f->done_cond);
	pthread_mutex_unlock(&f->lock);
}

static void *writer_thread(void *arg)
{
	struct metrics_file *f = arg;
	struct strbuf text;
	uint64_t upto;

	while (take(f, &text, &upto)) {
		write_file(f, strbuf_str(&text), strbuf_len(&text));
		strbuf_release(&text);
		done_upto(f, upto);
	}
	return NULL;
}

/* ---- the loop's side ---- */

void metrics_file_post(struct metrics_file *f, struct strbuf *text)
{
	struct strbuf old;

	pthread_mutex_lock(&f->lock);
	old = f->next;
	f->next = *text;
	f->posted = true;
	f->nr_posted++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	strbuf_release(&old);
	*text = STRBUF_INIT(text->max);
}

void metrics_file_flush(struct metrics_file *f)
{
	pthread_mutex_lock(&f->lock);
	while (f->nr_done < f->nr_posted)
		pthread_cond_wait(&f->done_cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

/* @path's directory, opened; -1 with the reason printed. */
static int open_dir(const char *path)
{
	const char *name = file_name(path);
	char dir[PATH_MAX];
	int fd;

	if (name == path)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(name - path == 1 ? 1 : name - path - 1),
			 path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pr_errno("--metrics-file %s: opening its directory %s (it must exist)", path, dir);
	return fd;
}

static struct metrics_file *metrics_file_new(const char *path)
{
	struct metrics_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		pr_err("--metrics-file %s: out of memory", path);
		return NULL;
	}
	snprintf(f->name, sizeof(f->name), "%.*s", NAME_MAX, file_name(path));
	snprintf(f->tmp, sizeof(f->tmp), "%s" TMP_SUFFIX, f->name);
	f->next = STRBUF_INIT(METRICS_MAX);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	pthread_cond_init(&f->done_cond, NULL);
	f->dirfd = -1;
	return f;
}

static void metrics_file_free(struct metrics_file *f)
{
	strbuf_release(&f->next);
	if (f->dirfd >= 0)
		close(f->dirfd);
	pthread_cond_destroy(&f->cond);
	pthread_cond_destroy(&f->done_cond);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f);
}

struct metrics_file *metrics_file_start(const char *path)
{
	struct metrics_file *f;
	int err;

	if (!*file_name(path) || strlen(file_name(path)) + strlen(TMP_SUFFIX) > NAME_MAX ||
	    strlen(path) >= PATH_MAX) {
		pr_err("--metrics-file %s: give a file, with a name short enough for %s beside it",
		       path, TMP_SUFFIX);
		return NULL;
	}
	f = metrics_file_new(path);
	if (!f)
		return NULL;
	f->dirfd = open_dir(path);
	if (f->dirfd < 0) {
		metrics_file_free(f);
		return NULL;
	}
	sandbox_set_writer_dir(f->dirfd);
	err = sandbox_thread_create(&f->thread, SANDBOX_WRITER, "metrics", writer_thread, f);
	if (err) {
		pr_err("--metrics-file %s: starting its writer thread: %s", path, strerror(err));
		metrics_file_free(f);
		return NULL;
	}
	return f;
}

void metrics_file_stop(struct metrics_file *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	sandbox_set_writer_dir(-1);
	metrics_file_free(f);
}
