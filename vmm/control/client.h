/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API's client side.
 *
 * Owns: where the API socket is when nobody says (the one default both
 * `cmavm run` and `cmavm ctl` use, and the socket of a VM named with
 * --name), what a VM name may be, and one blocking request/response
 * exchange over it, the response parsed with http-parser: its body, JSON
 * or any other bytes, and a descriptor the VM passes with it.
 */
#ifndef VMM_CONTROL_CLIENT_H
#define VMM_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_SOCKET_NAME "cmavm.sock"
#define CTL_TIMEOUT_S	600	    /* for the VM to answer, but see ctl_answer_timeout_s() */
#define CTL_REPLY_MAX	(16u << 20) /* a larger answer is refused */

/*
 * The default API socket: $CMAVM_SOCKET if set, else
 * ${XDG_RUNTIME_DIR:-/tmp}/cmavm.sock, written to @buf. Returns @buf, or
 * NULL (with the error printed) if the path does not fit in @len bytes.
 */
const char *ctl_default_socket(char *buf, size_t len);

#define CTL_NAME_MAX 32 /* bytes of a VM name */

/*
 * The directory of the default socket and of named VMs' sockets:
 * $XDG_RUNTIME_DIR, else /tmp. `cmavm ctl list` looks there.
 */
const char *ctl_socket_dir(void);

/*
 * Whether @name can name a VM: 1 to CTL_NAME_MAX letters, digits, '.',
 * '_' or '-', not starting with '.' or '-' (it becomes part of a file
 * name). False with the reason in @why (a phrase, e.g. "has a '/'").
 */
bool ctl_name_valid(const char *name, char *why, size_t why_len);

/*
 * The API socket of the VM named @name: ctl_socket_dir()/cmavm-NAME.sock,
 * written to @buf. Returns @buf, or NULL (with the error printed) if the
 * name is not valid or the path does not fit in @len bytes.
 */
const char *ctl_named_socket(const char *name, char *buf, size_t len);

/* Made by ctl_request(); one made otherwise needs fd = -1. */
struct ctl_reply {
	int status; /* the HTTP status */
	char *body; /* @body_len bytes, NUL bytes among them maybe, then a NUL; "" when none */
	size_t body_len;
	char content_type[64]; /* the header's value (cut to fit), "" when absent */
	/*
	 * A descriptor the VM sent with the answer, -1: none; ctl_reply_free()
	 * closes it unless the caller took it (set it to -1).
	 */
	int fd;
};

/*
 * Send @method @path, with @json as the body unless NULL, to the API at
 * @socket_path, and wait for the answer. Returns 0 with @reply filled
 * (whatever its status; free it with ctl_reply_free()), or -1 with the
 * error printed: no VM at that socket (and how to start one), no answer
 * within ctl_answer_timeout_s(), an answer that is not HTTP, or one that
 * announces a descriptor (HTTP_FD_HEADER) that did not arrive. The first
 * descriptor the VM sends comes in @reply->fd (close-on-exec); any more
 * are closed.
 */
int ctl_request(const char *socket_path, const char *method, const char *path, const char *json,
		struct ctl_reply *reply);

/*
 * ctl_request() of a bodiless request that prints nothing when it fails
 * and waits @timeout_s for the answer: a probe (`cmavm ctl list`, --wait).
 */
int ctl_request_quiet(const char *socket_path, const char *method, const char *path,
		      unsigned int timeout_s, struct ctl_reply *reply);

/*
 * A connection to the API socket at @path, its answers awaited
 * @timeout_s (0: forever); its descriptor, or -1 with the error printed
 * (no VM there, and how to start one). ctl_request() makes its own.
 */
int ctl_connect_api(const char *path, unsigned int timeout_s);

/* Frees the body and closes @reply->fd unless it is -1. */
void ctl_reply_free(struct ctl_reply *reply);

/*
 * How long ctl_request() waits for the answer to @method @path, in
 * seconds; 0: as long as it takes. The CMA engine's commands (PUT
 * /v1/cma/...) are answered when their move is done, and a window of
 * gigabytes can take longer than CTL_TIMEOUT_S; the VM answers every other
 * request meanwhile, so a stuck VM still shows. Ctrl-C stops waiting (the
 * move goes on). Everything else: CTL_TIMEOUT_S.
 */
unsigned int ctl_answer_timeout_s(const char *method, const char *path);

/*
 * The sentence to show for a reply that is not 2xx: the API's "error"
 * member, else the status line's words.
 */
const char *ctl_reply_error(const struct ctl_reply *reply, char *buf, size_t len);

#endif
