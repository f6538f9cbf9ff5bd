// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's side of the control API (vmm/control/api.h): each callback
 * reads or changes the machine, the devices or the engine, and fills the
 * API's plain structs. They run on the event loop thread.
 */
#include "vmm/control/client.h"
#include "vmm/glue/glue.h"
#include "vmm/hw/guest_ram.h"
#include "vmm/machine/boot_plan.h"
#include "vmm/machine/config.h"
#include "vmm/machine/vm.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum ctl_vm_state state_of(struct vm *vm)
{
	static const enum ctl_vm_state states[] = {
		[VM_RUNNING] = CTL_VM_RUNNING,
		[VM_PAUSED] = CTL_VM_PAUSED,
		[VM_STOPPING] = CTL_VM_STOPPING,
	};

	return states[vm_state(vm)];
}

static int ctl_status(void *opaque, struct ctl_vm_status *out)
{
	struct vmm *m = opaque;
	const struct layout *l = &m->plan->layout;

	memset(out, 0, sizeof(*out));
	out->name = m->cfg->name;
	out->state = state_of(m->vm);
	out->vcpus = vm_nr_vcpus(m->vm);
	out->memory_bytes = vm_ram(m->vm)->size;
	/* Measured over the mapping, so that windows on huge pages count too. */
	out->memory_resident_bytes = vmm_engine_resident_bytes(m);
	out->guest_page_size = m->plan->guest.page_size;
	out->pageblock_size = guest_pageblock(&m->plan->guest);
	out->cmdline = m->plan->bootargs;
	out->started = vm_started(m->vm);
	out->nr_pools = (unsigned int)l->nr_pools;
	for (size_t i = 0; i < l->nr_pools; i++) {
		const struct placed_pool *p = &l->pools[i];

		out->pools[i] = (struct ctl_pool){
			.name = p->spec->name,
			.kind = p->spec->kind,
			.is_default = p->spec->is_default,
			.base = p->r.base,
			.size = p->r.size,
			.why = p->why,
		};
	}
	return 0;
}

static int change_state(struct vm *vm, int ret, enum ctl_vm_state *state)
{
	*state = state_of(vm);
	if (ret == -EALREADY || ret == -EBUSY)
		return -EBUSY;
	return ret;
}

static int ctl_pause(void *opaque, enum ctl_vm_state *state)
{
	struct vm *vm = ((struct vmm *)opaque)->vm;

	return change_state(vm, vm_pause(vm), state);
}

/* A guest the engine paused for a move stays paused until the move is done. */
static int ctl_resume(void *opaque, enum ctl_vm_state *state)
{
	struct vmm *m = opaque;

	return change_state(m->vm, m->engine_paused ? -EBUSY : vm_resume(m->vm), state);
}

static int ctl_shutdown(void *opaque, enum ctl_vm_state *state)
{
	struct vm *vm = ((struct vmm *)opaque)->vm;

	if (vm_state(vm) == VM_STOPPING) {
		*state = CTL_VM_STOPPING;
		return -EBUSY;
	}
	pr_info("shutdown requested through the control socket");
	vm_stop(vm, 0);
	*state = CTL_VM_STOPPING;
	return 0;
}

static int ctl_balloon_get(void *opaque, struct ctl_balloon *out)
{
	struct virtio_device *balloon = ((struct vmm *)opaque)->balloon;
	struct balloon_info info;

	if (!balloon)
		return -ENODEV;
	pthread_mutex_lock(&balloon->lock);
	balloon_get_info(balloon, &info);
	pthread_mutex_unlock(&balloon->lock);
	*out = (struct ctl_balloon){
		.target_bytes = info.target_bytes,
		.actual_bytes = info.actual_bytes,
		.deflate_on_oom = info.deflate_on_oom,
		.free_page_reporting = info.free_page_reporting,
		.stats_interval_s = info.stats_interval_s,
	};
	return 0;
}

static int ctl_balloon_set(void *opaque, const struct ctl_balloon_update *u)
{
	struct vmm *m = opaque;
	struct virtio_device *balloon = m->balloon;

	if (!balloon)
		return -ENODEV;
	if (u->set_target && u->target_bytes > vm_ram(m->vm)->size)
		return -ERANGE;
	pthread_mutex_lock(&balloon->lock);
	if (u->set_target)
		balloon_set_target(balloon, u->target_bytes);
	if (u->set_stats_interval)
		balloon_set_stats_interval(balloon, u->stats_interval_s);
	pthread_mutex_unlock(&balloon->lock);
	return 0;
}

