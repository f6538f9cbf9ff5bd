// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's file and its listener: created 0600, a stale one
 * replaced, connections accepted (with a pause when out of descriptors),
 * their peer vetted and, all places taken, a place made or refused, and at
 * the end drained and removed.
 */
#include "vmm/control/http/internal.h"
#include "vmm/util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG 64
#define CLOSE_GRACE_S  1 /* for responses under way or deferred at http_server_close() */

/* Shared by every server's cancel requests: their completions need nothing. */
static void cancel_completed(struct ev_op *op, int res, unsigned int flags)
{
}

static struct ev_op cancel_op = { .done = cancel_completed };

/* ---- vetting the peer ---- */

static bool peer_allowed(const struct ucred *cred)
{
	return cred->uid == geteuid() || cred->uid == 0;
}

/* "root" or "uid 1000 and root": who may talk to this server. */
static const char *allowed_users(char *buf, size_t len)
{
	if (geteuid() == 0)
		return "root";
	snprintf(buf, len, "uid %u and root", geteuid());
	return buf;
}

static void refuse_peer(struct http_conn *c, const struct ucred *cred)
{
	char who[48];

	pr_warn("control socket %s: refused uid %u (pid %d); only %s may control this VM",
		c->srv->path, cred->uid, cred->pid, allowed_users(who, sizeof(who)));
	http_refuse(c, 403, "only %s may control this VM; you are uid %u",
		    allowed_users(who, sizeof(who)), cred->uid);
}

/* Every place is taken by a connection in the middle of something. */
static void refuse_when_full(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (!s->full_warned) /* once, not once per client retrying */
		pr_warn("control socket %s: %d connections are open and none is idle; refusing "
			"more with 503 until one is",
			s->path, HTTP_MAX_CONNS);
	s->full_warned = true;
	http_refuse(c, 503,
		    "cmavm serves at most %d API connections at once and none is idle: each is "
		    "receiving a request, sending an answer or awaiting a long command's; retry "
		    "in a few seconds, or end connections you hold open",
		    HTTP_MAX_CONNS);
}

/* Serve the connection on @fd, or answer why not (403, 503) and close it. */
static void admit(struct http_server *s, int fd)
{
	struct http_conn *c = http_conn_new(s, fd);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!c) {
		pr_err("out of memory: refusing a connection to the control socket %s", s->path);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		pr_errno("SO_PEERCRED on a connection to %s", s->path);
		http_refuse(c, 403,
			    "cmavm cannot tell who you are, so it will not take orders from you");
	} else if (!peer_allowed(&cred)) {
		refuse_peer(c, &cred);
	} else if (s->nr_served >= HTTP_MAX_CONNS && !http_make_room(s)) {
		refuse_when_full(c);
	} else if (http_conn_serve(c)) {
		http_refuse(c, 503, "cmavm is out of memory; retry later");
	}
	http_conn_next(c);
	http_sweep_arm(s);
}

/* ---- accepting ---- */

static void arm_accept(struct http_server *s);

static void retry_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_server *s = container_of(op, struct http_server, retry_op);

	s->accept_busy = NULL;
	if (s->closing)
		http_server_note_drained(s);
	else
		arm_accept(s);
}

/* Out of file descriptors: accepting again at once would only spin. */
static void arm_accept_later(struct http_server *s)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &s->retry_op);

	if (!sqe)
		return;
	s->retry_delay = (struct __kernel_timespec){ .tv_nsec = 100 * 1000 * 1000 };
	io_uring_prep_timeout(sqe, &s->retry_delay, 0, 0);
	s->accept_busy = &s->retry_op;
}

static bool accept_may_retry_now(int res)
{
	return res == -ECONNABORTED || res == -EINTR || res == -EAGAIN;
}

static bool accept_may_retry_later(int res)
{
	return res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM;
}

static void accept_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_server *s = container_of(op, struct http_server, accept_op);

	s->accept_busy = NULL;
	if (s->closing) {
		if (res >= 0)
			close(res);
		http_server_note_drained(s);
		return;
	}
	if (res >= 0)
		admit(s, res);
	if (res >= 0 || accept_may_retry_now(res)) {
		arm_accept(s);
	} else if (accept_may_retry_later(res)) {
		errno = -res;
		pr_errno("accepting on the control socket %s (retrying in 100 ms)", s->path);
		arm_accept_later(s);
	} else {
		errno = -res;
		pr_errno("accepting on the control socket %s; the API is no longer served",
			 s->path);
	}
}

static void arm_accept(struct http_server *s)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &s->accept_op);

	if (!sqe) {
		pr_err("the control socket %s stops accepting: the event loop is broken", s->path);
		return;
	}
	io_uring_prep_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
	s->accept_busy = &s->accept_op;
}

static void arm_accept_cb(void *arg)
{
	arm_accept(arg);
}

/* ---- the socket file ---- */

static void socket_address(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

int http_socket_answers(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0; /* nobody can listen there */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		pr_errno("socket(AF_UNIX)");
		return -1;
	}
	socket_address(&sa, path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	close(fd);
	if (ret == 0 || err == EAGAIN) /* EAGAIN: its backlog is full, but it lives */
		return 1;
	if (err == ECONNREFUSED)
		return 0;
	errno = err;
	pr_errno("cannot tell whether a cmavm listens on %s; remove it or choose another "
		 "socket path",
		 path);
	return -1;
}

/* Make room for our socket at @path, refusing to disturb anything alive. */
static int clear_socket_path(const char *path)
{
	struct stat st;
	int live;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		pr_errno("cannot examine the control socket path %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("%s exists and is not a socket; remove it or choose another control socket "
		       "path (CMAVM_SOCKET)",
		       path);
		return -1;
	}
	live = http_socket_answers(path);
	if (live > 0)
		pr_err("another cmavm already serves its API on %s; stop that VM or choose "
		       "another control socket path (CMAVM_SOCKET)",
		       path);
	if (live)
		return -1;
	if (unlink(path) && errno != ENOENT) {
		pr_errno("cannot remove the stale control socket %s", path);
		return -1;
	}
	return 0;
}

