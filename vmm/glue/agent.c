// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's own CMA figures: the QEMU guest agent client (vmm/agent/)
 * on the virtio-console port it talks through, and what free page
 * reporting tells the host when no agent answers.
 *
 * The port calls in with the console device's lock held, on the loop
 * thread; the agent sends later, from its own wake-up on the loop, taking
 * that lock then. A device reset on a vCPU thread closes the port there:
 * that is not passed on (the agent's state belongs to the loop thread), and
 * the agent finds the port closed at its next send and starts over when
 * the guest opens it again.
 */
#include "vmm/agent/agent.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/agent/qga.h"
#include "vmm/glue/glue.h"
#include "vmm/machine/config.h"

#include <string.h>

static size_t agent_send(void *opaque, const void *data, size_t len)
{
	struct vmm *m = opaque;
	size_t n;

	if (!m->console)
		return 0;
	pthread_mutex_lock(&m->console->lock);
	n = console_port_send(m->console, data, len);
	pthread_mutex_unlock(&m->console->lock);
	return n;
}

static void port_received(void *opaque, const uint8_t *data, size_t len)
{
	struct vmm *m = opaque;

	agent_received(m->agent, data, len);
}

static void port_opened(void *opaque, bool open)
{
	struct vmm *m = opaque;

	if (ev_on_loop_thread(&m->loop))
		agent_port_opened(m->agent, open);
}

int vmm_agent_create(struct vmm *m)
{
	struct agent_transport t = { .opaque = m, .send = agent_send };

	if (!m->cfg->agent_interval_s)
		return 0;
	m->agent = agent_create(&m->loop, &t, m->cfg->agent_interval_s);
	if (!m->agent)
		return -1;
	agent_set_page_size(m->agent, (unsigned int)m->plan->guest.page_size);
	return 0;
}

void vmm_agent_destroy(struct vmm *m)
{
	agent_destroy(m->agent);
	m->agent = NULL;
}

struct console_options vmm_agent_port(struct vmm *m)
{
	return (struct console_options){
		.port_name = QGA_PORT_NAME,
		.ops = { .opaque = m, .received = port_received, .opened = port_opened },
	};
}

/* Pool pageblocks the guest reported free: what the host knows with no agent. */
static uint64_t reported_free_bytes(struct vmm *m)
{
	uint64_t counts[CMA_NR_STATES], sum = 0;

	for (size_t i = 0; m->engine && i < cma_engine_nr_pools(m->engine); i++) {
		cma_pool_counts(m->engine, i, counts);
		sum += counts[CMA_REPORTED];
	}
	return sum;
}

static int ctl_guest_cma(void *opaque, struct ctl_guest_cma *out)
{
	struct vmm *m = opaque;
	struct agent_cma a = { .state = "no port" };

	if (m->agent)
		agent_figures(m->agent, &a);
	*out = (struct ctl_guest_cma){
		.agent = a.agent,
		.agent_state = a.state,
		.interval_s = a.interval_s,
		.updated = a.updated,
		.cma_total_bytes = a.cma_total_bytes,
		.cma_free_bytes = a.cma_free_bytes,
		.nr_free_cma_bytes = a.nr_free_cma_bytes,
		.alloc_success = a.alloc_success,
		.alloc_fail = a.alloc_fail,
		.peak_used_bytes = a.peak_used_bytes,
		.readings = a.readings,
		.agent_errors = a.agent_errors,
		.reported_free_bytes = reported_free_bytes(m),
	};
	return 0;
}

void vmm_agent_ctl_ops(struct ctl_ops *ops)
{
	ops->guest_cma = ctl_guest_cma;
}
