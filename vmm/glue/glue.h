/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/glue/: what one running cmavm holds around its machine,
 * and how the glue's files hand it to each other.
 *
 * The glue is where the parts meet and nowhere else: it builds the virtio
 * devices on the machine's MMIO bus and event loop (devices.c), puts the
 * host CMA engine over guest RAM, commits the boot windows and lets the
 * engine pause the machine (engine.c; hugepages.c counts the host's huge
 * pages for the boot windows first), and fills the control plane's
 * operation table, struct ctl_ops, with calls into the machine, the
 * devices and the engine (control.c, engine.c). The machine, the devices,
 * the engine and the control plane know nothing of each other. The
 * engine's moves run on the mover thread (mover.c), which answers the
 * control API on the loop thread when each is done.
 */
#ifndef VMM_GLUE_GLUE_H
#define VMM_GLUE_GLUE_H

#include <stdbool.h>
#include <stddef.h>

#include "cma/engine.h"
#include "vmm/control/api.h"
#include "vmm/control/http_server.h"
#include "vmm/hw/event_loop.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"

struct boot_plan;
struct cma_region;
struct guest_agent;
struct vmm;
struct vm;
struct vm_config;

/* A virtio device and the transport that carries it. */
struct vmm_device {
	struct virtio_device dev;
	struct virtio_mmio mmio;
	bool created;
};

/*
 * A move for the mover thread: @run (on that thread) returns what
 * @pending->done() is then given on the loop thread. Embedded first in a
 * malloc()ed record of the request, freed after the answer.
 */
struct mover_job {
	struct mover_job *next;
	int (*run)(struct vmm *m, struct mover_job *job);
	int ret;
	struct ctl_pending *pending;
};

struct vmm {
	const struct vm_config *cfg;
	const struct boot_plan *plan;
	struct vm *vm;

	struct ev_loop loop; /* device work, the engine and the control socket */
	bool loop_ready;

	struct cma_engine *engine; /* every pool's pageblocks; on the loop thread */
	bool engine_paused;	   /* the engine paused the guest (not the operator) */
	bool loop_parked;	   /* ...and parked the loop thread (mover thread only) */
	struct {
		pthread_t thread;
		pthread_mutex_t lock;
		pthread_cond_t cond;
		struct mover_job *jobs, *last; /* queued, in order */
		bool running, stopping;
	} mover;

	size_t nr_devices;
	struct vmm_device *devices;
	struct virtio_device *balloon; /* NULL: no balloon */
	struct virtio_device *gpu;     /* NULL: no GPU */
	struct virtio_device *console; /* the guest agent's port; NULL: none */
	struct guest_agent *agent;     /* its client; NULL: no port */
	struct cma_region *gpu_region; /* where the GPU's resources live */

	struct http_server api;
	bool api_open;
	/* --name's link to an --api-socket elsewhere (vmm_control_open()); "": none */
	char name_link[108];
	unsigned long name_link_ino;
	struct ctl_ops ctl_ops;
};

/* devices.c: the virtio devices of the plan, on the MMIO bus and the loop. */
int vmm_devices_create(struct vmm *m);
void vmm_devices_destroy(struct vmm *m);
/* Requests whose I/O may still land in [host, host + len) of guest memory. */
unsigned int vmm_devices_inflight_into(struct vmm *m, const void *host, uint64_t len);
/* Devices hold back new I/O into [host, host + len) until unfenced (loop thread). */
void vmm_devices_fence(struct vmm *m, const void *host, uint64_t len);
void vmm_devices_unfence(struct vmm *m);
/* The API's view of the devices (control.c). */
int vmm_devices_describe(struct vmm *m, struct ctl_device *out, unsigned int max);

/*
 * engine.c: the host CMA engine over guest RAM and the plan's pools, with
 * the boot windows committed (on their backing, no pause: the guest has
 * not started); a boot window that fails stops cmavm, its reason printed.
 */
int vmm_engine_create(struct vmm *m);
/* The guest's first instruction comes next: from here on a move stops it or its writers. */
void vmm_engine_guest_starts(struct vmm *m);
void vmm_engine_destroy(struct vmm *m);
/* The balloon's way to give memory back: through the engine. */
struct memory_hooks vmm_engine_memory_hooks(struct vmm *m);
/* Fill the engine's callbacks of @ops. */
void vmm_engine_ctl_ops(struct ctl_ops *ops);
uint64_t vmm_engine_resident_bytes(struct vmm *m);

/*
 * mover.c: the mover thread, started once the loop runs and stopped before
 * it stops; the engine's hooks that fence device I/O and pause the guest.
 */
int vmm_mover_start(struct vmm *m);
void vmm_mover_stop(struct vmm *m);
/* Queue @job, answered through @pending; -1: no mover (run it now instead). */
int vmm_mover_queue(struct vmm *m, struct mover_job *job, struct ctl_pending *pending);
void vmm_mover_hooks(struct vmm *m, struct cma_hooks *hooks);

/*
 * hugepages.c: has the host the free huge pages every boot window of @cfg
 * needs? 0, or -1 with how many are missing and how to add them printed.
 */
int vmm_hugepages_preflight(const struct vm_config *cfg);

/*
 * gpu.c: the GPU memory region, made before the devices (a host without
 * its huge pages stops cmavm before the guest starts) and destroyed after
 * them; the GPU's control API callbacks.
 */
int vmm_gpu_region_create(struct vmm *m);
void vmm_gpu_region_destroy(struct vmm *m);
void vmm_gpu_ctl_ops(struct ctl_ops *ops);

/*
 * agent.c: the guest agent's client (made before the devices, destroyed
 * after the loop stops), its port's callbacks, and its API callback.
 */
int vmm_agent_create(struct vmm *m);
void vmm_agent_destroy(struct vmm *m);
struct console_options vmm_agent_port(struct vmm *m);
void vmm_agent_ctl_ops(struct ctl_ops *ops);

/* control.c: the control socket. */
int vmm_control_open(struct vmm *m);
void vmm_control_close(struct vmm *m);

/*
 * metrics.c: --metrics-file. Started once the control socket has filled
 * m->ctl_ops, before this thread enters its sandbox (the writer thread's
 * filter must not stack on it); stopped while the loop runs, for the last
 * exposition.
 */
int vmm_metrics_start(struct vmm *m);
void vmm_metrics_stop(struct vmm *m);

#endif
