// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second pair of hands for a move's long work. Populating new backing
 * (the kernel zeroing huge pages) and copying are most of what a move
 * costs; split into pieces that the moving thread and one helper thread
 * take, one at a time, until none is left, they take about half as long
 * on a host with a CPU to spare. The helper starts at the first use (with
 * the engine when it has a thread_start hook) and lives as long as the
 * engine; an engine set to one thread has none.
 *
 * Only a CPU to spare: the helper runs at the lowest priority, so that it
 * never takes a CPU from a vCPU (with two busy copiers on a two-CPU host,
 * a guest that should not notice a move stalled for its whole copy). A
 * helper starved by busy vCPUs takes few pieces, and the moving thread
 * the rest; that is why nothing a guest writer waits for is split
 * (move.c copies a write-protected run alone).
 */
#include "cma/internal.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HELPER_NICE 19

struct work {
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n, next;	     /* pieces, and the next one nobody took */
	unsigned int active; /* pieces the helper is working on */
};

struct cma_helper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct work *work; /* on offer, or NULL */
	bool stop;
	int (*start)(void *opaque, const char *name);
	void *opaque;
};

static bool piece_left(const struct cma_helper *h)
{
	return h->work && h->work->next < h->work->n;
}

static void *helper_thread(void *arg)
{
	struct cma_helper *h = arg;

	if (h->start && h->start(h->opaque, "cma-helper"))
		return NULL; /* it takes no piece: the moving thread does them all */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HELPER_NICE);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct work *w;
		size_t i;

		while (!h->stop && !piece_left(h))
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->stop)
			break;
		w = h->work;
		i = w->next++;
		w->active++;
		pthread_mutex_unlock(&h->lock);
		w->fn(w->arg, i);
		pthread_mutex_lock(&h->lock);
		w->active--;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static struct cma_helper *helper_start(const struct cma_hooks *hooks)
{
	struct cma_helper *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->start = hooks->thread_start;
	h->opaque = hooks->opaque;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, helper_thread, h)) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	return h;
}

void helper_stop(struct cma_engine *e)
{
	struct cma_helper *h = e->helper;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
	e->helper = NULL;
}

/* The helper, started now if need be; NULL: this thread does it all. */
static struct cma_helper *helper_of(struct cma_engine *e, size_t n)
{
	if (n < 2 || e->threads < 2)
		return NULL;
	if (!e->helper && !e->hooks.thread_start)
		e->helper = helper_start(&e->hooks); /* the moving thread only: no race */
	return e->helper;
}

void helper_start_now(struct cma_engine *e)
{
	if (e->threads > 1 && e->hooks.thread_start)
		e->helper = helper_start(&e->hooks);
}

void split_work(struct cma_engine *e, void (*fn)(void *arg, size_t i), void *arg, size_t n)
{
	struct cma_helper *h = helper_of(e, n);
	struct work w = { fn, arg, n, 0, 0 };

	if (!h) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->work = &w;
	pthread_cond_broadcast(&h->cond);
	while (w.next < w.n) {
		size_t i = w.next++;

		pthread_mutex_unlock(&h->lock);
		fn(arg, i);
		pthread_mutex_lock(&h->lock);
	}
	while (w.active)
		pthread_cond_wait(&h->cond, &h->lock);
	h->work = NULL;
	pthread_mutex_unlock(&h->lock);
}

unsigned int default_threads(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
}
