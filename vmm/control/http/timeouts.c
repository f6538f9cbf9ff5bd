// SPDX-License-Identifier: GPL-2.0-only
/*
 * What keeps the control socket from being locked out: each connection's
 * deadline, one timer per server that looks at them all, the choice of
 * the connection idle the longest when a new one needs its place, and
 * what the operator and the client are told when a connection ends so.
 *
 * One periodic timer rather than a timeout per operation: a server has
 * at most HTTP_MAX_CONNS connections (and the few on their way out), so
 * a look at each, a few times per shortest timeout, costs nothing, and a
 * connection keeps its single operation in flight. The timer runs only
 * while connections are open, so an unused VM is never woken by it.
 */
#include "vmm/control/http/internal.h"
#include "vmm/util/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SWEEPS_PER_TIMEOUT 4 /* a timeout fires at most a quarter late */
#define SWEEP_MIN_MS	   10
#define SWEEP_MAX_MS	   1000
#define LOG_INTERVAL_MS	   10000 /* per kind of event */

uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- deadlines ---- */

/* Waiting for a request that has not begun, on a connection that had one. */
static bool between_requests(const struct http_conn *c)
{
	return !c->in_body && !c->head_bytes && c->had_request;
}

void http_conn_recv_deadline(struct http_conn *c)
{
	const struct http_timeouts *t = &c->srv->timeouts;

	if (c->in_body)
		c->deadline_ms = c->body_start_ms + t->body_ms;
	else if (!between_requests(c))
		c->deadline_ms = c->head_start_ms + t->head_ms;
	else
		c->deadline_ms = http_now_ms() + t->idle_ms;
	if (!c->in_body && !c->head_bytes) /* nothing of a request: idle from now */
		c->idle_seq = ++c->srv->idle_seq;
}

void http_conn_send_deadline(struct http_conn *c)
{
	c->deadline_ms = http_now_ms() + c->srv->timeouts.send_ms;
}

/* Receiving, with no request in progress, nothing to send, no answer awaited. */
static bool conn_idle(const struct http_conn *c)
{
	return c->served && !c->expired && c->busy == &c->recv_op && !c->in_body &&
	       !c->head_bytes && !c->close_after_send;
}

/* ---- what each kind of expiry says, to the operator and to the client ---- */

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)
#define MAX_CONNS     STRINGIFY(HTTP_MAX_CONNS) /* "32", for the texts */
#define NO_TIMEOUT    SIZE_MAX

/*
 * Each text's one %s is the timeout. The client gets @status with
 * @to_requester when bytes of a request came, @to_newcomer on a
 * connection that never sent one; NULL: closed without a word.
 */
struct expiry_text {
	size_t timeout; /* its offset in struct http_timeouts, or NO_TIMEOUT */
	int status;
	const char *log;
	const char *to_requester;
	const char *to_newcomer;
};

#define TIMEOUT(field) offsetof(struct http_timeouts, field)

#define DISPLACED_ANSWER                                                                           \
	"cmavm serves at most " MAX_CONNS " API connections at once and this one, idle the "       \
	"longest, was closed to make room for a new one; connect again and send your "             \
	"request at once"

static const struct expiry_text expiry_texts[] = {
	[EXPIRED_HEAD] = { TIMEOUT(head_ms), 408,
			   "answered 408 to a client whose request head took over %s",
			   "the request line and headers took longer than %s to arrive; send "
			   "each request whole, at once",
			   "no request arrived within %s of connecting; connect when you have a "
			   "request to send, and send it at once" },
	[EXPIRED_BODY] = { TIMEOUT(body_ms), 408,
			   "answered 408 to a client whose request body took over %s",
			   "the request body did not all arrive within %s of the headers; send "
			   "the body whole, at once, as long as Content-Length says",
			   NULL },
	[EXPIRED_IDLE] = { TIMEOUT(idle_ms), 0, "closed a connection unused for %s", NULL, NULL },
	[EXPIRED_SEND] = { TIMEOUT(send_ms), 0,
			   "closed a connection whose client did not read its answer for %s", NULL,
			   NULL },
	[EXPIRY_DISPLACED] = { NO_TIMEOUT, 503,
			       MAX_CONNS " connections open: closed the one idle the longest "
					 "to admit a new one",
			       DISPLACED_ANSWER, DISPLACED_ANSWER },
};

/* @ms for a sentence: "5 s", "0.25 s". */
static const char *seconds(char *buf, size_t len, unsigned int ms)
{
	snprintf(buf, len, "%g s", ms / 1000.0);
	return buf;
}

/* The timeout that @e is about, for its texts' %s. */
static const char *timeout_text(const struct http_server *s, const struct expiry_text *e, char *buf,
				size_t len)
{
	if (e->timeout == NO_TIMEOUT)
		return "";
	return seconds(buf, len, *(const unsigned int *)((const char *)&s->timeouts + e->timeout));
}