/*
 * umask(0177) around bind() makes the socket 0600 from its first instant,
 * so another user never gets a window to connect (chmod after bind would
 * leave one). The umask is process-wide: open the server before starting
 * threads that create files.
 */
static int bind_private(int fd, const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int ret;

	socket_address(&sa, path);
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret)
		pr_errno("cannot create the control socket %s", path);
	return ret;
}

static int listen_at(struct http_server *s)
{
	struct stat st;

	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		pr_errno("socket(AF_UNIX)");
		return -1;
	}
	if (bind_private(s->fd, s->path))
		return -1;
	if (listen(s->fd, LISTEN_BACKLOG) || stat(s->path, &st)) {
		pr_errno("cannot listen on the control socket %s", s->path);
		unlink(s->path);
		return -1;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

static void server_init(struct http_server *s, struct ev_loop *loop, http_handler_fn handler,
			void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->loop = loop;
	s->handler = handler;
	s->opaque = opaque;
	s->accept_op.done = accept_done;
	s->retry_op.done = retry_done;
	s->timeouts = (struct http_timeouts){
		.head_ms = HTTP_HEAD_TIMEOUT_MS,
		.body_ms = HTTP_BODY_TIMEOUT_MS,
		.idle_ms = HTTP_IDLE_TIMEOUT_MS,
		.send_ms = HTTP_SEND_TIMEOUT_MS,
	};
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->drained_cond, NULL);
}

int http_server_open(struct http_server *s, struct ev_loop *loop, const char *path,
		     http_handler_fn handler, void *opaque)
{
	server_init(s, loop, handler, opaque);
	if (strlen(path) >= sizeof(s->path)) {
		pr_err("the control socket path %s is %zu bytes; a UNIX socket path has at most "
		       "%zu, choose a shorter one",
		       path, strlen(path), sizeof(s->path) - 1);
		return -1;
	}
	strcpy(s->path, path);
	if (clear_socket_path(path) || listen_at(s)) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		return -1;
	}
	/* SQEs are taken on the loop thread only, once it runs. */
	if (!loop->running)
		arm_accept(s);
	else
		ev_loop_call(loop, arm_accept_cb, s);
	return 0;
}

/* ---- closing ---- */

void http_server_note_drained(struct http_server *s)
{
	if (!s->closing || s->conns || s->accept_busy || s->sweep_busy)
		return;
	pthread_mutex_lock(&s->lock);
	s->drained = true;
	pthread_cond_broadcast(&s->drained_cond);
	pthread_mutex_unlock(&s->lock);
}

bool http_cancel(struct http_server *s, struct ev_op *op)
{
	struct io_uring_sqe *sqe = ev_sqe(s->loop, &cancel_op);

	if (!sqe)
		return false;
	io_uring_prep_cancel(sqe, op, 0);
	return true;
}

/*
 * On the loop thread: stop accepting, end idle connections at once; the
 * ones sending finish their answers (a shutdown's, say), the ones waiting
 * for a deferred answer send it, and then they close.
 */
static void begin_closing(void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c;

	s->closing = true;
	if (s->accept_busy)
		http_cancel(s, s->accept_busy);
	if (s->sweep_busy)
		http_cancel(s, &s->sweep_op);
	for (c = s->conns; c; c = c->next)
		if (c->busy == &c->recv_op)
			http_cancel(s, c->busy);
	http_server_note_drained(s);
}

/*
 * The grace period is over: cut the answers still being sent, and stop
 * waiting for deferred ones (they will be dropped when they come).
 */
static void give_up(void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c, *next;

	for (c = s->conns; c; c = next) {
		next = c->next; /* @c may be freed at once */
		if (c->busy == &c->send_op)
			http_cancel(s, c->busy);
		else
			http_conn_give_up(c);
	}
}

/* 0 once drained, ETIMEDOUT if @deadline (when given) passed first. */
static int wait_drained(struct http_server *s, const struct timespec *deadline)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->drained && err != ETIMEDOUT) {
		if (deadline)
			err = pthread_cond_timedwait(&s->drained_cond, &s->lock, deadline);
		else
			pthread_cond_wait(&s->drained_cond, &s->lock);
	}
	err = s->drained ? 0 : ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void drain_on_loop(struct http_server *s)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CLOSE_GRACE_S;
	if (ev_loop_call(s->loop, begin_closing, s))
		return;
	if (wait_drained(s, &deadline) && !ev_loop_call(s->loop, give_up, s))
		wait_drained(s, NULL);
}

/* The loop does not run: no completion can come, so free everything now. */
static void drop_connections(struct http_server *s)
{
	while (s->conns)
		http_conn_drop(s->conns);
}

/* Remove the socket file, unless another server has put its own there. */
static void remove_socket_file(const struct http_server *s)
{
	struct stat st;

	if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

void http_server_close(struct http_server *s)
{
	if (s->fd < 0)
		return;
	if (ev_on_loop_thread(s->loop)) {
		pr_err("internal error: http_server_close() called on the event loop thread");
		return;
	}
	if (s->loop->running)
		drain_on_loop(s);
	if (!s->drained)
		drop_connections(s);
	close(s->fd);
	s->fd = -1;
	remove_socket_file(s);
	pthread_cond_destroy(&s->drained_cond);
	pthread_mutex_destroy(&s->lock);
}
