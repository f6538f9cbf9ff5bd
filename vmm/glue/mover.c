// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mover: the thread that runs the CMA engine's commits, releases and
 * migrations, one after the other in the order asked, so that the event
 * loop (the devices and the control socket) keeps serving while memory
 * moves. A job's answer goes back to the loop thread.
 *
 * And what a move asks of the VM (the engine's hooks), from this thread:
 *   fence    devices hold back new I/O into the range and the mover waits
 *            for what is in flight into it to land (the devices are the
 *            loop thread's: asked through ev_loop_call());
 *   pause    where the host has no write-protect: every vCPU parked (on
 *            the loop thread, where the operator's pause and resume are
 *            decided), then the loop thread itself parked, so no device
 *            writes guest memory during the copy.
 * Called on the loop thread itself (before the mover runs, or with no
 * loop), the hooks do the same without the round trips.
 */
#include "vmm/glue/glue.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/machine/vm.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FENCE_POLL_NS 100000 /* how often the mover looks again for in-flight I/O */
#define FENCE_POLLS   50000  /* 5 s of that: in-flight I/O lands well within it */

/* ---- the thread ---- */

static struct mover_job *next_job(struct vmm *m)
{
	struct mover_job *job;

	pthread_mutex_lock(&m->mover.lock);
	while (!m->mover.jobs && !m->mover.stopping)
		pthread_cond_wait(&m->mover.cond, &m->mover.lock);
	job = m->mover.jobs;
	if (job) {
		m->mover.jobs = job->next;
		if (!m->mover.jobs)
			m->mover.last = NULL;
	}
	pthread_mutex_unlock(&m->mover.lock);
	return job;
}

static void answer_on_loop(void *arg)
{
	struct mover_job *job = arg;

	job->pending->done(job->pending, job->ret);
}

/* The job's answer on the loop thread; with the loop gone, nobody waits for it. */
static void finish_job(struct vmm *m, struct mover_job *job)
{
	ev_loop_call(&m->loop, answer_on_loop, job);
	free(job);
}

static void *mover_thread(void *arg)
{
	struct vmm *m = arg;
	struct mover_job *job;

	while ((job = next_job(m))) {
		job->ret = m->mover.stopping ? -ECANCELED : job->run(m, job);
		finish_job(m, job);
	}
	return NULL;
}

int vmm_mover_start(struct vmm *m)
{
	int err;

	pthread_mutex_init(&m->mover.lock, NULL);
	pthread_cond_init(&m->mover.cond, NULL);
	err = sandbox_thread_create(&m->mover.thread, SANDBOX_MOVER, "mover", mover_thread, m);
	if (err) {
		pr_err("starting the CMA engine's mover thread: %s", strerror(err));
		return -1;
	}
	m->mover.running = true;
	return 0;
}

/* Jobs not begun are answered -ECANCELED; the one under way finishes first. */
void vmm_mover_stop(struct vmm *m)
{
	if (!m->mover.running)
		return;
	pthread_mutex_lock(&m->mover.lock);
	m->mover.stopping = true;
	pthread_cond_broadcast(&m->mover.cond);
	pthread_mutex_unlock(&m->mover.lock);
	pthread_join(m->mover.thread, NULL);
	m->mover.running = false;
	pthread_cond_destroy(&m->mover.cond);
	pthread_mutex_destroy(&m->mover.lock);
}

int vmm_mover_queue(struct vmm *m, struct mover_job *job, struct ctl_pending *pending)
{
	if (!m->mover.running || !pending)
		return -1;
	job->pending = pending;
	job->next = NULL;
	pthread_mutex_lock(&m->mover.lock);
	if (m->mover.last)
		m->mover.last->next = job;
	else
		m->mover.jobs = job;
	m->mover.last = job;
	pthread_cond_signal(&m->mover.cond);
	pthread_mutex_unlock(&m->mover.lock);
	return 0;
}

/* ---- fencing device I/O ---- */

struct fence {
	struct vmm *m;
	const void *host;
	uint64_t len;
	unsigned int inflight;
};

static void fence_on_loop(void *arg)
{
	struct fence *f = arg;

	vmm_devices_fence(f->m, f->host, f->len);
	f->inflight = vmm_devices_inflight_into(f->m, f->host, f->len);
}

static void count_on_loop(void *arg)
{
	struct fence *f = arg;

	f->inflight = vmm_devices_inflight_into(f->m, f->host, f->len);
}

static void unfence_on_loop(void *arg)
{
	vmm_devices_unfence(arg);
}

/*
 * @fn(@arg) where the devices run: on the loop thread (at once when that is
 * this one), or here when no loop runs. Returns whether device I/O can
 * still complete while this thread waits: a loop runs, and not here.
 */
static bool on_loop(struct vmm *m, void (*fn)(void *arg), void *arg)
{
	if (ev_loop_call(&m->loop, fn, arg)) {
		fn(arg);
		return false;
	}
	return !ev_on_loop_thread(&m->loop);
}

/*
 * New I/O into the range is held back first, then what is in flight into
 * it is waited for: in the other order a request could start in between.
 * Where nothing in flight can land meanwhile, it only looks.
 */
static int vmm_fence(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vmm *m = opaque;
	struct fence f = { m, guest_ram_ptr(vm_ram(m->vm), gpa, len), len, 0 };
	struct timespec poll = { 0, FENCE_POLL_NS };
	bool can_wait;

	if (!f.host)
		return 0;
	can_wait = on_loop(m, fence_on_loop, &f);
	for (unsigned int i = 0; f.inflight && can_wait && i < FENCE_POLLS; i++) {
		nanosleep(&poll, NULL);
		on_loop(m, count_on_loop, &f);
	}
	if (!f.inflight)
		return 0;
	on_loop(m, unfence_on_loop, m);
	return -EBUSY;
}

static void vmm_unfence(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)gpa;
	(void)len;
	on_loop(opaque, unfence_on_loop, opaque);
}

/* ---- pausing the guest ---- */

struct pause {
	struct vmm *m;
	int ret;
};

/* An operator's pause is left as it is; the engine undoes only its own. */
static void pause_on_loop(void *arg)
{
	struct pause *p = arg;

	p->ret = 0;
	if (vm_state(p->m->vm) != VM_PAUSED) {
		p->ret = vm_pause(p->m->vm);
		p->m->engine_paused = !p->ret;
	}
}

static void resume_on_loop(void *arg)
{
	struct vmm *m = arg;

	if (m->engine_paused)
		vm_resume(m->vm);
	m->engine_paused = false;
}

/*
 * vCPUs first, on the loop thread (a vCPU resetting a device may wait for
 * the loop to finish its I/O before it can park), then the loop thread.
 */
static int vmm_pause(void *opaque)
{
	struct vmm *m = opaque;
	struct pause p = { m, 0 };

	/* the loop thread cannot park itself: there, device work waits anyway */
	if (on_loop(m, pause_on_loop, &p) && !p.ret)
		m->loop_parked = !ev_loop_park(&m->loop);
	return p.ret;
}

static void vmm_resume(void *opaque)
{
	struct vmm *m = opaque;

	if (m->loop_parked)
		ev_loop_unpark(&m->loop);
	m->loop_parked = false;
	on_loop(m, resume_on_loop, m);
}

void vmm_mover_hooks(struct vmm *m, struct cma_hooks *hooks)
{
	hooks->opaque = m;
	hooks->pause = vmm_pause;
	hooks->resume = vmm_resume;
	hooks->fence = vmm_fence;
	hooks->unfence = vmm_unfence;
}
