/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A running VM's readings as Prometheus metrics (docs/metrics.md).
 *
 * Owns: the name, type, labels and help of every metric, and the text
 * exposition format 0.0.4 they are written in (metrics.c), made from the
 * control API's operation table alone (struct ctl_ops), so that
 * GET /metrics and --metrics-file say the same; and the writer of
 * --metrics-file (metrics_file.c): a thread of its own that writes each
 * exposition beside the file and renames it over it, so that a reader
 * (node-exporter's textfile collector) never sees half of one.
 */
#ifndef VMM_CONTROL_METRICS_H
#define VMM_CONTROL_METRICS_H

#include <stddef.h>

#include "vmm/control/api.h"
#include "vmm/util/strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* An exposition's largest size: a few hundred lines make one; past this, none. */
#define METRICS_MAX (4u << 20)

/*
 * Append the exposition of all @ops can tell to @out (a growable buffer).
 * Each callback runs once; one that is NULL or fails leaves out its
 * families whole. With @vm, every sample carries the label vm="@vm"
 * first: for files of several VMs read by one collector (a scraper names
 * its targets itself; NULL for it). Call where the callbacks may run (the
 * loop thread). 0, or -ENOMEM / -ENOSPC: @out then holds a part, to be
 * thrown away.
 */
int metrics_expose(const struct ctl_ops *ops, const char *vm, struct strbuf *out);

/* ---- --metrics-file PATH (metrics_file.c) ---- */

struct metrics_file;

/*
 * Open @path's directory (which must exist) and start the writer thread
 * (sandbox kind SANDBOX_WRITER, which may write only there). @path names
 * a file, as `cmavm run` checks --metrics-file. From a thread that may
 * still open files and make threads: before it enters its own sandbox.
 * NULL with the reason printed.
 */
struct metrics_file *metrics_file_start(const char *path);

/*
 * Hand @text to the writer and return: @text's storage goes with it
 * (@text is left empty). A text not yet written when the next comes is
 * dropped for it; the file always gets the newest. Never waits but for a
 * short lock, so the loop thread may call it.
 */
void metrics_file_post(struct metrics_file *f, struct strbuf *text);

/*
 * Wait until the writer has done with every text posted so far (written
 * it, or failed to). Not on the loop thread, which must never wait.
 */
void metrics_file_flush(struct metrics_file *f);

/*
 * Write what was posted last, stop the thread, close the directory and
 * free @f. NULL: nothing to do.
 */
void metrics_file_stop(struct metrics_file *f);

#endif