/* Once per LOG_INTERVAL_MS for each kind, with how many went unsaid since. */
static void log_expiry(struct http_server *s, enum http_expiry why)
{
	struct http_log_gate *gate = &s->log_gates[why - 1];
	const struct expiry_text *e = &expiry_texts[why];
	char what[160], secs[32], more[64] = "";
	uint64_t now = http_now_ms();

	if (now < gate->quiet_until_ms) {
		gate->suppressed++;
		return;
	}
	snprintf(what, sizeof(what), e->log, timeout_text(s, e, secs, sizeof(secs)));
	if (gate->suppressed)
		snprintf(more, sizeof(more), " (and %u more times since the last such message)",
			 gate->suppressed);
	if (why == EXPIRED_IDLE) /* what keep-alive is meant to do */
		pr_info("control socket %s: %s%s", s->path, what, more);
	else
		pr_warn("control socket %s: %s%s", s->path, what, more);
	gate->suppressed = 0;
	gate->quiet_until_ms = now + LOG_INTERVAL_MS;
}

/* ---- ending a connection ---- */

/*
 * Cancel @c's operation, for its completion to act on @why. False, and
 * @c as it was, when the cancel cannot be queued: the next sweep retries.
 */
static bool expire(struct http_conn *c, enum http_expiry why)
{
	if (!http_cancel(c->srv, c->busy))
		return false;
	c->expired = why;
	return true;
}

/* Logged here, not at the cancel: an idle connection may be used after all. */
void http_conn_end_expired(struct http_conn *c, bool request_came)
{
	const struct expiry_text *e = &expiry_texts[c->expired];
	const char *told = request_came ? e->to_requester : c->had_request ? NULL : e->to_newcomer;
	char secs[32];

	log_expiry(c->srv, c->expired);
	if (told)
		http_refuse(c, e->status, told, timeout_text(c->srv, e, secs, sizeof(secs)));
	c->close_after_send = true;
	c->expired = EXPIRY_NONE;
}

static enum http_expiry expiry_of(const struct http_conn *c)
{
	if (c->busy == &c->send_op)
		return EXPIRED_SEND;
	if (c->in_body)
		return EXPIRED_BODY;
	return between_requests(c) ? EXPIRED_IDLE : EXPIRED_HEAD;
}

/* ---- displacing ---- */

bool http_make_room(struct http_server *s)
{
	struct http_conn *c, *oldest = NULL;

	for (c = s->conns; c; c = c->next)
		if (conn_idle(c) && (!oldest || c->idle_seq < oldest->idle_seq))
			oldest = c;
	if (!oldest || !expire(oldest, EXPIRY_DISPLACED))
		return false;
	oldest->served = false; /* its place is the new one's already */
	s->nr_served--;
	return true;
}

/* ---- the timer ---- */

static unsigned int sweep_period_ms(const struct http_timeouts *t)
{
	unsigned int shortest = t->head_ms;

	if (t->body_ms < shortest)
		shortest = t->body_ms;
	if (t->idle_ms < shortest)
		shortest = t->idle_ms;
	if (t->send_ms < shortest)
		shortest = t->send_ms;
	shortest /= SWEEPS_PER_TIMEOUT;
	if (shortest < SWEEP_MIN_MS)
		return SWEEP_MIN_MS;
	return shortest > SWEEP_MAX_MS ? SWEEP_MAX_MS : shortest;
}

static bool past_deadline(const struct http_conn *c, uint64_t now)
{
	bool timed = c->busy == &c->recv_op || c->busy == &c->send_op;

	return timed && !c->expired && now >= c->deadline_ms;
}

static void sweep(struct http_server *s)
{
	uint64_t now = http_now_ms();
	struct http_conn *c;

	for (c = s->conns; c; c = c->next) /* nothing is freed until a completion */
		if (past_deadline(c, now))
			expire(c, expiry_of(c));
}

static void sweep_done(struct ev_op *op, int res, unsigned int flags)
{
	struct http_server *s = container_of(op, struct http_server, sweep_op);

	s->sweep_busy = false;
	if (s->closing) {
		http_server_note_drained(s);
		return;
	}
	sweep(s);
	http_sweep_arm(s);
}

void http_sweep_arm(struct http_server *s)
{
	unsigned int ms = sweep_period_ms(&s->timeouts);
	struct io_uring_sqe *sqe;

	if (s->sweep_busy || s->closing || !s->conns)
		return;
	sqe = ev_sqe(s->loop, &s->sweep_op);
	if (!sqe) {
		pr_err("control socket %s: no timer for its connections' timeouts: the event "
		       "loop is broken",
		       s->path);
		return;
	}
	s->sweep_op.done = sweep_done;
	s->sweep_delay = (struct __kernel_timespec){ .tv_sec = ms / 1000,
						     .tv_nsec = (ms % 1000) * 1000000L };
	io_uring_prep_timeout(sqe, &s->sweep_delay, 0, 0);
	s->sweep_busy = true;
}
