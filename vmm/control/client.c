// SPDX-License-Identifier: GPL-2.0-only
/*
 * The answer is read with recvmsg(): a descriptor the VM passes comes as
 * ancillary data with the answer's first bytes (vmm/control/http_server.h),
 * and the header HTTP_FD_HEADER says one should have come.
 */
#include "vmm/control/client.h"
#include "vmm/control/http_server.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define RECV_CHUNK	 (64 * 1024)
#define FIELD_MAX	 32 /* longer header names are none we look at */
#define RECV_FDS_MAX	 4  /* room for this many in one recvmsg(); the kernel closes more */
#define FD_ANNOUNCED_MAX 8

enum reply_header { REPLY_OTHER, REPLY_CONTENT_TYPE, REPLY_FD };

/* The response being read. */
struct reading {
	struct ctl_reply *reply;
	struct strbuf body;	    /* up to CTL_REPLY_MAX with its NUL */
	struct strbuf content_type; /* over @reply->content_type */
	char fd_value[FD_ANNOUNCED_MAX];
	struct strbuf fd_header; /* over @fd_value */
	char field[FIELD_MAX];
	size_t field_len;
	bool in_value; /* the next header-field piece starts a new name */
	enum reply_header header;
	bool fds_cut; /* descriptors came that found no room (MSG_CTRUNC) */
	bool too_big;
	bool done;
};

static const char *nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *ctl_socket_dir(void)
{
	const char *dir = nonempty_env("XDG_RUNTIME_DIR");

	return dir ? dir : "/tmp";
}

const char *ctl_default_socket(char *buf, size_t len)
{
	const char *env = nonempty_env("CMAVM_SOCKET");
	const char *dir = ctl_socket_dir();
	int n;

	if (env)
		n = snprintf(buf, len, "%s", env);
	else
		n = snprintf(buf, len, "%s/" CTL_SOCKET_NAME, dir);
	if (n < 0 || (size_t)n >= len) {
		pr_err("the API socket path %s%s is too long; set CMAVM_SOCKET to a shorter path",
		       env ? env : dir, env ? "" : "/" CTL_SOCKET_NAME);
		return NULL;
	}
	return buf;
}

bool ctl_name_valid(const char *name, char *why, size_t why_len)
{
	size_t len = strlen(name);
	size_t bad;

	if (!len || len > CTL_NAME_MAX) {
		snprintf(why, why_len, "is %s (1 to %d characters)", len ? "too long" : "empty",
			 CTL_NAME_MAX);
		return false;
	}
	if (name[0] == '.' || name[0] == '-') {
		snprintf(why, why_len, "starts with '%c'", name[0]);
		return false;
	}
	bad = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	if (bad < len) {
		snprintf(why, why_len, "has '%c' (letters, digits, '.', '_' and '-' only)",
			 name[bad]);
		return false;
	}
	return true;
}

const char *ctl_named_socket(const char *name, char *buf, size_t len)
{
	char why[80];
	int n;

	if (!ctl_name_valid(name, why, sizeof(why))) {
		pr_err("the VM name '%s' %s", name, why);
		return NULL;
	}
	n = snprintf(buf, len, "%s/cmavm-%s.sock", ctl_socket_dir(), name);
	if (n < 0 || (size_t)n >= len) {
		pr_err("the API socket path %s/cmavm-%s.sock is too long; set XDG_RUNTIME_DIR to a "
		       "shorter directory, or give --api-socket PATH",
		       ctl_socket_dir(), name);
		return NULL;
	}
	return buf;
}

void ctl_reply_free(struct ctl_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->body_len = 0;
	if (reply->fd >= 0)
		close(reply->fd);
	reply->fd = -1;
}

const char *ctl_reply_error(const struct ctl_reply *reply, char *buf, size_t len)
{
	json_t *root = json_loadb(reply->body, reply->body_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "error"));

	if (msg)
		snprintf(buf, len, "%s", msg);
	else
		snprintf(buf, len, "the API answered %d %s", reply->status,
			 http_status_str((enum http_status)reply->status));
	json_decref(root);
	return buf;
}

/* ---- the response, through http-parser ---- */

