// SPDX-License-Identifier: GPL-2.0-only
/*
 * The boot sequence, top to bottom: the machine, the event loop, the CMA
 * engine over guest RAM (with the boot windows, committed while no vCPU
 * has run), the GPU memory region, the devices, the loop thread, the engine's mover thread (its
 * moves need the loop to fence device I/O), the vCPUs (held before the
 * guest's first instruction), the control socket (a pause asked for
 * through the API needs vCPU threads to park), and last this thread's own
 * entry into the sandbox: only then may the guest run. Each thread enters
 * the sandbox as it starts (vmm/sandbox/sandbox.h). Teardown runs in the
 * reverse order.
 */
#include "vmm/glue/vmm.h"
#include "vmm/glue/glue.h"
#include "vmm/hw/console.h"
#include "vmm/machine/config.h"
#include "vmm/machine/vm.h"
#include "vmm/sandbox/sandbox.h"

#include <stdlib.h>

#define LOOP_ENTRIES 256

static void teardown(struct vmm *m)
{
	if (m->vm)
		vm_halt(m->vm); /* no vCPU touches a device from here on */
	vmm_control_close(m);	/* while the loop runs: it lets go of the connections */
	vmm_mover_stop(m);	/* its last answer goes through the loop, too */
	vmm_metrics_stop(m);	/* the last exposition is made on the loop */
	if (m->loop_ready) {
		ev_loop_stop(&m->loop);
		vmm_devices_destroy(m);
		vmm_agent_destroy(m);
		vmm_gpu_region_destroy(m);
		vmm_engine_destroy(m);
		ev_loop_destroy(&m->loop);
	}
	vm_destroy(m->vm);
}

int vmm_run(const struct vm_config *cfg, const struct boot_plan *plan)
{
	struct vmm *m = calloc(1, sizeof(*m));
	int code = 1;

	if (!m)
		return 1;
	m->cfg = cfg;
	m->plan = plan;
	sandbox_prepare();
	sandbox_on_violation(console_restore);
	if (sandbox_set_mode(cfg->seccomp))
		goto out;
	m->vm = vm_create(cfg, plan);
	if (!m->vm || ev_loop_init(&m->loop, LOOP_ENTRIES))
		goto out;
	m->loop_ready = true;
	if (vmm_engine_create(m) || vmm_gpu_region_create(m) || vmm_agent_create(m) ||
	    vmm_devices_create(m) || ev_loop_start(&m->loop) || vmm_mover_start(m))
		goto out;
	vmm_engine_guest_starts(m);
	if (vm_start(m->vm) || vmm_control_open(m) || vmm_metrics_start(m) ||
	    sandbox_enter(SANDBOX_MAIN, "cmavm")) {
		vm_stop(m->vm, 1);
		goto out;
	}
	vm_release(m->vm);
	code = vm_wait(m->vm);
out:
	teardown(m);
	free(m);
	return code;
}