static int ctl_balloon_stats(void *opaque, struct ctl_balloon_stats *out)
{
	struct virtio_device *balloon = ((struct vmm *)opaque)->balloon;
	struct balloon_stats st;
	bool have;

	if (!balloon)
		return -ENODEV;
	pthread_mutex_lock(&balloon->lock);
	have = balloon_stats(balloon, &st);
	pthread_mutex_unlock(&balloon->lock);
	if (!have)
		return -ENODATA;
	memset(out, 0, sizeof(*out));
	for (unsigned int tag = 0; tag < CTL_BALLOON_S_NR; tag++)
		out->value[tag] = st.value[tag];
	out->reported = st.reported & ((1u << CTL_BALLOON_S_NR) - 1);
	out->updated = st.updated;
	return 0;
}

static int ctl_devices(void *opaque, struct ctl_device *devs, unsigned int max)
{
	return vmm_devices_describe(opaque, devs, max);
}

/* @path as an absolute path in @buf (a link must not depend on the cwd). */
static const char *absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	int n;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return path;
	n = snprintf(buf, len, "%s/%s", cwd, path);
	return n > 0 && (size_t)n < len ? buf : path;
}

/*
 * A named VM whose socket is elsewhere (--api-socket) still answers to its
 * name: its ctl_named_socket() is a link to the socket, for `cmavm ctl
 * --name` and `cmavm ctl list`. A link a VM still answers through is not
 * ours to replace; a dead one is.
 */
static void link_name(struct vmm *m, const char *path)
{
	char link[sizeof(m->name_link)], target[PATH_MAX];
	struct ctl_reply reply;
	struct stat st;

	if (!m->cfg->name || m->cfg->api_socket_named ||
	    !ctl_named_socket(m->cfg->name, link, sizeof(link)))
		return;
	if (!lstat(link, &st) && !ctl_request_quiet(link, "GET", "/v1/vm", 2, &reply)) {
		ctl_reply_free(&reply);
		pr_warn("another VM named %s answers at %s; 'cmavm ctl --name %s' finds that one, "
			"not this",
			m->cfg->name, link, m->cfg->name);
		return;
	}
	unlink(link);
	if (symlink(absolute(path, target, sizeof(target)), link) || lstat(link, &st)) {
		pr_warn("cannot link %s to the API socket (%s); 'cmavm ctl --name %s' will not "
			"find "
			"this VM",
			link, strerror(errno), m->cfg->name);
		return;
	}
	memcpy(m->name_link, link, sizeof(link));
	m->name_link_ino = st.st_ino;
}

/* The link, unless another VM of the name has put its own there since. */
static void unlink_name(struct vmm *m)
{
	struct stat st;

	if (m->name_link[0] && !lstat(m->name_link, &st) && st.st_ino == m->name_link_ino)
		unlink(m->name_link);
	m->name_link[0] = '\0';
}

int vmm_control_open(struct vmm *m)
{
	char def[HTTP_SOCKET_PATH_MAX];
	const char *path = m->cfg->api_socket; /* `cmavm run` settled it: see config.h */

	m->ctl_ops = (struct ctl_ops){
		.opaque = m,
		.status = ctl_status,
		.pause = ctl_pause,
		.resume = ctl_resume,
		.shutdown = ctl_shutdown,
		.balloon_get = ctl_balloon_get,
		.balloon_set = ctl_balloon_set,
		.balloon_stats = ctl_balloon_stats,
		.devices = ctl_devices,
	};
	vmm_engine_ctl_ops(&m->ctl_ops);
	vmm_gpu_ctl_ops(&m->ctl_ops);
	vmm_agent_ctl_ops(&m->ctl_ops);
	if (!path)
		path = ctl_default_socket(def, sizeof(def));
	if (!path)
		return -1; /* $CMAVM_SOCKET too long: ctl_default_socket() said so */
	ctl_api_prepare();
	if (http_server_open(&m->api, &m->loop, path, ctl_api_handle, &m->ctl_ops))
		return -1;
	m->api_open = true;
	link_name(m, path);
	if (m->cfg->api_socket_named)
		pr_info("control socket: %s (cmavm ctl --name %s status)", path, m->cfg->name);
	else
		pr_info("control socket: %s (cmavm ctl --socket %s status)", path, path);
	return 0;
}

void vmm_control_close(struct vmm *m)
{
	if (m->api_open)
		http_server_close(&m->api);
	m->api_open = false;
	unlink_name(m);
}