/* A new response (after a 1xx, the real one): its headers start afresh. */
static int on_message_begin(http_parser *p)
{
	struct reading *r = p->data;

	r->reply->content_type[0] = '\0';
	strbuf_attach(&r->content_type, r->reply->content_type, sizeof(r->reply->content_type));
	r->fd_value[0] = '\0';
	strbuf_attach(&r->fd_header, r->fd_value, sizeof(r->fd_value));
	r->in_value = true;
	return 0;
}

static bool field_is(const struct reading *r, const char *name)
{
	return r->field_len == strlen(name) && !strncasecmp(r->field, name, r->field_len);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct reading *r = p->data;

	if (r->in_value) {
		r->field_len = 0;
		r->in_value = false;
	}
	if (r->field_len + n <= sizeof(r->field))
		memcpy(r->field + r->field_len, at, n);
	r->field_len += n; /* past sizeof(field): a name we do not want */
	return 0;
}

static struct strbuf *wanted_value(struct reading *r)
{
	switch (r->header) {
	case REPLY_CONTENT_TYPE:
		return &r->content_type;
	case REPLY_FD:
		return &r->fd_header;
	default:
		return NULL;
	}
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct reading *r = p->data;
	struct strbuf *value;

	if (!r->in_value) {
		r->in_value = true;
		r->header = field_is(r, "content-type")	  ? REPLY_CONTENT_TYPE
			    : field_is(r, HTTP_FD_HEADER) ? REPLY_FD
							  : REPLY_OTHER;
		value = wanted_value(r);
		if (value)
			strbuf_reset(value); /* a repeated header: the last one counts */
	}
	value = wanted_value(r);
	if (value)
		strbuf_add(value, at, n); /* cut to fit */
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct reading *r = p->data;

	if (strbuf_add(&r->body, at, n)) {
		r->too_big = true; /* out of memory too: the answer is more than we can take */
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct reading *r = p->data;

	/* A 1xx is not the answer; the real one follows it. */
	if (p->status_code >= 200) {
		r->reply->status = p->status_code;
		r->done = true;
		http_parser_pause(p, 1);
	}
	return 0;
}

static const http_parser_settings reply_settings = {
	.on_message_begin = on_message_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- the exchange ---- */

/* Set by ctl_request_quiet(): a probe prints nothing of its failures. */
static bool quiet;
static unsigned int probe_timeout_s; /* 0: ctl_answer_timeout_s() */

#define exchange_err(...)                                                                          \
	do {                                                                                       \
		if (!quiet)                                                                        \
			pr_err(__VA_ARGS__);                                                       \
	} while (0)
#define exchange_errno(...)                                                                        \
	do {                                                                                       \
		if (!quiet)                                                                        \
			pr_errno(__VA_ARGS__);                                                     \
	} while (0)

unsigned int ctl_answer_timeout_s(const char *method, const char *path)
{
	static const char moves[] = "/v1/cma/";

	if (!strcmp(method, "PUT") && !strncmp(path, moves, sizeof(moves) - 1))
		return 0;
	return CTL_TIMEOUT_S;
}

int ctl_connect_api(const char *path, unsigned int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval send_timeout = { .tv_sec = CTL_TIMEOUT_S };
	struct timeval timeout = { .tv_sec = timeout_s };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		exchange_err("the API socket path %s is too long (at most %zu bytes)", path,
			     sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		exchange_errno("socket(AF_UNIX)");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		exchange_err(
			"cannot connect to the VM's API socket %s: %s; is a VM running with it? "
			"Start one with 'cmavm run --api-socket %s', or point at another VM's "
			"socket with --socket PATH or CMAVM_SOCKET",
			path, strerror(errno), path);
		close(fd);
		return -1;
	}
	return fd;
}

static char *format_request(const char *method, const char *path, const char *json, size_t *len)
{
	char *text = NULL;
	int n;

	if (json)
		n = asprintf(&text,
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			     "Connection: close\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, path, strlen(json), json);
	else
		n = asprintf(&text,
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			     "Connection: close\r\n\r\n",
			     method, path);
	if (n < 0)
		return NULL;
	*len = n;
	return text;
}

/*
 * All of @text, or as much as the server takes: one that refuses us (503)
 * may answer and close before reading, and its answer is still worth
 * reading.
 */
static void send_request(int fd, const char *text, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, text, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= n;
	}
}

/* The descriptors that came with a recvmsg(): the first one kept, the rest closed. */
static void keep_fds(struct msghdr *msg, struct reading *r)
{
	struct cmsghdr *cmsg;
	size_t i, n;
	int fd;

	if (msg->msg_flags & MSG_CTRUNC)
		r->fds_cut = true;
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (r->reply->fd < 0)
				r->reply->fd = fd;
			else
				close(fd);
		}
	}
}

