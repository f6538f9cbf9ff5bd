/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the control API's tests (test_api_*.c): a fake VM behind
 * struct ctl_ops, and calls into ctl_api_handle() as the HTTP server
 * would make them, with their answers.
 *
 * The VM: running, 512 MiB, two pools (linux,cma: 64 MiB at 0x9c000000,
 * 32 pageblocks of 2 MiB; fw: 4 MiB at 0x9ac00000), a balloon reporting
 * every 5 s, two devices (virtio-blk0, virtio-rng0). Its CMA commands can
 * be made to pend (@pend) and finished later; a pending commit is listed
 * as a window being committed. Its GPU (virtio-gpu0, 64 MiB on 2 MiB huge
 * pages) has two scanouts: 0 at 1024x768 showing resource 1 (host
 * contiguous at 0x8a2000000), 1 at 800x600 showing nothing; resource 2 is
 * the cursor's, its host placement unknown.
 */
#ifndef TESTS_VMM_CONTROL_FAKE_VM_H
#define TESTS_VMM_CONTROL_FAKE_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/control/api.h"

enum fake_pend {
	FAKE_NOW,	 /* commands are done before their callback returns */
	FAKE_PEND,	 /* they pend until finish_pending() */
	FAKE_DONE_EARLY, /* they call done() and then return CTL_PENDING */
};

/* The command pending: what its callback got. */
struct fake_pended {
	struct ctl_pending *pending; /* NULL: none */
	const struct ctl_cma_commit *commit;
	struct ctl_cma_window *window;
	const struct ctl_cma_migrate *migrate; /* neither: a release of @id */
	uint64_t *gpa, *pause_ns;
	unsigned int id;
	char *err;
	size_t errlen;
};

struct fake_vm {
	const char *name; /* --name's; NULL: none */
	enum ctl_vm_state state;
	bool has_balloon;
	bool stats_reported;
	struct ctl_balloon balloon;
	unsigned int balloon_sets;

	/* the CMA engine */
	unsigned int nr_windows, next_window_id;
	struct ctl_cma_window windows[CTL_CMA_WINDOWS_MAX];
	unsigned int cma_calls; /* commits, releases and migrations that got to the VM */
	struct ctl_cma_migrate last_migrate;
	int cma_fail; /* an errno every commit, release and migration returns */
	enum fake_pend pend;
	struct fake_pended pended;
	uint64_t pend_done_bytes; /* how far a pending commit shows it got */

	/* the GPU */
	bool has_gpu;
	struct ctl_gpu gpu;
	unsigned int gpu_calls;	    /* set_display, screenshot, export that got to the VM */
	unsigned int gpu_scanout;   /* the scanout the last of them named */
	int export_fail;	    /* an errno every export returns */
	struct ctl_guest_cma guest; /* what guest_cma answers */
};

#define FAKE_GPU_PHYS 0x8a2000000ULL /* where resource 1 starts on the host */

extern struct fake_vm vm;
extern const struct ctl_ops ops; /* every callback, on &vm */

/*
 * Finish the pending command, as it would have been done at once (failing
 * if @vm.cma_fail says so), and call its done(). On the loop thread when a
 * server runs: pass it to ev_loop_call().
 */
void finish_pending(void *unused);

/* cmocka setup: the VM as described above. */
int reset_vm(void **state);

#define API_TEST(fn) cmocka_unit_test_setup(fn, reset_vm)

struct answer {
	int status;
	char allow[64];
	json_t *json;
	char text[2048]; /* the body as the server would send it */
	/* other bytes than JSON (http_response_data()), and their type */
	char content_type[64];
	void *data;
	size_t data_len;
	int fd; /* attached (http_response_attach_fd()); -1: none */
};

/* The PNG file the fake GPU's screenshots answer, and its length. */
extern const unsigned char fake_png[];
extern const size_t fake_png_len;

/* @path may carry a query: "/v1/gpu/screenshot?scanout=1". */
struct answer call_ops(const struct ctl_ops *with, const char *method, const char *path,
		       const char *content_type, const char *body);
struct answer call(const char *method, const char *path, const char *content_type,
		   const char *body);
struct answer get(const char *path);
/* With @json (NULL: no body) as application/json. */
struct answer put(const char *path, const char *json);
void done(struct answer *a);

json_int_t int_at(json_t *obj, const char *key);
const char *str_at(json_t *obj, const char *key);

/* Each of these frees @a. */
/* The answer is an error with @status whose sentence has @needle. */
void expect_error(struct answer a, int status, const char *needle);
/* A 200 whose "state" is @state. */
void expect_state(struct answer a, const char *state);
/* A 405 with Allow: @allow. */
void expect_405(struct answer a, const char *allow);
/* The status of @a. */
int status_of(struct answer a);

#endif
