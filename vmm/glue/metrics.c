// SPDX-License-Identifier: GPL-2.0-only
/*
 * --metrics-file PATH: the VM's metrics written to PATH once at the start,
 * every 5 s, and once at the end. Each exposition is made on the loop
 * thread, where the ctl_ops callbacks run (a timer on the loop's ring
 * ticks), and handed to the writer thread (vmm/control/metrics.h), which
 * alone touches the disk: the loop never waits for it.
 *
 * Every sample carries vm="NAME", NAME being the VM's (--name), else the
 * file's name without .prom: the files of several VMs in one textfile
 * directory have names of their own, and so their series never collide.
 *
 * One cmavm runs one VM, so the state is this file's own.
 */
#include "vmm/control/metrics.h"
#include "vmm/glue/glue.h"
#include "vmm/machine/config.h"
#include "vmm/util/log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define METRICS_PERIOD_S 5

static struct {
	struct vmm *m;
	struct metrics_file *file;
	char vm[NAME_MAX + 1];
	struct ev_op tick;
	struct __kernel_timespec period;
	bool stopping;	    /* the last exposition is posted: the timer stops */
	bool expose_failed; /* said once */
} metrics;

/* On the loop thread. */
static void expose_and_post(void)
{
	struct strbuf text = STRBUF_INIT(METRICS_MAX);
	int err = metrics_expose(&metrics.m->ctl_ops, metrics.vm, &text);

	if (!err) {
		metrics_file_post(metrics.file, &text);
		return;
	}
	strbuf_release(&text);
	if (!metrics.expose_failed)
		pr_warn("--metrics-file %s: the metrics could not be made (%s); the file keeps "
			"the last ones",
			metrics.m->cfg->metrics_file, strerror(-err));
	metrics.expose_failed = true;
}

static void arm(void);

static void tick_done(struct ev_op *op, int res, unsigned int flags)
{
	if (metrics.stopping)
		return;
	expose_and_post();
	arm();
}

static void arm(void)
{
	struct io_uring_sqe *sqe = ev_sqe(&metrics.m->loop, &metrics.tick);

	if (!sqe) {
		pr_warn("--metrics-file %s: no timer on the event loop; the file is written again "
			"only at the end",
			metrics.m->cfg->metrics_file);
		return;
	}
	metrics.tick.done = tick_done;
	metrics.period = (struct __kernel_timespec){ .tv_sec = METRICS_PERIOD_S };
	io_uring_prep_timeout(sqe, &metrics.period, 0, 0);
}

static void start_on_loop(void *unused)
{
	expose_and_post();
	arm();
}

static void stop_on_loop(void *unused)
{
	metrics.stopping = true;
	expose_and_post();
}

/* --name's, else /var/lib/prometheus/node-exporter/web1.prom: web1 */
static void name_the_vm(const char *name, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (name) {
		snprintf(metrics.vm, sizeof(metrics.vm), "%s", name);
		return;
	}
	snprintf(metrics.vm, sizeof(metrics.vm), "%s", slash ? slash + 1 : path);
	len = strlen(metrics.vm);
	if (len > 5 && !strcmp(metrics.vm + len - 5, ".prom"))
		metrics.vm[len - 5] = '\0';
}

int vmm_metrics_start(struct vmm *m)
{
	if (!m->cfg->metrics_file)
		return 0;
	metrics.m = m;
	name_the_vm(m->cfg->name, m->cfg->metrics_file);
	metrics.file = metrics_file_start(m->cfg->metrics_file);
	if (!metrics.file)
		return -1;
	if (ev_loop_call(&m->loop, start_on_loop, NULL)) {
		pr_err("--metrics-file %s: the event loop is not running", m->cfg->metrics_file);
		return -1;
	}
	pr_info("metrics: %s, every %d s, labelled vm=\"%s\"", m->cfg->metrics_file,
		METRICS_PERIOD_S, metrics.vm);
	return 0;
}

/* With the loop gone there is no last exposition: its callbacks run only there. */
void vmm_metrics_stop(struct vmm *m)
{
	if (!metrics.file)
		return;
	ev_loop_call(&m->loop, stop_on_loop, NULL);
	metrics_file_stop(metrics.file);
	metrics.file = NULL;
}