/* recv() that takes the descriptors coming with the bytes too. */
static ssize_t receive(int fd, char *buf, size_t len, struct reading *r)
{
	_Alignas(struct cmsghdr) char control[CMSG_SPACE(RECV_FDS_MAX * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

	if (n >= 0)
		keep_fds(&msg, r);
	return n;
}

/* The answer said a descriptor comes with it: has it? */
static int check_fd_came(const char *path, const struct reading *r)
{
	if (strcmp(r->fd_value, "1") || r->reply->fd >= 0)
		return 0;
	exchange_err("the answer from %s came without the file descriptor it announced%s", path,
		     r->fds_cut ? "; this process may have too many open files (ulimit -n)" : "");
	return -1;
}

static int receive_reply(int fd, const char *path, unsigned int timeout_s, struct reading *r)
{
	http_parser parser;
	char buf[RECV_CHUNK];
	ssize_t n;

	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = r;
	while (!r->done) {
		n = receive(fd, buf, sizeof(buf), r);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			exchange_err("no answer from the VM at %s within %u s; it may be stuck",
				     path, timeout_s);
			return -1;
		}
		if (n < 0 && !strbuf_len(&r->body) && errno != ECONNRESET) {
			exchange_errno("reading the answer from %s", path);
			return -1;
		}
		/* n == 0 tells the parser the stream ended (an answer may end so) */
		http_parser_execute(&parser, &reply_settings, buf, n > 0 ? n : 0);
		if (r->too_big) {
			exchange_err("the answer from %s is larger than %u bytes; not reading it",
				     path, CTL_REPLY_MAX);
			return -1;
		}
		if (r->done)
			break;
		if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
			exchange_err(
				"the answer from %s is not HTTP (%s); is this a cmavm API socket?",
				path, http_errno_description(HTTP_PARSER_ERRNO(&parser)));
			return -1;
		}
		if (n <= 0) {
			exchange_err("the VM at %s closed the connection before answering in full",
				     path);
			return -1;
		}
	}
	return check_fd_came(path, r);
}

/* The answer into @reply, its body handed over whole or not at all. */
static int read_reply(int fd, const char *path, unsigned int timeout_s, struct ctl_reply *reply)
{
	struct reading r = { .reply = reply, .body = STRBUF_INIT(CTL_REPLY_MAX - 1) };

	if (receive_reply(fd, path, timeout_s, &r)) {
		strbuf_release(&r.body);
		return -1;
	}
	reply->body = r.body.data;
	reply->body_len = strbuf_len(&r.body);
	return 0;
}

int ctl_request(const char *socket_path, const char *method, const char *path, const char *json,
		struct ctl_reply *reply)
{
	unsigned int timeout_s = probe_timeout_s ?: ctl_answer_timeout_s(method, path);
	size_t len = 0;
	char *text;
	int fd, ret;

	*reply = (struct ctl_reply){ .fd = -1 };
	fd = ctl_connect_api(socket_path, timeout_s);
	if (fd < 0)
		return -1;
	text = format_request(method, path, json, &len);
	if (!text) {
		exchange_err("out of memory");
		close(fd);
		return -1;
	}
	send_request(fd, text, len);
	free(text);
	ret = read_reply(fd, socket_path, timeout_s, reply);
	close(fd);
	if (!ret && !reply->body)
		reply->body = strdup("");
	if (ret || !reply->body) {
		ctl_reply_free(reply);
		return -1;
	}
	return 0;
}

int ctl_request_quiet(const char *socket_path, const char *method, const char *path,
		      unsigned int timeout_s, struct ctl_reply *reply)
{
	int ret;

	quiet = true;
	probe_timeout_s = timeout_s;
	ret = ctl_request(socket_path, method, path, NULL, reply);
	probe_timeout_s = 0;
	quiet = false;
	return ret;
}
