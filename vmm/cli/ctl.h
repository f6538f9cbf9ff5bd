/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to vmm/cli/ctl.c, ctl_requests.c, ctl_errors.c, ctl_gpu.c and ctl_views*.c
 * (and their unit tests): how `cmavm ctl` turns a command's words into a
 * request (ctl_requests.c; the GPU's in ctl_gpu.c), sends it and prints
 * the answer or its error (ctl.c; a refusal in the command's terms:
 * ctl_errors.c), takes an answer that is more than JSON
 * (ctl_gpu.c: a screenshot's PNG, an exported dma-buf), and shows an
 * answer to people (the views: ctl_views_vm.c for the VM, ctl_views_cma.c
 * for the host CMA engine, ctl_views_gpu.c for the GPU, ctl_views.c for
 * what they share). The views read the API's JSON as vmm/control/api.h
 * describes it.
 */
#ifndef VMM_CLI_CTL_H
#define VMM_CLI_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/cli/table.h"

/* Print @answer, the body of a 2xx answer, for people. */
typedef void (*ctl_show_fn)(FILE *out, json_t *answer);

struct ctl_command;
struct ctl_reply;

/*
 * For an answer that is more than JSON to show: take the 2xx @reply (its
 * bytes, its descriptor) and return the exit status, errors printed.
 */
typedef int (*ctl_take_fn)(const struct ctl_command *cmd, struct ctl_reply *reply, bool as_json);

/* What one command sends, and how its answer is shown. */
struct ctl_command {
	const char *method;
	const char *path;
	char *json;	  /* the body, malloc()ed, or NULL */
	ctl_show_fn show; /* NULL: the body as it came (raw) */
	const char *svg;  /* map --svg FILE */
	ctl_take_fn take; /* instead of @show */
	const char *file; /* screenshot FILE.png ("-": stdout) */
	char **program;	  /* gpu export -- PROGRAM ARGS...: @program_argc words; NULL: none */
	int program_argc;
	char path_buf[64]; /* @path, when it carries a query */
};

/*
 * The command of @argv[0] with its arguments after; 0, or CLI_EXIT_USAGE
 * with the error printed. The caller frees @cmd->json.
 */
int ctl_parse_command(int argc, char **argv, struct ctl_command *cmd);

/* A decimal index (a window id, a block number, a scanout); false when @text is none. */
bool ctl_parse_index(const char *text, uint64_t max, uint64_t *out);

/* ---- a refusal in the command's terms (ctl_errors.c) ---- */

/* "cmavm ctl WORDS...": the command @argv as typed, in @buf. */
const char *ctl_typed(int argc, char **argv, char *buf, size_t len);

/* @bytes as a size argument is typed: "16M", "1G", "4097". */
const char *ctl_size_words(uint64_t bytes, char buf[static 32]);

/*
 * Print why the VM at @socket refused @cmd, typed as @argv, with the
 * non-2xx @reply: in terms of the command (asking the VM what that needs),
 * else the API's own sentence. Returns CLI_EXIT_FAILED.
 */
int ctl_refused(const char *socket, int argc, char **argv, const struct ctl_command *cmd,
		const struct ctl_reply *reply);

/* ---- the GPU's commands (ctl_gpu.c): words to request, and the answers taken ---- */

/* gpu display WIDTHxHEIGHT [--scanout N] */
int ctl_gpu_display(int argc, char **argv, struct ctl_command *cmd);
/* screenshot FILE.png [--scanout N] */
int ctl_gpu_screenshot(int argc, char **argv, struct ctl_command *cmd);
/* gpu export [--scanout N] [-- PROGRAM [ARGS...]] */
int ctl_gpu_export(int argc, char **argv, struct ctl_command *cmd);

/* ---- beyond one request (ctl_local.c) ---- */

/* `ctl list`: every VM with its socket in ctl_socket_dir(); the exit status. */
int ctl_list(bool as_json);

/* `ctl connect`: stdin and stdout joined to the socket at @path; the exit status. */
int ctl_connect(const char *path);

/*
 * --wait SECONDS: until the VM at @path answers, at most @seconds; 0, or
 * -1 with the error printed.
 */
int ctl_wait_for_vm(const char *path, unsigned int seconds);

/* ---- what the views share (ctl_views.c) ---- */

/* The string at @key, "?" when there is none. */
const char *view_str(json_t *obj, const char *key);
/* The number @v, or at @key; 0 when there is none or it is negative. */
uint64_t view_u64_of(json_t *v);
uint64_t view_u64(json_t *obj, const char *key);
/* "yes" when @key is true, else "no" */
const char *view_yes_no(json_t *obj, const char *key);

typedef void (*view_row_fn)(struct table *t, json_t *item);

/*
 * A table of @header (up to a NULL) and a @row per item of the array
 * @list; when it is empty, the line @none instead (nothing if NULL).
 */
void view_list(FILE *out, json_t *list, const char *const *header, view_row_fn row,
	       const char *none);

/* ---- the VM (ctl_views_vm.c) ---- */

void ctl_show_status(FILE *out, json_t *vm);	       /* GET /v1/vm */
void ctl_show_state(FILE *out, json_t *answer);	       /* PUT /v1/vm/{pause,resume,shutdown} */
void ctl_show_balloon(FILE *out, json_t *balloon);     /* GET, PUT /v1/balloon */
void ctl_show_balloon_stats(FILE *out, json_t *stats); /* GET /v1/balloon/statistics */
void ctl_show_devices(FILE *out, json_t *devices);     /* GET /v1/devices */

/* ---- the host CMA engine (ctl_views_cma.c) ---- */

void ctl_show_cma_pools(FILE *out, json_t *pools); /* GET /v1/cma/pools */
void ctl_show_cma_map(FILE *out, json_t *map);	   /* GET /v1/cma/map */
void ctl_show_window(FILE *out, json_t *window);   /* PUT /v1/cma/windows */
void ctl_show_windows(FILE *out, json_t *windows); /* GET /v1/cma/windows */
void ctl_show_released(FILE *out, json_t *answer); /* PUT /v1/cma/windows/release */
void ctl_show_migrated(FILE *out, json_t *answer); /* PUT /v1/cma/migrate */
void ctl_show_cma_stats(FILE *out, json_t *stats); /* GET /v1/cma/stats */

/*
 * map --svg FILE: GET /v1/cma/map's @map as SVG in @path, saying where it
 * went on @said; CLI_EXIT_OK, or CLI_EXIT_FAILED with the error printed.
 */
int ctl_write_svg(const char *path, json_t *map, FILE *said);

/* ---- the GPU (ctl_views_gpu.c) ---- */

void ctl_show_gpu(FILE *out, json_t *gpu);	       /* GET /v1/gpu */
void ctl_show_gpu_scanout(FILE *out, json_t *scanout); /* PUT /v1/gpu/display */
/* PUT /v1/gpu/export without a program: the buffer, and how to hand it on */
void ctl_show_exported(FILE *out, json_t *exported);

#endif
